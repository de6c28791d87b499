"""What participants do in a round: propose, vote, and read its state.

Phase changes are not here: they live in app/rounds/machine.py."""
import functools
from datetime import timedelta

from flask import current_app
from sqlalchemy import DateTime, Integer, bindparam, func, literal_column, null, select
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import User
from app.database import autocommit_connection, transaction, utcnow
from app.errors import Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.particles import particle
from app.rounds import estimate, events, machine, tally
from app.rounds.guide import PHASE_NAMES, round_guide
from app.rounds.models import Candidate, Proposal, Round, Vote
from app.stories.models import Passage, Story



def _round_in_phase(story_id: int, phase: str, action: str) -> Round:
    """The story's current round, share-locked against a phase change until this transaction
    ends (PostgreSQL FOR KEY SHARE: votes don't block each other, only ``advance``)."""
    round_ = db.session.scalar(machine.current_round_query(story_id).with_for_update(read=True, key_share=True))
    if round_ is None:
        if db.session.get(Story, story_id) is None:
            raise NotFound("이야기를 찾을 수 없습니다.")
        raise NotFound("라운드를 찾을 수 없습니다.")
    machine.refuse_if_finished(round_.story)
    if round_.phase != phase:
        raise Conflict(
            f"지금은 {PHASE_NAMES[round_.phase]} 단계라서 {action}할 수 없습니다.", code="wrong_phase"
        )
    return round_


def propose(story_id: int, user: User, keyword: str | None = None, sentences: int | None = None,
            text: str | None = None, mood: str | None = None) -> Proposal:
    """Submit or edit the user's one proposal of the round (``mood``: a keyword proposal's)."""
    if (text is None) == (keyword is None):
        raise Invalid("키워드와 문장 수, 또는 직접 쓴 글 중 하나만 보내 주세요.", code="proposal_kind")
    with transaction():
        round_ = _round_in_phase(story_id, "proposing", "제안")
        if keyword is not None:
            _refuse_what_cannot_be_written_in_time(sentences, round_.story.candidates_k)
        proposal = db.session.scalar(
            select(Proposal).where(Proposal.round_id == round_.id, Proposal.user_id == user.id)
        )
        if proposal is None:
            proposal = Proposal(round_id=round_.id, user_id=user.id)
            db.session.add(proposal)
        proposal.keyword, proposal.sentences, proposal.text = keyword, sentences, text
        proposal.mood = mood if keyword is not None else None
        proposal.text_sentences = None
        proposal.updated_at = utcnow()
    events.changed(story_id)
    if text is not None:
        jobs.send_light_task("relay.count_proposal_sentences", proposal.id)
    return proposal


def _refuse_what_cannot_be_written_in_time(sentences: int, k: int) -> None:
    """A keyword proposal whose K candidates the AI would not finish within the generation
    task's time limit, by this site's own recent speed (app/rounds/estimate.py)."""
    rate = estimate.seconds_per_sentence()
    needed = estimate.estimate_seconds(sentences, k, rate)
    if needed <= estimate.budget_seconds():
        return
    limit = estimate.minutes_text(current_app.config["GENERATION_TIME_LIMIT"])
    most = estimate.max_sentences(k, rate)
    why = (f"지금 이 사이트의 AI는 후보 {k}개를 {sentences}문장씩 쓰는 데 {estimate.minutes_text(needed)}쯤 걸려 "
           f"제한 시간({limit})을 넘깁니다.")
    advice = (f" {most}문장 이하로 제안하거나 직접 쓴 글을 내 주세요." if most else
              " 이야기 주인이 AI 후보 수를 줄이거나, 직접 쓴 글을 제안해 주세요.")
    raise Invalid(why + advice, code="too_long_to_write", fields={"sentences": [why + advice]},
                  details={"max_sentences": most})


