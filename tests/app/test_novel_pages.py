"""The novel pages in Korean: upload (with the plain-form fallback), library, one novel, and a
story's vote on what it learns."""
import io

import pytest

from tests.app.test_novels import upload


def post_form(browser, data: bytes, title="동백꽃", with_csrf=True):
    form = {"file": (io.BytesIO(data), "dongbaekkkot.txt"), "title": title, "author": "김유정", "licence": "저작권 만료"}
    if with_csrf:
        form["csrf_token"] = browser.csrf
    return browser.post("/novels/upload", data=form, content_type="multipart/form-data")


def test_upload_page_needs_a_login_and_is_korean(users, client):
    response = client.get("/novels/upload")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    html = users.signed_in("writer").get("/novels/upload").get_data(as_text=True)
    for text in ("소설 올리기", "끌어다 놓거나", "저작권", 'enctype="multipart/form-data"', "novels.js", "5MB"):
        assert text in html, text


def test_plain_form_upload_shows_the_novel_with_its_numbers(users, encodings_dir):
    browser = users.signed_in("writer")
    response = post_form(browser, (encodings_dir / "dongbaekkkot.euc-kr.txt").read_bytes())
    assert response.status_code == 302 and "/novels/" in response.headers["Location"]
    html = browser.get(response.headers["Location"]).get_data(as_text=True)
    for text in ("동백꽃", "EUC-KR (CP949)", "글자 수", "문장 수", "세는 중", "대사 비율", "미리 보기", "소설을 올렸습니다"):
        assert text in html, text


def test_plain_form_upload_refusals_are_korean_pages(users, encodings_dir, db):
    browser = users.signed_in("writer")
    assert post_form(browser, (encodings_dir / "dongbaekkkot.utf8.txt").read_bytes()).status_code == 302
    duplicate = post_form(browser, (encodings_dir / "dongbaekkkot.euc-kr.txt").read_bytes(), title="다른 제목")
    assert duplicate.status_code == 409
    html = duplicate.get_data(as_text=True)
    assert "이미 올라온 소설과 같은 글입니다" in html and "이미 있는 소설 보기" in html and 'value="다른 제목"' in html
    binary = post_form(browser, b"\x89PNG\r\n\x1a\n" + bytes(300))
    assert binary.status_code == 400 and "텍스트 파일이 아닙니다" in binary.get_data(as_text=True)
    assert post_form(browser, b"x", with_csrf=False).status_code == 400  # CSRF still checked


def test_plain_form_takes_files_over_the_sites_1mb_body_limit(users, app):
    browser = users.signed_in("writer")
    data = ("달빛이 고요히 강물 위에 내려앉았다.\n\n" * 40_000).encode("utf-8")
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    assert post_form(browser, data).status_code == 302


@pytest.mark.parametrize("site_overrides", [{"NOVEL_MAX_BYTES": 1000}])
def test_plain_form_over_the_novel_limit_is_a_korean_413(users, site_overrides):
    browser = users.signed_in("writer")
    response = post_form(browser, ("가" * 50_000).encode("utf-8"))
    assert response.status_code == 413 and "파일이 너무 큽니다" in response.get_data(as_text=True)


def test_library_shows_novels_and_marks_hidden_ones_for_admins_only(users, make_story, client):
    owner, story = make_story()
    novel = upload(owner, "첫눈이 내리던 날 우리는 처음 만났다.".encode("utf-8"), title="첫눈").json
    owner.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": novel["id"]})
    html = client.get("/novels").get_data(as_text=True)
    for text in ("소설 서재", "첫눈", "올린 사람 owner", "느티나무 아래", "1 / 1표", "학습 세트"):
        assert text in html, text
    admin = users.make("boss", role="admin")
    admin.post(f"/api/v1/admin/novels/{novel['id']}/hide")
    assert "첫눈" not in client.get("/novels").get_data(as_text=True)
    assert client.get(f"/novels/{novel['id']}").status_code == 404
    admin_html = users.signed_in("boss2", role="admin").get("/novels").get_data(as_text=True)
    assert "첫눈" in admin_html and "숨김 (관리자만 보임)" in admin_html


