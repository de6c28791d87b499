"""Budgets: steps, or time with a cap on the passes over a small corpus."""
import json

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
