"""The periodic tick (Celery beat, default queue): deadlines, stale and waiting jobs.

Deadlines are enforced here, not by a browser being open."""
import logging

from sqlalchemy import select

from app.database import utcnow
from app.errors import AppError
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.rounds import machine
from app.rounds.models import Round

log = logging.getLogger(__name__)


def tick(now=None) -> dict:
    now = now or utcnow()
    done = {"advanced": 0, "stale": 0, "resent": 0, "resumed": 0}
    due = list(db.session.execute(
        select(Round.story_id).where(Round.phase.in_(("proposing", "voting", "choosing")),
                                     Round.deadline.is_not(None), Round.deadline <= now)
    ).scalars())
    db.session.commit()  # end the read; each advance is its own transaction
    for story_id in due:
        try:
            before = db.session.scalar(select(Round.phase).where(Round.story_id == story_id)
                                       .order_by(Round.number.desc()).limit(1))
            round_ = machine.advance(story_id, by_deadline=True, now=now)
            done["advanced"] += round_.phase != before
        except AppError as e:
            log.info("deadline of story %s: %s", story_id, e.message)
    for job_id in jobs.stale_jobs(now):
        job = db.session.get(Job, job_id)
        if job.kind == "generate" and job.round_id:
            machine.generation_failed(job.id, jobs.STALE_REASON)
        else:
            jobs.mark_failed(job, jobs.STALE_REASON)
            db.session.commit()
        done["stale"] += 1
    for job in jobs.unsent_jobs(now):
        jobs.dispatch(job)
        done["resent"] += 1
    waiting = jobs.waiting_jobs()
    if waiting:
        from app.training.services import resolve_base

        if resolve_base() is not None:
            for job in waiting:
                if job.kind == "generate" and job.round_id:
                    machine.generation_resumed(job.id)
                else:
                    jobs.requeue(job)
                done["resumed"] += 1
    db.session.commit()
    return done
