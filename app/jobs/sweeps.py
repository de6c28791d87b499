"""The jobs' share of the periodic tick: a job silent for too long fails (a round's generation
through its round, which may then be retried), a job the broker never got is sent again, and
jobs that waited for a base model go on once there is one."""
from datetime import datetime

from app.extensions import db
from app.jobs import services as jobs
from app.jobs.kinds import KINDS
from app.jobs.models import Job
from app.rounds import machine


def sweep(now: datetime) -> dict:
    done = {"stale": 0, "resent": 0, "resumed": 0}
    for job_id in jobs.stale_jobs(now):
        job = db.session.get(Job, job_id)
        if KINDS[job.kind].takes_round and job.round_id:
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
        from app.training.lineage import resolve_base

        if resolve_base() is not None:
            for job in waiting:
                if KINDS[job.kind].takes_round and job.round_id:
                    machine.generation_resumed(job.id)
                else:
                    jobs.requeue(job)
                done["resumed"] += 1
    db.session.commit()
    return done
