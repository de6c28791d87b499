"""Preference data from closed rounds, the admin's preference job, and the rule that decides
whether its version becomes active."""
import json
import os
import shutil

import pytest

from app.training.lineage import preference_decision
from tests.app.training_helpers import closed_round

DIALOGUE = ['"어디로 가는 길이오?" 노인이 물었다.', '"내일은 비가 올 거야." 어머니가 말했다.',
            '"그 편지를 누가 두고 갔을까?" 소년이 중얼거렸다.', '"이제 그만 돌아가자." 누이가 말했다.']
NARRATION = ["바람이 멎자 마을은 조용해졌다.", "그는 창밖의 나무를 오래 바라보았다.", "길가의 돌담은 이끼로 덮여 있었다.",
             "해가 지자 골목에는 등불이 하나씩 켜졌다.", "강물은 소리 없이 흘러갔다."]


@pytest.fixture
def crowd(users, make_story):
    owner, story = make_story()
    people = [users.make(f"reader{i}") for i in range(4)]
    admin = users.make("admin", role="admin")
    return owner, story["id"], [p.user_id for p in people], admin


@pytest.mark.parametrize("database_kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_pairs_leave_out_near_ties_hidden_passages_and_blocked_voters(database_kind, db, crowd):
    from app.accounts.models import User
    from app.stories.models import Passage
    from app.training.preferences import preference_rounds

    owner, story_id, (a, b, c, d), admin = crowd
    clear = closed_round(story_id, [DIALOGUE[0], NARRATION[0], NARRATION[1]], [[a, b, c], [d], []], winner=0)
    tie = closed_round(story_id, [DIALOGUE[1], NARRATION[2]], [[a], [b]], winner=0)
    hidden = closed_round(story_id, [DIALOGUE[2], NARRATION[3]], [[a, b], []], winner=0)
    blocked = closed_round(story_id, [DIALOGUE[3], NARRATION[4]], [[a, d], [b]], winner=0)
    db.session.get(User, d).blocked = True
    db.session.query(Passage).filter(Passage.round_id == hidden).one().hidden = True
    db.session.commit()

    rounds = {r.round_id: r for r in preference_rounds(story_id, min_margin=1)}
    assert set(rounds) == {clear} and not {tie, hidden, blocked} & set(rounds)  # d's vote no longer lifts `blocked`
    r = rounds[clear]
    assert r.chosen.text == DIALOGUE[0] and r.chosen.votes == 3
    assert [(o.text, o.votes, o.margin) for o in r.rejected] == [(NARRATION[0], 0, 3), (NARRATION[1], 0, 3)]
    assert r.keyword == "편지" and r.sentences == 1
    assert "느티나무" in r.context and DIALOGUE[0] not in r.context  # the story before the round, not after
    assert [o.text for o in next(iter(preference_rounds(story_id, min_margin=3))).rejected] == NARRATION[:2]
    assert preference_rounds(story_id, min_margin=4) == []


def test_preference_data_is_for_admins_and_exports_one_jsonl_line_per_pair(db, crowd, client):
    owner, story_id, (a, b, c, d), admin = crowd
    closed_round(story_id, [DIALOGUE[0], NARRATION[0], NARRATION[1]], [[a, b], [c], []], winner=0)
    assert owner.get(f"/api/v1/stories/{story_id}/preferences").status_code == 403
    assert client.get(f"/api/v1/stories/{story_id}/preferences.jsonl").status_code == 401
    listed = admin.get(f"/api/v1/stories/{story_id}/preferences").json
    assert listed["rounds"] == 1 and listed["pairs"] == 2
    assert [o["margin"] for o in listed["items"][0]["rejected"]] == [1, 2]

    export = admin.get(f"/api/v1/stories/{story_id}/preferences.jsonl")
    assert export.status_code == 200 and export.mimetype == "application/x-ndjson"
    lines = [json.loads(line) for line in export.get_data(as_text=True).splitlines()]
    assert [(x["chosen"], x["rejected"], x["margin"]) for x in lines] == [
        (DIALOGUE[0], NARRATION[0], 1), (DIALOGUE[0], NARRATION[1], 2)]
    assert "느티나무" in lines[0]["prompt"] and "편지" in lines[0]["prompt"].splitlines()[-1]
    assert admin.get("/api/v1/stories/999999/preferences").status_code == 404


def test_a_preference_run_waits_for_enough_rounds_and_trains_one_at_a_time(db, crowd, app):
    owner, story_id, (a, b, c, d), admin = crowd
    for i in range(app.config["PREFERENCE_MIN_ROUNDS"] - 1):
        closed_round(story_id, [DIALOGUE[i], NARRATION[i]], [[a, b], [c]], winner=0)
    refused = admin.post(f"/api/v1/stories/{story_id}/prefer")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "not_enough_preferences"
    closed_round(story_id, [DIALOGUE[3], NARRATION[3]], [[a, b], [c]], winner=0)
    assert owner.post(f"/api/v1/stories/{story_id}/prefer").status_code == 403
    started = admin.post(f"/api/v1/stories/{story_id}/prefer")
    assert started.status_code == 202
    assert admin.get(f"/api/v1/jobs/{started.json['job_id']}").json["kind"] == "prefer"
    for busy in ("prefer", "retrain"):
        again = admin.post(f"/api/v1/stories/{story_id}/{busy}")
        assert again.status_code == 409 and again.json["error"]["code"] == "already_training"


@pytest.mark.parametrize("accuracy, before, loss, active_loss, activate", [
    (0.8, 0.4, 2.0, 2.0, True),     # ranks the crowd's pick first more often, loss unchanged
    (0.4, 0.4, 1.0, 2.0, False),    # no better at the crowd's choices: a lower loss is not enough
    (0.8, 0.4, 2.5, 2.0, False),    # better choices, but the story's text got much less likely
    (0.8, None, 2.0, 2.0, False),   # nothing to compare against
    (0.8, 0.4, None, None, True),   # no passages held out: the rounds decide
])
def test_the_preference_activation_rule_over_enough_held_out_rounds(accuracy, before, loss, active_loss, activate):
    decided, reason = preference_decision(accuracy, before, loss, active_loss, threshold=0.05, rounds=5, min_rounds=5)
    assert decided is activate and "선호 정확도" in reason


@pytest.mark.parametrize("accuracy, before, loss, active_loss, activate", [
    (1.0, 1.0, 1.8, 2.0, True),     # 100 % -> 100 % over one round says nothing; the loss is better
    (0.0, 1.0, 1.8, 2.0, True),     # nor does losing that one round
    (1.0, 0.0, 2.5, 2.0, False),    # winning it does not excuse a much worse loss
    (1.0, 1.0, None, None, False),  # measured by neither: an admin decides
])
def test_over_too_few_held_out_rounds_the_loss_decides_and_the_reason_says_so(accuracy, before, loss, active_loss,
                                                                             activate):
    decided, reason = preference_decision(accuracy, before, loss, active_loss, threshold=0.05, rounds=1, min_rounds=5)
    assert decided is activate
    assert "검증 라운드가 1개뿐" in reason and "검증 손실" in reason


def test_a_version_judged_on_too_few_held_out_rounds_activates_by_its_better_loss(db, crowd, app, monkeypatch):
    """The job as the worker runs it, its training faked: of four usable rounds a few are kept
    for judging, too few to count, on which both versions rank the crowd's pick first."""
    from worker.preferring import run_prefer

    owner, story_id, (a, b, c, d), admin = crowd
    for i in range(app.config["PREFERENCE_MIN_ROUNDS"]):
        closed_round(story_id, [DIALOGUE[i], NARRATION[i]], [[a, b], [c]], winner=0)

    def fake_prefer_version(claim, rounds, heldout_rounds, heldout_text, budget, worker=None):
        claim.out_dir.mkdir(parents=True)
        (claim.out_dir / "version.json").write_text(json.dumps({"metrics": {
            "kind": "preference", "heldout_rounds": len(heldout_rounds), "preference_accuracy": 1.0,
            "preference_accuracy_before": 1.0, "val_loss": 1.8, "val_loss_before": 2.0}}))

    monkeypatch.setattr("app.training.lineage.resolve_base", lambda: "/fake/base")
    monkeypatch.setattr("worker.preferring.prefer_version", fake_prefer_version)
    job_id = admin.post(f"/api/v1/stories/{story_id}/prefer").json["job_id"]
    db.session.rollback()
    assert run_prefer(job_id, None, "test-worker") == "done"
    (version,) = admin.get(f"/api/v1/stories/{story_id}/models").json["items"]
    held_out = version["preference"]["rounds"]
    assert version["preference"] == {"before": 1.0, "after": 1.0, "rounds": held_out}
    assert 0 < held_out < app.config.get("PREFERENCE_MIN_HELDOUT_ROUNDS", 5)
    assert version["active"] and not version["held_for_admin"]
    decision = version["metrics"]["decision"]
    assert f"검증 라운드가 {held_out}개뿐" in decision and "자동으로 적용" in decision


@pytest.fixture
def site_overrides(tmp_path):
    return {"DATA_DIR": str(tmp_path / "data"), "MODEL_NAME": "starter", "TRAIN_STEPS": 120,
            "PREFERENCE_HELDOUT_FRACTION": 0.4}


@pytest.mark.slow
def test_a_preference_job_learns_the_crowds_taste_and_is_judged_on_rounds_it_never_saw(db, crowd, app, tiny_base,
                                                                                      users):
    """The crowd always chose the line of dialogue: the job's version must rank it first in more
    held-out rounds than the bare base does, and be recorded (active or held) by that rule."""
    from worker.preferring import run_prefer

    shutil.copytree(tiny_base, os.path.join(app.config["DATA_DIR"], "models", "starter"))
    owner, story_id, (a, b, c, d), admin = crowd
    talk = DIALOGUE * 3
    for i in range(10):
        closed_round(story_id, [talk[i], NARRATION[i % 5], NARRATION[(i + 2) % 5]], [[a, b], [c], []], winner=0,
                     keyword=None)
    job_id = admin.post(f"/api/v1/stories/{story_id}/prefer").json["job_id"]
    db.session.rollback()
    assert run_prefer(job_id, None, "test-worker") == "done"

    job = admin.get(f"/api/v1/jobs/{job_id}").json
    assert job["status"] == "succeeded" and job["points"] and job["points"][-1]["step"] == 120
    (version,) = admin.get(f"/api/v1/stories/{story_id}/models").json["items"]
    assert version["data"]["pairs"] == 12 and len(version["data"]["heldout_rounds"]) == 4
    preference = version["preference"]
    assert preference["rounds"] == 4 and preference["after"] > preference["before"]
    assert version["active"] is version["metrics"]["activated"] is not version["held_for_admin"]
    assert version["metrics"]["activated"] is preference_decision(
        preference["after"], preference["before"], version["metrics"]["val_loss"],
        version["metrics"]["val_loss_before"], app.config["MODEL_ACTIVATE_THRESHOLD"], rounds=4,
        min_rounds=app.config["PREFERENCE_MIN_HELDOUT_ROUNDS"])[0]
    page = users.signed_in("boss", role="admin").get(f"/stories/{story_id}/training").get_data(as_text=True)
    assert "선호 정확도" in page and "선호 라운드 6개 (쌍 12개)" in page and "선호 학습 시작" in page
