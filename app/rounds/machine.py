"""The relay round state machine: every phase change of every round goes through here.

    proposing -> voting -> generating -> choosing -> closed   (the next round opens at once)
                    `-> closed  when the winner is a passage written by hand
    generating (failed) -> generating (retry, or the runner-up proposal) | proposing | closed
    any phase -> closed  when the story is finished (no round opens after it)

The owner's button, the API, the deadline tick and the worker all call these functions, so
they cannot disagree. Each function is one transaction that first locks the story row and
then the round row (always in that order), so two web processes, the beat tick and a worker
racing on one round are serialised by the database.
"""
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from app.accounts.models import User
from app.database import transaction, utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import Job
from app.rounds import estimate, events, tally
from app.rounds.models import Candidate, Proposal, Round, Vote
from app.stories.models import Passage, Story, TrainingText
from app.training.models import ModelVersion

TRANSITIONS = {
    "proposing": {"voting", "closed"},  # closed: only when the story is finished (end_rounds)
    "voting": {"generating", "closed"},
    # a failed generation may instead go back to proposing, or close with a hand-written runner-up
    "generating": {"choosing", "proposing", "closed"},
    "choosing": {"closed"},
    "closed": set(),
}
NO_MODEL_NOTICE = "아직 기본 모델이 없습니다. 관리자가 먼저 모델을 학습시켜야 합니다. 모델이 준비되면 자동으로 이어집니다."
FINISHED_NOTICE = "이야기가 완결되어 라운드를 마쳤습니다."
FINISHED_MESSAGE = "완결된 이야기라서 더는 제안하거나 투표할 수 없습니다."


def _enter(round_: Round, phase: str, now: datetime) -> None:
    if phase not in TRANSITIONS[round_.phase]:
        raise Conflict(f"'{round_.phase}' 단계에서 '{phase}' 단계로 갈 수 없습니다.", code="bad_transition")
    round_.phase = phase
    round_.phase_started_at = now
    minutes = round_.story.phase_minutes(phase)
    round_.deadline = now + timedelta(minutes=minutes) if minutes else None
    round_.notice = None


def current_round_query(story_id: int):
    return select(Round).where(Round.story_id == story_id).order_by(Round.number.desc()).limit(1)


def round_not_started(story_id: int) -> bool:
    """Whether the story's current round has not started: proposing, nobody has proposed yet.
    Only then may a passage be added outside a round (put_Human_txt's continuation)."""
    round_ = db.session.scalar(current_round_query(story_id))
    if round_ is None or round_.phase != "proposing":
        return False
    return db.session.scalar(select(Proposal.id).where(Proposal.round_id == round_.id).limit(1)) is None


def refuse_if_finished(story: Story) -> None:
    if story.finished:
        raise Conflict(FINISHED_MESSAGE, code="story_finished")


def end_rounds(round_: Round, now: datetime) -> None:
    """The story is finished: its current round closes where it stands (proposals and votes
    kept for its history, a generation under way cancelled) and no round opens after it.
    The caller holds the story and round locks."""
    job = round_.job
    if job is not None and not job.done:
        jobs.mark_cancelled(job, "이야기가 완결되어 작업을 멈췄습니다.")
    if round_.phase != "closed":
        _enter(round_, "closed", now)
        round_.notice = FINISHED_NOTICE


def lock_story_round(story_id: int, round_id: int | None = None) -> tuple[Story, Round]:
    """Lock the story, then its current round (or the given one)."""
    story = db.session.scalar(select(Story).where(Story.id == story_id).with_for_update())
    if story is None:
        raise NotFound("이야기를 찾을 수 없습니다.")
    query = select(Round).where(Round.id == round_id) if round_id else current_round_query(story_id)
    round_ = db.session.scalar(query.with_for_update())
    if round_ is None:
        raise NotFound("라운드를 찾을 수 없습니다.")
    return story, round_


