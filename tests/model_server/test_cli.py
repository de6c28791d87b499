import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "model_server", *map(str, args)], cwd=REPO, text=True,
                          capture_output=True, timeout=timeout, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_generate_prints_one_json_object_per_candidate(tiny_base, novel_texts):
    result = cli("generate", "--base", tiny_base, "--prime", novel_texts[0][:800], "--keyword", "바다",
                 "--sentences", 2, "--candidates", 3, "--seed", 1)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 3
    assert all(r["sentences"] == 2 and r["keyword_found"] is True and "바다" in r["text"] for r in rows)


def test_train_then_eval_prints_bpc_last(tiny_base, novel_paths, tmp_path):
    result = cli("train", "--base", tiny_base, "--data", novel_paths[1], "--out", tmp_path / "v1", "--steps", 2)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "v1" / "version.json").is_file()
    result = cli("eval", "--base", tiny_base, "--adapter", tmp_path / "v1", "--data", novel_paths[1])
    assert result.returncode == 0, result.stderr
    label, value = result.stdout.strip().splitlines()[-1].split()
    assert label == "bpc" and 0 < float(value) < 16


@pytest.mark.parametrize("args,problem", [
    (["generate", "--base", "{base}", "--prime", "x", "--keyword", "바다", "--sentences", "11"], "--sentences"),
    (["generate", "--base", "{base}", "--prime", "x", "--keyword", "바다", "--sentences", "0"], "--sentences"),
    (["train", "--base", "{base}", "--data", "/no/such/file.txt", "--out", "{tmp}/v"], "/no/such/file.txt"),
    (["train", "--base", "no/such-model", "--data", "{novel}", "--out", "{tmp}/v", "--steps", "1"], "no/such-model"),
    (["eval", "--base", "{tmp}", "--data", "{novel}"], "no model"),
    (["train", "--base", "{base}", "--data", "{png}", "--out", "{tmp}/v"], "binary"),
    (["train", "--base", "{base}", "--data", "{empty}", "--out", "{tmp}/v"], "empty"),
    (["pretrain", "--data", "{emptydir}", "--out", "{tmp}/b"], "no .txt files"),
    (["generate", "--base", "{base}", "--prime", "x", "--keyword", "바다"], "--sentences"),
])
def test_bad_input_exits_nonzero_with_one_line_naming_the_problem(args, problem, tiny_base, novel_paths, tmp_path):
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "emptydir").mkdir()
    values = {"base": tiny_base, "novel": novel_paths[1], "tmp": tmp_path, "png": tmp_path / "image.txt",
              "empty": tmp_path / "empty.txt", "emptydir": tmp_path / "emptydir"}
    result = cli(*[a.format(**values) for a in args])
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and problem in lines[0], result.stderr
    assert not (tmp_path / "v").exists()


def test_pretrain_takes_a_budget_in_passes_by_default():
    from model_server.__main__ import budget_of, build_parser

    assert budget_of(build_parser().parse_args(["pretrain", "--data", "x", "--out", "y"])) == {"passes": 8.0}
    assert budget_of(build_parser().parse_args(["pretrain", "--data", "x", "--out", "y", "--passes", "2"])) == {"passes": 2.0}
    assert budget_of(build_parser().parse_args(["pretrain", "--data", "x", "--out", "y", "--minutes", "3"])) == {"minutes": 3.0}
