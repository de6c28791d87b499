"""Retraining, model versions, the starter pretrain and job cancel, without a model: the
services, the API and the pages (the real worker runs in test_retrain_worker.py)."""
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.app.training_helpers import add_job, add_novel, add_passages, vote_for

# The rules the database holds run on SQLite and again on PostgreSQL (a schema of its own).
BOTH_DATABASES = pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])

NOVEL = ("바람이 불었다. 그는 창문을 닫고 책상 앞에 앉았다. \"오늘은 끝내야 해.\" 그가 중얼거렸다.\n" * 40)


def version(app, story_id: int, name: str, **extra) -> int:
    from app.extensions import db
    from app.training.models import ModelVersion

    with app.app_context():
        row = ModelVersion(story_id=story_id, name=name, base="/models/starter", path=f"/models/{name}",
                           data={}, metrics={}, **extra)
        db.session.add(row)
        db.session.commit()
        return row.id


# --- who may do what: anonymous 401, participant 403, admin 2xx ------------------------------

@pytest.fixture
def cast(users, make_story, app, tmp_path):
    """An admin, a participant who owns a story (owners are participants too), and the rows
    every endpoint needs."""
    admin = users.make("admin", role="admin")
    owner, story = make_story()
    v1 = version(app, story["id"], "v1")
    _, busy_story = make_story(owner)
    job = add_job(app, kind="retrain", story_id=busy_story["id"], params={})
    add_novel(app, admin.user_id, text=NOVEL)
    return {"admin": admin, "participant": owner, "story": story["id"], "version": v1, "job": job}


ENDPOINTS = [
    # (method, path, admin's status)
    ("post", "/api/v1/stories/{story}/retrain", 202),
    ("post", "/api/v1/stories/{story}/models/{version}/activate", 200),
    ("post", "/api/v1/jobs/{job}/cancel", 200),
    ("post", "/api/v1/admin/starter", 202),
]
PUBLIC = ["/api/v1/stories/{story}/models", "/api/v1/jobs/{job}", "/stories/{story}/training"]


@pytest.mark.parametrize("method,path,admin_status", ENDPOINTS)
@pytest.mark.parametrize("who,expected", [("anonymous", 401), ("participant", 403), ("admin", None)])
def test_admin_endpoints_answer_401_403_or_success(cast, anonymous, method, path, admin_status, who, expected):
    client = anonymous if who == "anonymous" else cast[who]
    response = getattr(client, method)(path.format(**cast))
    assert response.status_code == (expected or admin_status), response.json
    if expected:
        assert response.json["error"]["code"] in ("login_required", "admin_only")


@pytest.mark.parametrize("path", PUBLIC)
@pytest.mark.parametrize("who", ["anonymous", "participant", "admin"])
def test_progress_and_versions_are_readable_by_anyone(cast, anonymous, path, who):
    client = anonymous if who == "anonymous" else cast[who]
    assert client.get(path.format(**cast)).status_code == 200


def test_admin_jobs_page_is_for_admins_only(users, client, cast):
    assert client.get("/admin/jobs").status_code == 401
    participant = users.signed_in("reader")
    assert participant.get("/admin/jobs").status_code == 403
    admin = users.signed_in("boss", role="admin")
    page = admin.get("/admin/jobs")
    assert page.status_code == 200 and "작업 관리" in page.text and f"/api/v1/jobs/{cast['job']}/cancel" in page.text


# --- retrain -----------------------------------------------------------------------------------

