"""What a retrain reads, and whether its result may replace the active version by itself.

Plain values only (no ORM objects): the worker ends its transaction before the model runs.
"""
import math
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.novels.training_set import training_set
from app.particles import particle
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


def activation_decision(new_loss: float | None, active_loss: float | None, threshold: float) -> tuple[bool, str]:
    """Whether a new version becomes active by itself, and why (shown on the training page).

    It waits for an admin only when both losses on the held-out passages are known and the new
    one is worse than the active version's by more than ``threshold`` (relative)."""
    if new_loss is None or not math.isfinite(new_loss):
        return True, "검증 글에서 새 버전의 손실을 잴 수 없어 비교 없이 바로 적용했습니다."
    if active_loss is None or not math.isfinite(active_loss):
        # e.g. a 4-bit base: bitsandbytes cannot evaluate and then train, so train() skips it
        return True, "현재 버전의 검증 손실을 잴 수 없어 비교 없이 바로 적용했습니다."
    limit = active_loss * (1 + threshold)
    if new_loss > limit:
        return False, (f"검증 손실 {new_loss:.3f}{particle(f'{new_loss:.3f}', '이')} 현재 버전의 {active_loss:.3f}보다 "
                       f"{threshold:.0%} 넘게 나빠 관리자 확인을 기다립니다.")
    return True, f"검증 손실 {active_loss:.3f} → {new_loss:.3f}: 자동으로 적용했습니다."


def preference_decision(accuracy: float | None, active_accuracy: float | None, new_loss: float | None,
                        active_loss: float | None, threshold: float, *, rounds: int,
                        min_rounds: int) -> tuple[bool, str]:
    """Whether a preference-trained version becomes active by itself, and which rule said so.

    With at least ``min_rounds`` held-out rounds: only when it ranks the crowd's pick first in
    more of them than the active version does, and its held-out passage loss is not worse by
    more than ``threshold``. With fewer, the accuracy says little (over one round it is 0 % or
    100 %, so a tie is certain), and the held-out passage loss decides alone, as for a retrain;
    a version measured by neither waits for an admin."""
    if rounds < min_rounds:
        few = (f"검증 라운드가 {rounds}개뿐이라(선호 정확도는 {min_rounds}개부터 봅니다) "
               "선호 정확도 대신 검증 손실로 판단했습니다.")
        if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (new_loss, active_loss)):
            return False, f"{few} 검증 손실도 잴 수 없어 관리자 확인을 기다립니다."
        activate, loss_reason = activation_decision(new_loss, active_loss, threshold)
        return activate, f"{few} {loss_reason}"
    if accuracy is None or active_accuracy is None:
        return False, "검증용으로 남긴 라운드에서 선호 정확도를 잴 수 없어 관리자 확인을 기다립니다."
    if accuracy <= active_accuracy:
        return False, (f"검증 라운드 {rounds}개의 선호 정확도가 {active_accuracy:.0%} → {accuracy:.0%}로 나아지지 않아 "
                       "관리자 확인을 기다립니다.")
    loss_ok, loss_reason = activation_decision(new_loss, active_loss, threshold)
    if not loss_ok:
        return False, f"선호 정확도 {active_accuracy:.0%} → {accuracy:.0%}. 하지만 {loss_reason}"
    return True, f"검증 라운드 {rounds}개의 선호 정확도 {active_accuracy:.0%} → {accuracy:.0%}. {loss_reason}"
