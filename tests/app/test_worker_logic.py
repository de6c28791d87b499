"""The worker's tasks run in-process against a stand-in for the model server (the site's
boundary); the real model and a real worker process are in test_relay_loop.py."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    """Every test here runs on SQLite and again on PostgreSQL (a schema of its own)."""
    return request.param


class ModelServerError(Exception):
    pass


class GenerationError(ModelServerError):
    pass


class FakeHost:
    base = "/fake/base"

    def __init__(self):
        self.calls, self.fail = [], None

    def generate(self, adapter_dir, story_text, keyword, sentences, k, seed=None):
        self.calls.append({"adapter_dir": adapter_dir, "story_text": story_text, "keyword": keyword,
                           "sentences": sentences, "k": k, "seed": seed})
        if self.fail:
            raise self.fail
        return [f"{keyword or '이어서'} 이야기 후보 {i}." for i in range(k)]


@pytest.fixture
def model(monkeypatch):
    host = FakeHost()
    available = {"base": "/fake/base"}
    monkeypatch.setattr("app.training.services.resolve_base", lambda: available["base"])
    monkeypatch.setattr("worker.models.model_host", lambda base: host)
    host.available = available
    return host


def current_round(db, story_id):
    from app.rounds.services import current_round_query

    return db.session.scalar(current_round_query(story_id))


def test_generation_writes_k_candidates_then_choosing(story_in_phase, model, db):
    from worker.tasks import generate_candidates

    _owner, story, _ = story_in_phase("generating", k=4)
    round_id = current_round(db, story["id"]).id
    db.session.commit()
    generate_candidates(round_id)
    round_ = current_round(db, story["id"])
    assert round_.phase == "choosing" and round_.job.status == "succeeded"
    assert model.calls[0]["keyword"] == "편지" and model.calls[0]["sentences"] == 2 and model.calls[0]["k"] == 4
    assert "느티나무" in model.calls[0]["story_text"] and model.calls[0]["adapter_dir"] is None


def test_a_redelivered_generation_task_does_nothing(story_in_phase, model, db):
    from app.rounds.models import Candidate
    from worker.generation import run_generation

    _owner, story, _ = story_in_phase("generating", k=2)
    round_id = current_round(db, story["id"]).id
    assert run_generation(round_id, "delivery-1") == "done"
    assert run_generation(round_id, "delivery-2") == "nothing to do"
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 2
    assert len(model.calls) == 1


def test_two_deliveries_racing_store_candidates_once(story_in_phase, db):
    from app.rounds import machine
    from app.rounds.models import Candidate
    from app.training.models import ModelVersion

    _owner, story, _ = story_in_phase("generating", k=2)
    job_id = current_round(db, story["id"]).job_id
    version = ModelVersion(name="base", base="/b", data={}, metrics={})
    db.session.add(version)
    db.session.commit()
    assert machine.finish_generation(job_id, ["가.", "나."], version, {}) is True
    assert machine.finish_generation(job_id, ["다.", "라."], version, {}) is False
    assert db.session.scalar(select(func.count()).select_from(Candidate)) == 2


def test_generation_error_fails_the_job_and_the_owner_can_retry(story_in_phase, model, db):
    from worker.generation import run_generation

    owner, story, _ = story_in_phase("generating")
    round_id = current_round(db, story["id"]).id
    model.fail = GenerationError("키워드 '편지'를 넣은 2문장 후보를 만들지 못했습니다")
    assert run_generation(round_id, None) == "failed"
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert state["phase"] == "generating" and state["job"]["status"] == "failed"
    assert "키워드 '편지'를 넣은 2문장 후보를 만들지 못했습니다" in state["job"]["error"]
    assert "다시 시도" in state["notice"]
    model.fail = None
    assert owner.post(f"/api/v1/stories/{story['id']}/round/advance").status_code == 200
    assert run_generation(round_id, None) == "done"
    assert owner.get(f"/api/v1/stories/{story['id']}/round").json["phase"] == "choosing"


def test_a_retry_samples_with_a_seed_of_its_own_kept_in_the_candidates(story_in_phase, model, db):
    """Seeded from the job, a retry (a new job) never repeats the failed stream, and each
    candidate says which seed wrote it."""
    from app.rounds.models import Candidate
    from worker.generation import run_generation

    owner, story, _ = story_in_phase("generating")
    round_id = current_round(db, story["id"]).id
    model.fail = GenerationError("no luck")
    assert run_generation(round_id, None) == "failed"
    model.fail = None
    assert owner.post(f"/api/v1/stories/{story['id']}/round/advance").status_code == 200
    assert run_generation(round_id, None) == "done"
    first, retry = (call["seed"] for call in model.calls)
    assert first is not None and retry is not None and first != retry
    assert {c.params["seed"] for c in db.session.scalars(select(Candidate))} == {retry}


def test_without_a_base_the_round_waits_and_resumes_by_itself(story_in_phase, model, db, app):
    import os

    from app.rounds.machine import NO_MODEL_NOTICE
    from app.rounds.ticks import tick
    from worker.generation import run_generation

    owner, story, _ = story_in_phase("generating")
    round_id = current_round(db, story["id"]).id
    model.available["base"] = None
    assert run_generation(round_id, None) == "waiting for a base model"
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert state["phase"] == "generating" and state["notice"] == NO_MODEL_NOTICE
    assert state["job"]["status"] == "waiting"
    assert tick()["resumed"] == 0  # still no base
    model.available["base"] = "/fake/base"  # an admin trained the starter
    queue = os.path.join(app.config["BROKER_DIR"], "queue")
    sent_before = len(os.listdir(queue))
    assert tick()["resumed"] == 1
    assert len(os.listdir(queue)) == sent_before + 1
    assert run_generation(round_id, None) == "done"
    assert owner.get(f"/api/v1/stories/{story['id']}/round").json["phase"] == "choosing"


def test_a_silent_job_is_marked_failed_by_the_tick(story_in_phase, db, app):
    from app.database import utcnow
    from app.jobs.services import STALE_REASON
    from app.rounds.ticks import tick

    owner, story, _ = story_in_phase("generating")
    later = utcnow() + timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 5)
    assert tick(now=later)["stale"] == 1
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert state["job"]["status"] == "failed" and state["job"]["error"] == STALE_REASON
    assert owner.post(f"/api/v1/stories/{story['id']}/round/advance").json["job"]["status"] == "queued"


def test_a_job_the_broker_never_got_is_sent_again(story_in_phase, db, app):
    import os

    from app.database import utcnow
    from app.jobs.models import Job
    from app.rounds.ticks import tick

    _owner, story, _ = story_in_phase("generating")
    job = current_round(db, story["id"]).job
    job.celery_id = None  # as if the broker was down at dispatch
    db.session.commit()
    queue = os.path.join(app.config["BROKER_DIR"], "queue")
    before = len(os.listdir(queue))
    assert tick(now=utcnow() + timedelta(seconds=60))["resent"] == 1
    assert len(os.listdir(queue)) == before + 1
    assert db.session.get(Job, job.id).celery_id is not None


@pytest.fixture
def fake_training(monkeypatch, tmp_path):
    trained = []

    def train(job_id, steps, base, text, name, from_adapter, out_dir, worker=None):
        out_dir.mkdir(parents=True)
        (out_dir / "version.json").write_text("{}")
        trained.append({"text": text, "from_adapter": from_adapter, "out_dir": out_dir, "steps": steps})
        return out_dir, {"loss": 1.5, "step": steps}

    monkeypatch.setattr("worker.learning._train", train)
    return trained


def test_put_human_txt_learns_then_appends_the_continuation(make_story, model, fake_training, db, anonymous):
    from app.stories.models import Story, TrainingText
    from worker.tasks import learn_and_continue

    owner, story = make_story()
    passage_id = story["passages"][0]["id"]
    job_id = owner.get(f"/put_Human_txt?contents_id={passage_id}&is_first=Y").json["job_id"]
    db.session.commit()
    learn_and_continue(job_id)
    job = anonymous.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["metrics"]["version"] == f"이야기{story['id']}-v1"
    passages = anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"]
    assert passages[-1]["author_kind"] == "ai" and passages[-1]["model_version"] == f"이야기{story['id']}-v1"
    assert model.calls[-1]["keyword"] is None and model.calls[-1]["k"] == 1 and model.calls[-1]["sentences"] == 3
    assert fake_training[0]["from_adapter"] is None and fake_training[0]["text"] == story["passages"][0]["text"]
    db.session.expire_all()
    active = db.session.get(Story, story["id"]).active_model_version
    assert active.path == str(fake_training[0]["out_dir"]) and model.calls[-1]["adapter_dir"] == active.path
    assert db.session.scalar(select(TrainingText.used_by_version_id)) == active.id
    first_adapter = active.path
    assert learn_and_continue(job_id) is None and len(anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"]) == 2

    # N continues the story's current adapter.
    second = owner.get(f"/put_Human_txt?contents_id={passage_id}&is_first=N").json["job_id"]
    db.session.commit()
    learn_and_continue(second)
    assert fake_training[1]["from_adapter"] == first_adapter
    assert anonymous.get(f"/api/v1/jobs/{second}").json["metrics"]["version"] == f"이야기{story['id']}-v2"


def test_a_retry_replaces_a_waiting_job_for_good(story_in_phase, model, db):
    from app.jobs.models import Job
    from app.rounds.ticks import tick
    from worker.generation import run_generation

    owner, story, _ = story_in_phase("generating")
    round_id = current_round(db, story["id"]).id
    model.available["base"] = None
    run_generation(round_id, None)
    first = current_round(db, story["id"]).job_id
    db.session.rollback()
    retried = owner.post(f"/api/v1/stories/{story['id']}/round/advance").json["job"]["id"]
    assert retried != first and db.session.get(Job, first).status == "failed"
    model.available["base"] = "/fake/base"
    assert tick()["resumed"] == 0  # nothing waits any more: the new job is already queued
    assert run_generation(round_id, None) == "done"
