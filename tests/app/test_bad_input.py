"""No input gets a 500: ids past the database's range, lone surrogates, JSON nested too deep,
bytes that are not UTF-8. Each gets a 404 or a 400 that says what is wrong, in Korean."""
import io
import json

import pytest

from tests.app.conftest import csrf_from

MAX_ID = 2**31 - 1
# Past PostgreSQL's INTEGER, past SQLite's 64-bit integer, and past the digits Python reads.
TOO_LARGE = [2**31, 2**63, "9" * 5000]

on_sqlite_and_postgres = pytest.mark.parametrize(
    "database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])


def raw_json(api, path, text: str, method="post"):
    """A JSON body sent as written (the test client's json= cannot carry a lone surrogate)."""
    return getattr(api.client, method)(path, data=text.encode("utf-8"), content_type="application/json",
                                       headers=api._headers())


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    if code:
        assert response.json["error"]["code"] == code, response.json
    assert response.json["error"]["message"]


@pytest.fixture
def known(story_in_phase, users):
    """A story in its voting phase, its first passage, a proposal, a job and the callers."""
    owner, story, (p1, _p2) = story_in_phase("voting")
    admin = users.make("boss", role="admin")
    proposal = owner.get(f"/api/v1/stories/{story['id']}/round").json["proposals"][0]
    return {"owner": owner, "admin": admin, "p1": p1, "story": story["id"], "passage": story["passages"][0]["id"],
            "proposal": proposal["id"]}


# --- ids past the range of the database's INTEGER columns ----------------------------------

API_PATHS = [
    ("GET", "/api/v1/stories/{id}"), ("PATCH", "/api/v1/stories/{id}"), ("GET", "/api/v1/stories/{id}/passages"),
    ("GET", "/api/v1/stories/{id}/round"), ("GET", "/api/v1/stories/{id}/rounds"),
    ("POST", "/api/v1/stories/{id}/round/proposals"), ("POST", "/api/v1/stories/{id}/round/votes"),
    ("POST", "/api/v1/stories/{id}/round/advance"), ("POST", "/api/v1/stories/{id}/round/recover"),
    ("GET", "/api/v1/stories/{id}/models"),
    ("POST", "/api/v1/stories/{id}/retrain"), ("POST", "/api/v1/stories/{story}/models/{id}/activate"),
    ("GET", "/api/v1/jobs/{id}"), ("POST", "/api/v1/jobs/{id}/cancel"), ("GET", "/api/v1/novels/{id}"),
    ("GET", "/api/v1/stories/{id}/training-set"), ("POST", "/api/v1/stories/{id}/training-set"),
    ("GET", "/api/v1/stories/{id}/training-set/votes"), ("POST", "/api/v1/admin/users/{id}/block"),
    ("GET", "/api/v1/admin/stories/{id}/passages"), ("POST", "/api/v1/admin/passages/{id}/hide"),
    ("POST", "/api/v1/admin/novels/{id}/hide"),
]
PAGES = ["/stories/{id}", "/stories/{id}/history", "/stories/{id}/training", "/stories/{id}/novels",
         "/novels/{id}"]
ADMIN_PAGE_POSTS = ["/admin/users/{id}/block", "/admin/passages/{id}/hide", "/admin/novels/{id}/hide"]


@on_sqlite_and_postgres
@pytest.mark.parametrize("big", TOO_LARGE + [MAX_ID], ids=["2^31", "2^63", "5000-digits", "max"])
def test_path_ids_past_the_database_range_are_404_in_json(database_kind, known, big):
    admin = known["admin"]
    for method, path in API_PATHS:
        path = path.format(id=big, story=known["story"])
        response = getattr(admin.client, method.lower())(path, json={}, headers=admin._headers())
        if big == MAX_ID:  # a real id that names no row: refused as the route refuses any such id
            assert 400 <= response.status_code < 500 and response.json["error"]["message"], path
        else:
            assert_error(response, 404, "not_found")


@on_sqlite_and_postgres
@pytest.mark.parametrize("big", TOO_LARGE + [MAX_ID], ids=["2^31", "2^63", "5000-digits", "max"])
def test_path_ids_past_the_database_range_are_a_korean_404_page(database_kind, known, users, big):
    browser = users.signed_in("chief", role="admin")
    for path in PAGES:
        response = browser.get(path.format(id=big))
        assert response.status_code == 404 and "찾을 수 없습니다" in response.get_data(as_text=True), path
    for path in ADMIN_PAGE_POSTS:
        assert browser.post(path.format(id=big), data={"csrf_token": browser.csrf}).status_code == 404, path


@on_sqlite_and_postgres
@pytest.mark.parametrize("field, stage_path", [
    ("proposal_id", "/round/votes"), ("candidate_id", "/round/votes"), ("novel_id", "/training-set")])
def test_json_ids_past_the_database_range_are_400(database_kind, known, field, stage_path):
    path = f"/api/v1/stories/{known['story']}{stage_path}"
    for big in (2**31, 2**63, 10**30, 0, -1):
        response = known["p1"].post(path, {field: big})
        assert_error(response, 400, "invalid")
        assert field in response.json["error"]["fields"]


@on_sqlite_and_postgres
def test_query_ids_past_the_database_range_are_400_or_404(database_kind, known, users):
    story, p1, owner = known["story"], known["p1"], known["owner"]
    for after in ("2147483648", "9223372036854775808", "abc", "-1"):
        response = p1.get(f"/api/v1/stories/{story}/passages?after={after}")
        assert_error(response, 400, "invalid")
        assert "after" in response.json["error"]["fields"]
    assert p1.get(f"/api/v1/stories/{story}/passages?after={MAX_ID}").json["passages"] == []
    for contents_id in ("2147483648", "9223372036854775808", "9" * 5000, "0"):
        response = owner.get(f"/put_Human_txt?contents_id={contents_id}&is_first=Y")
        assert_error(response, 400, "bad_contents_id")
    browser = users.signed_in("chief", role="admin")
    for story_arg in ("2147483648", "9223372036854775808"):
        response = browser.get(f"/admin?story={story_arg}")
        assert response.status_code == 404 and "이야기를 찾을 수 없습니다" in response.get_data(as_text=True)


def test_the_largest_id_is_still_a_plain_404(known):
    response = known["p1"].post(f"/api/v1/stories/{known['story']}/round/votes", {"proposal_id": MAX_ID})
    assert_error(response, 404)


# --- lone surrogates and JSON nested too deep ------------------------------------------------

LONE = ["\\ud800", "\\udfff", "가\\ud83d", "\\ude00나"]


@on_sqlite_and_postgres
def test_a_lone_surrogate_in_any_json_string_is_a_korean_400(database_kind, known, anonymous, db):
    from sqlalchemy import func, select

    from app.accounts.models import User
    from app.stories.models import Story

    story, p1 = known["story"], known["p1"]
    bodies = [
        (anonymous, "/api/v1/auth/signup", '{"username": "%s", "password": "password123"}'),
        (anonymous, "/api/v1/auth/signup", '{"username": "surrogate", "password": "pass%sword123"}'),
        (anonymous, "/api/v1/auth/token", '{"username": "p1", "password": "%s"}'),
        (p1, "/api/v1/stories", '{"title": "제목%s", "opening": "열 글자가 넘는 첫 글입니다. 정말로요."}'),
        (p1, "/api/v1/stories", '{"title": "제목", "opening": "열 글자가 넘는 첫 글입니다. %s"}'),
        (p1, f"/api/v1/stories/{story}/round/recover", '{"action": "%s"}'),
        (p1, f"/api/v1/stories/{story}/training-set", '{"novel_id": 1, "%s": true}'),
    ]
    users_before = db.session.scalar(select(func.count()).select_from(User))
    for lone in LONE:
        for api, path, template in bodies:
            response = raw_json(api, path, template % lone)
            assert_error(response, 400, "bad_json")
            assert "서로게이트" in response.json["error"]["message"], response.json
    assert db.session.scalar(select(func.count()).select_from(User)) == users_before
    assert db.session.scalar(select(func.count()).select_from(Story)) == 1


def test_a_lone_surrogate_in_a_proposal_is_400_while_proposing(story_in_phase):
    _owner, story, (p1, _p2) = story_in_phase("proposing")
    path = f"/api/v1/stories/{story['id']}/round/proposals"
    for body in ('{"keyword": "편\\ud800", "sentences": 2}', '{"text": "그가 말했다 \\udc00 그리고 웃었다."}'):
        assert_error(raw_json(p1, path, body), 400, "bad_json")


def test_an_escaped_surrogate_pair_is_a_character_and_welcome(story_in_phase):
    _owner, story, (p1, _p2) = story_in_phase("proposing")
    path = f"/api/v1/stories/{story['id']}/round/proposals"
    response = raw_json(p1, path, '{"text": "편지 위에 웃는 얼굴 \\ud83d\\ude00 하나가 그려져 있었다."}')
    assert response.status_code == 201 and "\U0001F600" in response.json["text"]


@pytest.mark.parametrize("body", ["[" * 200_000, '{"a":' * 100_000, "[" * 5000 + "]" * 5000],
                         ids=["open-arrays", "open-objects", "closed-arrays"])
def test_json_nested_too_deep_is_400_bad_json(known, body):
    response = raw_json(known["p1"], f"/api/v1/stories/{known['story']}/round/votes", body)
    assert_error(response, 400, "bad_json")


def test_json_that_is_not_utf8_is_400_bad_json(known):
    response = known["p1"].client.post(f"/api/v1/stories/{known['story']}/round/votes",
                                       data=b'{"proposal_id": "\xed\xa0\x80\xff"}', content_type="application/json",
                                       headers=known["p1"]._headers())
    assert_error(response, 400, "bad_json")


# --- forms and query strings with bytes that are not UTF-8 -------------------------------------

def test_forms_and_query_strings_with_bad_bytes_never_reach_the_database_as_such(app, users, anonymous, client):
    from sqlalchemy import select

    from app.stories.models import Story

    page = client.get("/login")
    response = client.post("/login", data=b"csrf_token=" + csrf_from(page).encode() + b"&username=%ED%A0%80&password=%FF%FE",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "아이디" in response.get_data(as_text=True)
    browser = users.signed_in("writer")
    response = browser.post("/stories/new", content_type="application/x-www-form-urlencoded",
                            data=f"csrf_token={browser.csrf}&title=%ED%A0%80%FF&opening=".encode()
                            + "열 글자가 넘는 첫 글입니다. 정말로요.".encode() + b"%ED%B0%80&candidates_k=3")
    assert response.status_code == 302
    with app.app_context():  # not the db fixture: its app context would share flask.g (the CSRF token) across clients
        title = app.extensions["sqlalchemy"].session.scalar(select(Story.title))
    title.encode("utf-8")  # werkzeug kept the bad bytes as their %XX text: no surrogate reached the database
    for query in ("q=%ED%A0%80", "q=%FF%FE", "sort=%ED%A0%80", "page=%ED%A0%80"):
        assert anonymous.get(f"/api/v1/novels?{query}").status_code in (200, 400), query
        assert client.get(f"/novels?{query}").status_code == 200, query
    assert anonymous.get("/api/v1/stories/%ED%A0%80").status_code == 404


@on_sqlite_and_postgres
def test_a_username_no_account_can_have_is_a_wrong_login_not_a_500(database_kind, client, anonymous):
    page = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_from(page), "username": "a\x00b", "password": "x" * 12})
    assert response.status_code == 200 and "올바르지 않습니다" in response.get_data(as_text=True)
    assert_error(anonymous.post("/api/v1/auth/token", {"username": "a\x00b", "password": "x" * 12}), 400)


