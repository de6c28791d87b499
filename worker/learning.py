"""learn_and_continue (put_Human_txt): fine-tune the story's adapter on one human passage,
record and activate the new version, then append the AI's continuation tagged with it."""
import logging
import time

from flask import current_app
from sqlalchemy import select

from app.database import transaction
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.rounds import machine
from app.stories.models import Passage, Story, TrainingText
from app.training.models import ModelVersion
from app.training import services as training
from worker.generation import story_context
from worker import models
from worker.folders import remove_leftovers
from worker.models import generation_seed

log = logging.getLogger(__name__)


def run_learning(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    job, base = training.claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    if db.session.scalar(select(Passage.hidden).where(Passage.id == job.params["passage_id"])):
        # Hidden by an admin after the job was queued: never learn from it.
        jobs.mark_failed(job, "관리자가 숨긴 글이라 학습하지 않았습니다.")
        db.session.commit()
        return "failed"
    if base is None:
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    passage = db.session.get(Passage, job.params["passage_id"])
    parent = story.active_model_version if job.params["is_first"] == "N" else None
    # Plain values only from here on: touching an ORM object after a commit reloads it, which
    # opens a transaction (on SQLite: the write lock) for as long as the model then runs.
    story_id, passage_id, steps, sentences = story.id, passage.id, job.params["steps"], job.params["sentences"]
    from_adapter = parent.path if parent is not None and parent.path else None
    parent_id = parent.id if parent is not None else None
    passage_text, passage_name = passage.text, f"story-{story_id}-passage-{passage_id}"
    db.session.commit()
    out_dir = training.models_dir() / str(story_id) / f"job-{job_id}"
    remove_leftovers(out_dir)

    try:
        adapter_dir, metrics = _train(job_id, steps, base, passage_text, passage_name, from_adapter, out_dir,
                                      worker)
        context = story_context(story_id)
        db.session.commit()
        texts = models.model_host(base).generate(str(adapter_dir), context, None, sentences, 1,
                                                 seed=generation_seed(job_id))
    except Exception as e:
        from model_server.progress import Cancelled

        with transaction():
            job = db.session.get(Job, job_id)
            if isinstance(e, Cancelled):
                jobs.mark_cancelled(job)
                return "cancelled"
            log.exception("learning job %s failed", job_id)
            jobs.mark_failed(job, f"{type(e).__name__}: {e}")
        return "failed"
    return _record(job_id, story_id, base, parent_id, adapter_dir, metrics, passage_id, texts[0])


def _train(job_id: int, steps: int, base: str, text: str, name: str, from_adapter: str | None, out_dir,
           worker: str | None = None):
    from model_server.training import TrainSettings, TrainingText as ModelTrainingText, train

    metrics: dict = {"worker": worker} if worker else {}
    last_report = [0.0]
    last_check = [0.0, False]

    def should_cancel() -> bool:  # an admin's cancel, read at most every 2 s
        if time.monotonic() - last_check[0] >= 2.0:
            last_check[:] = [time.monotonic(), jobs.cancel_requested(job_id)]
        return last_check[1]

    def progress(p) -> None:
        metrics.update(step=p.step, total=p.total, loss=p.loss, tokens_per_s=p.tokens_per_s)
        if time.monotonic() - last_report[0] >= 1.0:  # at most one row update a second
            last_report[0] = time.monotonic()
            jobs.report_progress(job_id, 0.9 * p.step / max(1, p.total), dict(metrics))

    adapter_dir = train(base, [ModelTrainingText(name=name, text=text)], out_dir, from_adapter=from_adapter,
                        settings=TrainSettings(steps=steps, seed=0), progress=progress,
                        should_cancel=should_cancel)
    return adapter_dir, metrics


def _record(job_id, story_id, base, parent_id, adapter_dir, metrics, passage_id, continuation) -> str:
    """One transaction: the new version, active on the story, and the AI passage it wrote."""
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already recorded"
        story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
        version = ModelVersion(story_id=story_id, name=training.next_version_name(story_id), base=base,
                               parent_id=parent_id, path=str(adapter_dir),
                               data={"passages": [passage_id], "job": job_id}, metrics=metrics)
        db.session.add(version)
        db.session.flush()
        story.active_model_version_id = version.id
        db.session.execute(
            TrainingText.__table__.update().where(TrainingText.passage_id == passage_id)
            .values(used_by_version_id=version.id)
        )
        passage = machine.append_passage(story, continuation, model_version_id=version.id)
        jobs.mark_succeeded(job, metrics={**metrics, "version": version.name, "passage_id": passage.id})
    current_app.logger.info("job %s: %s appended passage %s", job_id, version.name, passage.id)
    return "done"