def open_round(story: Story, number: int, now: datetime) -> Round:
    round_ = Round(story=story, number=number, phase="proposing", phase_started_at=now)
    minutes = story.phase_minutes("proposing")
    round_.deadline = now + timedelta(minutes=minutes) if minutes else None
    db.session.add(round_)
    return round_


def last_seq(story_id: int) -> int:
    """The place of the story's last passage, hidden ones included (0: none yet)."""
    return db.session.scalar(select(func.max(Passage.seq)).where(Passage.story_id == story_id)) or 0


def append_passage(story: Story, text: str, *, author: User | None = None,
                   model_version_id: int | None = None, round_: Round | None = None) -> Passage:
    """Append a passage at the story's next seq. The caller holds the story lock."""
    passage = Passage(
        story_id=story.id, seq=last_seq(story.id) + 1, text=text,
        author_kind="ai" if author is None else "human",
        author_id=author.id if author else None, model_version_id=model_version_id, round_id=round_.id if round_ else None,
    )
    db.session.add(passage)
    db.session.flush()
    if author is not None:
        # Human passages are the story's own training text for its next adapter.
        db.session.add(TrainingText(story_id=story.id, passage_id=passage.id))
    return passage


def _close_and_open_next(story: Story, round_: Round, now: datetime) -> None:
    _enter(round_, "closed", now)
    round_.deadline = None
    open_round(story, round_.number + 1, now)


def advance(story_id: int, *, by_deadline: bool = False, now: datetime | None = None) -> Round:
    """End the current phase of the story's round: the owner's "advance now", or its deadline.

    A phase with nothing to decide stays open (by deadline: its deadline starts again).
    In ``generating`` a failed or stuck job is retried; a running one cannot be hurried."""
    now = now or utcnow()
    dispatch: Job | None = None
    with transaction():
        story, round_ = lock_story_round(story_id)
        refuse_if_finished(story)
        if by_deadline and (round_.deadline is None or round_.deadline > now):
            return round_
        if round_.phase == "proposing":
            has_proposal = db.session.scalar(select(Proposal.id).where(Proposal.round_id == round_.id).limit(1))
            if has_proposal is None:
                return _stay_open(round_, now, by_deadline, "아직 제안이 없습니다.")
            _enter(round_, "voting", now)
        elif round_.phase == "voting":
            winner_id = tally.winner(round_, "proposal")
            if winner_id is None:
                return _stay_open(round_, now, by_deadline, "아직 투표가 없습니다.")
            winner = db.session.get(Proposal, winner_id)
            round_.winning_proposal_id = winner.id
            if winner.is_human_text:
                append_passage(story, winner.text, author=winner.user, round_=round_)
                _close_and_open_next(story, round_, now)
            else:
                _enter(round_, "generating", now)
                dispatch = _new_generation_job(story, round_, winner)
        elif round_.phase == "generating":
            _check_failed(round_.job, now, by_deadline)
            dispatch = _new_generation_job(story, round_, round_.winning_proposal)
        elif round_.phase == "choosing":
            winner_id = tally.winner(round_, "candidate")
            if winner_id is None:
                return _stay_open(round_, now, by_deadline, "아직 후보에 대한 투표가 없습니다.")
            candidate = db.session.get(Candidate, winner_id)
            round_.winning_candidate_id = candidate.id
            append_passage(story, candidate.text, model_version_id=candidate.model_version_id, round_=round_)
            _close_and_open_next(story, round_, now)
        else:
            raise Conflict("이미 끝난 라운드입니다.", code="round_closed")
    events.changed(story_id)
    if dispatch is not None:
        jobs.dispatch(dispatch)
    return round_


RECOVERIES = ("retry", "runner_up", "propose_again")


