"""The admin page and API: who may do what (one table of every admin route), blocking,
and hidden passages."""
import io

import pytest

from tests.app.conftest import OPENING, csrf_from

# Every admin route: (method, path). Ids in braces come from the ``targets`` fixture below;
# add a row here (and an id there if it needs one) for each new admin route.
ADMIN_API = [
    ("GET", "/api/v1/admin/users"),
    ("POST", "/api/v1/admin/users/{user}/block"),
    ("POST", "/api/v1/admin/users/{user}/unblock"),
    ("POST", "/api/v1/admin/users/{user}/make-admin"),
    ("GET", "/api/v1/admin/novels"),
    ("POST", "/api/v1/admin/novels/{novel}/hide"),
    ("POST", "/api/v1/admin/novels/{novel}/restore"),
    ("GET", "/api/v1/admin/stories/{story}/passages"),
    ("POST", "/api/v1/admin/passages/{passage}/hide"),
    ("POST", "/api/v1/admin/passages/{passage}/restore"),
    ("GET", "/api/v1/admin/jobs"),
]
ADMIN_PAGES = [
    ("GET", "/admin"),
    ("GET", "/admin?story={story}"),
    ("POST", "/admin/users/{user}/block"),
    ("POST", "/admin/users/{user}/unblock"),
    ("POST", "/admin/users/{user}/make-admin"),
    ("POST", "/admin/novels/{novel}/hide"),
    ("POST", "/admin/novels/{novel}/restore"),
    ("POST", "/admin/passages/{passage}/hide"),
    ("POST", "/admin/passages/{passage}/restore"),
    ("GET", "/admin/jobs"),
]


@pytest.fixture
def targets(users, make_story) -> dict:
    """Something for every admin route to act on."""
    owner, story = make_story()
    form = {"file": (io.BytesIO("관리할 소설의 본문이다.".encode("utf-8")), "n.txt"), "title": "소설", "author": "작가",
            "licence": "저작권 만료"}
    novel = owner.client.post("/api/v1/novels", data=form, content_type="multipart/form-data", headers=owner._headers())
    return {"user": users.make("target").user_id, "story": story["id"], "passage": story["passages"][0]["id"],
            "novel": novel.json["id"]}


def call(client, method, path, headers=None, csrf=None):
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, headers=headers, data={"csrf_token": csrf} if csrf else None)


@pytest.mark.parametrize("method, path", ADMIN_API)
def test_admin_api_is_401_anonymous_403_participant_2xx_admin(users, targets, client, method, path):
    path = path.format(**targets)
    assert call(client, method, path).status_code == 401
    participant = users.make("participant")
    refused = call(participant.client, method, path, headers=participant._headers())
    assert refused.status_code == 403 and refused.json["error"]["code"] == "admin_only"
    admin = users.make("admin1", role="admin")
    answer = call(admin.client, method, path, headers=admin._headers())
    assert 200 <= answer.status_code < 300, answer.json


@pytest.mark.parametrize("method, path", ADMIN_PAGES)
def test_admin_pages_are_401_anonymous_403_participant_2xx_admin(users, targets, app, method, path):
    path = path.format(**targets)
    anonymous = app.test_client()
    token = csrf_from(anonymous.get("/"))
    refused = call(anonymous, method, path, csrf=token)
    assert refused.status_code == 401 and "로그인이 필요합니다" in refused.get_data(as_text=True)
    participant = users.signed_in("participant")
    refused = call(participant, method, path, csrf=participant.csrf)
    assert refused.status_code == 403 and "관리자" in refused.get_data(as_text=True)
    admin = users.signed_in("admin1", role="admin")
    answer = call(admin, method, path, csrf=admin.csrf)
    assert answer.status_code in (200, 302)


def test_admin_page_lists_users_novels_and_a_storys_passages_in_korean(users, targets):
    admin = users.signed_in("admin1", role="admin")
    html = admin.get(f"/admin?story={targets['story']}").get_data(as_text=True)
    for text in ("관리", "사용자", "target", "소설", "숨기기", "차단", "관리자로", OPENING):
        assert text in html, text


def test_an_admin_cannot_block_themself(users):
    admin = users.make("admin1", role="admin")
    response = admin.post(f"/api/v1/admin/users/{admin.user_id}/block")
    assert response.status_code == 400 and response.json["error"]["code"] == "cannot_block_self"
    assert admin.get("/api/v1/admin/users").status_code == 200


def test_unknown_targets_and_actions_are_404(users):
    admin = users.make("admin1", role="admin")
    assert admin.post("/api/v1/admin/users/999/block").status_code == 404
    assert admin.post("/api/v1/admin/passages/999/hide").status_code == 404
    assert admin.post("/api/v1/admin/novels/999/hide").status_code == 404
    assert admin.post(f"/api/v1/admin/users/{admin.user_id}/delete").status_code == 404