def test_an_upload_whose_name_and_fields_hold_bad_bytes_is_not_a_500(users):
    uploader = users.make("uploader")
    body = (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xed\xa0\x80\xff.txt\"\r\n"
            b"Content-Type: text/plain\r\n\r\n" + "이름이 이상한 파일의 본문입니다.".encode() + b"\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"author\"\r\n\r\n\xed\xa0\x80\r\n"
            b"--B\r\nContent-Disposition: form-data; name=\"licence\"\r\n\r\n\xff\xfe \xea\xb0\x80\r\n--B--\r\n")
    response = uploader.client.post("/api/v1/novels", data=body, content_type="multipart/form-data; boundary=B",
                                    headers=uploader._headers())
    assert response.status_code in (201, 400), response.get_data(as_text=True)[:300]
    if response.status_code == 201:
        json.dumps(response.json, ensure_ascii=False).encode("utf-8")


# --- a duplicate upload names only novels the uploader may see -------------------------------

def upload(api, text: str, title: str):
    form = {"file": (io.BytesIO(text.encode("utf-8")), "novel.txt"), "title": title, "author": "작가",
            "licence": "저작권 만료"}
    return api.client.post("/api/v1/novels", data=form, content_type="multipart/form-data", headers=api._headers())


def test_a_duplicate_of_a_hidden_novel_does_not_name_it_to_a_participant(users):
    first, second, admin = users.make("first"), users.make("second"), users.make("boss", role="admin")
    text = "숨겨질 소설의 본문입니다. 아무도 제목을 알면 안 됩니다."
    novel = upload(first, text, "비밀스러운 제목").json
    assert admin.post(f"/api/v1/admin/novels/{novel['id']}/hide").status_code == 200
    refused = upload(second, text, "다른 제목")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "duplicate_novel"
    assert "비밀스러운" not in refused.get_data(as_text=True) and "novel" not in refused.json["error"]
    assert "숨긴" in refused.json["error"]["message"]
    seen_by_admin = upload(admin, text, "다른 제목")
    assert seen_by_admin.status_code == 409 and seen_by_admin.json["error"]["novel"]["title"] == "비밀스러운 제목"


