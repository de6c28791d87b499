"""Option read: whether the sense the readers miss is in what the judge chooses from. Asserts nothing.

    python bench/option_read.py make --base DIR --judges DIR [--prompts 16] [--seed 6] [--offered 8] --out SHEET.md
    python bench/option_read.py unblind --sheet SHEET.md --scores A.tsv [--scores B.tsv ...]

The blind-read kit (``bench/blind_read.py``) scores whole candidates. This one opens the choice
behind a candidate's first sentence: for held-out prompts (``bench/writing_bench.py``'s), every
sentence generation offers the judge at that place (``--offered`` of the bank's, with or without
the keyword, and the model's own), the first sentence the default settings keep, and the real
next sentence, shuffled per context on one sheet. A reader scores each as the next sentence of
its story, grammar and sense 1-5. ``unblind`` prints, for sense: the real sentence, the default
pick, the judge's best option, the best and mean option (the best is what a perfect chooser
would get), the options' sense by source (the bank's or the model's), and for each of the judge's
features its rank correlation with the readers within a context and the sense of the option it
alone would choose. Several readers' scores are averaged per item, their agreement printed.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CONTEXT_SHOWN = 1200  # characters of the story shown above its options
DIRECTIONS = "각 문장: 이 이야기의 바로 다음 문장으로서 문법 1-5, 뜻 1-5 (다른 후보와 견주지 말고 하나씩)."


def make(base: str, judges: str, heldout: str | None, prompts: int, seed: int, offered: int, out: Path) -> None:
    import torch

    from bench.corpus_split import load_split
    from bench.writing_bench import make_prompts
    from model_server import generation
    from model_server import text as ktext
    from model_server.host import ModelHost
    from model_server.judges.judge import FEATURES, Judge

    first_place: dict = {}

    class ListeningJudge(Judge):
        """The judge, keeping what it is first asked in a call: a candidate's first place."""

        def score(self, context: str, passages: list[str], lm: list[float]) -> list[float]:
            features = self.features(context, passages, lm)
            scores = self.combine(features).tolist()
            first_place.setdefault("options", {t: (f, s) for t, f, s in zip(passages, features.tolist(), scores)})
            return scores

    offering = generation.guides_for

    def listening_offer(*args, **kwargs):  # which options are the bank's
        found = offering(*args, **kwargs)
        first_place.setdefault("bank", set()).update(guide.text for guide in found)
        return found

    torch.set_num_threads(1)
    host, judge = ModelHost(base), Judge.load(judges)
    listening = ListeningJudge(**{field.name: getattr(judge, field.name) for field in dataclasses.fields(judge)})
    _, held = load_split(None, heldout)
    rng = random.Random(seed)
    lines, key = ["# 다음 문장 읽기", "", DIRECTIONS], []
    for prompt in make_prompts(held, prompts, 3, seed):
        kept = host.generate(None, prompt.context, prompt.keyword, prompt.sentences, 3, seed=1000 + prompt.id,
                             judge=judge)
        first_place.clear()
        generation.guides_for = listening_offer
        try:
            host.generate(None, prompt.context, prompt.keyword, prompt.sentences, 1, seed=1000 + prompt.id,
                          judge=listening, settings=generation.GenerationSettings(guides=offered, guides_first=False))
        finally:
            generation.guides_for = offering
        options = first_place.get("options", {})
        real, default = ktext.sentences(prompt.real[0])[0], ktext.sentences(kept[0].text)[0]
        items = list(dict.fromkeys([*options, default, real]))
        rng.shuffle(items)
        lines += ["", f"## 이야기 {prompt.id}", f"키워드 {prompt.keyword} · {prompt.sentences}문장", "",
                  "> …" + prompt.context[-CONTEXT_SHOWN:].strip().replace("\n", "\n> "), ""]
        lines += [f"- {prompt.id}.{j}: {' '.join(text.split())}" for j, text in enumerate(items)]
        key.append({"prompt": prompt.id, "items": [
            {"label": f"{prompt.id}.{j}", "real": text == real, "default": text == default,
             "offered": text in options, "bank": text in first_place.get("bank", ()),
             "features": dict(zip(FEATURES, options[text][0])) if text in options else None,
             "score": options[text][1] if text in options else None}
            for j, text in enumerate(items)]})
        print(f"prompt {prompt.id}: {len(options)} options", flush=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path(f"{out}.key.json").write_text(json.dumps(key, ensure_ascii=False, indent=1), encoding="utf-8")
    labels = [item["label"] for context in key for item in context["items"]]
    Path(f"{out}.scores.tsv").write_text("item\tgrammar\tsense\n" + "".join(f"{label}\t\t\n" for label in labels),
                                         encoding="utf-8")
    print(f"{len(labels)} sentences of {len(key)} stories written to {out}")


def read_scores(paths: list[Path]) -> list[dict[str, float]]:
    """Each reader's sense by item label."""
    readers = []
    for path in paths:
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        readers.append({row[0].strip(): float(row[2]) for row in rows if len(row) > 2 and row[2].strip().isdigit()})
    return readers


def ranks(values: list[float]) -> list[float]:
    """Average ranks, ties sharing theirs."""
    order = sorted(range(len(values)), key=values.__getitem__)
    found = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start: end + 1]:
            found[i] = (start + end) / 2
        start = end + 1
    return found


