"""The judges that rank the AI's candidates (model_server.judges): jobs that train them for the
serving base, and which trained judges generation uses.

Learning to Write's cooperative discriminators (relevance, style, repetition), trained on the
visible novels against the base's own writing, mixed with the model's score and Kiwi's by
weights fitted on held-out continuations. Generation uses the latest judges trained for the
base it writes with, else the latest for any base, else the model's and Kiwi's scores alone;
a story whose crowd has voted on candidates refits the weights to its votes as it writes.
"""
import logging
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import transaction
from app.errors import Conflict
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import ACTIVE_STATUSES, Job
from app.novels.models import Novel
from app.training import lineage
from app.training import services as training

log = logging.getLogger(__name__)


def judge_job() -> int | None:
    return db.session.scalar(select(Job.id).where(Job.kind == "judge", Job.status.in_(ACTIVE_STATUSES)))


def start_judges(user) -> Job:
    """Admin: train the judges for the serving base on the visible novels."""
    training.require_admin(user, "판정 모델을 학습시킬")
    return queue_judges(user.id, "관리자가 요청했습니다.")


def queue_judges(created_by_id: int | None, reason: str) -> Job:
    """A judges job for the serving base: refused without a base, without novels, and while a
    pretrain (which may replace the base) or another judges job is unfinished."""
    base = lineage.resolve_base()
    if base is None:
        raise Conflict("기본 모델이 아직 없어 판정 모델을 학습할 수 없습니다. 먼저 기본 모델을 학습해 주세요.", code="no_base")
    config = current_app.config
    try:
        with transaction():
            pretrain = db.session.scalar(select(Job.id).where(Job.kind == "pretrain", Job.status.in_(ACTIVE_STATUSES)))
            if pretrain is not None:
                raise Conflict(f"기본 모델을 학습하는 중입니다 (작업 {pretrain}). 그 학습이 끝난 뒤에 판정 모델을 학습해 주세요.",
                               code="base_training", details={"job_id": pretrain})
            busy = judge_job()
            if busy is not None:
                raise Conflict(f"판정 모델을 이미 학습 중입니다 (작업 {busy}).", code="already_judging",
                               details={"job_id": busy})
            if db.session.scalar(select(Novel.id).where(Novel.status == "visible").limit(1)) is None:
                raise Conflict("학습할 소설이 없습니다. 먼저 소설을 올려 주세요.", code="no_novels")
            job = Job(kind="judge", created_by_id=created_by_id, params={
                "base": base, "base_name": Path(base).name, "contexts": config["JUDGE_CONTEXTS"],
                "heldout_contexts": config["JUDGE_HELDOUT_CONTEXTS"],
                "relevance_groups": config["JUDGE_RELEVANCE_GROUPS"], "reason": reason})
            db.session.add(job)
    except IntegrityError:  # another request won the race (uq_jobs_one_judge)
        raise Conflict("판정 모델을 이미 학습 중입니다.", code="already_judging")
    jobs.dispatch(job)
    return job


def queue_for_new_base(reason: str) -> Job | None:
    """After a base starts serving: judges for it, unless it has some or they cannot start now."""
    base = lineage.resolve_base()
    if base is None or any((job.metrics or {}).get("base") == base for job in _succeeded()):
        return None
    try:
        return queue_judges(None, reason)
    except Conflict as e:
        log.info("no judges job for %s now: %s", base, e.message)
        return None


def _succeeded() -> list[Job]:
    """Succeeded judges jobs, newest first (a handful: one per base and admin request)."""
    return list(db.session.scalars(select(Job).where(Job.kind == "judge", Job.status == "succeeded")
                                   .order_by(Job.id.desc())))


def judges_for(base: str) -> Job | None:
    """The judges generation uses with ``base``: the latest trained for it, else the latest for
    any base (their discriminators still read Korean; only the model's score is another's), else
    None (the model's and Kiwi's scores alone: ``Judge.untrained()``)."""
    done = [job for job in _succeeded() if (job.metrics or {}).get("path")]
    return next((job for job in done if job.metrics.get("base") == base), done[0] if done else None)


def judge_ref(base: str) -> tuple[int, str] | None:
    """``(job id, judges folder)`` of ``judges_for(base)``, as plain values for a worker."""
    job = judges_for(base)
    return (job.id, job.metrics["path"]) if job is not None else None


def judges_status() -> dict:
    """What /admin/jobs and GET /api/v1/admin/judges say: the latest trained judges and their
    figures, the ones generation uses now, the unfinished job, and why training cannot start."""
    base = lineage.resolve_base()
    done = _succeeded()
    latest = done[0] if done else None
    in_use = judges_for(base) if base else None
    query = select(Job).where(Job.kind == "judge")
    job = (db.session.scalar(query.where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.id.desc()).limit(1))
           or db.session.scalar(query.order_by(Job.id.desc()).limit(1)))
    running = job is not None and job.status in ACTIVE_STATUSES
    pretrain = db.session.scalar(select(Job.id).where(Job.kind == "pretrain", Job.status.in_(ACTIVE_STATUSES)))
    blocker = "no_base" if base is None else "running" if running else "base_training" if pretrain else None
    return {"latest": summary(latest, base), "in_use": summary(in_use, base), "job": job,
            "job_id": job.id if running else None, "blocker": blocker, "base_name": Path(base).name if base else None}


def summary(job: Job | None, base: str | None) -> dict | None:
    if job is None:
        return None
    m = job.metrics or {}
    return {"job_id": job.id, "finished_at": job.finished_at, "base_name": m.get("base_name"),
            "for_active_base": m.get("base") == base, "ranked_first_vs_base": m.get("ranked_first_vs_base"),
            "ranked_first_vs_real": m.get("ranked_first_vs_real"), "group_size": m.get("group_size"),
            "heldout_groups": m.get("heldout_groups"), "weights": m.get("weights")}
