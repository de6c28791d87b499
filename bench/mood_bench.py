"""Mood tagger benchmark: model_server.mood against a reader's labels. Prints figures, asserts nothing.

    python bench/mood_bench.py [--labels bench/mood_labels.tsv] [--show]

Each line of the labels file names a corpus novel, the index of a sentence (``ktext.sentences``)
and the mood a reader gave the three sentences from there ("-": none). The passages are read
from the corpus (the repository holds no corpus text). Prints the accuracy over all passages and
over those with a mood, against always answering "none" and against the commonest mood, and
each mood's precision and recall.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.corpus_split import corpus_dir  # noqa: E402
from model_server import text as ktext  # noqa: E402
from model_server.data import read_texts  # noqa: E402
from model_server.mood import MOODS, mood_of  # noqa: E402

NONE = "-"


def labelled_passages(path: Path) -> list[tuple[str, str]]:
    """(passage, mood or NONE) for each line of the labels file."""
    novels = corpus_dir() / "novels"
    split, out = {}, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, at, mood = line.split("\t")
        if name not in split:
            split[name] = ktext.sentences(read_texts([novels / name])[0].text)
        out.append((" ".join(split[name][int(at): int(at) + 3]), mood))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", action="append", help="labels file(s) (default: bench/mood_labels*.tsv)")
    parser.add_argument("--show", action="store_true", help="print each passage the tagger got wrong")
    args = parser.parse_args()
    paths = [Path(p) for p in args.labels] if args.labels else sorted((REPO / "bench").glob("mood_labels*.tsv"))
    for path in paths:
        items = labelled_passages(path)
        guesses = [mood_of(passage) or NONE for passage, _ in items]
        truth = [mood for _, mood in items]
        moody = [i for i, mood in enumerate(truth) if mood != NONE]
        commonest = Counter(truth[i] for i in moody).most_common(1)[0][0]
        print(f"{path.name}: {len(items)} passages, {len(moody)} with a mood "
              f"({', '.join(f'{m} {truth.count(m)}' for m in MOODS if m in truth)}; none {truth.count(NONE)})")
        right = sum(g == t for g, t in zip(guesses, truth))
        print(f"  accuracy, all: {right}/{len(items)} ({100 * right / len(items):.0f}%); "
              f"always none: {100 * truth.count(NONE) / len(items):.0f}%")
        right_moody = sum(guesses[i] == truth[i] for i in moody)
        print(f"  accuracy, passages with a mood: {right_moody}/{len(moody)} ({100 * right_moody / len(moody):.0f}%); "
              f"always the commonest ({commonest}): {100 * truth.count(commonest) / len(moody):.0f}%; "
              f"chance among {len(MOODS)}: {100 / len(MOODS):.0f}%")
        for mood in MOODS + (NONE,):
            said = sum(g == mood for g in guesses)
            hit = sum(g == t == mood for g, t in zip(guesses, truth))
            real = truth.count(mood)
            print(f"  {mood if mood != NONE else 'none'}: precision {hit}/{said}, recall {hit}/{real}")
        if args.show:
            for (passage, mood), guess in zip(items, guesses):
                if guess != mood:
                    print(f"    reader {mood}, tagger {guess}: {passage[:120]}")


if __name__ == "__main__":
    main()
