"""retrain_story and pretrain_starter: the admin's training jobs.

Same shape as learning.py: claim the job, read what it needs as plain values and end the
transaction, train with progress (worker/reporting.py), then record the result in one
transaction. A cancelled run leaves no version and no folder behind.
"""
import json
import logging
import math
import shutil
from pathlib import Path

from sqlalchemy import select, update

from app.database import transaction
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.novels.models import Novel
from app.stories.models import Story, TrainingText
from app.training import services as training
from app.training.material import HUMAN_WEIGHT, RetrainMaterial, activation_decision, retrain_material
from app.training.models import ModelVersion
from worker.folders import remove_leftovers
from worker.reporting import JobReporter

log = logging.getLogger(__name__)


def warm_up(module: str) -> None:
    """A fresh worker process imports torch and transformers on its first model job: seconds,
    much of it holding the GIL, which would stall the progress thread. Done before the job is
    claimed, so a job shows as running only once it can report."""
    import importlib

    importlib.import_module(module)


def finite(metrics: dict) -> dict:
    """JSON columns take no NaN or infinity (PostgreSQL refuses them): those become None."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in metrics.items()}


# ---------------------------------------------------------------- retrain a story's adapter

def run_retrain(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    job, base = training.claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    if base is None:
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    active = story.active_model_version
    # Incremental from the active adapter, unless it was trained on another base.
    from_adapter = active.path if active is not None and active.path and active.base == base else None
    parent_id = active.id if from_adapter else None
    params = dict(job.params)
    material = retrain_material(story.id, params["heldout_fraction"])
    story_id = story.id
    db.session.commit()  # plain values from here on (see learning.py)
    jobs.clear_points(job_id)
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    try:
        with JobReporter(job_id) as reporter:
            _train(base, material, out_dir, from_adapter, params["budget"], reporter)
    except Exception as e:
        return _not_trained(job_id, e)
    return _record_retrain(job_id, story_id, base, parent_id, out_dir, material, params["threshold"])


def _train(base: str, material: RetrainMaterial, out_dir: Path, from_adapter: str | None, budget: dict,
           reporter: JobReporter) -> None:
    from model_server.training import TrainSettings, TrainingText as Text, train

    texts = [Text(label, text) for label, text in material.novels]
    texts.append(Text(f"story-{material.story_id}", material.story_text))
    if material.human_text:
        texts.append(Text(f"story-{material.story_id}-human", material.human_text, weight=HUMAN_WEIGHT))
    validation = [Text(f"story-{material.story_id}-heldout", material.heldout_text)] if material.heldout_text else None
    settings = TrainSettings(seed=0, progress_interval=1.0, **budget)
    train(base, texts, out_dir, from_adapter=from_adapter, settings=settings, progress=reporter.progress,
          should_cancel=reporter.should_cancel, validation=validation)


def _record_retrain(job_id: int, story_id: int, base: str, parent_id: int | None, out_dir: Path,
                    material: RetrainMaterial, threshold: float) -> str:
    """One transaction: the new version, active unless it is worse on the held-out passages."""
    metrics = finite(json.loads((out_dir / "version.json").read_text(encoding="utf-8"))["metrics"])
    heldout = len(material.counts["heldout_passages"])
    if heldout:
        # train() measured the active adapter (the one it started from, or the bare base) and
        # the new one on the same held-out passages, in this job.
        activate, reason = activation_decision(metrics.get("val_loss"), metrics.get("val_loss_before"), threshold)
    else:
        activate, reason = True, "이야기 글이 적어 검증용으로 남길 글이 없습니다. 바로 적용했습니다."
    metrics.update(heldout_passages=heldout, active_val_loss=metrics.get("val_loss_before"),
                   activated=activate, decision=reason, threshold=threshold)
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already recorded"
        if job.cancel_requested:  # asked to stop while the version was being saved
            jobs.mark_cancelled(job)
            recorded = None
        else:
            story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
            version = ModelVersion(story_id=story_id, name=training.next_version_name(story_id), base=base,
                                   parent_id=parent_id, path=str(out_dir), held_for_admin=not activate,
                                   metrics=metrics, data={"job": job_id, **material.counts})
            db.session.add(version)
            db.session.flush()
            if activate:
                story.active_model_version_id = version.id
            db.session.execute(
                update(TrainingText).where(TrainingText.passage_id.in_(material.counts["passages"]),
                                           TrainingText.used_by_version_id.is_(None))
                .values(used_by_version_id=version.id))
            jobs.mark_succeeded(job, metrics={**metrics, "stage": "done", "version": version.name,
                                              "version_id": version.id})
            recorded = version.name
    if recorded is None:
        shutil.rmtree(out_dir, ignore_errors=True)
        return "cancelled"
    log.info("job %s: %s (%s)", job_id, recorded, reason)
    return "done"


def _not_trained(job_id: int, error: Exception) -> str:
    """Cancelled or failed: the job says which; train() left no version folder behind."""
    from model_server.progress import Cancelled

    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already finished"
        if isinstance(error, Cancelled):
            jobs.mark_cancelled(job)
            return "cancelled"
        log.error("training job %s failed", job_id, exc_info=error)
        jobs.mark_failed(job, f"{type(error).__name__}: {error}")
    return "failed"


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
        with JobReporter(job_id) as reporter:
            _pretrain(novels, target, params, reporter)
    except Exception as e:
        return _not_trained(job_id, e)
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
