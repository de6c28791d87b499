"""The starter base's jobs run in-process with the tiny starter: a pretrain reads the passes it was
given however slow the host, a continued version is judged against the serving one, the judges
are trained for a base, and the AI's candidates are chosen by them."""
import json
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.app.training_helpers import add_novel

pytestmark = pytest.mark.slow

TINY_JUDGES = {"JUDGE_CONTEXTS": 6, "JUDGE_HELDOUT_CONTEXTS": 8, "JUDGE_RELEVANCE_GROUPS": 30}


@pytest.mark.parametrize("site_overrides", [{"STARTER_CONFIG": "tiny", "STARTER_PASSES": 1, "STARTER_STEPS": None,
                                             "STARTER_MAX_MINUTES": 0.05}])
def test_a_slowed_pretrain_still_reads_the_passes_it_was_given(app, db, users, novels_dir, monkeypatch, site_overrides):
    """Each optimizer step made slow (a busy host): the run takes longer than STARTER_MAX_MINUTES
    (here 3 s) would allow a time budget, yet it trains every step its passes need."""
    import time

    import model_server.starter as starter
    from app.jobs.models import Job
    from worker.tasks import pretrain_starter

    admin = users.make("admin", role="admin")
    add_novel(app, admin.user_id, novels_dir / "46_Sunrise.txt")
    job_id = admin.post("/api/v1/admin/starter").json["job_id"]
    steps = []
    real = starter.cosine_lr

    def slow_step(*args, **kwargs):
        steps.append(time.monotonic())
        time.sleep(0.15)
        return real(*args, **kwargs)

    monkeypatch.setattr(starter, "cosine_lr", slow_step)
    db.session.rollback()
    pretrain_starter(job_id)
    db.session.expire_all()
    job = db.session.get(Job, job_id)
    assert job.status == "succeeded", job.error
    assert job.metrics["passes"] >= 1.0 and job.metrics["steps"] == len(steps)
    assert steps[-1] - steps[0] > 3  # it ran past the ceiling a time budget would have stopped at
    saved = json.loads((Path(app.config["DATA_DIR"]) / "models" / "starter" / "starter.json").read_text())
    assert saved["metrics"]["steps"] == len(steps) and saved["metrics"]["passes"] >= 1.0
    assert job.metrics["heldout_bpc"] > 0 and job.metrics["curve"]  # its quality, visible
    assert job.metrics["heldout_loss"], "the held-out loss was shown while it trained"


@pytest.mark.parametrize("site_overrides", [{"STARTER_CONFIG": "tiny", "STARTER_STEPS": 30, **TINY_JUDGES}])
def test_judges_trained_for_a_base_choose_the_candidates_of_a_continued_base(app, db, users, tiny_base,
                                                                             tiny_base_novels, story_in_phase,
                                                                             monkeypatch, site_overrides):
    from collections import OrderedDict

    from app.jobs.models import Job
    from app.rounds.models import Candidate
    from app.rounds.machine import current_round_query
    from worker import models
    from worker.generation import run_generation
    from worker.tasks import pretrain_starter, train_judges

    monkeypatch.setattr(models, "_hosts", OrderedDict())
    monkeypatch.setattr(models, "_base_loads", 0)
    models_dir = Path(app.config["DATA_DIR"]) / "models"
    shutil.copytree(tiny_base, models_dir / "starter")  # an admin trained it
    admin = users.make("admin", role="admin")
    for path in tiny_base_novels:
        add_novel(app, admin.user_id, path)

    judge_id = admin.post("/api/v1/admin/judges").json["job_id"]
    db.session.rollback()
    train_judges(judge_id)
    judged = db.session.get(Job, judge_id)
    assert judged.status == "succeeded", judged.error
    assert judged.metrics["base_name"] == "starter" and 0 <= judged.metrics["ranked_first_vs_base"] <= 1
    assert os.path.isfile(os.path.join(judged.metrics["path"], "judges.json"))
    figures = admin.get("/api/v1/admin/judges").json["latest"]
    assert figures["job_id"] == judge_id and figures["for_active_base"]

    more = admin.post("/api/v1/admin/starter").json["job_id"]
    db.session.rollback()
    pretrain_starter(more)
    db.session.expire_all()
    continued = db.session.get(Job, more)
    assert continued.status == "succeeded", continued.error
    version = models_dir / f"starter-{more}"
    saved = json.loads((version / "starter.json").read_text())
    assert saved["parent"] == "starter" and saved["metrics"]["total_seconds"] > saved["metrics"]["seconds"]
    active = admin.get("/api/v1/admin/bases").json["active"]
    assert active == (version.name if continued.metrics["activated"] else "starter"), continued.metrics["decision"]
    assert "처음 보는 글에서의 오차가" in continued.metrics["decision"]

    _owner, story, _ = story_in_phase("generating", k=2)
    round_id = db.session.scalar(current_round_query(story["id"])).id
    db.session.commit()
    assert run_generation(round_id, None) == "done"
    job = db.session.scalar(select(Job).where(Job.kind == "generate"))
    assert job.metrics["judge"] == judge_id and job.metrics["base"] == active
    candidates = db.session.scalars(select(Candidate).where(Candidate.round_id == round_id)).all()
    assert len(candidates) == 2 and all(len(c.params["judge"]["features"]) == 5 for c in candidates)
    # every base this process used was loaded once: the judges' and the writer's host are the same
    assert models.host_stats()["base_loads"] == len({"starter", active})