def test_story_novels_page_shows_votes_against_the_quorum(users, make_story, client):
    owner, story = make_story(training_quorum=2)
    novel = upload(owner, "바닷가 마을의 등대지기는 매일 밤 불을 밝혔다.".encode("utf-8"), title="등대").json
    owner.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": novel["id"]})
    anonymous_html = client.get(f"/stories/{story['id']}/novels").get_data(as_text=True)
    for text in ("이 이야기가 배울 소설", "등대", "1 / 2표", "로그인</a>하면 투표할 수 있습니다"):
        assert text in anonymous_html, text
    assert "training-vote" not in anonymous_html
    html = users.signed_in("reader").get(f"/stories/{story['id']}/novels").get_data(as_text=True)
    assert "이 소설을 배우자" in html and "novels.js" in html
    story_page = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert f"/stories/{story['id']}/novels" in story_page and "소설 서재" in story_page
    assert client.get("/stories/999/novels").status_code == 404


def test_quorum_is_a_setting_of_the_new_story_form_and_the_story_page(users):
    browser = users.signed_in("writer")
    assert "학습에 넣을 소설에 필요한 표 수" in browser.get("/stories/new").get_data(as_text=True)
    response = browser.post("/stories/new", data={"csrf_token": browser.csrf, "title": "정족수", "opening": "열 글자가 넘는 첫 글입니다.",
                                                  "candidates_k": "3", "training_quorum": "4"})
    assert response.status_code == 302
    html = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="training_quorum"' in html and 'value="4"' in html
    bad = browser.post("/stories/new", data={"csrf_token": browser.csrf, "title": "t", "opening": "열 글자가 넘는 첫 글입니다.",
                                             "training_quorum": "0"})
    assert bad.status_code == 200 and "1~1000표" in bad.get_data(as_text=True)


def test_admin_link_only_for_admins(users):
    assert 'href="/admin"' not in users.signed_in("p").get("/").get_data(as_text=True)
    assert 'href="/admin"' in users.signed_in("boss", role="admin").get("/").get_data(as_text=True)


def test_plain_form_without_a_title_takes_it_from_the_file_name(users, db):
    from app.novels.models import Novel

    browser = users.signed_in("writer")
    form = {"file": (io.BytesIO("편지는 오지 않았다.".encode("utf-8")), "03-편지.txt"), "title": "", "author": "작가",
            "licence": "저작권 만료", "csrf_token": browser.csrf}
    response = browser.post("/novels/upload", data=form, content_type="multipart/form-data")
    assert response.status_code == 302
    assert db.session.scalar(db.select(Novel.title)) == "편지"


def test_upload_page_offers_several_files_each_with_its_own_fields_and_an_optional_title(users):
    html = users.signed_in("writer").get("/novels/upload").get_data(as_text=True)
    assert 'id="upload-results"' in html and "파일마다 제목, 지은이, 저작권을 따로 적습니다" in html
    assert 'id="single-file-fields"' in html  # the one-file form without JavaScript
    title_input = html[html.index('name="title"') - 20:html.index('name="title"') + 200]
    assert "required" not in title_input and "글 첫머리의 제목, 없으면 파일 이름에서" in title_input


