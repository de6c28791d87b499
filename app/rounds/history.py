"""A story's past rounds: what was proposed, how the votes fell, what the AI offered and what
the crowd chose. Read-only; the rounds' rows are never changed after they close."""
import math

from sqlalchemy import func, select

from app.accounts.models import User
from app.errors import NotFound
from app.extensions import db
from app.rounds.models import Candidate, Proposal, Round
from app.rounds.tally import vote_counts
from app.stories.models import Passage, Story
from app.stories.services import HIDDEN_PLACEHOLDER
from app.training.models import ModelVersion

ROUNDS_PER_PAGE = 20


def story_history(story_id: int, page: int = 1, per_page: int = ROUNDS_PER_PAGE, show_hidden: bool = False) -> dict:
    """The story's closed rounds, newest first, ``per_page`` to a page: each with its proposals
    (votes, the winner), the AI's candidates (votes, the chosen one) and the passage it added.
    A passage an admin hid stays hidden here too (the text that became it), but for admins."""
    if db.session.get(Story, story_id) is None:
        raise NotFound("이야기를 찾을 수 없습니다.")
    closed = select(Round).where(Round.story_id == story_id, Round.phase == "closed")
    total = db.session.scalar(select(func.count()).select_from(closed.subquery()))
    rounds = db.session.scalars(
        closed.order_by(Round.number.desc()).offset((page - 1) * per_page).limit(per_page)).all()
    ids = [r.id for r in rounds]
    proposals, candidates, passages = _proposals(ids), _candidates(ids), _passages(ids)
    for r in rounds:
        seq, hidden = passages.get(r.id, (None, False))
        if hidden and not show_hidden:
            for items, winner in ((proposals.get(r.id, []), r.winning_proposal_id),
                                  (candidates.get(r.id, []), r.winning_candidate_id)):
                for item in items:
                    if item["id"] == winner and item["text"]:
                        item["text"] = HIDDEN_PLACEHOLDER
    items = [{
        "number": r.number,
        "closed_at": r.phase_started_at,
        "proposals": proposals.get(r.id, []),
        "winning_proposal_id": r.winning_proposal_id,
        "candidates": candidates.get(r.id, []),
        "winning_candidate_id": r.winning_candidate_id,
        "passage_seq": passages.get(r.id, (None, False))[0],
    } for r in rounds]
    return {"items": items, "page": page, "pages": max(1, math.ceil(total / per_page)), "total": total}


def _proposals(round_ids: list[int]) -> dict[int, list[dict]]:
    votes = vote_counts(round_ids, "proposal")
    rows = db.session.execute(
        select(Proposal, User.username, func.coalesce(votes.c.n, 0))
        .join(User, User.id == Proposal.user_id)
        .outerjoin(votes, votes.c.id == Proposal.id)
        .where(Proposal.round_id.in_(round_ids))
        .order_by(Proposal.round_id, func.coalesce(votes.c.n, 0).desc(), Proposal.id)
    ).all()
    found: dict[int, list[dict]] = {}
    for p, author, n in rows:
        found.setdefault(p.round_id, []).append(
            {"id": p.id, "keyword": p.keyword, "sentences": p.sentences, "mood": p.mood, "text": p.text,
             "author": author, "votes": n})
    return found


def _candidates(round_ids: list[int]) -> dict[int, list[dict]]:
    votes = vote_counts(round_ids, "candidate")
    rows = db.session.execute(
        select(Candidate, ModelVersion.name, func.coalesce(votes.c.n, 0))
        .join(ModelVersion, ModelVersion.id == Candidate.model_version_id)
        .outerjoin(votes, votes.c.id == Candidate.id)
        .where(Candidate.round_id.in_(round_ids))
        .order_by(Candidate.round_id, Candidate.id)
    ).all()
    found: dict[int, list[dict]] = {}
    for c, version, n in rows:
        found.setdefault(c.round_id, []).append({"id": c.id, "text": c.text, "votes": n, "model_version": version,
                                                 "notes": c.notes})
    return found


def _passages(round_ids: list[int]) -> dict[int, tuple[int, bool]]:
    rows = db.session.execute(
        select(Passage.round_id, Passage.seq, Passage.hidden).where(Passage.round_id.in_(round_ids))).all()
    return {round_id: (seq, hidden) for round_id, seq, hidden in rows}
