"""Blind-read kit: AI candidates shuffled among real next passages, scored by a reader, unblinded.

    python bench/blind_read.py make --dump CANDIDATES.jsonl [--dump OTHER.jsonl ...] --out SHEET.md
                                    [--ai 45] [--real 30] [--seed 0]
    python bench/blind_read.py unblind --sheet SHEET.md --scores SCORES.tsv

``make`` reads the candidates the writing bench dumped (``--dump``: one line per prompt with its
context, the AI's candidates and the real passages that followed) and writes a sheet: for each
item, the end of its context and a passage, AI or real, in shuffled order, numbered. Several
dumps (the same prompts written two ways) are read on one sheet, ``--ai`` items from each, and
the table has a row per dump. The key
goes to SHEET.md.key.json and an empty score table to SHEET.md.scores.tsv; do not open the key
before scoring. The reader fills in, for each item, grammar (1-5), sense as a continuation of
its context (1-5) and whether they take it for a human's (y/n). ``unblind`` joins scores and key
and prints the table for AI and real passages, then their sense by the number of sentences asked
for. Asserts nothing.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
from pathlib import Path

CONTEXT_SHOWN = 400  # characters of the context printed above each passage


def make(dumps: list[Path], out: Path, ai: int, real: int, seed: int) -> None:
    rng = random.Random(seed)
    chosen = []
    for dump in dumps:
        source = "ai" if len(dumps) == 1 else f"ai:{dump.stem}"
        prompts = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines() if line.strip()]
        ai_items = [(p, c, source) for p in prompts for c in p["candidates"][:1]]   # each prompt's best
        ai_items += [(p, c, source) for p in prompts for c in p["candidates"][1:]]  # then the others
        chosen += ai_items[:ai]
    real_items = [(p, p["real"][0], "real") for p in prompts]
    chosen += rng.sample(real_items, min(real, len(real_items)))
    rng.shuffle(chosen)
    lines, key = ["# 블라인드 읽기", "", "각 항목: 문법 1-5, 이어지는 글로서의 뜻 1-5, 사람이 쓴 글로 보이는가 (y/n).", ""], {}
    for number, (prompt, passage, source) in enumerate(chosen, 1):
        context = prompt["context"][-CONTEXT_SHOWN:].replace("\n", " ")
        lines += [f"## {number}", f"키워드 {prompt['keyword']} · {prompt['sentences']}문장", "",
                  f"> …{context}", "", passage, ""]
        key[number] = {"source": source, "prompt": prompt["id"], "sentences": prompt["sentences"]}
    out.write_text("\n".join(lines), encoding="utf-8")
    Path(f"{out}.key.json").write_text(json.dumps(key, ensure_ascii=False, indent=1), encoding="utf-8")
    Path(f"{out}.scores.tsv").write_text("item\tgrammar\tsense\thuman\n" + "".join(f"{n}\t\t\t\n" for n in key),
                                         encoding="utf-8")
    print(f"{len(chosen)} items ({sum(s != 'real' for _, _, s in chosen)} AI) written to {out}")


def unblind(sheet: Path, scores: Path) -> None:
    key = {int(k): v for k, v in json.loads(Path(f"{sheet}.key.json").read_text(encoding="utf-8")).items()}
    rows = [line.split("\t") for line in scores.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    table: dict[str, list[tuple[int, int, bool]]] = {source: [] for source in sorted({v["source"] for v in key.values()})}
    by_length: dict[str, dict[int, list[int]]] = {source: {} for source in table}  # sense by sentences asked
    for item, grammar, sense, human in rows:
        if grammar.strip():
            asked = key[int(item)]
            table[asked["source"]].append((int(grammar), int(sense), human.strip().lower() == "y"))
            if "sentences" in asked:  # a key written before it kept them has none
                by_length[asked["source"]].setdefault(asked["sentences"], []).append(int(sense))
    print("| | passages | grammar (1-5) | sense (1-5) | taken for human |")
    print("|---|---|---|---|---|")
    for source, scored in table.items():
        if scored:
            print(f"| {row_name(source)} | {len(scored)} | "
                  f"{statistics.mean(g for g, _, _ in scored):.2f} | {statistics.mean(s for _, s, _ in scored):.2f} | "
                  f"{100 * sum(h for _, _, h in scored) / len(scored):.0f} % |")
    lengths = sorted({n for found in by_length.values() for n in found})
    if lengths:
        print("\nsense (1-5) by the sentences asked for (passages):\n")
        print("| | " + " | ".join(f"{n}" for n in lengths) + " |")
        print("|---|" + "---|" * len(lengths))
        for source, found in by_length.items():
            cells = [f"{statistics.mean(found[n]):.2f} ({len(found[n])})" if n in found else "" for n in lengths]
            print(f"| {row_name(source)} | " + " | ".join(cells) + " |")


def row_name(source: str) -> str:
    """A key's source as its row in the tables: AI (and the dump it came from) or real."""
    return "AI" + source[2:] if source.startswith("ai") else "real"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("make")
    made.add_argument("--dump", type=Path, action="append", required=True)
    made.add_argument("--out", type=Path, required=True)
    made.add_argument("--ai", type=int, default=45)
    made.add_argument("--real", type=int, default=30)
    made.add_argument("--seed", type=int, default=0)
    read = commands.add_parser("unblind")
    read.add_argument("--sheet", type=Path, required=True)
    read.add_argument("--scores", type=Path, required=True)
    args = parser.parse_args()
    if args.command == "make":
        make(args.dump, args.out, args.ai, args.real, args.seed)
    else:
        unblind(args.sheet, args.scores)


if __name__ == "__main__":
    main()
