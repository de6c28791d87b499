"""The crowd's choices as preference data: for each closed round, the context the model saw,
the candidate the crowd chose and each candidate it passed over, with the vote margin.

Left out: votes of blocked users; near-ties (a margin under PREFERENCE_MIN_MARGIN votes);
rounds whose chosen passage an admin hid; and passages an admin hid from every context, as
generation leaves them out. Plain values only: a worker reads this before the model runs.
"""
import json
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.rounds.models import Candidate, Round, Vote
from app.stories.models import Passage
from app.stories.services import context_before


@dataclass
class Option:
    candidate_id: int
    text: str
    votes: int
    margin: int = 0  # the chosen candidate's votes minus this one's (0 for the chosen one)


@dataclass
class VotedRound:
    round_id: int
    number: int
    context: str
    keyword: str | None
    sentences: int
    chosen: Option
    rejected: list[Option] = field(default_factory=list)
    mood: str | None = None    # the mood the winning proposal asked for

    @property
    def pairs(self) -> int:
        return len(self.rejected)


def _clean_votes(round_ids: list[int]) -> dict[int, int]:
    """Candidate votes per candidate, blocked users' left out."""
    if not round_ids:
        return {}
    rows = db.session.execute(
        select(Vote.candidate_id, func.count()).join(User, User.id == Vote.user_id)
        .where(Vote.round_id.in_(round_ids), Vote.stage == "candidate", User.blocked.is_(False))
        .group_by(Vote.candidate_id)).all()
    return dict(rows)


def _choices(story_id: int, min_margin: int | None):
    """(round row, the chosen Candidate, chosen Option, rejected Options, the round's candidates by
    id) for each closed round that teaches a preference, oldest first."""
    if min_margin is None:
        min_margin = current_app.config["PREFERENCE_MIN_MARGIN"]
    closed = db.session.execute(
        select(Round.id, Round.number, Round.winning_candidate_id, Passage.seq, Passage.hidden)
        .join(Passage, (Passage.round_id == Round.id) & (Passage.author_kind == "ai"))
        .where(Round.story_id == story_id, Round.phase == "closed", Round.winning_candidate_id.is_not(None))
        .order_by(Round.number)).all()
    kept = [row for row in closed if not row.hidden]
    votes = _clean_votes([row.id for row in kept])
    candidates: dict[int, list[Candidate]] = {}
    if kept:
        for c in db.session.scalars(select(Candidate).where(Candidate.round_id.in_([row.id for row in kept]))
                                    .order_by(Candidate.id)):
            candidates.setdefault(c.round_id, []).append(c)
    for row in kept:
        options = {c.id: c for c in candidates.get(row.id, [])}
        winner = options.get(row.winning_candidate_id)
        if winner is None:
            continue
        chosen = Option(winner.id, winner.text, votes.get(winner.id, 0))
        rejected = [Option(c.id, c.text, votes.get(c.id, 0), chosen.votes - votes.get(c.id, 0))
                    for c in options.values() if c.id != winner.id]
        rejected = [o for o in rejected if o.margin >= min_margin]
        if rejected:
            yield row, winner, chosen, rejected, options


def preference_rounds(story_id: int, min_margin: int | None = None) -> list[VotedRound]:
    """The story's closed rounds that teach a preference, oldest first."""
    found = []
    for row, winner, chosen, rejected, _options in _choices(story_id, min_margin):
        params = winner.params or {}
        found.append(VotedRound(row.id, row.number, context_before(story_id, row.seq), params.get("keyword"),
                                     int(params.get("sentences") or 1), chosen, rejected, params.get("mood")))
    return found


def judged_pairs(story_id: int, min_margin: int | None = None) -> list[tuple[list[float], list[float]]]:
    """(features of the candidate the crowd chose, features of one it passed over) for the same
    rounds, where the judge's features of both were kept (``Candidate.params["judge"]``): what
    refits the judge's weights to this story's crowd (``Judge.for_story``)."""
    pairs = []
    for _row, winner, _chosen, rejected, options in _choices(story_id, min_margin):
        chosen = _features(winner)
        if chosen is None:
            continue
        pairs.extend((chosen, passed) for passed in (_features(options[o.candidate_id]) for o in rejected) if passed)
    return pairs


def _features(candidate: Candidate) -> list[float] | None:
    features = ((candidate.params or {}).get("judge") or {}).get("features")
    if isinstance(features, list) and len(features) == 5 and all(
            isinstance(f, (int, float)) and not isinstance(f, bool) for f in features):
        return [float(f) for f in features]
    return None


def split_heldout_rounds(rounds: list[VotedRound], fraction: float) -> tuple[list[VotedRound], list[VotedRound]]:
    """(train, held out): the latest ``fraction`` of the rounds, at least one once there are
    two, judge a preference version; it never trains on them."""
    if len(rounds) < 2 or fraction <= 0:
        return rounds, []
    held = max(1, round(len(rounds) * fraction))
    return rounds[:-held], rounds[-held:]


def jsonl_lines(rounds: list[VotedRound]):
    """One JSON line per (chosen, rejected) pair, in the prompt/chosen/rejected shape that
    preference trainers elsewhere (e.g. TRL) read; ``prompt`` is what our story adapters read."""
    from model_server.examples import control_prompt  # torch-free

    for r in rounds:
        prompt = control_prompt(r.context, r.keyword, r.sentences, r.mood)
        for other in r.rejected:
            yield json.dumps({"prompt": prompt, "chosen": r.chosen.text, "rejected": other.text,
                              "margin": other.margin, "round": r.number, "keyword": r.keyword,
                              "sentences": r.sentences, "mood": r.mood}, ensure_ascii=False) + "\n"
