def test_story_list_page_renders(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "릴레이 소설" in response.get_data(as_text=True)
