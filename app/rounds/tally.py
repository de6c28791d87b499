"""Counting a round: the winner, the runner-up, and who is still to vote.

A round's *active participants* are the people who proposed or voted in it or in the round
before (blocked users aside): the story's crowd of the moment. When every one of them has
voted in a timed voting or choosing phase, that phase ends early (``early_end``), a few seconds
later, so a last vote can still be moved. A phase run by hand (no deadline) waits for its owner.
"""
import functools
from datetime import datetime

from sqlalchemy import DateTime, Integer, bindparam, exists, func, select, union, update
from sqlalchemy.orm import aliased

from app.accounts.models import User
from app.extensions import db
from app.jobs.models import Job
from app.rounds.models import Proposal, Round, Vote

STAGE_PHASE = {"proposal": "voting", "candidate": "choosing"}


def vote_counts(round_ids: int | list[int], stage: str):
    """A subquery of ``(id, n)``: the votes of each proposal (``stage`` "proposal") or candidate
    ("candidate") that has any, in the round or rounds ``round_ids``."""
    target = Vote.proposal_id if stage == "proposal" else Vote.candidate_id
    rounds = Vote.round_id.in_(round_ids) if isinstance(round_ids, list) else Vote.round_id == round_ids
    return (select(target.label("id"), func.count().label("n"))
            .where(rounds, Vote.stage == stage).group_by(target).subquery())


def winner(round_: Round, stage: str) -> int | None:
    """The winning target id: most votes, ties to the earliest; None when nobody voted."""
    votes = vote_counts(round_.id, stage)
    return db.session.scalar(select(votes.c.id).order_by(votes.c.n.desc(), votes.c.id.asc()).limit(1))


def runner_up(round_: Round) -> Proposal | None:
    """The proposal with the most votes after those already tried in this round."""
    tried = {round_.winning_proposal_id} | {
        job.params.get("proposal_id") for job in db.session.scalars(
            select(Job).where(Job.round_id == round_.id, Job.kind == "generate"))}
    votes = vote_counts(round_.id, "proposal")
    return db.session.scalars(
        select(Proposal).outerjoin(votes, votes.c.id == Proposal.id)
        .where(Proposal.round_id == round_.id, Proposal.id.not_in([t for t in tried if t is not None]))
        .order_by(func.coalesce(votes.c.n, 0).desc(), Proposal.id).limit(1)
    ).first()


def _recent_rounds(round_id):
    """SELECT the ids of the round and of the one before it (in this story); ``round_id`` may be
    a bind parameter. Every table is aliased: the statement may sit inside an UPDATE of rounds."""
    this, recent = aliased(Round), aliased(Round)
    story = select(this.story_id).where(this.id == round_id).scalar_subquery()
    number = select(this.number).where(this.id == round_id).scalar_subquery()
    return select(recent.id).where(recent.story_id == story, recent.number >= number - 1)


def _people(round_id, stage: str | None = None):
    """(proposers, voters): SELECTs of the active participants' ids, by what made them active;
    with ``stage``, only those who have not voted in it yet."""
    recent = _recent_rounds(round_id)
    proposer, voter, vote = aliased(Proposal), aliased(Vote), aliased(Vote)
    proposers = (select(proposer.user_id.label("user_id")).join(User, User.id == proposer.user_id)
                 .where(proposer.round_id.in_(recent), User.blocked.is_(False)))
    voters = (select(voter.user_id.label("user_id")).join(User, User.id == voter.user_id)
              .where(voter.round_id.in_(recent), User.blocked.is_(False)))
    if stage is not None:
        voted = select(vote.user_id).where(vote.round_id == round_id, vote.stage == stage)
        proposers = proposers.where(proposer.user_id.not_in(voted))
        voters = voters.where(voter.user_id.not_in(voted))
    return proposers, voters


def turnout(round_id: int, stage: str) -> dict:
    """``{voted, active}``: how many of the round's active participants have voted in ``stage``."""
    active = union(*_people(round_id)).subquery()
    left = union(*_people(round_id, stage)).subquery()
    total = db.session.scalar(select(func.count()).select_from(active))
    return {"active": total, "voted": total - db.session.scalar(select(func.count()).select_from(left))}


@functools.cache
def early_end_statement(stage: str):
    """UPDATE the round's deadline to ``:soon`` if it is later, the round is still in the stage's
    phase, and every active participant has voted in ``stage``: one statement, so the check and
    the write see the same votes. Built once per stage."""
    round_id = bindparam("round_id", type_=Integer)
    rounds = Round.__table__
    proposers_left, voters_left = _people(round_id, stage)
    soon = bindparam("soon", type_=DateTime)
    return (update(rounds)
            .where(rounds.c.id == round_id, rounds.c.phase == STAGE_PHASE[stage], rounds.c.deadline > soon,
                   ~exists(proposers_left), ~exists(voters_left))
            .values(deadline=soon))


def end_early_if_everyone_voted(connection, round_id: int, stage: str, soon: datetime) -> bool:
    """After a vote: bring the phase's deadline forward to ``soon`` once everyone active has
    voted (the tick then ends the phase). True when it did."""
    return connection.execute(early_end_statement(stage), {"round_id": round_id, "soon": soon}).rowcount == 1
