"""The periodic tick (Celery beat, default queue): deadlines, the jobs' sweep (app/jobs/sweeps.py)
and the starter base's improvement while the site is quiet (app/training/bases.py).

Deadlines are enforced here, not by a browser being open: a phase's end, and the end of the
time the owner had to choose a way out of a failed generation."""
import logging

from sqlalchemy import select

from app.database import utcnow
from app.errors import AppError
from app.extensions import db
from app.jobs.sweeps import sweep
from app.rounds import machine
from app.rounds.models import Round

log = logging.getLogger(__name__)


def tick(now=None) -> dict:
    now = now or utcnow()
    done = {"advanced": 0, "recovered": 0}
    due = list(db.session.execute(
        select(Round.story_id, Round.phase).where(Round.phase != "closed",
                                                  Round.deadline.is_not(None), Round.deadline <= now)
    ))
    db.session.commit()  # end the read; each advance is its own transaction
    for story_id, phase in due:
        try:
            if phase == "generating":  # a failed generation nobody chose a way out of in time
                round_ = machine.recover(story_id, "auto", by_deadline=True, now=now)
                done["recovered"] += round_.deadline is None or round_.deadline > now
            else:
                round_ = machine.advance(story_id, by_deadline=True, now=now)
                done["advanced"] += round_.phase != phase
        except AppError as e:
            log.info("deadline of story %s: %s", story_id, e.message)
    done.update(sweep(now))
    done["improving"] = _improve(now)
    return done


def _improve(now) -> int | None:
    """A continued pretrain of the starter while the site is quiet: the job's id when queued."""
    from app.training.bases import improve_when_quiet

    try:
        job = improve_when_quiet(now)
    except Exception:  # never let it stop the deadlines of the next tick
        log.exception("could not look at improving the starter base")
        db.session.rollback()
        return None
    return job.id if job is not None else None
