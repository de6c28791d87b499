"""The worker's tasks run in-process against a stand-in for the model server (the site's
boundary); the real model and a real worker process are in test_relay_loop.py."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from model_server.errors import GenerationError
from tests.app.training_helpers import Written


@pytest.fixture(autouse=True, params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_kind(request):
    """Every test here runs on SQLite and again on PostgreSQL (a schema of its own)."""
    return request.param


class FakeHost:
    base = "/fake/base"

    def __init__(self):
        self.calls, self.fail = [], None

    def generate(self, adapter_dir, story_text, keyword, sentences, k, seed=None, judge=None, notes=(), mood=None):
        self.calls.append({"adapter_dir": adapter_dir, "story_text": story_text, "keyword": keyword,
                           "sentences": sentences, "k": k, "seed": seed, "judge": judge, "notes": list(notes),
                           "mood": mood})
        if self.fail:
            raise self.fail
        # like the real host, the notes that fit the prompt: here all but any past the third
        used = tuple(name for name, _ in notes[:3])
        return [Written(f"{keyword or '이어서'} 이야기 후보 {i}.", score=-float(i), features=(0.5 - i, 1.0, 0.0, 0.0, 0.0),
                        notes=used) for i in range(k)]


@pytest.fixture
def model(monkeypatch):
    host = FakeHost()
    available = {"base": "/fake/base"}
    monkeypatch.setattr("app.training.lineage.resolve_base", lambda: available["base"])
    monkeypatch.setattr("worker.models.model_host", lambda base: host)
    host.available = available
    return host


def current_round(db, story_id):
    from app.rounds.machine import current_round_query

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
    assert model.calls[0]["mood"] is None  # the proposal asked for none


def test_generation_asks_the_model_for_the_mood_the_winning_proposal_asked_for(story_in_phase, model, db):
    from worker.tasks import generate_candidates

    owner, story, (p1, _p2) = story_in_phase("proposing")
    base = f"/api/v1/stories/{story['id']}/round"
    assert p1.post(f"{base}/proposals", {"keyword": "편지", "sentences": 2, "mood": "긴장"}).status_code == 201
    owner.post(f"{base}/advance")
    p1.post(f"{base}/votes", {"proposal_id": owner.get(base).json["proposals"][0]["id"]})
    round_id = owner.post(f"{base}/advance").json["id"]
    db.session.commit()
    generate_candidates(round_id)
    assert model.calls[0]["mood"] == "긴장"
    assert current_round(db, story["id"]).job.params["mood"] == "긴장"


def test_generation_reads_the_matching_bible_notes_and_records_their_names(story_in_phase, model, users, db):
    from app.rounds.models import Candidate
    from worker.tasks import generate_candidates

    owner, story, (p1, _p2) = story_in_phase("generating", k=2)
    bible = f"/api/v1/stories/{story['id']}/bible"
    for body in ({"name": "마을", "text": "산골의 작은 마을.", "triggers": ["어귀"]},       # named in the opening
                 {"name": "우체부", "text": "편지를 나르는 늙은 우체부.", "pinned": True},  # pinned
                 {"name": "정거장", "text": "마을 끝의 간이역."}):                          # not in the story
        assert owner.post(bible, body).status_code == 201
    assert p1.post(f"{bible}/suggest", {"name": "느티나무", "text": "제안일 뿐인 노트."}).status_code == 201
    round_id = current_round(db, story["id"]).id
    db.session.commit()
    generate_candidates(round_id)

    assert model.calls[0]["notes"] == [("우체부", "편지를 나르는 늙은 우체부."), ("마을", "산골의 작은 마을.")]
    round_ = current_round(db, story["id"])
    assert round_.phase == "choosing" and round_.job.metrics["notes"] == ["우체부", "마을"]
    candidates = db.session.scalars(select(Candidate).where(Candidate.round_id == round_id)).all()
    assert [c.params["notes"] for c in candidates] == [["우체부", "마을"]] * 2
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert [c["notes"] for c in state["candidates"]] == [["우체부", "마을"]] * 2


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
    model.fail = GenerationError("could not write 3 passage(s) of 2 sentence(s) containing '편지' in 4 tries")
    assert run_generation(round_id, None) == "failed"
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert state["phase"] == "generating" and state["job"]["status"] == "failed"
    # the model server's English is for the log; people read why in Korean
    assert state["job"]["error"].startswith("키워드 「편지」, 2문장으로 후보를") and "could not" not in state["notice"]
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
    from worker.tick import tick
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


def test_once_a_base_exists_the_resumed_round_no_longer_says_there_is_none(story_in_phase, model, db):
    """The tick re-queues the waiting job: from then on the round and its job say nothing about a
    missing base model, while the AI writes (not only once the candidates are in)."""
    from worker.tick import tick
    from worker.generation import run_generation

    owner, story, _ = story_in_phase("generating")
    model.available["base"] = None
    run_generation(current_round(db, story["id"]).id, None)
    db.session.rollback()
    model.available["base"] = "/fake/base"
    assert tick()["resumed"] == 1
    state = owner.get(f"/api/v1/stories/{story['id']}/round").json
    assert state["phase"] == "generating" and state["job"]["status"] == "queued"
    assert state["notice"] is None and state["job"]["error"] is None


def test_a_silent_job_is_marked_failed_by_the_tick(story_in_phase, db, app):
    from app.database import utcnow
    from app.jobs.services import STALE_REASON
    from worker.tick import tick

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
    from worker.tick import tick

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
    """Stands in for model_server's training: writes a version folder with the held-out losses
    ``losses`` says (before, after), as train() would have measured them."""
    class Trained(list):
        losses = {"before": 2.0, "after": 1.5}

    trained = Trained()
    losses = trained.losses

    def train_version(claim, texts, heldout_text, budget, worker=None):
        import json

        out_dir, from_adapter = claim.out_dir, claim.from_adapter
        out_dir.mkdir(parents=True)
        metrics = {"val_loss_before": losses["before"] if heldout_text else None,
                   "val_loss": losses["after"] if heldout_text else None, "steps": budget.get("steps")}
        (out_dir / "version.json").write_text(json.dumps({"metrics": metrics}))
        trained.append({"text": texts[0].text, "from_adapter": from_adapter, "out_dir": out_dir,
                        "heldout_text": heldout_text, "steps": budget.get("steps")})

    monkeypatch.setattr("worker.learning.train_version", train_version)
    return trained


def test_put_human_txt_learns_then_appends_the_continuation(make_story, model, fake_training, db, anonymous):
    from app.stories.models import Story, TrainingText
    from worker.tasks import learn_and_continue

    owner, story = make_story()
    passage_id = story["passages"][0]["id"]
    bible = f"/api/v1/stories/{story['id']}/bible"
    assert owner.post(bible, {"name": "느티나무", "text": "마을 어귀의 오래된 나무."}).status_code == 201  # in the opening
    assert owner.post(bible, {"name": "정거장", "text": "마을 끝의 간이역."}).status_code == 201     # not in the story
    job_id = owner.get(f"/put_Human_txt?contents_id={passage_id}&is_first=Y").json["job_id"]
    db.session.commit()
    learn_and_continue(job_id)
    job = anonymous.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["progress"] == 1.0 and job["metrics"]["version"] == f"이야기{story['id']}-v1"
    assert model.calls[-1]["notes"] == [("느티나무", "마을 어귀의 오래된 나무.")]  # the bible, read as a round reads it
    assert job["metrics"]["notes"] == ["느티나무"]
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


@pytest.mark.parametrize("meanwhile", ["passage", "finished"])
def test_a_continuation_is_left_out_when_the_story_moved_on_while_it_trained(make_story, model, fake_training, db,
                                                                            anonymous, monkeypatch, meanwhile):
    """It was written to follow the human passage: if the story went on (or was finished)
    meanwhile, the version is recorded and the continuation left out, with a note saying why."""
    import worker.learning
    from app.accounts.models import User
    from app.rounds import machine
    from app.stories.chapters import finish_story
    from app.stories.models import Story
    from app.training.lineage import STORY_FINISHED, STORY_MOVED_ON
    from worker.tasks import learn_and_continue

    owner, story = make_story()
    trained = worker.learning.train_version

    def train_while_the_story_goes_on(*args, **kwargs):
        trained(*args, **kwargs)
        author = db.session.get(User, owner.user_id)
        if meanwhile == "finished":
            finish_story(story["id"], author)
        else:
            machine.append_passage(db.session.get(Story, story["id"]), "그사이 누군가 한 줄을 더 썼다.", author=author)
            db.session.commit()

    monkeypatch.setattr("worker.learning.train_version", train_while_the_story_goes_on)
    job_id = owner.get(f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=Y").json["job_id"]
    db.session.commit()
    learn_and_continue(job_id)
    job = anonymous.get(f"/api/v1/jobs/{job_id}").json
    note = STORY_FINISHED if meanwhile == "finished" else STORY_MOVED_ON
    assert job["status"] == "succeeded" and job["metrics"]["note"] == note
    assert job["metrics"]["version"] == f"이야기{story['id']}-v1" and "passage_id" not in job["metrics"]
    texts = [p["text"] for p in anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"]]
    assert texts == [story["passages"][0]["text"]] + (["그사이 누군가 한 줄을 더 썼다."] if meanwhile == "passage" else [])


def test_a_round_waiting_for_a_base_offers_no_retry(story_in_phase, model, db):
    """Pressing "다시 시도" while the job only waits for a base model used to fail that job and
    queue a second one; waiting is not failing, and the round goes on by itself."""
    from app.jobs.models import Job
    from worker.generation import run_generation

    owner, story, _ = story_in_phase("generating")
    round_id = current_round(db, story["id"]).id
    model.available["base"] = None
    run_generation(round_id, None)
    waiting = current_round(db, story["id"]).job_id
    db.session.rollback()
    for call in (f"/api/v1/stories/{story['id']}/round/advance", f"/api/v1/stories/{story['id']}/round/recover"):
        refused = owner.post(call, {"action": "retry"})
        assert refused.status_code == 409 and refused.json["error"]["code"] == "waiting_for_base"
    assert db.session.get(Job, waiting).status == "waiting" and current_round(db, story["id"]).job_id == waiting


def fail_generation(db, story_id, model):
    from worker.generation import run_generation

    round_id = current_round(db, story_id).id
    model.fail = GenerationError("no candidates")
    assert run_generation(round_id, None) == "failed"
    model.fail = None
    db.session.rollback()


def test_after_a_failure_the_owner_can_take_the_runner_up_proposal(story_in_phase, model, db):
    owner, story, (p1, p2) = story_in_phase("generating")
    fail_generation(db, story["id"], model)
    state = owner.post(f"/api/v1/stories/{story['id']}/round/recover", {"action": "runner_up"}).json
    # p2's hand-written passage had no votes but is the only other proposal: appended at once
    assert state["number"] == 2 and state["phase"] == "proposing"
    passages = owner.get(f"/api/v1/stories/{story['id']}").json["passages"]
    assert passages[-1]["text"] == "바람이 불자 편지가 저절로 펼쳐졌다." and passages[-1]["author"] == "p2"


def test_the_runner_up_is_the_next_most_voted_and_is_never_tried_twice(story_in_phase, users, model, db):
    owner, story, (p1, p2) = story_in_phase("proposing")
    p3, p4, p5 = users.make("p3"), users.make("p4"), users.make("p5")
    base = f"/api/v1/stories/{story['id']}/round"
    for who, body in ((p1, {"keyword": "편지", "sentences": 2}), (p3, {"keyword": "바람", "sentences": 1}),
                      (p2, {"text": "바람이 불자 편지가 저절로 펼쳐졌다."})):
        assert who.post(f"{base}/proposals", body).status_code == 201
    assert owner.post(f"{base}/advance").json["phase"] == "voting"
    ids = {p["keyword"] or "text": p["id"] for p in owner.get(base).json["proposals"]}
    for voter, target in ((p1, "편지"), (p4, "편지"), (p5, "편지"), (p2, "바람"), (p3, "바람"), (owner, "text")):
        assert voter.post(f"{base}/votes", {"proposal_id": ids[target]}).status_code == 200
    assert owner.post(f"{base}/advance").json["winning_proposal_id"] == ids["편지"]
    fail_generation(db, story["id"], model)
    second = owner.post(f"{base}/recover", {"action": "runner_up"}).json
    assert second["winning_proposal_id"] == ids["바람"] and second["phase"] == "generating"
    fail_generation(db, story["id"], model)
    third = owner.post(f"{base}/recover", {"action": "runner_up"}).json
    assert third["number"] == 2  # the hand-written one, appended; 편지 and 바람 were not tried again
    fail = owner.post(f"{base}/recover", {"action": "runner_up"})
    assert fail.status_code == 409


def test_after_a_failure_the_owner_can_go_back_to_proposing(story_in_phase, model, db):
    from app.rounds.models import Vote

    owner, story, (p1, _) = story_in_phase("generating")
    fail_generation(db, story["id"], model)
    state = owner.post(f"/api/v1/stories/{story['id']}/round/recover", {"action": "propose_again"}).json
    assert state["phase"] == "proposing" and state["number"] == 1 and state["winning_proposal_id"] is None
    assert len(state["proposals"]) == 2 and all(p["votes"] == 0 for p in state["proposals"])
    assert not db.session.scalars(select(Vote)).all()
    edited = p1.post(f"/api/v1/stories/{story['id']}/round/proposals", {"keyword": "바람", "sentences": 1})
    assert edited.status_code == 201


def test_after_a_failure_retry_queues_a_new_job(story_in_phase, model, db):
    owner, story, _ = story_in_phase("generating")
    first = current_round(db, story["id"]).job_id
    db.session.rollback()
    fail_generation(db, story["id"], model)
    state = owner.post(f"/api/v1/stories/{story['id']}/round/recover", {"action": "retry"}).json
    assert state["phase"] == "generating" and state["job"]["status"] == "queued" and state["job"]["id"] != first


def test_recovery_is_for_the_owner_after_a_real_failure(story_in_phase, model, db):
    owner, story, (p1, _) = story_in_phase("generating")
    url = f"/api/v1/stories/{story['id']}/round/recover"
    running = owner.post(url, {"action": "retry"})
    assert running.status_code == 409 and running.json["error"]["code"] == "generating"
    fail_generation(db, story["id"], model)
    assert p1.post(url, {"action": "retry"}).status_code == 403
    bad = owner.post(url, {"action": "give_up"})
    assert bad.status_code == 400 and "retry" in bad.json["error"]["message"]
    assert owner.post(url, {}).status_code == 400


def test_put_human_txt_is_refused_while_a_round_is_under_way(make_story, users, model, fake_training, db):
    owner, story = make_story()
    passage_id = story["passages"][0]["id"]
    assert users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals",
                                 {"keyword": "편지", "sentences": 2}).status_code == 201
    refused = owner.get(f"/put_Human_txt?contents_id={passage_id}&is_first=Y")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "round_in_progress"
    assert "라운드" in refused.json["error"]["message"]


def test_put_human_txt_adds_no_passage_to_a_round_that_started_while_it_trained(make_story, users, model,
                                                                                  fake_training, db, anonymous):
    from worker.tasks import learn_and_continue

    owner, story = make_story()
    job_id = owner.get(f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=Y").json["job_id"]
    assert users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals",
                                 {"keyword": "편지", "sentences": 2}).status_code == 201
    db.session.commit()
    learn_and_continue(job_id)
    job = anonymous.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "succeeded" and "라운드" in job["metrics"]["note"]
    assert len(anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"]) == 1


def test_put_human_txt_follows_the_activation_rule_of_a_retrain(make_story, model, fake_training, db, anonymous):
    """A version worse on the story's held-out passages waits for an admin, as a retrain's does,
    and the continuation is written by the version that stays active."""
    from app.rounds import machine
    from app.stories.models import Story
    from worker.tasks import learn_and_continue

    owner, story = make_story()
    from app.accounts.models import User

    for i in range(4):
        machine.append_passage(db.session.get(Story, story["id"]), f"{i}번째로 덧붙인 글입니다. 이야기는 계속된다.",
                               author=db.session.get(User, owner.user_id))
        db.session.commit()
    fake_training.losses.update(before=2.0, after=3.0)  # far worse than the threshold allows
    job_id = owner.get(f"/put_Human_txt?contents_id={story['passages'][0]['id']}&is_first=Y").json["job_id"]
    db.session.commit()
    learn_and_continue(job_id)
    job = anonymous.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["metrics"]["activated"] is False
    assert "관리자 확인" in job["metrics"]["decision"] and fake_training[0]["heldout_text"]
    versions = anonymous.get(f"/api/v1/stories/{story['id']}/models").json["items"]
    assert versions[0]["held_for_admin"] and not versions[0]["active"]
    db.session.expire_all()
    assert db.session.get(Story, story["id"]).active_model_version_id is None
    assert model.calls[-1]["adapter_dir"] is None  # the bare base wrote, not the held version
    passages = anonymous.get(f"/api/v1/stories/{story['id']}").json["passages"]
    assert passages[-1]["author_kind"] == "ai" and passages[-1]["model_version"] != versions[0]["name"]


def to_generating(owner, story_id: int, proposer, voter) -> None:
    """From proposing to generating with a keyword proposal, through the API."""
    base = f"/api/v1/stories/{story_id}/round"
    assert proposer.post(f"{base}/proposals", {"keyword": "편지", "sentences": 1}).status_code == 201
    assert owner.post(f"{base}/advance").status_code == 200
    assert voter.post(f"{base}/votes", {"proposal_id": owner.get(base).json["proposals"][0]["id"]}).status_code == 200
    assert owner.post(f"{base}/advance").json["phase"] == "generating"


def test_candidates_keep_how_the_judge_saw_them_and_the_crowds_choice_refits_it(story_in_phase, model, db):
    """Each candidate keeps the judge's features; once the crowd has chosen between candidates,
    the story's next generation gets a judge refitted to those choices (Judge.for_story)."""
    from app.jobs.models import Job
    from app.rounds.models import Candidate
    from model_server.judges.judge import Judge
    from worker.generation import run_generation

    owner, story, (p1, p2) = story_in_phase("generating", k=3)
    base = f"/api/v1/stories/{story['id']}/round"
    assert run_generation(current_round(db, story["id"]).id, None) == "done"
    assert model.calls[0]["judge"] is None  # no trained judges, no votes yet: generation's own default
    candidates = list(db.session.scalars(select(Candidate).order_by(Candidate.id)))
    assert [c.params["judge"]["features"][0] for c in candidates] == [0.5, -0.5, -1.5]
    assert all(len(c.params["judge"]["features"]) == 5 and "score" in c.params["judge"] for c in candidates)
    first_job = db.session.get(Job, current_round(db, story["id"]).job_id)
    assert first_job.metrics["story_pairs"] == 0 and first_job.metrics["judge"] is None
    db.session.commit()

    for voter in (p1, p2):  # the crowd prefers the second candidate, by two votes to none
        assert voter.post(f"{base}/votes", {"candidate_id": candidates[1].id}).status_code == 200
    assert owner.post(f"{base}/advance").json["phase"] == "proposing"
    to_generating(owner, story["id"], p1, p2)
    assert run_generation(current_round(db, story["id"]).id, None) == "done"
    judge = model.calls[1]["judge"]
    assert isinstance(judge, Judge) and judge.metrics["story_pairs"] == 2
    assert judge.weights != Judge.untrained().weights  # the votes moved the weights
    assert db.session.get(Job, current_round(db, story["id"]).job_id).metrics["story_pairs"] == 2


