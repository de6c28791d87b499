import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from model_server.data import SourceText
from model_server.progress import Cancelled
from model_server.training import TrainSettings, read_replay, train

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def quick(**overrides) -> TrainSettings:
    values = dict(steps=8, batch_size=4, max_tokens=96, seed=3)
    values.update(overrides)
    return TrainSettings(**values)


@pytest.fixture(scope="module")
def first_version(tiny_base, novel_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("versions") / "v1"
    return train(str(tiny_base), [novel_paths[0]], out, settings=quick())


def adapter_weights(version: Path) -> dict:
    return load_file(str(version / "adapter_model.safetensors"))


def test_fresh_adapter_version_holds_weights_metadata_and_replay(first_version, tiny_base, novel_paths):
    version = json.loads((first_version / "version.json").read_text(encoding="utf-8"))
    assert version["base"] == str(tiny_base) and version["parent"] is None
    assert version["data"][0]["name"] == str(novel_paths[0])
    assert len(version["data"][0]["sha256"]) == 64
    assert version["settings"]["steps"] == 8 and version["settings"]["lora_r"] == 16
    metrics = version["metrics"]
    assert metrics["steps"] == 8 and metrics["val_loss"] > 0 and metrics["train_seconds"] > 0
    assert adapter_weights(first_version)
    replay = read_replay(first_version)
    assert replay and all(piece.name == str(novel_paths[0]) for piece in replay)


def test_incremental_version_continues_the_parent_and_replays_its_data(first_version, tiny_base, novel_paths,
                                                                       tmp_path):
    second = train(str(tiny_base), [novel_paths[1]], tmp_path / "v2", from_adapter=first_version,
                   settings=quick(replay_share=0.5))
    version = json.loads((second / "version.json").read_text(encoding="utf-8"))
    assert version["parent"] == str(first_version)
    assert version["replay"]["parent_pieces"] > 0 and version["metrics"]["replay_examples"] > 0
    names = {piece.name for piece in read_replay(second)}
    assert names == {str(novel_paths[0]), str(novel_paths[1])}
    before, after = adapter_weights(first_version), adapter_weights(second)
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_training_is_deterministic_for_a_seed(tiny_base, novel_paths, tmp_path):
    a = train(str(tiny_base), [novel_paths[1]], tmp_path / "a", settings=quick(steps=4))
    b = train(str(tiny_base), [novel_paths[1]], tmp_path / "b", settings=quick(steps=4))
    c = train(str(tiny_base), [novel_paths[1]], tmp_path / "c", settings=quick(steps=4, seed=4))
    wa, wb, wc = adapter_weights(a), adapter_weights(b), adapter_weights(c)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_in_memory_texts_with_weights_and_neftune_train(tiny_base, novel_texts, tmp_path):
    passages = [SourceText("passage:1", novel_texts[1][:1500], weight=3.0),
                SourceText("passage:2", novel_texts[2][:1500])]
    out = train(str(tiny_base), passages, tmp_path / "v", settings=quick(neftune_alpha=5.0),
                validation=[SourceText("heldout", novel_texts[0][:800])])
    version = json.loads((out / "version.json").read_text(encoding="utf-8"))
    assert [d["weight"] for d in version["data"]] == [3.0, 1.0]
    assert version["settings"]["neftune_alpha"] == 5.0 and version["metrics"]["val_loss"] > 0


def test_progress_is_reported_and_cancel_leaves_no_version(tiny_base, novel_paths, tmp_path):
    seen = []
    train(str(tiny_base), [novel_paths[1]], tmp_path / "ok", settings=quick(steps=3), progress=seen.append)
    assert seen and seen[-1].step == 3 and seen[-1].total == 3 and seen[-1].tokens_per_s > 0
    calls = []

    def cancel_on_third_check():
        calls.append(1)
        return len(calls) >= 3

    with pytest.raises(Cancelled):
        train(str(tiny_base), [novel_paths[1]], tmp_path / "cancelled", settings=quick(steps=50),
              should_cancel=cancel_on_third_check)
    assert not (tmp_path / "cancelled").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_a_killed_training_run_leaves_no_version(tiny_base, novel_paths, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "model_server", "train", "--base", str(tiny_base), "--data", str(novel_paths[0]),
         "--out", str(out), "--steps", "100000"],
        cwd=REPO, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 240
        line = ""
        while time.monotonic() < deadline and not line.startswith("step "):
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "training exited before it reported progress"
        assert line.startswith("step "), "no progress line within the deadline"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name != "killed" and p.name.startswith(".tmp-")]


def test_an_existing_version_is_never_overwritten(first_version, tiny_base, novel_paths):
    with pytest.raises(FileExistsError):
        train(str(tiny_base), [novel_paths[1]], first_version, settings=quick(steps=1))


def test_learning_rate_schedules_warm_up_then_end_at_the_floor():
    from model_server.optimizing import cosine_lr

    warm = [cosine_lr(0.0, step, 1.0, warmup=4, min_ratio=0.1) for step in range(4)]
    assert warm == [0.25, 0.5, 0.75, 1.0]
    cosine = [cosine_lr(p, 10, 1.0, warmup=4, min_ratio=0.1) for p in (0.0, 0.5, 1.0)]
    assert cosine == pytest.approx([1.0, 0.55, 0.1])
