"""Helpers for the training tests: novels and training-set votes written straight to the
database (the upload and voting endpoints are another package's), passages appended as the
relay would."""
from contextlib import nullcontext
from pathlib import Path
from typing import NamedTuple

from flask import has_app_context


def _context(app):
    """The test's app context (and so its session) when it has one, else a fresh one."""
    return nullcontext() if has_app_context() else app.app_context()


def add_job(app, **fields) -> int:
    """A Job row as the site would queue it (params empty unless given)."""
    from app.extensions import db
    from app.jobs.models import Job

    fields.setdefault("params", {})
    with _context(app):
        job = Job(**fields)
        db.session.add(job)
        db.session.commit()
        return job.id


def add_novel(app, uploader_id: int, path: Path | None = None, text: str | None = None, title: str = "소설",
              status: str = "visible") -> int:
    """A Novel row as an upload would leave it: the text cleaned by model_server.text.clean."""
    import hashlib

    from app.extensions import db
    from app.novels.models import Novel
    from model_server.text import clean

    raw = path.read_bytes() if path is not None else text.encode("utf-8")
    decoded = clean(raw)
    with _context(app):
        novel = Novel(uploader_id=uploader_id, title=title if path is None else path.stem, author="작자 미상",
                      licence="public domain", original_filename=path.name if path else "novel.txt",
                      sha256=hashlib.sha256(decoded.text.encode()).hexdigest(), encoding=decoded.encoding,
                      size_bytes=len(raw), chars=len(decoded.text), dialogue_share=0.0, text=decoded.text,
                      status=status)
        db.session.add(novel)
        db.session.commit()
        return novel.id


def vote_for(app, story_id: int, novel_id: int, *user_ids: int) -> None:
    from app.extensions import db
    from app.novels.models import TrainingVote

    with _context(app):
        for user_id in user_ids:
            db.session.add(TrainingVote(story_id=story_id, novel_id=novel_id, user_id=user_id))
        db.session.commit()


def add_passages(app, story_id: int, texts: list[tuple[str, int | None]]) -> list[int]:
    """(text, author user id or None for an AI passage under the bare base's version)."""
    from app.database import transaction
    from app.accounts.models import User
    from app.extensions import db
    from app.rounds import machine
    from app.stories.models import Story

    ids = []
    with _context(app):
        with transaction():
            story = db.session.get(Story, story_id)
            bare = bare_version()
            for text, author_id in texts:
                author = db.session.get(User, author_id) if author_id else None
                passage = machine.append_passage(story, text, author=author,
                                                 model_version_id=None if author else bare.id)
                ids.append(passage.id)
    return ids


def closed_round(story_id: int, texts: list[str], voters: list[list[int]], winner: int, keyword: str | None = "편지",
                 sentences: int = 1) -> int:
    """A closed round as the relay leaves one: its candidates, their votes, the winner appended
    as the story's next passage. Written straight to the database (inside an app context)."""
    from sqlalchemy import func, select

    from app.database import transaction
    from app.extensions import db
    from app.rounds import machine
    from app.rounds.models import Candidate, Round, Vote
    from app.stories.models import Story

    with transaction():
        story = db.session.get(Story, story_id)
        bare = bare_version()
        number = (db.session.scalar(select(func.max(Round.number)).where(Round.story_id == story_id)) or 0) + 1
        round_ = Round(story_id=story_id, number=number, phase="closed")
        db.session.add(round_)
        db.session.flush()
        candidates = [Candidate(round_id=round_.id, text=text, model_version_id=bare.id,
                                params={"keyword": keyword, "sentences": sentences}) for text in texts]
        db.session.add_all(candidates)
        db.session.flush()
        for candidate, users in zip(candidates, voters):
            db.session.add_all(Vote(round_id=round_.id, stage="candidate", user_id=u, candidate_id=candidate.id)
                               for u in users)
        round_.winning_candidate_id = candidates[winner].id
        machine.append_passage(story, texts[winner], model_version_id=bare.id, round_=round_)
    return round_.id


def bare_version():
    """The bare base's ModelVersion row (what writes AI passages before a story has an adapter)."""
    from sqlalchemy import select

    from app.extensions import db
    from app.training.models import ModelVersion

    bare = db.session.scalar(select(ModelVersion).where(ModelVersion.story_id.is_(None)).limit(1))
    if bare is None:
        bare = ModelVersion(story_id=None, name="기본 모델", base="starter", data={}, metrics={})
        db.session.add(bare)
        db.session.flush()
    return bare


class Written(NamedTuple):
    """What ModelHost.generate returns per candidate (model_server.generation.Written), for fakes
    of the host that need no torch."""
    text: str
    score: float = 0.0
    features: tuple = (0.0, 0.0, 0.0, 0.0, 0.0)
    notes: tuple = ()
