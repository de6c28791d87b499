"""Training-set votes: which novels a story's model learns from."""
import io

import pytest
from sqlalchemy import func, select


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    """Every test here runs on SQLite and again on PostgreSQL (a schema of its own)."""
    return request.param


def add_novel(api, text: str, title: str) -> int:
    form = {"file": (io.BytesIO(text.encode("utf-8")), f"{title}.txt"), "title": title, "author": "작가",
            "licence": "저작권 만료"}
    response = api.client.post("/api/v1/novels", data=form, content_type="multipart/form-data", headers=api._headers())
    assert response.status_code == 201, response.json
    return response.json["id"]


@pytest.fixture
def library(users, make_story):
    owner, story = make_story()
    novel_id = add_novel(owner, "산골 마을에 눈이 내렸다. 아이들은 썰매를 끌고 언덕으로 올라갔다.", "눈 오는 마을")
    return owner, story, novel_id


def vote_path(story) -> str:
    return f"/api/v1/stories/{story['id']}/training-set"


def test_a_vote_toggles_on_and_off(library, users):
    _owner, story, novel_id = library
    p1 = users.make("p1")
    on = p1.post(vote_path(story), {"novel_id": novel_id})
    assert on.status_code == 200
    assert on.json == {"story_id": story["id"], "novel_id": novel_id, "voted": True, "votes": 1, "quorum": 1,
                       "in_training_set": True}
    assert [n["id"] for n in p1.get(vote_path(story)).json["novels"]] == [novel_id]
    off = p1.post(vote_path(story), {"novel_id": novel_id})
    assert off.json["voted"] is False and off.json["votes"] == 0 and off.json["in_training_set"] is False
    assert p1.get(vote_path(story)).json == {"story_id": story["id"], "quorum": 1, "novels": []}


def test_one_vote_per_user_even_when_set_twice(library, users, db):
    from app.novels.models import TrainingVote

    _owner, story, novel_id = library
    p1 = users.make("p1")
    for _ in range(3):
        assert p1.post(vote_path(story), {"novel_id": novel_id, "voted": True}).json["votes"] == 1
    assert db.session.scalar(select(func.count()).select_from(TrainingVote)) == 1


