"""DPO on the crowd's choices: the loss, and a run on synthetic preferences (the crowd always
picks the candidate that is dialogue) that must raise preference accuracy on held-out rounds."""
import json
import math
import random

import pytest
import torch

from model_server.preference import PreferenceRound, PreferSettings, dpo_loss, train_preferences
from model_server.text import sentences


def test_dpo_loss_is_log2_at_the_reference_and_falls_as_the_policy_prefers_the_chosen():
    ref_c, ref_r = torch.tensor([-10.0, -20.0]), torch.tensor([-12.0, -15.0])
    assert dpo_loss(ref_c, ref_r, ref_c, ref_r, beta=0.1).item() == pytest.approx(math.log(2))
    better = dpo_loss(ref_c + 5, ref_r, ref_c, ref_r, beta=0.1).item()
    worse = dpo_loss(ref_c, ref_r + 5, ref_c, ref_r, beta=0.1).item()
    assert better < math.log(2) < worse


def dialogue_rounds(texts: list[str], count: int, seed: int = 1) -> list[PreferenceRound]:
    """Rounds of three one-sentence candidates after a stretch of a novel: the chosen one is a
    line of dialogue, the two passed over are narration."""
    lines = [s for t in texts for s in sentences(t)]
    talk = [s for s in lines if s.startswith('"') and 10 < len(s) < 80]
    plain = [s for s in lines if '"' not in s and 10 < len(s) < 80]
    rng = random.Random(seed)
    rounds = []
    for _ in range(count):
        start = rng.randrange(len(lines) - 6)
        rounds.append(PreferenceRound(" ".join(lines[start: start + 5]), None, 1, rng.choice(talk),
                                      [rng.choice(plain), rng.choice(plain)]))
    return rounds


def test_dpo_on_synthetic_preferences_raises_heldout_preference_accuracy(tiny_base, novel_texts, tmp_path):
    rounds = dialogue_rounds(novel_texts, 50)
    train, heldout = rounds[:30], rounds[30:]
    out = train_preferences(str(tiny_base), train, tmp_path / "v1", settings=PreferSettings(steps=120),
                            heldout_rounds=heldout)
    metrics = json.loads((out / "version.json").read_text(encoding="utf-8"))["metrics"]
    assert metrics["kind"] == "preference" and metrics["pairs"] == 60 and metrics["heldout_rounds"] == 20
    assert metrics["preference_accuracy"] >= 0.75
    assert metrics["preference_accuracy"] > metrics["preference_accuracy_before"]
    assert (out / "adapter_model.safetensors").is_file() and (out / "lexicon.json").is_file()


def test_a_preference_run_needs_pairs(tiny_base, tmp_path):
    with pytest.raises(ValueError, match="no preference pairs"):
        train_preferences(str(tiny_base), [PreferenceRound("옛날에.", None, 1, "좋다.", [])], tmp_path / "v1",
                          settings=PreferSettings(steps=1))
    assert not (tmp_path / "v1").exists()