def recover(story_id: int, how: str, *, by_deadline: bool = False, now: datetime | None = None) -> Round:
    """A generation that failed, and the owner's (or an admin's) way out of it:

    ``retry``: a new job, so a fresh seed; ``runner_up``: the proposal with the next most votes
    (ties to the earliest; proposals already tried in this round are passed over), written by
    the AI or, if it was written by hand, appended at once; ``propose_again``: back to
    proposing, with the proposals kept and this round's proposal votes cleared.
    ``auto`` (the tick, ``by_deadline``, once nobody chose in time): the runner-up if there is
    one, else back to proposing; a retry would most likely fail the same way (a time-out)."""
    if how not in RECOVERIES + ("auto",):
        raise Conflict(f"알 수 없는 방법입니다: {how}", code="bad_recovery")
    now = now or utcnow()
    dispatch: Job | None = None
    with transaction():
        story, round_ = lock_story_round(story_id)
        refuse_if_finished(story)
        if by_deadline and (round_.phase != "generating" or round_.deadline is None or round_.deadline > now):
            return round_
        if round_.phase != "generating":
            raise Conflict("AI 작성 단계에서만 할 수 있습니다.", code="wrong_phase")
        _check_failed(round_.job, now)
        if how == "auto":
            how = "runner_up" if tally.runner_up(round_) is not None else "propose_again"
        if how == "retry":
            dispatch = _new_generation_job(story, round_, round_.winning_proposal)
        elif how == "runner_up":
            runner_up = tally.runner_up(round_)
            if runner_up is None:
                raise Conflict("다음으로 표를 많이 받은 제안이 없습니다.", code="no_runner_up")
            round_.winning_proposal_id = runner_up.id
            if runner_up.is_human_text:
                append_passage(story, runner_up.text, author=runner_up.user, round_=round_)
                _close_and_open_next(story, round_, now)
            else:
                dispatch = _new_generation_job(story, round_, runner_up)
        else:
            db.session.execute(delete(Vote).where(Vote.round_id == round_.id, Vote.stage == "proposal"))
            round_.winning_proposal_id = None
            round_.job_id = None
            _enter(round_, "proposing", now)
    events.changed(story_id)
    if dispatch is not None:
        jobs.dispatch(dispatch)
    return round_


def _check_failed(job: Job | None, now: datetime, by_deadline: bool = False) -> None:
    """Only a generation that really failed (or fell silent) may be retried or replaced: one
    waiting for a base model goes on by itself, and a running one cannot be hurried."""
    if job is not None and job.status == "waiting":
        raise Conflict("기본 모델을 기다리는 중입니다. 모델이 준비되면 자동으로 이어집니다.", code="waiting_for_base")
    if by_deadline or (job is not None and not jobs.is_retryable(job, now)):
        raise Conflict("AI가 후보를 쓰는 중입니다. 끝나면 자동으로 다음 단계로 넘어갑니다.", code="generating")


def _stay_open(round_: Round, now: datetime, by_deadline: bool, why: str) -> Round:
    if not by_deadline:
        raise Conflict(f"{why} 다음 단계로 넘어갈 수 없습니다.", code="nothing_to_decide")
    minutes = round_.story.phase_minutes(round_.phase)
    round_.deadline = now + timedelta(minutes=minutes) if minutes else None
    return round_


def _new_generation_job(story: Story, round_: Round, proposal: Proposal) -> Job:
    """The job that writes ``proposal``'s candidates, with as many of the story's K as fit in
    the task's time limit by this site's recent speed, and how long it should take."""
    previous = round_.job
    if previous is not None and not previous.done:
        # A retry replaces it: the tick must not resume it, nor a late delivery report on it.
        jobs.mark_failed(previous, "다시 시도하면서 새 작업으로 바뀌었습니다.")
    rate = estimate.seconds_per_sentence()
    k = estimate.fitting_k(proposal.sentences, story.candidates_k, rate)
    job = Job(kind="generate", story_id=story.id, round_id=round_.id,
              params={"keyword": proposal.keyword, "sentences": proposal.sentences, "mood": proposal.mood, "k": k,
                      "proposal_id": proposal.id,
                      "estimate_s": round(estimate.estimate_seconds(proposal.sentences, k, rate), 1)})
    db.session.add(job)
    db.session.flush()
    round_.job_id = job.id
    round_.deadline = None  # a recovery's deadline, if any, is over
    round_.notice = None if k == story.candidates_k else (
        f"제한 시간 안에 쓰도록 AI 후보를 {story.candidates_k}개 대신 {k}개 씁니다.")
    return job