def vote(story_id: int, user: User, proposal_id: int | None = None, candidate_id: int | None = None) -> dict:
    """Cast or move the user's vote of the current stage.

    One statement does it all: find the story's current round (share-locked against a phase
    change on PostgreSQL), check the phase and that the target belongs to that round, and
    INSERT .. ON CONFLICT (round, stage, user) DO UPDATE, so concurrent votes of one user end
    as one row. Only when it writes nothing do we look again to say why."""
    if (proposal_id is None) == (candidate_id is None):
        raise Invalid("proposal_id 또는 candidate_id 중 하나만 보내 주세요.", code="vote_target")
    stage = "proposal" if proposal_id is not None else "candidate"
    target_id = proposal_id if stage == "proposal" else candidate_id
    now = utcnow()
    with autocommit_connection() as connection:
        statement = _vote_statement(connection.dialect.name, stage)
        row = connection.execute(statement, {"story_id": story_id, "user_id": user.id, "target_id": target_id,
                                             "now": now}).first()
        # the last vote of everyone active ends a timed phase early, after a short grace to move it
        soon = now + timedelta(seconds=current_app.config["ROUND_EARLY_END_SECONDS"])
        if row is not None:
            tally.end_early_if_everyone_voted(connection, row.round_id, stage, soon)
    if row is None:
        with transaction():  # read why, then let go of the round's share lock
            _explain_refused_vote(story_id, stage, target_id)
    events.changed(story_id)  # the tally, and the deadline when everyone has voted
    return {"round_id": row.round_id, "stage": stage, "proposal_id": proposal_id, "candidate_id": candidate_id}


@functools.cache
def _vote_statement(dialect_name: str, stage: str):
    """The vote upsert for a dialect and stage, built once (its SQL is then compiled once)."""
    target, phase = (Proposal, "voting") if stage == "proposal" else (Candidate, "choosing")
    current = (
        select(Round.id.label("round_id"), Round.phase)
        .where(Round.story_id == bindparam("story_id", type_=Integer))
        .order_by(Round.number.desc()).limit(1)
        .with_for_update(read=True, key_share=True)
        .cte("current_round")
    )
    now = bindparam("now", type_=DateTime)
    source = (
        select(current.c.round_id, literal_column(f"'{stage}'"), bindparam("user_id", type_=Integer),
               target.id if stage == "proposal" else null(), target.id if stage == "candidate" else null(), now, now)
        .select_from(current.join(target, target.round_id == current.c.round_id))
        .where(target.id == bindparam("target_id", type_=Integer), current.c.phase == phase)
    )
    insert = (postgresql.insert if dialect_name == "postgresql" else sqlite.insert)(Vote.__table__)
    statement = insert.from_select(
        ["round_id", "stage", "user_id", "proposal_id", "candidate_id", "created_at", "updated_at"], source
    )
    return statement.on_conflict_do_update(
        index_elements=["round_id", "stage", "user_id"],
        set_={"proposal_id": statement.excluded.proposal_id, "candidate_id": statement.excluded.candidate_id,
              "updated_at": statement.excluded.updated_at},
    ).returning(Vote.__table__.c.round_id)


def _explain_refused_vote(story_id: int, stage: str, target_id: int):
    phase, target_model = ("voting", Proposal) if stage == "proposal" else ("choosing", Candidate)
    round_ = _round_in_phase(story_id, phase, "제안 투표" if stage == "proposal" else "후보 투표")
    what = "제안" if target_model is Proposal else "후보"
    if db.session.get(target_model, target_id) is None:
        raise NotFound(f"{what}{particle(what, '을')} 찾을 수 없습니다.", code="unknown_target")
    if db.session.scalar(select(target_model.round_id).where(target_model.id == target_id)) != round_.id:
        raise Invalid(f"이번 라운드의 {what}{particle(what, '이')} 아닙니다.", code="target_not_in_round")
    raise Conflict("투표가 반영되지 않았습니다. 다시 시도해 주세요.", code="vote_not_recorded")


def _check_owner(story_id: int, user: User, action: str) -> None:
    story = db.session.get(Story, story_id)
    if story is None:
        raise NotFound("이야기를 찾을 수 없습니다.")
    if not (user.is_admin or story.owner_id == user.id):
        raise Forbidden(f"이야기 주인이나 관리자만 {action} 수 있습니다.", code="not_owner")


def advance(story_id: int, user: User) -> Round:
    _check_owner(story_id, user, "다음 단계로 넘길")
    return machine.advance(story_id)


def recover(story_id: int, user: User, action: str) -> Round:
    """After a failed generation: retry, take the runner-up proposal, or propose again."""
    _check_owner(story_id, user, "실패한 AI 작성을 처리할")
    return machine.recover(story_id, action)


def snapshot(story_id: int, user: User | None) -> dict:
    """The current round as the pages and API clients poll it: a few small queries, no text
    analysis, cheap enough to answer every second. The shared state (``shared_state``) with
    the caller's own part (``own_part``)."""
    state = shared_state(story_id)
    own = own_part(state["id"], state["phase"], state["owner_id"], user)
    state["my_vote"], state["can_advance"] = own["my_vote"], own["can_advance"]
    for proposal in state["proposals"]:
        proposal["mine"] = user is not None and proposal["user_id"] == user.id
    return state


