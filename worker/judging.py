"""train_judges: the judges that rank the AI's candidates, trained for the serving base.

They learn from the visible novels against the base's own writing (model_server.judges);
the base is the worker's own host for it (worker/models.py), never a second copy. The folder
``models/judges/job-<id>`` appears whole or not at all, and generation picks the judges up
from the job's metrics (app/training/judges.py).
"""
import logging
import shutil
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import select

from app.database import transaction
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.novels.models import Novel
from app.training import lineage
from model_server import paths
from worker import models
from worker.folders import remove_leftovers
from worker.reporting import JobReporter

log = logging.getLogger(__name__)
TOO_LITTLE = "판정 모델을 학습하지 못했습니다: 보이는 소설이 너무 적거나 짧습니다. 소설을 더 올린 뒤 다시 시도해 주세요."


def run_train_judges(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    job, base = lineage.claim_with_base(job_id, celery_id, worker)
    if job is None:
        return "already done"
    if base is None:
        return "waiting for a base model"
    params = dict(job.params)
    texts = list(db.session.scalars(select(Novel.text).where(Novel.status == "visible").order_by(Novel.id)))
    db.session.commit()
    jobs.clear_points(job_id)
    out_dir = lineage.models_dir() / "judges" / f"job-{job_id}"
    remove_leftovers(out_dir)

    from model_server.judges.training import JudgeSettings, train_judges
    from model_server.starter import read_heldout

    settings = JudgeSettings(contexts=params["contexts"], heldout_contexts=params["heldout_contexts"],
                             relevance_groups=params["relevance_groups"], seed=0)
    # a starter's own held-out passages, never read by it; another base: the end of each novel
    heldout = read_heldout(base) if paths.is_complete_starter(Path(base)) else None
    try:
        host = models.model_host(base)
        with JobReporter(job_id, worker=worker) as reporter:
            reporter.note(base=base, base_name=Path(base).name)
            metrics = train_judges(host, texts, out_dir, settings=settings, heldout=heldout or None,
                                   progress=reporter.progress, should_cancel=reporter.should_cancel)
    except SoftTimeLimitExceeded:
        shutil.rmtree(out_dir, ignore_errors=True)
        minutes = current_app.config["STARTER_MAX_MINUTES"]
        return jobs.fail_running(job_id, f"서버가 너무 바빠 제한 시간({minutes:g}분) 안에 판정 모델을 다 학습하지 못했습니다. "
                             "쓰던 판정 모델을 그대로 씁니다.")
    except ValueError as e:  # too little text for the examples it needs
        log.warning("judges job %s: %s", job_id, e)
        shutil.rmtree(out_dir, ignore_errors=True)
        return jobs.fail_running(job_id, TOO_LITTLE)
    except Exception as e:
        return jobs.end_unfinished(job_id, e, out_dir)
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already finished"
        if job.cancel_requested:
            jobs.mark_cancelled(job)
            shutil.rmtree(out_dir, ignore_errors=True)
            return "cancelled"
        jobs.mark_succeeded(job, metrics={**lineage.finite(metrics), "stage": "done", "base": base,
                                          "base_name": Path(base).name, "path": str(out_dir)})
    log.info("job %s: judges for %s written to %s", job_id, base, out_dir)
    return "done"
