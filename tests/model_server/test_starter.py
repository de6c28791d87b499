"""The starter's training loop: how it reads the text and which weights it keeps."""
import json
from collections import Counter

import pytest
import torch

from model_server.starter import StarterConfig, WeightAverage, pass_batches, pretrain


def test_each_pass_reads_every_window_once_from_its_own_offset():
    generator = torch.Generator().manual_seed(0)
    n_tokens, n_ctx = 1000, 100
    batches = pass_batches(n_tokens, n_ctx, 2, generator)
    passes = []
    for _ in range(3):
        # 8 or 9 windows fit after an offset below 100; in batches of 2, a pass is 4 batches
        starts = [s for _ in range(4) for s in next(batches)]
        assert len({s % n_ctx for s in starts}) == 1, "a pass reads windows on one grid, none overlapping"
        assert len(set(starts)) == 8 and all(s + n_ctx + 1 <= n_tokens for s in starts)
        passes.append(starts)
    assert passes[0] != passes[1] != passes[2]  # a new order, or offset, every pass


def test_windows_of_a_pass_cover_the_text_evenly():
    generator = torch.Generator().manual_seed(1)
    batches = pass_batches(10_000, 50, 4, generator)
    starts = [s for _ in range(49) for s in next(batches)]  # one pass: 196 of its 198 or 199 windows
    counts = Counter(t for s in starts for t in range(s, s + 50))
    covered = [counts[t] for t in range(100, 9_800)]
    assert max(covered) == 1 and covered.count(1) > 0.95 * len(covered)


def test_a_stream_shorter_than_a_batch_of_windows_still_gives_whole_batches():
    batches = pass_batches(300, 100, 8, torch.Generator().manual_seed(0))
    for _ in range(3):
        starts = next(batches)
        assert len(starts) == 8 and all(0 <= s and s + 100 + 1 <= 300 for s in starts)
    with pytest.raises(ValueError, match="no window"):
        next(pass_batches(101, 100, 8, torch.Generator()))


def test_weight_average_is_the_mean_at_first_then_an_exponential_average():
    layer = torch.nn.Linear(2, 1, bias=False)
    average = WeightAverage(layer, decay=0.5)  # the mean for 2 updates, then halves each time
    values = [1.0, 3.0, 7.0]
    for value in values:
        layer.weight.data.fill_(value)
        average.update()
    # update 1: 1; update 2: mean(1, 3) = 2; update 3: 0.5 * 2 + 0.5 * 7 = 4.5
    assert average.shadow[0].tolist() == [[4.5, 4.5]]
    assert layer.weight.tolist() == [[7.0, 7.0]]
    average.copy_to_model()
    assert layer.weight.tolist() == [[4.5, 4.5]]


@pytest.mark.slow
def test_a_starter_trained_by_passes_with_averaged_weights_saves_the_average(novel_paths, tmp_path):
    from transformers import AutoModelForCausalLM

    config = StarterConfig.tiny()
    config.by_pass, config.ema_decay, config.weight_decay = True, 0.9, 0.3
    out = pretrain(novel_paths[:1], tmp_path / "base", steps=30, seed=0, config=config)
    metrics = json.loads((out / "starter.json").read_text())["metrics"]
    assert metrics["steps"] == 30 and metrics["val_loss"] < 7.0
    saved = AutoModelForCausalLM.from_pretrained(out)
    plain = StarterConfig.tiny()
    plain.by_pass, plain.weight_decay = True, 0.3
    other = pretrain(novel_paths[:1], tmp_path / "plain", steps=30, seed=0, config=plain)
    last = AutoModelForCausalLM.from_pretrained(other)
    # same seed, same batches: only the averaging differs, so the saved weights do too
    differs = [not torch.equal(a, b) for a, b in zip(saved.parameters(), last.parameters())]
    assert any(differs)


@pytest.mark.slow
def test_a_budget_in_passes_trains_the_same_steps_however_slow_the_machine(novel_paths, tmp_path, monkeypatch):
    """A busy host gave the admin's ten minutes 16 to 229 steps; a budget in passes does not care."""
    import time

    import model_server.starter as starter

    quick = pretrain(novel_paths[:1], tmp_path / "quick", passes=0.5, seed=0, config=StarterConfig.tiny())
    real_clip = torch.nn.utils.clip_grad_norm_

    def slow_clip(*args, **kwargs):  # every step a little slower, as under another process's load
        time.sleep(0.02)
        return real_clip(*args, **kwargs)

    monkeypatch.setattr(starter.torch.nn.utils, "clip_grad_norm_", slow_clip)
    slow = pretrain(novel_paths[:1], tmp_path / "slow", passes=0.5, seed=0, config=StarterConfig.tiny())
    steps = [json.loads((out / "starter.json").read_text())["metrics"]["steps"] for out in (quick, slow)]
    assert steps[0] == steps[1] > 10


@pytest.mark.slow
def test_held_out_passages_are_never_trained_on_and_measure_every_pass(novel_paths, tmp_path):
    from model_server.data import read_texts
    from model_server.starter import read_heldout

    out = pretrain(novel_paths, tmp_path / "base", passes=2, seed=0, config=StarterConfig.tiny())
    heldout = read_heldout(out)
    assert heldout and all(len(p) >= 1000 for p in heldout)
    texts = [t.text for t in read_texts(novel_paths)]
    assert all(any(p in t for t in texts) for p in heldout)  # cut from the novels themselves
    metrics = json.loads((out / "starter.json").read_text())["metrics"]
    assert metrics["heldout_passages"] == len(heldout) and metrics["heldout_bpc"] > 0
    assert len(metrics["curve"]) == 2  # one point after each pass
    assert metrics["curve"][1][0] > metrics["curve"][0][0]


@pytest.mark.slow
def test_a_base_goes_on_from_its_parent_with_its_tokenizer_and_held_out_passages(novel_paths, tmp_path):
    from model_server.starter import read_heldout

    parent = pretrain(novel_paths, tmp_path / "v1", passes=1, seed=0, config=StarterConfig.tiny())
    child = pretrain(novel_paths, tmp_path / "v2", passes=1, seed=1, parent=parent)
    assert read_heldout(child) == read_heldout(parent)
    assert (child / "tokenizer.json").read_text() == (parent / "tokenizer.json").read_text()
    first, second = (json.loads((p / "starter.json").read_text()) for p in (parent, child))
    assert second["parent"] == parent.name
    assert second["metrics"]["total_passes"] == pytest.approx(first["metrics"]["passes"] + second["metrics"]["passes"])
    assert second["metrics"]["heldout_bpc"] < first["metrics"]["heldout_bpc"]  # one more pass helps a tiny base
