"""Budgets: steps, or time with a cap on the passes over a small corpus."""
import json
import math

import pytest

from model_server.progress import ProgressMeter


def test_a_time_budget_with_a_step_cap_ends_at_whichever_comes_first():
    capped = ProgressMeter(total_steps=None, total_seconds=3600, step_cap=10)
    assert capped.fraction(5) == pytest.approx(0.5, abs=0.01) and not capped.finished(9)
    assert capped.finished(10)
    uncapped = ProgressMeter(total_steps=None, total_seconds=3600)
    assert not uncapped.finished(10_000)
    # an explicit step budget is what the caller asked for: the cap does not shorten it
    by_steps = ProgressMeter(total_steps=50, total_seconds=None, step_cap=10)
    assert not by_steps.finished(10) and by_steps.finished(50)


def test_pretraining_for_minutes_on_a_small_corpus_stops_after_its_passes(novel_paths, tmp_path):
    from model_server.starter import StarterConfig, pretrain

    config = StarterConfig.tiny()
    config.max_epochs = 1.0
    out = pretrain(novel_paths[:1], tmp_path / "base", minutes=30, config=config)
    metrics = json.loads((out / "starter.json").read_text())["metrics"]
    assert metrics["seconds"] < 600  # not the 30 minutes asked for
    assert 1.0 <= metrics["epochs"] < 1.1  # one pass, to the last whole batch


def test_lora_training_for_minutes_stops_after_its_passes_over_a_short_text(tiny_base, tmp_path):
    from model_server.data import SourceText
    from model_server.training import TrainSettings, train

    text = "그는 창가에 앉아 비 내리는 골목을 바라보았다. \"언제 오려나.\" 하고 그는 중얼거렸다.\n\n" * 20
    settings = TrainSettings(minutes=30, max_epochs=2.0, control_share=0.0)
    out = train(str(tiny_base), [SourceText("short", text)], tmp_path / "v1", settings=settings)
    metrics = json.loads((out / "version.json").read_text())["metrics"]
    # two passes over its examples, 8 to a batch, then done: not 30 minutes
    assert metrics["steps"] == math.ceil(2.0 * metrics["examples"] / 8) and metrics["train_seconds"] < 600
