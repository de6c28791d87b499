"""generate_candidates: the round's K AI candidates, written by the story's model."""
import logging
import math
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app

from app.extensions import db
from app.jobs import services as jobs
from app.rounds import estimate, events, machine
from app.rounds.models import Round
from app.stories.models import Story
from app.training.models import ModelVersion
from app.training import judges, lineage
from app.stories.bible import entries_for
from app.stories.services import context_before
from app.training.preferences import judged_pairs
from model_server.errors import GenerationError
from worker import models
from worker.models import generation_seed
from worker.reporting import TimedReporter

log = logging.getLogger(__name__)


def run_generation(round_id: int, celery_id: str | None, worker: str | None = None) -> str:
    round_ = db.session.get(Round, round_id)
    if round_ is None or round_.phase != "generating" or round_.job_id is None:
        return "nothing to do"  # a redelivery for a round that has moved on
    job = jobs.claim(round_.job_id, celery_id, worker)
    if job is None:
        return "already done"
    events.changed(job.story_id)  # the page shows the job running
    serving = lineage.resolve_base()
    if serving is None:
        machine.generation_blocked(job.id)
        return "waiting for a base model"
    story = db.session.get(Story, job.story_id)
    writer = lineage.writer_of(story, serving)
    base, adapter_dir = writer.base, writer.adapter
    params = {"keyword": job.params["keyword"], "sentences": job.params["sentences"], "k": job.params["k"],
              "mood": job.params.get("mood"),
              "seed": generation_seed(job.id), "model_version": writer.name}
    context = context_before(story.id)
    notes = entries_for(story.id, context)  # the story bible's notes on what the recent story speaks of
    # the judges for this base, and the crowd's past choices between candidates they scored
    judge_ref, pairs = judges.judge_ref(base), judged_pairs(story.id)
    job_id, story_id, version_id, estimate_s = job.id, story.id, writer.version_id, job.params.get("estimate_s")
    # End the transaction before the model runs (SQLite holds its write lock for a transaction's
    # whole life, and a generation takes seconds); only plain values are used until it is done.
    db.session.commit()
    started = time.monotonic()
    try:
        host = models.model_host(base)
        judge = models.judge(judge_ref, pairs)
        started = time.monotonic()  # the speed the site estimates from is the writing's, not the loading's
        with TimedReporter(job_id, story_id, estimate_s, worker=worker):
            written = host.generate(adapter_dir, context, params["keyword"], params["sentences"], params["k"],
                                    seed=params["seed"], judge=judge, notes=notes, mood=params["mood"])
    except SoftTimeLimitExceeded:
        spent = time.monotonic() - started
        log.warning("generation for round %s ran out of time after %.0f s", round_id, spent)
        machine.generation_failed(job_id, _timed_out(params, spent), metrics=_speed(params, spent, timed_out=True))
        return "timed out"
    except Exception as e:  # GenerationError and anything else: the job fails, the round can be retried
        log.exception("generation for round %s failed", round_id)
        machine.generation_failed(job_id, _reason(e, params))
        return "failed"
    if not written:
        machine.generation_failed(job_id, "모델이 후보를 하나도 쓰지 못했습니다.")
        return "failed"
    # the notes that fitted the prompt (the same for every candidate), kept on the job and each candidate
    params["notes"] = list(written[0].notes)
    machine.finish_generation(job_id, [w.text for w in written], db.session.get(ModelVersion, version_id), params,
                              metrics={"host": models.host_stats(), "base": Path(base).name,
                                       "judge": judge_ref[0] if judge_ref else None, "story_pairs": len(pairs),
                                       "notes": params["notes"],
                                       **_speed(params, time.monotonic() - started, timed_out=False)},
                              per_candidate=[{"judge": judged(w)} for w in written])
    return "done"


def judged(written) -> dict:
    """How the judge saw a candidate: kept in its params, so the crowd's later choice between it
    and the others can refit the judge's weights for this story."""
    return {"score": round(float(written.score), 4), "features": [round(float(f), 5) for f in written.features]}


def _speed(params: dict, seconds: float, timed_out: bool) -> dict:
    """What the site's estimate learns from this job: seconds per candidate-sentence (for a
    job that ran out of time, at least that many)."""
    units = params["sentences"] * params["k"]
    return {"elapsed_s": round(seconds, 1), "seconds_per_sentence": round(seconds / units, 3),
            "timed_out": timed_out}


def _timed_out(params: dict, spent: float) -> str:
    """Why the round has no candidates after a time-out, with a length that would fit."""
    limit = estimate.minutes_text(current_app.config["GENERATION_TIME_LIMIT"])
    rate = max(spent, 1.0) / (params["sentences"] * params["k"])
    fits = max(1, min(params["sentences"] - 1, math.floor(estimate.budget_seconds() / (rate * params["k"]))))
    advice = (f"문장 수를 줄여(예: {fits}문장) 다시 제안해 보세요." if params["sentences"] > 1
              else "AI 후보 수를 줄이거나 직접 쓴 글을 제안해 보세요.")
    return (f"AI가 제한 시간({limit}) 안에 {params['sentences']}문장짜리 후보 {params['k']}개를 다 쓰지 못했습니다. "
            f"문장이 많을수록 오래 걸립니다. {advice}")


def _reason(e: Exception, params: dict) -> str:
    """Why the round has no candidates, in Korean: the model server's own messages are for
    developers (English) and stay in the worker's log."""
    if isinstance(e, GenerationError):
        asked = f"키워드 「{params['keyword']}」, " if params.get("keyword") else ""
        return (f"{asked}{params['sentences']}문장으로 후보를 {params['k']}개 쓰지 못했습니다. "
                "키워드가 낯설거나 문장이 많으면 그럴 수 있습니다.")
    return "AI가 후보를 쓰다가 예기치 못한 오류가 났습니다. 다시 시도해 보세요. 되풀이되면 관리자에게 알려 주세요."