@BOTH_DATABASES
def test_second_retrain_is_409_with_the_running_jobs_id(users, make_story, database_kind):
    admin = users.make("admin", role="admin")
    _owner, story = make_story()
    first = admin.post(f"/api/v1/stories/{story['id']}/retrain")
    assert first.status_code == 202
    job = admin.get(f"/api/v1/jobs/{first.json['job_id']}").json
    assert job["kind"] == "retrain" and job["status"] == "queued" and job["story_id"] == story["id"]
    again = admin.post(f"/api/v1/stories/{story['id']}/retrain")
    assert again.status_code == 409
    assert again.json["error"]["job_id"] == first.json["job_id"] and str(first.json["job_id"]) in again.json["error"]["message"]
    # put_Human_txt trains the same lineage: it waits too
    learn = admin.post(f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=N")
    assert learn.status_code == 409 and learn.json["error"]["job_id"] == first.json["job_id"]


@BOTH_DATABASES
def test_the_database_refuses_a_second_unfinished_training_job(app, make_story, db, database_kind):
    from app.jobs.models import Job

    _owner, story = make_story()
    db.session.add(Job(kind="retrain", story_id=story["id"], status="running", params={}))
    db.session.commit()
    db.session.add(Job(kind="train", story_id=story["id"], status="queued", params={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    db.session.add(Job(kind="retrain", story_id=story["id"], status="failed", params={}))  # finished ones are fine
    db.session.commit()


def test_retrain_of_an_unknown_story_is_404(users):
    admin = users.make("admin", role="admin")
    assert admin.post("/api/v1/stories/999/retrain").status_code == 404


@pytest.mark.parametrize("site_overrides", [{"TRAIN_STEPS": None, "TRAIN_MAX_MINUTES": 1.5,
                                             "MODEL_ACTIVATE_THRESHOLD": 0.1}])
def test_a_retrain_job_carries_its_budget_and_threshold(users, make_story, db, site_overrides):
    from app.jobs.models import Job

    admin = users.make("admin", role="admin")
    _owner, story = make_story()
    job = db.session.get(Job, admin.post(f"/api/v1/stories/{story['id']}/retrain").json["job_id"])
    assert job.params == {"budget": {"minutes": 1.5}, "threshold": 0.1, "heldout_fraction": 0.1}


def test_material_holds_out_the_last_passages_and_skips_hidden_ones(app, users, make_story, db):
    from app.stories.models import Passage
    from worker.material import retrain_material

    owner, story = make_story()
    admin = users.make("admin", role="admin")
    ids = add_passages(app, story["id"], [(f"사람이 쓴 {i}번째 글이다.", owner.user_id) if i % 2 else
                                          (f"AI가 쓴 {i}번째 글이다.", None) for i in range(1, 20)])
    db.session.get(Passage, ids[3]).hidden = True
    db.session.commit()
    kept = add_novel(app, admin.user_id, text=NOVEL, title="뽑힌 소설")
    not_enough = add_novel(app, admin.user_id, text=NOVEL + "다른 소설.", title="표가 모자란 소설")
    hidden = add_novel(app, admin.user_id, text=NOVEL + "숨긴 소설.", title="숨긴 소설", status="hidden")
    vote_for(app, story["id"], kept, owner.user_id)
    vote_for(app, story["id"], hidden, owner.user_id)  # quorum 1: hidden novels still never count
    material = retrain_material(story["id"], 0.1)
    assert [label for label, _text in material.novels] == [f"novel-{kept}:뽑힌 소설"]
    assert not_enough and all("표가 모자란" not in label for label, _ in material.novels)
    # 20 passages (the opening and 19), one hidden: 19 visible, the last one held out
    assert material.counts["heldout_passages"] == [ids[-1]]
    assert ids[3] not in material.counts["passages"] and len(material.counts["passages"]) == 18
    assert "19번째" in material.heldout_text and "19번째" not in material.story_text
    assert "AI가 쓴 4번째" not in material.story_text  # hidden
    assert "AI가 쓴 2번째" in material.story_text and "AI가" not in material.human_text
    assert "사람이 쓴 1번째" in material.human_text


def test_heldout_needs_a_few_passages():
    from worker.material import heldout_count

    assert [heldout_count(n, 0.1) for n in (1, 3, 4, 19, 20, 35)] == [0, 0, 1, 1, 2, 3]


@pytest.mark.parametrize("new,active,activate", [
    (2.0, 2.0, True), (2.09, 2.0, True), (2.11, 2.0, False), (1.5, 2.0, True),
    (None, 2.0, True), (2.0, None, True), (float("nan"), 2.0, True),
])
def test_a_new_version_waits_for_an_admin_only_when_clearly_worse(new, active, activate):
    from app.training.lineage import activation_decision

    decided, reason = activation_decision(new, active, threshold=0.05)
    assert decided is activate and reason


# --- versions, activate, rollback ----------------------------------------------------------------

def test_versions_list_marks_the_active_and_held_ones(app, users, make_story, anonymous, db):
    from app.stories.models import Story

    _owner, story = make_story()
    v1 = version(app, story["id"], "이야기-v1")
    v2 = version(app, story["id"], "이야기-v2", parent_id=v1, held_for_admin=True)
    db.session.get(Story, story["id"]).active_model_version_id = v1
    db.session.commit()
    items = anonymous.get(f"/api/v1/stories/{story['id']}/models").json["items"]
    assert [(v["id"], v["parent"], v["active"], v["held_for_admin"]) for v in items] == [
        (v2, v1, False, True), (v1, None, True, False)]
    assert {"id", "name", "parent", "data", "metrics", "created_at", "active", "held_for_admin"} <= set(items[0])


@BOTH_DATABASES
def test_admin_activates_a_held_version_and_rolls_back(app, users, make_story, anonymous, database_kind):
    admin = users.make("admin", role="admin")
    _owner, story = make_story()
    v1 = version(app, story["id"], "v1")
    v2 = version(app, story["id"], "v2", parent_id=v1, held_for_admin=True)
    base = f"/api/v1/stories/{story['id']}/models"
    answer = admin.post(f"{base}/{v2}/activate")
    assert answer.status_code == 200 and answer.json["active"] and not answer.json["held_for_admin"]
    assert admin.post(f"{base}/{v1}/activate").json["active"]  # roll back
    items = {v["id"]: v for v in anonymous.get(base).json["items"]}
    assert items[v1]["active"] and not items[v2]["active"] and not items[v2]["held_for_admin"]


def test_activating_another_storys_version_is_404(app, users, make_story):
    admin = users.make("admin", role="admin")
    _owner, mine = make_story()
    _other_owner, theirs = make_story(users.make("other"))
    foreign = version(app, theirs["id"], "theirs-v1")
    assert admin.post(f"/api/v1/stories/{mine['id']}/models/{foreign}/activate").status_code == 404
    assert admin.post(f"/api/v1/stories/{mine['id']}/models/99999/activate").status_code == 404


# --- cancel ----------------------------------------------------------------------------------------

@BOTH_DATABASES
def test_cancel_of_a_queued_job_is_immediate_and_a_later_delivery_does_nothing(app, users, make_story, db, database_kind):
    from worker.retraining import run_retrain

    admin = users.make("admin", role="admin")
    _owner, story = make_story()
    job_id = admin.post(f"/api/v1/stories/{story['id']}/retrain").json["job_id"]
    answer = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert answer.status_code == 200 and answer.json["status"] == "cancelled"
    assert run_retrain(job_id, "late-delivery") == "already done"
    assert admin.get(f"/api/v1/jobs/{job_id}").json["status"] == "cancelled"
    assert admin.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 409  # finished already
    assert admin.post(f"/api/v1/stories/{story['id']}/retrain").status_code == 202  # the story is free again


def test_cancel_of_a_running_job_asks_the_worker(app, users, make_story):
    admin = users.make("admin", role="admin")
    _owner, story = make_story()
    job_id = add_job(app, kind="retrain", story_id=story["id"], status="running", params={})
    answer = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert answer.status_code == 200 and answer.json["status"] == "running" and answer.json["cancel_requested"]
    with app.app_context():
        from app.jobs import services as jobs

        assert jobs.record_progress(job_id, 0.5, {"step": 5}, [(5, 2.5, 100.0)]) is True


def test_generation_jobs_are_not_cancelled_here(story_in_phase, users, app, db):
    from app.rounds.machine import current_round_query

    admin = users.make("admin", role="admin")
    _owner, story, _ = story_in_phase("generating")
    job_id = db.session.scalar(current_round_query(story["id"])).job_id
    db.session.commit()
    answer = admin.post(f"/api/v1/jobs/{job_id}/cancel")
    assert answer.status_code == 409 and answer.json["error"]["code"] == "not_cancellable"


# --- progress --------------------------------------------------------------------------------------

@BOTH_DATABASES
def test_job_detail_has_progress_and_a_thinned_loss_curve(app, users, make_story, anonymous, database_kind):
    from app.jobs import services as jobs

    _owner, story = make_story()
    job_id = add_job(app, kind="retrain", story_id=story["id"], status="running", params={})
    with app.app_context():
        jobs.record_progress(job_id, 0.4, {"stage": "training", "step": 1200, "total": 3000, "loss": 2.5,
                                           "tokens_per_s": 900.0, "eta_s": 30.0},
                             [(step, 5.0 - step / 1000, 900.0) for step in range(1, 1201)])
    job = anonymous.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "running" and job["progress"] == 0.4 and job["metrics"]["step"] == 1200
    assert job["metrics"]["eta_s"] == 30.0 and job["metrics"]["tokens_per_s"] == 900.0
    points = job["points"]
    assert len(points) == 500 and points[0]["step"] == 1 and points[-1]["step"] == 1200
    assert all(a["step"] < b["step"] for a, b in zip(points, points[1:]))


def test_training_page_shows_the_job_and_versions(app, users, make_story, client):
    _owner, story = make_story()
    version(app, story["id"], "이야기-v1", held_for_admin=True)
    add_job(app, kind="retrain", story_id=story["id"], status="running", progress=0.3, params={},
            metrics={"step": 3, "total": 10})
    page = client.get(f"/stories/{story['id']}/training")
    assert page.status_code == 200
    assert "모델 학습" in page.text and "loss-chart" in page.text and "이야기-v1" in page.text
    assert "재학습 시작" not in page.text  # admins only
    assert f'/stories/{story["id"]}/training' in client.get(f"/stories/{story['id']}").text
    admin = users.signed_in("boss", role="admin")
    assert "재학습 시작" in admin.get(f"/stories/{story['id']}/training").text


# --- starter pretrain --------------------------------------------------------------------------------

def test_starter_pretrain_is_409_for_another_model_name_and_goes_on_from_an_existing_base(app, users, tmp_path):
    from app.extensions import db
    from app.jobs.models import Job

    admin = users.make("admin", role="admin")
    assert admin.post("/api/v1/admin/starter").json["error"]["code"] == "no_novels"
    add_novel(app, admin.user_id, text=NOVEL)
    app.config["MODEL_NAME"] = str(tmp_path / "some-base")
    refused = admin.post("/api/v1/admin/starter")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "not_starter"
    app.config["MODEL_NAME"] = "starter"
    first = admin.post("/api/v1/admin/starter")
    assert first.status_code == 202
    again = admin.post("/api/v1/admin/starter")
    assert again.status_code == 409 and again.json["error"]["job_id"] == first.json["job_id"]
    admin.post(f"/api/v1/jobs/{first.json['job_id']}/cancel")
    starter = tmp_path / "data" / "models" / "starter"
    starter.mkdir(parents=True)
    (starter / "config.json").write_text("{}")
    more = admin.post("/api/v1/admin/starter", {"passes": 2})
    assert more.status_code == 202  # a base exists: a continued pretrain, never an overwrite
    with app.app_context():
        params = db.session.get(Job, more.json["job_id"]).params
    assert params["parent"] == "starter" and params["version"] == f"starter-{more.json['job_id']}"
    assert params["passes"] == 2 and params["by"] == "admin"


@BOTH_DATABASES
def test_pretrain_jobs_are_one_at_a_time_in_the_database(db, database_kind):
    from app.jobs.models import Job

    db.session.add(Job(kind="pretrain", status="running", params={}))
    db.session.commit()
    db.session.add(Job(kind="pretrain", status="queued", params={}))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(Job.id).where(Job.kind == "pretrain", Job.status == "queued")) is None


def test_the_web_side_of_training_never_imports_torch(tmp_path, sqlite_template):
    """Web processes stay light: the training pages and endpoints use only model_server.paths."""
    import shutil
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    shutil.copy(sqlite_template, tmp_path / "relay.sqlite")
    script = textwrap.dedent(f"""
        import sys
        from tests.conftest import site_config
        from app import create_app
        from app.accounts import services as accounts
        from app.stories import services as stories
        from pathlib import Path
        app = create_app(site_config(Path({str(tmp_path)!r}), "sqlite:///{tmp_path / 'relay.sqlite'}"))
        with app.app_context():
            admin = accounts.sign_up("admin", "password123", role="admin")
            token = accounts.issue_token(admin)
            story = stories.create_story(admin, "제목", "첫 글은 열 글자가 넘어야 합니다.")
            story_id = story.id
        client = app.test_client()
        auth = {{"Authorization": "Bearer " + token}}
        job = client.post(f"/api/v1/stories/{{story_id}}/retrain", headers=auth, json={{}}).json["job_id"]
        for path in (f"/api/v1/jobs/{{job}}", f"/api/v1/stories/{{story_id}}/models", f"/stories/{{story_id}}/training"):
            assert client.get(path, headers=auth).status_code == 200, path
        client.post(f"/api/v1/jobs/{{job}}/cancel", headers=auth, json={{}})
        client.post("/api/v1/admin/starter", headers=auth, json={{}})
        for path in ("/api/v1/admin/bases", "/api/v1/admin/judges"):
            assert client.get(path, headers=auth).status_code == 200, path
        assert client.post("/api/v1/admin/judges", headers=auth, json={{}}).status_code == 409
        from worker.tick import tick
        with app.app_context():
            tick()
        print("torch" in sys.modules)
    """)
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "False"