def finish_generation(job_id: int, texts: list[str], model_version: ModelVersion, params: dict,
                      metrics: dict | None = None, per_candidate: list[dict] | None = None) -> bool:
    """The worker's K candidates arrive: store them and open ``choosing``. False (and nothing
    written) when the round has moved on or another delivery of the job got there first.
    ``per_candidate``: params of each candidate beside the job's (how the judge saw it)."""
    with transaction():
        job = db.session.get(Job, job_id)
        story, round_ = lock_story_round(job.story_id, job.round_id)
        if round_.phase != "generating" or round_.job_id != job.id:
            return False
        for i, text in enumerate(texts):
            own = per_candidate[i] if per_candidate else {}
            db.session.add(Candidate(round_id=round_.id, text=text, model_version_id=model_version.id,
                                     params={**params, **own}))
        _enter(round_, "choosing", utcnow())
        jobs.mark_succeeded(job, metrics={**(metrics or {}), "candidates": len(texts)})
        story_id = story.id
    events.changed(story_id)
    return True


def generation_blocked(job_id: int, notice: str = NO_MODEL_NOTICE) -> None:
    """No base model yet: the round waits in ``generating`` with a notice; the tick re-queues it."""
    with transaction():
        job = db.session.get(Job, job_id)
        _story, round_ = lock_story_round(job.story_id, job.round_id)
        jobs.mark_waiting(job, notice)
        if round_.job_id == job.id and round_.phase == "generating":
            round_.notice = notice
        story_id = job.story_id
    events.changed(story_id)


def generation_resumed(job_id: int) -> None:
    """A base model exists now: the waiting job goes back to the queue, and its round stops
    saying that there is none (the tick calls this; the AI is about to write)."""
    with transaction():
        job = db.session.get(Job, job_id)
        _story, round_ = lock_story_round(job.story_id, job.round_id)
        if job.status != "waiting":
            return
        jobs.mark_queued(job)
        if round_.job_id == job.id:
            round_.notice = None
        story_id = job.story_id
    events.changed(story_id)
    jobs.dispatch(job)


def generation_failed(job_id: int, reason: str, metrics: dict | None = None) -> None:
    """The round's job failed: the owner or an admin may choose a way out (``recover``). When
    the story's voting is timed, the round does not wait for them for ever: after
    ROUND_RECOVERY_MINUTES the tick takes the runner-up proposal (or goes back to proposing)."""
    with transaction():
        job = db.session.get(Job, job_id)
        story, round_ = lock_story_round(job.story_id, job.round_id)
        jobs.mark_failed(job, reason)
        if metrics:
            job.metrics = {**(job.metrics or {}), **metrics}
        if round_.job_id == job.id and round_.phase == "generating":
            round_.notice = (f"AI 후보 작성에 실패했습니다: {reason} 이야기 주인이나 관리자가 다시 시도하거나, "
                             "다음으로 표를 많이 받은 제안으로 바꾸거나, 제안 단계로 돌아갈 수 있습니다.")
            minutes = current_app.config["ROUND_RECOVERY_MINUTES"]
            if story.voting_minutes and minutes:
                round_.deadline = utcnow() + timedelta(minutes=minutes)
                round_.notice += (f" {minutes}분 안에 아무도 고르지 않으면 다음으로 표를 많이 받은 제안으로"
                                  "(없으면 제안 단계로) 저절로 넘어갑니다.")
        story_id = job.story_id
    events.changed(story_id)
