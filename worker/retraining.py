"""retrain_story and pretrain_starter: the admin's training jobs.

A retrain trains and records a story's version the way put_Human_txt does (worker/versions.py);
the starter pretrain writes the site's base. A cancelled run leaves no version and no folder.
"""
import json
import logging
from pathlib import Path

from sqlalchemy import select

from app.database import transaction
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.novels.models import Novel
from app.training import services as training
from app.training.material import HUMAN_WEIGHT, RetrainMaterial, retrain_material
from worker.folders import remove_leftovers
from worker.reporting import JobReporter
from worker.versions import claim_story_job, decide, finite, not_trained, record_version, train_version

log = logging.getLogger(__name__)


def warm_up(module: str) -> None:
    """A fresh worker process imports torch and transformers on its first model job: seconds,
    much of it holding the GIL, which would stall the progress thread. Done before the job is
    claimed, so a job shows as running only once it can report."""
    import importlib

    importlib.import_module(module)


# ---------------------------------------------------------------- retrain a story's adapter

def run_retrain(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    claimed = claim_story_job(job_id, celery_id, worker)
    if isinstance(claimed, str):
        return claimed
    base, from_adapter, parent_id, story_id = claimed.base, claimed.from_adapter, claimed.parent_id, claimed.story.id
    params = dict(claimed.job.params)
    material = retrain_material(story_id, params["heldout_fraction"])
    db.session.commit()  # plain values from here on: an ORM object touched later reopens a transaction
    jobs.clear_points(job_id)
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    try:
        train_version(job_id, base, _texts(material), material.heldout_text, out_dir, from_adapter, params["budget"],
                      worker)
    except Exception as e:
        return not_trained(job_id, e)
    decision = decide(out_dir, len(material.counts["heldout_passages"]), params["threshold"])
    return record_version(job_id, story_id, base, parent_id, out_dir, decision, material.counts)


def _texts(material: RetrainMaterial) -> list:
    from model_server.training import TrainingText as Text

    texts = [Text(label, text) for label, text in material.novels]
    texts.append(Text(f"story-{material.story_id}", material.story_text))
    if material.human_text:
        texts.append(Text(f"story-{material.story_id}-human", material.human_text, weight=HUMAN_WEIGHT))
    return texts


# ---------------------------------------------------------------- pretrain the starter base

def run_pretrain(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    from model_server.paths import starter_dir

    job = jobs.claim(job_id, celery_id, worker)
    if job is None:
        return "already done"
    params = dict(job.params)
    target = starter_dir(training.models_dir())
    remove_leftovers(target, only_partial=True)
    if target.exists():
        jobs.mark_failed(job, "기본 모델 폴더가 이미 있습니다.")
        db.session.commit()
        return "failed"
    novels = [(f"novel-{n.id}:{n.title}", n.text) for n in
              db.session.scalars(select(Novel).where(Novel.status == "visible").order_by(Novel.id))]
    db.session.commit()
    jobs.clear_points(job_id)
    try:
        with JobReporter(job_id, worker=worker) as reporter:
            _pretrain(novels, target, params, reporter)
    except Exception as e:
        return not_trained(job_id, e)
    metrics = finite(json.loads((target / "starter.json").read_text(encoding="utf-8"))["metrics"])
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status == "running":
            # A cancel that arrives after the base is written is too late: generation may be
            # loading it already, so it stays (and the job says it succeeded).
            jobs.mark_succeeded(job, metrics={**metrics, "stage": "done", "novels": len(novels),
                                              "path": str(target)})
    log.info("job %s: starter base written to %s", job_id, target)
    return "done"


def _pretrain(novels: list[tuple[str, str]], target: Path, params: dict, reporter: JobReporter) -> None:
    from model_server.data import TrainingText as Text
    from model_server.starter import StarterConfig, pretrain

    config = StarterConfig.tiny() if params["config"] == "tiny" else StarterConfig()
    # written whole under a hidden name and renamed into place (atomic_dir): resolve_base finds
    # nothing until the base is complete, then the tick resumes the rounds that waited for it.
    pretrain([Text(label, text) for label, text in novels], target, config=config, progress=reporter.progress,
             should_cancel=reporter.should_cancel, progress_interval=1.0, **params["budget"])
