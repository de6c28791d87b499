"""Learning from a human passage and continuing the story (the original project's put_Human_txt)."""
import math

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.database import transaction
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.kinds import STORY_TRAINING_KINDS
from app.jobs.models import ACTIVE_STATUSES, Job
from app.rounds import machine
from app.stories.models import Passage, Story
from app.stories.services import get_story
from app.training.models import ModelVersion


def start_learning(passage_id: int, is_first: str, user: User) -> Job:
    """Queue a job that learns from a human passage (Y: a fresh adapter; N: continuing the
    story's current one), then writes the AI's continuation as the next passage. Refused while
    the story trains, while its current round is under way, and once the story is finished."""
    if is_first not in ("Y", "N"):
        raise Invalid("is_first는 Y 또는 N이어야 합니다.", code="bad_is_first", fields={"is_first": ["Y 또는 N"]})
    with transaction():
        passage = db.session.get(Passage, passage_id)
        if passage is None:
            raise NotFound("글(contents_id)을 찾을 수 없습니다.")
        story = db.session.scalar(select(Story).where(Story.id == passage.story_id).with_for_update())
        if not (user.is_admin or story.owner_id == user.id):
            raise Forbidden("이야기 주인이나 관리자만 학습을 시작할 수 있습니다.", code="not_owner")
        if story.finished:
            raise Conflict("완결된 이야기라서 이어 쓸 수 없습니다.", code="story_finished")
        if passage.author_kind != "human":
            raise Invalid("사람이 쓴 글만 학습할 수 있습니다.", code="not_human_passage")
        if passage.hidden:
            raise Conflict("관리자가 숨긴 글은 학습할 수 없습니다.", code="passage_hidden")
        refuse_if_training(story.id)
        refuse_if_round_under_way(story.id)
        config = current_app.config
        job = Job(kind="train", story_id=story.id, created_by_id=user.id, params={
            "passage_id": passage.id, "is_first": is_first,
            "steps": config["LEARN_STEPS"], "sentences": config["LEARN_SENTENCES"],
            "threshold": config["MODEL_ACTIVATE_THRESHOLD"], "heldout_fraction": config["HELDOUT_FRACTION"],
        })
        db.session.add(job)
    jobs.dispatch(job)
    return job


# ---------------------------------------------------------------- retrain and preference training

def training_job_of(story_id: int) -> int | None:
    """The story's unfinished train/retrain job, if any: a story trains one version at a time."""
    return db.session.scalar(select(Job.id).where(Job.story_id == story_id, Job.kind.in_(STORY_TRAINING_KINDS),
                                                  Job.status.in_(ACTIVE_STATUSES)))


def refuse_if_training(story_id: int) -> None:
    busy = training_job_of(story_id)
    if busy is not None:
        raise Conflict(f"이 이야기는 이미 학습 중입니다 (작업 {busy}).", code="already_training",
                       details={"job_id": busy})


def refuse_if_round_under_way(story_id: int) -> None:
    """put_Human_txt appends the AI's continuation outside any round: only while the story's
    current round has not started (proposing, nobody has proposed yet). Otherwise a passage
    would land in the middle of a round that the crowd is deciding."""
    if not machine.round_not_started(story_id):
        raise Conflict("라운드가 진행 중이라 지금은 이어 쓸 수 없습니다. 이번 라운드가 끝나고, 새 라운드에 "
                       "아직 제안이 없을 때 다시 요청해 주세요.", code="round_in_progress")


def _budget(minutes_key: str, steps_key: str) -> dict:
    steps = current_app.config.get(steps_key)
    return {"steps": int(steps)} if steps else {"minutes": float(current_app.config[minutes_key])}


def require_admin(user, action: str) -> None:
    if not user.is_admin:
        raise Forbidden(f"관리자만 {action} 수 있습니다.", code="admin_only")


def _queue_story_training(story_id: int, user, kind: str, params: dict, check=None) -> Job:
    """Queue a story's training job of ``kind`` under the story's lock: one at a time per
    story; ``check(story)`` may refuse first."""
    try:
        with transaction():
            story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
            if story is None:
                raise NotFound("이야기를 찾을 수 없습니다.")
            refuse_if_training(story.id)
            if check is not None:
                check(story)
            job = Job(kind=kind, story_id=story.id, created_by_id=user.id, params=params)
            db.session.add(job)
    except IntegrityError:  # another request won the race (uq_jobs_one_training_per_story)
        raise Conflict("이 이야기는 이미 학습 중입니다.", code="already_training")
    jobs.dispatch(job)
    return job


def _training_params() -> dict:
    config = current_app.config
    return {"budget": _budget("TRAIN_MAX_MINUTES", "TRAIN_STEPS"), "threshold": config["MODEL_ACTIVATE_THRESHOLD"],
            "heldout_fraction": config["HELDOUT_FRACTION"]}


