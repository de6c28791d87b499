"""generate_candidates: the round's K AI candidates, written by the story's model."""
import logging

from app.extensions import db
from app.jobs import services as jobs
from app.rounds import machine
from app.rounds.models import Round
from app.stories.models import Story
from app.training.models import ModelVersion
from app.training import services as training
from app.training.preferences import context_before
from worker import models
from worker.models import base_version, generation_seed

log = logging.getLogger(__name__)


def run_generation(round_id: int, celery_id: str | None, worker: str | None = None) -> str:
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.phase != "generating" or round_.job_id is None:
        return "nothing to do"  # a redelivery for a round that has moved on
    job = jobs.claim(round_.job_id, celery_id, worker)
    if job is None:
        return "already done"
    base = training.resolve_base()
    if base is None:
        machine.generation_blocked(job.id)
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    version = story.active_model_version or base_version(base)
    adapter_dir = version.path if version.story_id is not None else None
    params = {"keyword": job.params["keyword"], "sentences": job.params["sentences"], "k": job.params["k"],
              "seed": generation_seed(job.id), "model_version": version.name}
    context = context_before(story.id)
    job_id, version_id = job.id, version.id
    # End the transaction before the model runs (SQLite holds its write lock for a transaction's
    # whole life, and a generation takes seconds); only plain values are used until it is done.
    db.session.commit()
    try:
        host = models.model_host(base)
        texts = host.generate(adapter_dir, context, params["keyword"], params["sentences"],
                              params["k"], seed=params["seed"])
    except Exception as e:  # GenerationError and anything else: the job fails, the round can be retried
        log.exception("generation for round %s failed", round_id)
        machine.generation_failed(job_id, _reason(e, params))
        return "failed"
    if not texts:
        machine.generation_failed(job_id, "모델이 후보를 하나도 쓰지 못했습니다.")
        return "failed"
    machine.finish_generation(job_id, texts, db.session.get(ModelVersion, version_id), params,
                              metrics={"host": models.host_stats()})
    return "done"


def _reason(e: Exception, params: dict) -> str:
    """Why the round has no candidates, in Korean: the model server's own messages are for
    developers (English) and stay in the worker's log."""
    if any(cls.__name__ == "GenerationError" for cls in type(e).__mro__):
        asked = f"키워드 「{params['keyword']}」, " if params.get("keyword") else ""
        return (f"{asked}{params['sentences']}문장으로 후보를 {params['k']}개 쓰지 못했습니다. "
                "키워드가 낯설거나 문장이 많으면 그럴 수 있습니다.")
    return f"AI가 후보를 쓰다가 오류가 났습니다 ({type(e).__name__})."