def shared_state(story_id: int) -> dict:
    """The round as everyone sees it, the same for every caller (so one answer per revision of
    the story serves them all): nobody's vote, no proposal marked as the caller's, no right to
    advance. ``owner_id`` and each proposal's ``user_id`` are kept for ``own_part``; the API
    does not show them."""
    round_ = db.session.scalar(machine.current_round_query(story_id))
    if round_ is None:
        if db.session.get(Story, story_id) is None:
            raise NotFound("이야기를 찾을 수 없습니다.")
        raise NotFound("라운드를 찾을 수 없습니다.")
    proposal_votes = tally.vote_counts(round_.id, "proposal")
    proposals = db.session.execute(
        select(Proposal, User.username, func.coalesce(proposal_votes.c.n, 0))
        .join(User, User.id == Proposal.user_id)
        .outerjoin(proposal_votes, proposal_votes.c.id == Proposal.id)
        .where(Proposal.round_id == round_.id).order_by(Proposal.id)
    ).all()
    candidate_votes = tally.vote_counts(round_.id, "candidate")
    candidates = db.session.execute(
        select(Candidate, func.coalesce(candidate_votes.c.n, 0))
        .outerjoin(candidate_votes, candidate_votes.c.id == Candidate.id)
        .where(Candidate.round_id == round_.id).order_by(Candidate.id)
    ).all()
    job = db.session.get(Job, round_.job_id) if round_.job_id else None
    story_owner_id, owner_name, k, last_seq = db.session.execute(
        select(Story.owner_id, User.username, Story.candidates_k,
               select(func.max(Passage.seq)).where(Passage.story_id == story_id).scalar_subquery())
        .join(User, User.id == Story.owner_id).where(Story.id == story_id)
    ).one()
    job_body = None if job is None else {
        "id": job.id, "status": job.status, "progress": job.progress, "error": job.error,
        "k": (job.params or {}).get("k"), "estimate_s": (job.params or {}).get("estimate_s"),
        "eta_s": (job.metrics or {}).get("eta_s") if job.status == "running" else None}
    stage = {"voting": "proposal", "choosing": "candidate"}.get(round_.phase)
    turnout = tally.turnout(round_.id, stage) if stage else None
    max_sentences = (estimate.max_sentences(k, estimate.seconds_per_sentence())
                     if round_.phase == "proposing" else None)
    return {
        "id": round_.id,
        "story_id": story_id,
        "number": round_.number,
        "phase": round_.phase,
        "deadline": round_.deadline,
        "notice": round_.notice,
        "winning_proposal_id": round_.winning_proposal_id,
        "now": utcnow(),
        "last_seq": last_seq or 0,
        "proposals": [
            {"id": p.id, "keyword": p.keyword, "sentences": p.sentences, "mood": p.mood, "text": p.text,
             "text_sentences": p.text_sentences, "author": name, "votes": n, "mine": False, "user_id": p.user_id}
            for p, name, n in proposals
        ],
        "candidates": [{"id": c.id, "text": c.text, "votes": n, "notes": c.notes}
                       for c, n in candidates],
        "my_vote": None,
        "job": job_body,
        "can_advance": False,
        "owner": owner_name,
        "owner_id": story_owner_id,
        "candidates_k": k,
        "turnout": turnout,
        "max_sentences": max_sentences,
        "guide": round_guide(round_.phase, owner=owner_name, timed=round_.deadline is not None, job=job_body,
                             turnout=turnout, max_sentences=max_sentences, k=k),
    }


def own_part(round_id: int, phase: str, owner_id: int, user: User | None) -> dict:
    """What the round shows only its caller: their vote of the current stage (one small query)
    and whether they may advance it."""
    if user is None:
        return {"my_vote": None, "can_advance": False}
    stage = "candidate" if phase in ("choosing", "closed") else "proposal"
    mine = db.session.execute(
        select(Vote.stage, Vote.proposal_id, Vote.candidate_id)
        .where(Vote.round_id == round_id, Vote.user_id == user.id, Vote.stage == stage)
    ).first()
    my_vote = None if mine is None else {"stage": mine.stage, "proposal_id": mine.proposal_id,
                                         "candidate_id": mine.candidate_id}
    return {"my_vote": my_vote, "can_advance": user.is_admin or user.id == owner_id}