def test_the_database_refuses_a_second_row_for_one_user(library, users, db):
    from sqlalchemy.exc import IntegrityError

    from app.novels.models import TrainingVote

    _owner, story, novel_id = library
    p1 = users.make("p1")
    db.session.add(TrainingVote(story_id=story["id"], novel_id=novel_id, user_id=p1.user_id))
    db.session.commit()
    db.session.add(TrainingVote(story_id=story["id"], novel_id=novel_id, user_id=p1.user_id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_with_quorum_two_a_novel_joins_the_set_at_the_second_vote(library, users):
    owner, story, novel_id = library
    assert owner.patch(f"/api/v1/stories/{story['id']}", {"settings": {"training_quorum": 2}}).status_code == 200
    p1, p2 = users.make("p1"), users.make("p2")
    first = p1.post(vote_path(story), {"novel_id": novel_id}).json
    assert first["votes"] == 1 and first["quorum"] == 2 and first["in_training_set"] is False
    assert p1.get(vote_path(story)).json["novels"] == []
    second = p2.post(vote_path(story), {"novel_id": novel_id}).json
    assert second["votes"] == 2 and second["in_training_set"] is True
    assert [n["votes"] for n in p1.get(vote_path(story)).json["novels"]] == [2]


def test_a_hidden_novel_leaves_the_set_and_takes_no_votes(library, users):
    _owner, story, novel_id = library
    p1, admin = users.make("p1"), users.make("boss", role="admin")
    p1.post(vote_path(story), {"novel_id": novel_id})
    assert len(p1.get(vote_path(story)).json["novels"]) == 1
    assert admin.post(f"/api/v1/admin/novels/{novel_id}/hide").status_code == 200
    assert p1.get(vote_path(story)).json["novels"] == []
    assert p1.post(vote_path(story), {"novel_id": novel_id}).status_code == 404  # participants don't see it
    assert admin.post(vote_path(story), {"novel_id": novel_id}).json["error"]["code"] == "novel_hidden"
    assert admin.post(f"/api/v1/admin/novels/{novel_id}/restore").status_code == 200
    assert len(p1.get(vote_path(story)).json["novels"]) == 1  # its votes were kept


def test_votes_are_per_story(library, users, make_story):
    owner, story, novel_id = library
    _other_owner, other = make_story(users.make("owner2"))
    p1 = users.make("p1")
    p1.post(vote_path(story), {"novel_id": novel_id})
    assert p1.get(vote_path(other)).json["novels"] == []
    training = p1.get(f"/api/v1/novels/{novel_id}").json["training"]
    assert training == [{"story_id": story["id"], "story_title": story["title"], "quorum": 1, "votes": 1,
                         "my_vote": True, "in_training_set": True}]
    assert owner.get(f"/api/v1/novels/{novel_id}").json["training"][0]["my_vote"] is False


@pytest.mark.parametrize("body, status", [({}, 400), ({"novel_id": "1"}, 400), ({"novel_id": 999}, 404),
                                          ({"novel_id": 1, "voted": "maybe"}, 400)])
def test_bad_votes_are_refused(library, users, body, status):
    _owner, story, _novel_id = library
    response = users.make("p1").post(vote_path(story), body)
    assert response.status_code == status and set(response.json["error"]) >= {"code", "message"}


def test_voting_needs_a_login_and_a_story(library, anonymous, users):
    _owner, story, novel_id = library
    assert anonymous.post(vote_path(story), {"novel_id": novel_id}).status_code == 401
    assert users.make("p1").post("/api/v1/stories/999/training-set", {"novel_id": novel_id}).status_code == 404


def test_quorum_must_be_at_least_one(make_story):
    owner, story = make_story()
    response = owner.patch(f"/api/v1/stories/{story['id']}", {"settings": {"training_quorum": 0}})
    assert response.status_code == 400 and "training_quorum" in response.json["error"]["fields"]
    assert owner.get(f"/api/v1/stories/{story['id']}").json["settings"]["training_quorum"] == 1


def test_library_lists_hidden_novels_to_admins_only(library, users, anonymous):
    _owner, _story, novel_id = library
    admin = users.make("boss", role="admin")
    admin.post(f"/api/v1/admin/novels/{novel_id}/hide")
    assert anonymous.get("/api/v1/novels").json["novels"] == []
    assert users.make("p1").get(f"/api/v1/novels/{novel_id}").status_code == 404
    rows = admin.get("/api/v1/novels").json["novels"]
    assert [(n["id"], n["status"]) for n in rows] == [(novel_id, "hidden")]
    assert admin.get(f"/api/v1/novels/{novel_id}").json["status"] == "hidden"


def test_library_rows_carry_the_numbers(library, anonymous):
    _owner, _story, novel_id = library
    row = anonymous.get("/api/v1/novels").json["novels"][0]
    assert {"id", "title", "author", "uploader", "size_bytes", "chars", "sentences", "dialogue_share", "status",
            "encoding", "licence", "training", "created_at"} <= set(row)
    assert row["uploader"] == "owner" and row["chars"] > 20


def test_simultaneous_votes_of_one_user_leave_one_row(library, users, db, database_kind):
    import threading

    from app.novels.models import TrainingVote

    _owner, story, novel_id = library
    p1 = users.make("p1")
    db.session.rollback()  # the test's own session holds no transaction (on SQLite: no write lock)
    barrier, codes = threading.Barrier(6), []

    def vote():
        client = type(p1)(p1.client.application.test_client(), p1.token)
        barrier.wait()
        codes.append(client.post(vote_path(story), {"novel_id": novel_id, "voted": True}).status_code)

    threads = [threading.Thread(target=vote) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [200] * 6
    assert db.session.scalar(select(func.count()).select_from(TrainingVote)) == 1