def library_html(client, query: str = "") -> str:
    response = client.get(f"/novels{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_library_page_searches_sorts_and_pages_without_javascript(users, client, db):
    from tests.app.test_novels import add_novels

    writer = users.make("writer")
    add_novels(db, writer.user_id, [(f"소설 {i:02d}", "작가", 100 + i) for i in range(1, 44)]
               + [("봄봄", "김유정", 10), ("Spring Rain", "Kim", 20)])
    html = library_html(client)
    assert 'method="get"' in html and 'name="q"' in html and 'name="sort"' in html
    assert "45편</strong> 중 1–20" in html and "1 / 3쪽" in html
    assert html.count('class="card novel') == 20 and "Spring Rain" in html and "소설 26" in html and "소설 25" not in html
    assert 'href="/novels?page=2"' in html and 'href="/novels?page=3"' in html and 'aria-current="page"' in html

    last = library_html(client, "?page=3")
    assert "45편</strong> 중 41–45" in last and "소설 01" in last and 'rel="prev" href' not in last
    assert 'href="/novels?page=2" rel="prev"' in last

    found = library_html(client, "?q=spring&sort=title")
    assert "「spring」 검색 결과 <strong>1편</strong> 중 1–1" in found and "Spring Rain" in found and "봄봄" not in found
    assert 'value="spring"' in found and '<option value="title" selected>' in found

    paged = library_html(client, "?q=%EC%86%8C%EC%84%A4&sort=chars")  # q=소설: 43 novels, longest first
    assert "43편</strong> 중 1–20" in paged and paged.index("소설 43") < paged.index("소설 42")
    assert 'href="/novels?q=%EC%86%8C%EC%84%A4&amp;sort=chars&amp;page=2"' in paged

    none = library_html(client, "?q=없는제목")
    assert "「없는제목」에 맞는 소설이 없습니다" in none and "모든 소설 보기" in none


def test_library_page_shrugs_off_bad_arguments(users, client, db):
    from tests.app.test_novels import add_novels

    add_novels(db, users.make("writer").user_id, [(f"소설 {i}", "작가", 10) for i in range(1, 4)])
    for query in ("?page=abc", "?page=0", f"?page={10**30}", "?sort=random", "?per_page=-1", "?page=&q="):
        html = library_html(client, query)
        assert "3편</strong> 중 1–3" in html, query
    past = library_html(client, "?page=7")
    assert "7쪽에는 소설이 없습니다" in past and 'href="/novels">마지막 쪽(1쪽)으로' in past


def test_story_novels_page_searches_and_pages_with_its_training_set_first(users, make_story, client, db):
    from tests.app.test_novels import add_novels

    owner, story = make_story(training_quorum=1)
    ids = add_novels(db, owner.user_id, [(f"소설 {i:02d}", "작가", 100 + i) for i in range(1, 44)]
                     + [("봄봄", "김유정", 10), ("동백꽃", "김유정", 20)])
    for novel_id in (ids[0], ids[43]):  # 소설 01 and 봄봄: the oldest and an old one join the set
        owner.post(f"/api/v1/stories/{story['id']}/training-set", {"novel_id": novel_id})
    path = f"/stories/{story['id']}/novels"

    first = client.get(path).get_data(as_text=True)
    assert "45편</strong> 중 1–20" in first and "1 / 3쪽" in first and first.count('class="card novel') == 20
    # The set first (ties newest first), then the rest newest first.
    assert first.index(">봄봄</a>") < first.index(">소설 01</a>") < first.index(">동백꽃</a>") < first.index(">소설 43</a>")
    assert first.count("card novel in-training-set") == 2 and 'name="q"' in first
    assert f'href="{path}?page=2"' in first and '<option value="votes" selected>' in first

    found = client.get(f"{path}?q=김유정&sort=title").get_data(as_text=True)
    assert "「김유정」 검색 결과 <strong>2편</strong> 중 1–2" in found
    assert found.index(">동백꽃</a>") < found.index(">봄봄</a>") and "소설 01" not in found
    assert "1 / 1표" in found  # this story's votes, beside each novel

    last = client.get(f"{path}?page=3&sort=newest").get_data(as_text=True)
    assert "45편</strong> 중 41–45" in last and "소설 01" in last
    assert f'href="{path}?sort=newest&amp;page=2" rel="prev"' in last
    assert "3편" not in client.get(f"{path}?page=abc").get_data(as_text=True)  # a bad page is page 1
    assert "「없는제목」에 맞는 소설이 없습니다" in client.get(f"{path}?q=없는제목").get_data(as_text=True)