def test_a_story_writes_with_the_base_its_adapter_was_trained_on(story_in_phase, model, db, tmp_path, monkeypatch):
    """An adapter runs on its own base while that exists; with its base gone it runs on another
    version of the same lineage; a story without an adapter writes with the serving base."""
    import json
    import shutil

    from app.stories.models import Story
    from app.training.models import ModelVersion
    from worker.generation import run_generation

    models_dir = tmp_path / "models"
    for name, parent in (("starter", None), ("starter-5", "starter")):
        (models_dir / name).mkdir(parents=True)
        (models_dir / name / "config.json").write_text("{}")
        (models_dir / name / "starter.json").write_text(json.dumps({"parent": parent}))
    old, new = str(models_dir / "starter"), str(models_dir / "starter-5")
    model.available["base"] = new
    hosts_asked = []
    monkeypatch.setattr("worker.models.model_host", lambda base: hosts_asked.append(base) or model)

    owner, story, (p1, p2) = story_in_phase("generating")
    assert run_generation(current_round(db, story["id"]).id, None) == "done"
    assert hosts_asked[-1] == new and model.calls[-1]["adapter_dir"] is None  # no adapter: the serving base

    adapter = ModelVersion(story_id=story["id"], name="이야기-v1", base=old, path=str(tmp_path / "adapter"),
                           data={}, metrics={})
    db.session.add(adapter)
    db.session.flush()
    db.session.get(Story, story["id"]).active_model_version_id = adapter.id
    db.session.commit()
    for gone in (False, True):
        if gone:
            shutil.rmtree(old)  # its base is gone: the lineage's serving version runs it
        base = f"/api/v1/stories/{story['id']}/round"
        assert p1.post(f"{base}/votes", {"candidate_id": owner.get(base).json["candidates"][0]["id"]}).status_code == 200
        assert owner.post(f"{base}/advance").json["phase"] == "proposing"
        to_generating(owner, story["id"], p1, p2)
        assert run_generation(current_round(db, story["id"]).id, None) == "done"
        assert hosts_asked[-1] == (new if gone else old) and model.calls[-1]["adapter_dir"] == adapter.path