def start_retrain(story_id: int, user) -> Job:
    """Admin: retrain the story's adapter on its training set and its own passages."""
    require_admin(user, "재학습을 시작할")
    return _queue_story_training(story_id, user, "retrain", _training_params())


def start_preference(story_id: int, user) -> Job:
    """Admin: tune the story's adapter on the crowd's candidate votes (DPO). Refused until the
    story has PREFERENCE_MIN_ROUNDS rounds that teach a preference, and while it trains."""
    from app.training.preferences import preference_rounds

    require_admin(user, "선호 학습을 시작할")
    config = current_app.config

    def enough_rounds(story: Story) -> None:
        usable = len(preference_rounds(story.id))
        if usable < config["PREFERENCE_MIN_ROUNDS"]:
            raise Conflict(f"투표로 후보를 고른 라운드가 {usable}개뿐입니다. 선호 학습에는 "
                           f"{config['PREFERENCE_MIN_ROUNDS']}개 이상 필요합니다 (일부는 검증용으로 남깁니다).",
                           code="not_enough_preferences", details={"rounds": usable})

    params = {**_training_params(), "min_margin": config["PREFERENCE_MIN_MARGIN"],
              "rounds_heldout_fraction": config["PREFERENCE_HELDOUT_FRACTION"],
              "min_heldout_rounds": config["PREFERENCE_MIN_HELDOUT_ROUNDS"]}
    return _queue_story_training(story_id, user, "prefer", params, check=enough_rounds)


def preference_summary(story_id: int) -> dict:
    """What the training page says about the story's preference data."""
    from app.training.preferences import preference_rounds, split_heldout_rounds

    rounds = preference_rounds(story_id)
    config = current_app.config
    _trained, heldout = split_heldout_rounds(rounds, config["PREFERENCE_HELDOUT_FRACTION"])
    return {"rounds": len(rounds), "pairs": sum(r.pairs for r in rounds), "heldout_rounds": len(heldout),
            "needed": config["PREFERENCE_MIN_ROUNDS"], "ready": len(rounds) >= config["PREFERENCE_MIN_ROUNDS"]}


def preference_data(story_id: int, user) -> list:
    """Admin: the story's preference rounds (app.training.preferences)."""
    from app.training.preferences import preference_rounds

    require_admin(user, "선호 데이터를 볼")
    get_story(story_id)
    return preference_rounds(story_id)


# ---------------------------------------------------------------- model versions

def versions_of(story_id: int) -> list[dict]:
    """The story's adapters, newest first, with which one writes its passages now."""
    story = get_story(story_id)
    rows = db.session.scalars(select(ModelVersion).where(ModelVersion.story_id == story_id)
                              .order_by(ModelVersion.id.desc()))
    return [{"id": v.id, "name": v.name, "parent": v.parent_id, "data": v.data, "metrics": v.metrics,
             "created_at": v.created_at, "held_for_admin": v.held_for_admin,
             "active": v.id == story.active_model_version_id, "comparison": loss_comparison(v.metrics or {}),
             "preference": preference_comparison(v.metrics or {})}
            for v in rows]


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def loss_comparison(metrics: dict) -> dict | None:
    """The held-out losses a version was judged by: ``{before, after, change}`` (change relative
    to before), or None when its decision compared nothing: no passage was held out (a young
    story), or a loss was not measured (a 4-bit base skips the active version's). Pages show a
    comparison only from this, and the decision text otherwise."""
    before, after = metrics.get("active_val_loss", metrics.get("val_loss_before")), metrics.get("val_loss")
    if not metrics.get("heldout_passages", 1) or not (_finite(before) and _finite(after)):
        return None
    return {"before": before, "after": after, "change": (after - before) / before if before else None}


def preference_comparison(metrics: dict) -> dict | None:
    """A preference-trained version's held-out preference accuracy: ``{before, after, rounds}``
    (the share of held-out rounds where the crowd's pick ranks first), or None for other
    versions and when it was not measured."""
    before, after = metrics.get("preference_accuracy_before"), metrics.get("preference_accuracy")
    if metrics.get("kind") != "preference" or not (_finite(before) and _finite(after)):
        return None
    return {"before": before, "after": after, "rounds": metrics.get("heldout_rounds")}


def latest_training_job(story_id: int) -> Job | None:
    """The job the story's training page shows: the unfinished one, else the latest."""
    query = select(Job).where(Job.story_id == story_id, Job.kind.in_(STORY_TRAINING_KINDS))
    return (db.session.scalar(query.where(Job.status.in_(ACTIVE_STATUSES)).order_by(Job.id.desc()).limit(1))
            or db.session.scalar(query.order_by(Job.id.desc()).limit(1)))
