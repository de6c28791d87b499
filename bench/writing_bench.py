"""Writing benchmark: how readable the AI's candidates are. Prints figures, asserts nothing.

    python bench/writing_bench.py --base DIR [--heldout PATH] [--prompts 30] [--k 3]
    python bench/writing_bench.py --pretrain-minutes 10 [--data DIR] [--heldout PATH]

Prompts are cut from held-out novels (never trained on): the story up to a sentence, a noun of
the prompt's last sentences as the keyword, 1-5 sentences asked in turn, K candidates each, as
the site asks for them. The same figures are printed for the held-out novels' real sentences,
the ceiling:

- non-word share: eojeol (Hangul words between spaces, punctuation stripped) that hunspell with
  Debian's Korean dictionary (hunspell-ko) does not accept. An independent judge: generation
  ranks its rows with Kiwi, never with hunspell. Real novels score above zero too (names,
  dialect, older spellings); the target is relative to them.
- sentence starts: share of sentences whose first morpheme may open a sentence (not an ending,
  particle, suffix or auxiliary verb), by Kiwi.
- distinct-2: distinct eojeol bigrams / all eojeol bigrams across one prompt's K candidates.
- fused keywords: candidates where the word holding the keyword is a non-word to hunspell while
  the keyword alone is not (편지개를히더니).
- keyword and count kept, latency (K=3 x 3 sentences separately), and whether asking the same
  twice, as two rounds would, returns the same candidates.

Needs `hunspell` and `hunspell-ko` (Debian: apt-get install hunspell hunspell-ko).
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from model_server import text as ktext  # noqa: E402
from model_server.fluency import fluency, starts_like_a_sentence  # noqa: E402

HUNSPELL_DICT = "ko_KR"
CONTEXT_CHARS = 3000  # what the worker hands the model (CONTEXT_CHARS)


@dataclass
class Prompt:
    context: str
    keyword: str
    sentences: int
    real: list[str]  # K real passages of the same length that follow the prompt


@dataclass
class Tally:
    words: list[str] = field(default_factory=list)
    sentences: int = 0
    good_starts: int = 0
    distinct2: list[float] = field(default_factory=list)
    with_keyword: int = 0
    fused: list[str] = field(default_factory=list)
    candidates: int = 0
    kept: int = 0
    kiwi_scores: list[float] = field(default_factory=list)
    kiwi_unknown: list[float] = field(default_factory=list)
    nonword_share: float = 0.0


def hangul_words(text: str) -> list[str]:
    words = ("".join(c for c in w if c.isalnum()) for w in text.split())
    return [w for w in words if any("가" <= c <= "힣" for c in w)]


def nonwords(words: set[str]) -> set[str]:
    """The words hunspell-ko does not accept."""
    if not words:
        return set()
    out = subprocess.run(["hunspell", "-d", HUNSPELL_DICT, "-l"], input="\n".join(sorted(words)),
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def make_prompts(heldout: list[str], n: int, k: int, seed: int) -> list[Prompt]:
    rng = random.Random(seed)
    split = [ktext.sentences(text) for text in heldout]
    prompts = []
    while len(prompts) < n:
        sentences = 1 + len(prompts) % 5
        novel = rng.randrange(len(split))
        pieces = split[novel]
        if len(pieces) < 12 + k * sentences:
            continue
        at = rng.randrange(8, len(pieces) - k * sentences)
        text = heldout[novel]
        context = text[: text.find(pieces[at], text.find(pieces[at - 1]))].rstrip()[-CONTEXT_CHARS:]
        nouns = ktext.nouns(" ".join(pieces[at - 3: at]), min_chars=2)
        if not nouns:
            continue
        real = [" ".join(pieces[at + i * sentences: at + (i + 1) * sentences]) for i in range(k)]
        prompts.append(Prompt(context, rng.choice(nouns), sentences, real))
    return prompts


def distinct2(passages: list[str]) -> float:
    bigrams = [tuple(words[i: i + 2]) for p in passages for words in [p.split()] for i in range(len(words) - 1)]
    return len(set(bigrams)) / len(bigrams) if bigrams else 1.0


def tally(groups: list[tuple[Prompt, list[str]]]) -> Tally:
    t = Tally()
    for prompt, passages in groups:
        t.distinct2.append(distinct2(passages))
        for passage in passages:
            t.candidates += 1
            pieces = ktext.sentences(passage)
            t.sentences += len(pieces)
            t.good_starts += sum(starts_like_a_sentence(p) for p in pieces)
            t.kept += len(pieces) == prompt.sentences and ktext.contains_keyword(passage, prompt.keyword)
            t.words.extend(hangul_words(passage))
            judged = fluency(passage)
            t.kiwi_scores.append(judged.score_per_char)
            t.kiwi_unknown.append(judged.unknown_share)
    bad = nonwords(set(t.words) | {p.keyword for p, _ in groups})
    for prompt, passages in groups:
        for passage in passages:
            holders = [w for w in passage.split() if prompt.keyword in w]
            t.with_keyword += bool(holders)
            if prompt.keyword not in bad:
                t.fused.extend(w for w in holders if "".join(c for c in w if c.isalnum()) in bad)
    t.nonword_share = sum(w in bad for w in t.words) / max(1, len(t.words))
    return t


def report(name: str, t: Tally) -> None:
    print(f"{name}: {t.candidates} passages, {len(t.words)} words")
    print(f"  non-word share (hunspell-ko): {100 * t.nonword_share:.1f}%")
    print(f"  sentences starting like a sentence: {t.good_starts}/{t.sentences} "
          f"({100 * t.good_starts / max(1, t.sentences):.1f}%)")
    print(f"  distinct-2 across K: mean {statistics.mean(t.distinct2):.3f}")
    print(f"  fused keywords: {len(t.fused)}{' ' + str(t.fused[:8]) if t.fused else ''} "
          f"(passages holding the keyword: {t.with_keyword})")
    print(f"  keyword and count kept: {t.kept}/{t.candidates}")
    print(f"  Kiwi (the ranker's view): score/char mean {statistics.mean(t.kiwi_scores):.2f}, "
          f"unknown-word share mean {100 * statistics.mean(t.kiwi_unknown):.1f}%")


def pretrain_base(data: str | None, heldout: str | None, minutes: float, out: Path) -> Path:
    from bench.corpus_split import load_split
    from model_server.data import TrainingText
    from model_server.starter import pretrain

    train_texts, _ = load_split(data, heldout)
    print(f"pretraining a starter for {minutes:g} min on {len(train_texts)} novels ...", flush=True)
    return pretrain([TrainingText(f"train:{i}", t) for i, t in enumerate(train_texts)], out,
                    minutes=minutes, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a base folder (default: pretrain a starter first)")
    parser.add_argument("--adapter", help="a story adapter on the base")
    parser.add_argument("--pretrain-minutes", type=float, default=10.0)
    parser.add_argument("--data", help="training folder for the pretrain (default: corpus minus held-out)")
    parser.add_argument("--heldout", help="held-out .txt file or folder (default: bench/corpus_split.py's)")
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="which prompts are cut")
    parser.add_argument("--samples", type=int, default=10, help="candidates printed in full")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a GenerationSettings field to change, e.g. --set temperature=0.7")
    args = parser.parse_args()
    if shutil.which("hunspell") is None or not Path(f"/usr/share/hunspell/{HUNSPELL_DICT}.dic").exists():
        raise SystemExit("needs hunspell and its Korean dictionary: apt-get install hunspell hunspell-ko")
    sys.stdout.reconfigure(line_buffering=True)

    from bench.corpus_split import load_split
    from model_server.errors import GenerationError
    from model_server.generation import GenerationSettings
    from model_server.host import ModelHost

    settings = GenerationSettings()
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        setattr(settings, name, type(getattr(settings, name))(value))

    _, heldout = load_split(args.data, args.heldout)
    base = args.base or pretrain_base(args.data, args.heldout, args.pretrain_minutes,
                                      Path(tempfile.mkdtemp(prefix="writing-bench-")) / "starter")
    host = ModelHost(str(base))
    prompts = make_prompts(heldout, args.prompts, args.k, args.seed)
    print(f"settings: {settings}")
    print(f"base {base}; {len(prompts)} prompts from {len(heldout)} held-out texts, K={args.k}")

    host.generate(args.adapter, prompts[0].context, prompts[0].keyword, 1, 1, seed=0)  # warm-up
    groups, failures, latencies = [], [], {}
    for i, prompt in enumerate(prompts):
        started = time.perf_counter()
        try:
            candidates = host.generate(args.adapter, prompt.context, prompt.keyword, prompt.sentences, args.k,
                                       seed=1000 + i, settings=settings)
        except GenerationError as error:
            failures.append(f"{prompt.keyword}/{prompt.sentences}: {error}")
            continue
        latencies.setdefault(prompt.sentences, []).append(time.perf_counter() - started)
        groups.append((prompt, candidates))

    three = [p for p in prompts if p.sentences == 3][:10]
    timed, same = [], 0
    for i, prompt in enumerate(three):  # K x 3 sentences, each asked twice as two rounds would
        started = time.perf_counter()
        first = host.generate(args.adapter, prompt.context, prompt.keyword, 3, args.k, seed=2000 + i, settings=settings)
        timed.append(time.perf_counter() - started)
        second = host.generate(args.adapter, prompt.context, prompt.keyword, 3, args.k, seed=3000 + i, settings=settings)
        same += len(set(first) & set(second))

    report("AI candidates", tally(groups))
    report("held-out novels (ceiling)", tally([(p, p.real) for p in prompts]))
    print(f"generation failures: {len(failures)}/{len(prompts)}" + "".join(f"\n  {f}" for f in failures))
    for n in sorted(latencies):
        print(f"latency K={args.k} x {n} sentences: p50 {statistics.median(latencies[n]):.2f} s "
              f"(max {max(latencies[n]):.2f} s, {len(latencies[n])} requests)")
    print(f"latency K={args.k} x 3 sentences, {len(timed)} more requests: p50 {statistics.median(timed):.2f} s "
          f"(max {max(timed):.2f} s)")
    print(f"same request asked twice ({len(three)} pairs): {same} candidates came back identical")
    print(f"\n{args.samples} sample candidates:")
    for prompt, candidates in groups[: args.samples]:
        tail = prompt.context[-80:].replace("\n", " ")
        print(f"\n[…{tail}]  키워드 {prompt.keyword} · {prompt.sentences}문장\n→ {candidates[0]}")


if __name__ == "__main__":
    main()