def test_the_upload_page_does_not_name_a_hidden_duplicate_either(users):
    first, admin = users.make("first"), users.make("boss", role="admin")
    text = "숨겨질 소설의 본문입니다. 페이지에서도 제목이 보이면 안 됩니다."
    novel = upload(first, text, "비밀스러운 제목").json
    admin.post(f"/api/v1/admin/novels/{novel['id']}/hide")
    browser = users.signed_in("second")
    form = {"csrf_token": browser.csrf, "file": (io.BytesIO(text.encode("utf-8")), "n.txt"), "author": "작가",
            "licence": "저작권 만료"}
    page = browser.post("/novels/upload", data=form, content_type="multipart/form-data")
    assert page.status_code == 409
    html = page.get_data(as_text=True)
    assert "비밀스러운" not in html and f"/novels/{novel['id']}" not in html


# --- unknown addresses: the site answers with its Korean page, the API with JSON -------------

@pytest.mark.parametrize("path", ["/stories/abc", "/nope", "/stories/2147483648/history", "/stories/1/nope"])
def test_an_unknown_site_address_gets_the_korean_error_page_not_json(client, path):
    response = client.get(path, headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 404
    assert response.mimetype == "text/html", response.get_data(as_text=True)[:200]
    page = response.get_data(as_text=True)
    assert "찾을 수 없습니다" in page and "이야기 목록으로" in page and '"error"' not in page


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/v1/stories/abc", "/api/v1/stories/2147483648/rounds"])
def test_an_unknown_api_address_is_still_a_json_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert response.json["error"]["code"] == "not_found" and response.json["error"]["message"]
