"""What a story's training jobs read: the story's passages, trained and held out, and its novels.

Plain values only (no ORM objects): the worker ends its transaction before the model runs.
"""
import math
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.novels.training_set import training_set
from app.stories.models import Passage, Story

# The human passages are trained on again as a text of their own with this sampling weight, so
# they count three times as much as the AI's passages: the crowd's own writing is what the
# story's model should sound like most.
HUMAN_WEIGHT = 2.0
# Fewer non-hidden passages than this and nothing is held out (the story is too young to judge).
MIN_PASSAGES_FOR_HELDOUT = 4


@dataclass
class RetrainMaterial:
    story_id: int
    novels: list[tuple[str, str]]             # (label, cleaned text) of the story's training set
    story_text: str                           # the trained passages in order, human and AI
    human_text: str                           # the trained human passages again, weighted up
    heldout_text: str                         # the story's last passages, never trained on
    counts: dict = field(default_factory=dict)


def heldout_count(passages: int, fraction: float) -> int:
    """How many of the story's last passages judge a new version: about ``fraction``, at least
    one, none while the story has fewer than MIN_PASSAGES_FOR_HELDOUT."""
    if passages < MIN_PASSAGES_FOR_HELDOUT or fraction <= 0:
        return 0
    return max(1, math.floor(passages * fraction))


def _passages(story_id: int, heldout_fraction: float) -> tuple[list, list]:
    """The story's visible passages in order, split into (trained, held out)."""
    rows = db.session.execute(
        select(Passage.id, Passage.text, Passage.author_kind)
        .where(Passage.story_id == story_id, Passage.hidden.is_(False)).order_by(Passage.seq)
    ).all()
    held = heldout_count(len(rows), heldout_fraction)
    return rows[: len(rows) - held], rows[len(rows) - held:]


def heldout_passages(story_id: int, heldout_fraction: float) -> tuple[list[int], str]:
    """The ids and text of the story's passages that judge a new version."""
    _trained, heldout = _passages(story_id, heldout_fraction)
    return [r.id for r in heldout], "\n\n".join(r.text for r in heldout)


def retrain_material(story_id: int, heldout_fraction: float) -> RetrainMaterial:
    story = db.session.get(Story, story_id)
    novels = [(f"novel-{n.id}:{n.title}", n.text) for n in training_set(story)]
    trained, heldout = _passages(story_id, heldout_fraction)
    return RetrainMaterial(
        story_id=story_id, novels=novels,
        story_text="\n\n".join(r.text for r in trained),
        human_text="\n\n".join(r.text for r in trained if r.author_kind == "human"),
        heldout_text="\n\n".join(r.text for r in heldout),
        counts={"novels": [label for label, _ in novels], "passages": [r.id for r in trained],
                "heldout_passages": [r.id for r in heldout]},
    )