def rank_correlation(a: list[float], b: list[float]) -> float | None:
    """Spearman's rho; None where either side has no spread."""
    if len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return statistics.correlation(ranks(a), ranks(b))


def unblind(sheet: Path, scores: list[Path]) -> None:
    key = json.loads(Path(f"{sheet}.key.json").read_text(encoding="utf-8"))
    readers = read_scores(scores)
    sense = {label: statistics.mean(r[label] for r in readers if label in r) for label in set().union(*readers)}
    if not sense:
        raise SystemExit(f"no sense scores in {', '.join(map(str, scores))}: fill in the sheet's scores first")
    if len(readers) > 1:
        first, second = zip(*[(readers[0][label], readers[1][label]) for label in set(readers[0]) & set(readers[1])])
        print(f"readers agree on sense (Pearson, readers 1 and 2): {statistics.correlation(first, second):.2f}")
    found: dict[str, list[float]] = {name: [] for name in
                                     ("real", "default", "judge's best", "best option", "mean option")}
    by_source: dict[str, list[float]] = {"bank": [], "model": []}
    features = next(item["features"] for context in key for item in context["items"] if item["features"])
    correlations: dict[str, list[float]] = {name: [] for name in features}
    picks: dict[str, list[float]] = {f"{sign}{name}": [] for name in features for sign in "+-"}
    for context in key:
        items = [item for item in context["items"] if item["label"] in sense]
        options = [item for item in items if item["offered"]]
        if not options:
            continue
        read = [sense[item["label"]] for item in options]
        found["real"] += [sense[item["label"]] for item in items if item["real"]]
        found["default"] += [sense[item["label"]] for item in items if item["default"]]
        found["judge's best"].append(sense[max(options, key=lambda item: item["score"])["label"]])
        found["best option"].append(max(read))
        found["mean option"].append(statistics.mean(read))
        for item in options:
            by_source["bank" if item["bank"] else "model"].append(sense[item["label"]])
        for name in features:
            values = [item["features"][name] for item in options]
            rho = rank_correlation(values, read)
            if rho is not None:
                correlations[name].append(rho)
            picks[f"+{name}"].append(read[values.index(max(values))])
            picks[f"-{name}"].append(read[values.index(min(values))])
    print(f"{len(found['best option'])} stories; sense (1-5) of their first sentence:\n")
    print("| | sense |\n|---|---|")
    for name, values in found.items():
        if values:
            print(f"| {name} | {statistics.mean(values):.2f} |")
    print("\n| options | count | sense | rated 3 or more |\n|---|---|---|---|")
    for source, values in by_source.items():
        if values:
            print(f"| {source}'s | {len(values)} | {statistics.mean(values):.2f} | "
                  f"{100 * sum(v >= 3 for v in values) / len(values):.0f} % |")
    print("\n| feature | rank correlation with sense, within a story | sense of its pick (highest) | (lowest) |")
    print("|---|---|---|---|")
    for name in features:
        rho = f"{statistics.mean(correlations[name]):+.2f}" if correlations[name] else "-"
        highest, lowest = statistics.mean(picks["+" + name]), statistics.mean(picks["-" + name])
        print(f"| {name} | {rho} | {highest:.2f} | {lowest:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    made = commands.add_parser("make")
    made.add_argument("--base", required=True)
    made.add_argument("--judges", required=True)
    made.add_argument("--heldout", help="held-out .txt file or folder (default: bench/corpus_split.py's)")
    made.add_argument("--prompts", type=int, default=16)
    made.add_argument("--seed", type=int, default=6)
    made.add_argument("--offered", type=int, default=8,
                      help="the bank's sentences offered, with and without the keyword")
    made.add_argument("--out", type=Path, required=True)
    read = commands.add_parser("unblind")
    read.add_argument("--sheet", type=Path, required=True)
    read.add_argument("--scores", type=Path, action="append", required=True)
    args = parser.parse_args()
    if args.command == "make":
        make(args.base, args.judges, args.heldout, args.prompts, args.seed, args.offered, args.out)
    else:
        unblind(args.sheet, args.scores)


if __name__ == "__main__":
    main()
