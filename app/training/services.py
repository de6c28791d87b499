"""Learning from a human passage and continuing the story (the original project's put_Human_txt)."""
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from app.accounts.models import User
from app.database import transaction
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.stories.models import Passage, Story


def models_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "models"


def resolve_base() -> str | None:
    """The base model to load, or None on a fresh install whose starter is not trained yet.
    model_server.paths is torch-free, so web processes and the tick may ask."""
    from model_server.paths import resolve_base as resolve

    return resolve(current_app.config["MODEL_NAME"], models_dir())


def start_learning(passage_id: int, is_first: str, user: User) -> Job:
    """Queue a job that learns from a human passage (Y: a fresh adapter; N: continuing the
    story's current one), then writes the AI's continuation as the next passage."""
    if is_first not in ("Y", "N"):
        raise Invalid("is_first는 Y 또는 N이어야 합니다.", code="bad_is_first", fields={"is_first": ["Y 또는 N"]})
    with transaction():
        passage = db.session.get(Passage, passage_id)
        if passage is None:
            raise NotFound("글(contents_id)을 찾을 수 없습니다.")
        story = db.session.scalar(select(Story).where(Story.id == passage.story_id).with_for_update())
        if not (user.is_admin or story.owner_id == user.id):
            raise Forbidden("이야기 주인이나 관리자만 학습을 시작할 수 있습니다.", code="not_owner")
        if passage.author_kind != "human":
            raise Invalid("사람이 쓴 글만 학습할 수 있습니다.", code="not_human_passage")
        if passage.hidden:
            raise Conflict("관리자가 숨긴 글은 학습할 수 없습니다.", code="passage_hidden")
        busy = db.session.scalar(
            select(Job.id).where(Job.story_id == story.id, Job.kind == "train",
                                 Job.status.in_(("queued", "waiting", "running")))
        )
        if busy is not None:
            raise Conflict(f"이 이야기는 이미 학습 중입니다 (작업 {busy}).", code="already_training")
        job = Job(kind="train", story_id=story.id, created_by_id=user.id, params={
            "passage_id": passage.id, "is_first": is_first,
            "steps": current_app.config["LEARN_STEPS"], "sentences": current_app.config["LEARN_SENTENCES"],
        })
        db.session.add(job)
    jobs.dispatch(job)
    return job