def test_a_blocked_user_cannot_log_in_or_use_a_token_or_a_session(users, app, make_story):
    admin = users.make("admin1", role="admin")
    victim = users.make("victim", password="password123")
    session = users.signed_in("victim2")
    assert victim.get("/api/v1/novels").status_code == 200
    for user_id in (victim.user_id, session.user_id):
        assert admin.post(f"/api/v1/admin/users/{user_id}/block").json["blocked"] is True

    assert victim.post("/api/v1/stories", {"title": "t", "opening": OPENING}).json["error"]["code"] == "blocked"
    token = victim.client.post("/api/v1/auth/token", json={"username": "victim", "password": "password123"})
    assert token.status_code == 403 and token.json["error"]["code"] == "blocked"
    browser = app.test_client()
    login = browser.post("/login", data={"csrf_token": csrf_from(browser.get("/login")), "username": "victim",
                                         "password": "password123"})
    assert login.status_code == 200 and "차단된 계정입니다" in login.get_data(as_text=True)
    # Already signed in when blocked: the next request is anonymous.
    assert session.get("/profile").status_code == 302
    assert session.post("/api/v1/stories", json={"title": "t", "opening": OPENING},
                        headers={"X-CSRFToken": session.csrf}).status_code == 401

    assert admin.post(f"/api/v1/admin/users/{victim.user_id}/unblock").json["blocked"] is False
    assert victim.post("/api/v1/stories", {"title": "t", "opening": OPENING}).status_code == 201


def test_make_admin_gives_the_admin_role(users):
    admin, user = users.make("admin1", role="admin"), users.make("user")
    assert user.get("/api/v1/admin/users").status_code == 403
    assert admin.post(f"/api/v1/admin/users/{user.user_id}/make-admin").json["role"] == "admin"
    assert user.get("/api/v1/admin/users").status_code == 200


def test_a_hidden_passage_shows_a_placeholder_to_participants_and_its_text_to_admins(make_story, users, client):
    owner, story = make_story()
    admin = users.make("admin1", role="admin")
    passage = story["passages"][0]
    assert admin.post(f"/api/v1/admin/passages/{passage['id']}/hide").json["hidden"] is True

    for path in (f"/api/v1/stories/{story['id']}", f"/api/v1/stories/{story['id']}/passages"):
        seen = owner.get(path).json["passages"][0]
        assert seen["text"] == "관리자가 숨긴 글입니다." and seen["hidden"] is True and seen["seq"] == 1
        assert admin.get(path).json["passages"][0]["text"] == OPENING
    page = client.get(f"/stories/{story['id']}").get_data(as_text=True)
    assert OPENING not in page.split('id="round-state"')[0] and "관리자가 숨긴 글입니다." in page
    admin_page = users.signed_in("admin2", role="admin").get(f"/stories/{story['id']}").get_data(as_text=True)
    assert OPENING in admin_page and "숨김 (관리자만 보임)" in admin_page

    assert admin.post(f"/api/v1/admin/passages/{passage['id']}/restore").json["hidden"] is False
    assert owner.get(f"/api/v1/stories/{story['id']}").json["passages"][0]["text"] == OPENING
    assert OPENING in client.get(f"/stories/{story['id']}").get_data(as_text=True)


def test_hidden_passages_are_neither_context_nor_training_text(db, make_story, users):
    from app.rounds import machine
    from app.stories.models import Story
    from app.stories.services import context_before

    owner, story = make_story()
    admin = users.make("admin1", role="admin")
    row = db.session.get(Story, story["id"])
    second_id = machine.append_passage(row, "두 번째 글은 욕설로 가득했다.", author=row.owner).id
    db.session.commit()
    admin.post(f"/api/v1/admin/passages/{second_id}/hide")
    context = context_before(story["id"])
    db.session.rollback()
    assert OPENING in context and "욕설" not in context
    learn = owner.client.post(f"/put_Human_txt?contents_id={second_id}&is_first=Y",
                              headers={"Authorization": f"Bearer {owner.token}"})
    assert learn.status_code == 409 and learn.json["error"]["code"] == "passage_hidden"


def test_a_passage_hidden_after_its_learning_job_was_queued_is_not_learned(db, make_story, users, monkeypatch):
    from app.jobs import services as jobs
    from app.jobs.models import Job
    from worker.learning import run_learning

    monkeypatch.setattr(jobs, "dispatch", lambda job: None)  # no broker: the test runs the task itself
    owner, story = make_story()
    passage_id = story["passages"][0]["id"]
    learn = owner.client.post(f"/put_Human_txt?contents_id={passage_id}&is_first=Y",
                              headers={"Authorization": f"Bearer {owner.token}"})
    assert learn.status_code == 202
    users.make("admin1", role="admin").post(f"/api/v1/admin/passages/{passage_id}/hide")
    assert run_learning(learn.json["job_id"], None) == "failed"
    job = db.session.get(Job, learn.json["job_id"])
    assert job.status == "failed" and "숨긴 글" in job.error
