"""pretrain_starter: a version of the site's starter base, and whether it serves.

The first pretrain writes ``models/starter`` and serves at once; a continued one (params
``parent``) goes on from that version and writes ``models/starter-<job>``, which serves only
if its held-out bits per character beat the serving version's by more than the job's
threshold; otherwise it waits for an admin, its decision saying why. Either way the version
folder appears whole or not at all, and a base that starts serving gets judges trained for it.

The budget is passes over the text, so a busy host trains the same base more slowly; the
task's time limit (STARTER_MAX_MINUTES) is only a ceiling: a run that hits it fails and
replaces nothing. A run the tick queued makes way when the site asks for AI writing or
training again: it stops, and the tick tries again once the site is quiet.
"""
import logging
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from flask import current_app
from sqlalchemy import select

from app.database import transaction
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.kinds import STORY_TRAINING_KINDS
from app.jobs.models import Job
from app.particles import particle
from app.novels.models import Novel
from app.training import judges
from app.training import lineage
from app.training.bases import BY_TICK
from model_server import paths
from worker.folders import remove_leftovers
from worker.reporting import JobReporter

log = logging.getLogger(__name__)
MADE_WAY = ("사이트에서 AI 작성이나 학습 요청이 다시 들어와 배경 학습을 멈췄습니다. 아무것도 바꾸지 않았고, "
            "사이트가 다시 조용해지면 이어서 합니다.")


def too_busy(minutes: float, first: bool) -> str:
    kept = "아직 기본 모델이 없습니다." if first else "지금 쓰는 기본 모델을 그대로 씁니다."
    return (f"서버가 너무 바빠 제한 시간({minutes:g}분) 안에 학습을 끝내지 못했습니다. 아무것도 바꾸지 않았습니다: {kept} "
            "사이트가 한가할 때 다시 시도하거나, 관리자가 STARTER_MAX_MINUTES를 늘려 주세요.")


def run_pretrain(job_id: int, celery_id: str | None, worker: str | None = None) -> str:
    job = jobs.claim(job_id, celery_id, worker)
    if job is None:
        return "already done"
    params = dict(job.params)
    models = lineage.models_dir()
    parent = params.get("parent")
    # named when queued (app.training.bases.queue_pretrain), so a redelivery finds its own version
    name = params.get("version") or ("starter" if not parent and not paths.starter_dir(models).exists()
                                     else f"starter-{job_id}")
    target = paths.starter_version_dir(models, name)
    remove_leftovers(target, only_partial=True)
    if target.exists() and job.attempts <= 1:  # another hand wrote it (the CLI): never overwritten
        jobs.mark_failed(job, "기본 모델 폴더가 이미 있습니다.")
        db.session.commit()
        return "failed"
    novels = [(f"novel-{n.id}:{n.title}", n.text) for n in
              db.session.scalars(select(Novel).where(Novel.status == "visible").order_by(Novel.id))]
    usual = usual_speed(job_id, params.get("config"))
    started = job.updated_at
    db.session.commit()
    if not target.exists():  # else an earlier delivery wrote it and died before recording it
        jobs.clear_points(job_id)
        reporter = JobReporter(job_id, worker=worker,
                               stop_when=site_woke_up(started) if params.get("by") == BY_TICK else None)
        reporter.note(version=target.name, parent=parent, passes_total=params.get("passes"), usual_tokens_per_s=usual)
        try:
            with reporter:
                _pretrain(novels, target, params, models / parent if parent else None, reporter)
        except SoftTimeLimitExceeded:
            return jobs.fail_running(job_id, too_busy(current_app.config["STARTER_MAX_MINUTES"], parent is None))
        except Exception as e:
            if reporter.stopped_by_check:
                return _made_way(job_id)
            return jobs.end_unfinished(job_id, e)
    return record(job_id, target, len(novels), params)


def _pretrain(novels: list[tuple[str, str]], target: Path, params: dict, parent: Path | None,
              reporter: JobReporter) -> None:
    from model_server.data import SourceText as Text
    from model_server.starter import StarterConfig, pretrain

    config = StarterConfig.tiny() if params.get("config") == "tiny" else StarterConfig()
    budget = {key: params[key] for key in ("passes", "steps") if params.get(key)}
    if not budget:  # a job queued before passes: its steps, else the site's passes (never its minutes)
        legacy = params.get("budget") or {}
        budget = {"steps": legacy["steps"]} if legacy.get("steps") else {"passes": current_app.config["STARTER_PASSES"]}
    # written whole under a hidden name and renamed into place (atomic_dir): nothing lists or
    # serves it until it is complete
    pretrain([Text(label, text) for label, text in novels], target, config=config, parent=parent,
             progress=reporter.progress, should_cancel=reporter.should_cancel, progress_interval=1.0, **budget)


def usual_speed(job_id: int, config: str | None) -> float | None:
    """tokens/s of the last finished pretrain of the same settings: the page warns when this one
    runs at under half of it (a busy host)."""
    for other in db.session.scalars(select(Job).where(Job.kind == "pretrain", Job.status == "succeeded",
                                                      Job.id != job_id).order_by(Job.id.desc()).limit(10)):
        if (other.params or {}).get("config") == config and (other.metrics or {}).get("tokens_per_s"):
            return round(other.metrics["tokens_per_s"], 1)
    return None


def site_woke_up(since):
    """Whether anyone asked for AI writing or training after ``since`` (asked once a second)."""
    def check() -> bool:
        woke = db.session.scalar(select(Job.id).where(Job.kind.in_(("generate",) + STORY_TRAINING_KINDS),
                                                      Job.created_at > since).limit(1)) is not None
        db.session.commit()  # a read holds SQLite's lock until its transaction ends
        return woke
    return check


def decide(target: Path, models: Path, threshold: float) -> tuple[bool, str, float | None]:
    """Whether ``target`` serves by itself, why (in Korean), and the serving version's bpc."""
    serving = paths.active_starter(models)
    if serving is None or serving == target:
        return True, "첫 기본 모델이라 바로 씁니다.", None
    new = (paths.read_starter(target).get("metrics") or {}).get("heldout_bpc")
    old = (paths.read_starter(serving).get("metrics") or {}).get("heldout_bpc")
    if not isinstance(new, (int, float)) or not isinstance(old, (int, float)) or old <= 0:
        return False, "처음 보는 글에서의 오차를 비교할 수 없어 지금 모델을 계속 씁니다. 관리자가 바꿀 수 있습니다.", old
    if not paths.same_lineage(str(serving), str(target)):
        return False, (f"지금 쓰는 모델({serving.name})과 다른 계열이라 오차를 견줄 수 없어 그대로 둡니다. "
                       "관리자가 바꿀 수 있습니다."), old
    gain = (old - new) / old
    moved = f"처음 보는 글에서의 오차가 {old:.3f}에서 {new:.3f}{particle(f'{new:.3f}', '으로')}"
    if gain > threshold:
        return True, f"{moved} {gain:.1%} 줄어 이 모델로 바꿨습니다.", old
    change = f"{gain:.1%} 줄었지만" if gain > 0 else f"{-gain:.1%} 늘어"
    return False, (f"{moved} {change} 기준({threshold * 100:g}%)에 못 미쳐 "
                   f"지금 모델({serving.name})을 계속 씁니다. 관리자가 바꿀 수 있습니다."), old


def record(job_id: int, target: Path, novels: int, params: dict) -> str:
    models = target.parent
    threshold = params.get("threshold", current_app.config["STARTER_IMPROVE_THRESHOLD"])
    metrics = lineage.finite(paths.read_starter(target).get("metrics") or {})
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status != "running":
            return "already finished"
        # A cancel that arrives after the version is written is too late: it is kept, as any
        # version is, and the job says it succeeded.
        activate, decision, serving_bpc = decide(target, models, threshold)
        if activate:
            paths.set_active_starter(models, target.name)
        jobs.mark_succeeded(job, metrics={**metrics, "stage": "done", "novels": novels, "path": str(target),
                                          "version": target.name, "activated": activate, "decision": decision,
                                          "serving_bpc": serving_bpc})
    log.info("job %s: starter version %s (%s)", job_id, target.name, decision)
    if activate:
        judges.queue_for_new_base(f"새 기본 모델({target.name})을 쓰기 시작했습니다.")
    return "done"


def _made_way(job_id: int) -> str:
    with transaction():
        job = db.session.scalar(select(Job).where(Job.id == job_id).with_for_update())
        if job.status == "running":
            jobs.mark_cancelled(job, MADE_WAY)
            job.metrics = {**(job.metrics or {}), "yielded": True, "stage": "stopped"}
    return "made way"
