"""Writing benchmark: whether the AI's candidates read as a continuation. Prints figures, asserts nothing.

    python bench/writing_bench.py --base DIR [--judges DIR] [--heldout PATH] [--prompts 30] [--k 3]
    python bench/writing_bench.py --pretrain-passes 8 --train-judges [--busy] [--bible] [--mood] [--dump OUT.jsonl]

Prompts are cut from held-out novels (never trained on): the story up to a sentence, a noun of
the prompt's last sentences as the keyword, 1-5 sentences asked in turn, K candidates each, as
the site asks for them. Every figure is printed for the candidates and for the novels' own
next passages (the ceiling):

- sense: particle-syllable openings, distinct openers, four-word runs recurring across prompts,
  a keyword tacked on as a vocative or copula, names of the context reused, passages out of the
  story's voice (``model_server.voice``), a name of the story's bible used, a name the story
  never had and a person of the training novels it never had (``bench/sense.py``; ``--bible``
  gives the model that bible, made from each prompt's novel so far, as a story's notes); the
  share read in
  the prompt's mood (``model_server.mood``; ``--mood`` asks for it, the moods in turn);
- words: eojeol that hunspell-ko does not accept (an independent judge: generation never asks
  hunspell), sentences that start like one, distinct-2 across K, keyword and count kept;
- copying: the longest run of words found in the training novels, and the share of four- and
  eight-word runs found there; passages that say again four words in a row of their own story's
  last 2,000 characters; the sentences taken from the novels' bank and written by the model, and
  of two of the bank's in a row, whether the second followed the first in its novel, came later
  in its scene or from elsewhere (a seven-word bound on copying leaves little room for the first);
- the judges: how often the combined score ranks the true continuation first among 5, against
  the base's candidates and against real passages from elsewhere (chance: 0.2);
- latency per sentence count with the machine's load; ``--busy`` runs a CPU-bound process
  beside generation, as a busy host would.

``--dump`` writes each prompt's context, candidates and real passages for the blind-read kit
(``bench/blind_read.py``). Needs `hunspell` and `hunspell-ko` (Debian).
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
RECENT_CHARS = 2000  # the last pages of a story, whose runs of words a candidate should not say again

from bench import sense  # noqa: E402
from model_server import text as ktext  # noqa: E402
from model_server.copying import longest_copied, runs_of, share_found  # noqa: E402
from model_server.fluency import starts_like_a_sentence  # noqa: E402
from model_server.mood import MOODS, mood_of, mood_scores  # noqa: E402
from model_server.voice import speaks_in, voice_of  # noqa: E402

HUNSPELL_DICT = "ko_KR"
CONTEXT_CHARS = 3000  # what the worker hands the model (CONTEXT_CHARS)
LONGEST_RUN = 12  # copied runs are looked for up to this length ("12+" when one is that long)


@dataclass
class Prompt:
    id: int
    context: str
    keyword: str
    sentences: int
    real: list[str]      # real passages of the same length that follow the prompt
    later: str           # as many sentences from later in the same novel
    novel: int
    story: str           # the novel up to the prompt, from which its story bible is made
    mood: str            # the mood given to it with --mood (every prompt has one, so runs compare)


def make_prompts(heldout: list[str], n: int, k: int, seed: int) -> list[Prompt]:
    rng = random.Random(seed)
    split = [ktext.sentences(text) for text in heldout]
    prompts = []
    while len(prompts) < n:
        sentences = 1 + len(prompts) % 5
        novel = rng.randrange(len(split))
        pieces = split[novel]
        if len(pieces) < 40 + k * sentences:
            continue
        at = rng.randrange(8, len(pieces) - k * sentences - 25)
        text = heldout[novel]
        nouns = ktext.nouns(" ".join(pieces[at - 3: at]), min_chars=2)
        if not nouns:
            continue
        real = [" ".join(pieces[at + i * sentences: at + (i + 1) * sentences]) for i in range(k)]
        later = rng.randrange(at + k * sentences + 10, len(pieces) - sentences)
        story = text[: text.find(pieces[at], text.find(pieces[at - 1]))].rstrip()
        prompts.append(Prompt(len(prompts), story[-CONTEXT_CHARS:], rng.choice(nouns), sentences, real,
                              " ".join(pieces[later: later + sentences]), novel, story, MOODS[len(prompts) % len(MOODS)]))
    return prompts


def hangul_words(text: str) -> list[str]:
    words = ("".join(c for c in w if c.isalnum()) for w in text.split())
    return [w for w in words if any("가" <= c <= "힣" for c in w)]


def nonwords(words: set[str]) -> set[str]:
    if not words:
        return set()
    out = subprocess.run(["hunspell", "-d", HUNSPELL_DICT, "-l"], input="\n".join(sorted(words)),
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def distinct2(passages: list[str]) -> float:
    bigrams = [tuple(words[i: i + 2]) for p in passages for words in [p.split()] for i in range(len(words) - 1)]
    return len(set(bigrams)) / len(bigrams) if bigrams else 1.0


def report(name: str, groups: list[tuple[Prompt, list[str]]], corpus_runs: dict[int, set[int]],
           people: set[str]) -> None:
    from model_server.generation import SEEN_CHARS  # the story's pages the writer reads its voice from

    passages = [p for _, ps in groups for p in ps]
    pieces = [s for p in passages for s in ktext.sentences(p)]
    words = [w for p in passages for w in hangul_words(p)]
    bad = nonwords(set(words))
    openings, sentences = sense.particle_openings(passages)
    recurring = sense.recurring_runs([ps for _, ps in groups], n=4, prompts=3)
    tacked = sum(sense.tacked_on(p, prompt.keyword) for prompt, ps in groups for p in ps)
    named = sum(sense.names_reused(prompt.context, p) for prompt, ps in groups for p in ps)
    kept = sum(len(ktext.sentences(p)) == prompt.sentences and ktext.contains_keyword(p, prompt.keyword)
               for prompt, ps in groups for p in ps)
    longest = [longest_copied(p, corpus_runs) for p in passages]
    parroted = sum(share_found([p], runs_of([prompt.context[-RECENT_CHARS:]]), 4) > 0
                   for prompt, ps in groups for p in ps)
    print(f"{name}: {len(passages)} passages, {len(pieces)} sentences, {len(words)} words")
    count = sum(openings.values())
    print(f"  particle-syllable openings: {count}/{sentences} ({100 * count / max(1, sentences):.1f}%); most common: "
          + ", ".join(f"{word} {n}" for word, n in openings.most_common(8)))
    print(f"  distinct openers: {sense.distinct_openers(passages):.2f}")
    print(f"  four-word runs in >= 3 prompts: {len(recurring)}" + (f" {recurring[:5]}" if recurring else ""))
    print(f"  keyword tacked on as vocative/copula: {tacked}/{len(passages)} ({100 * tacked / max(1, len(passages)):.1f}%)")
    print(f"  names of the context reused: {named}/{len(passages)} ({100 * named / max(1, len(passages)):.1f}%)")
    voices = {prompt.id: voice_of(ktext.sentences(prompt.context[-SEEN_CHARS:]), [prompt.keyword])
              for prompt, _ in groups}
    unvoiced = sum(not all(speaks_in(s, voices[prompt.id]) for s in ktext.sentences(p))
                   for prompt, ps in groups for p in ps)
    print(f"  out of the story's voice (model_server.voice: a narrator's 나, 합니다 or 했소, a 문 서방 or a 소년 the story "
          f"never had): {unvoiced}/{len(passages)} ({100 * unvoiced / max(1, len(passages)):.1f}%)")
    bibled = [(prompt, ps, sense.story_bible(prompt.story)) for prompt, ps in groups]
    with_bible = [(prompt, p, bible) for prompt, ps, bible in bibled if bible for p in ps]
    right = sum(sense.uses_bible_name(p, bible) for _, p, bible in with_bible)
    strangers = sum(bool(sense.stranger_names(p, prompt.story)) for prompt, ps in groups for p in ps)
    borrowed = sum(bool(sense.borrowed_people(p, prompt.story, people)) for prompt, ps in groups for p in ps)
    print(f"  a name of the story's bible used: {right}/{len(with_bible)} passages of prompts with one "
          f"({100 * right / max(1, len(with_bible)):.1f}%); naming someone the story never had: "
          f"{strangers}/{len(passages)} ({100 * strangers / max(1, len(passages)):.1f}%); "
          f"a person of the training novels it never had: {borrowed}/{len(passages)}")
    in_mood = sum(mood_of(p) == prompt.mood for prompt, ps in groups for p in ps)
    worded = sum(bool(mood_scores(p)[prompt.mood]) for prompt, ps in groups for p in ps)
    print(f"  read in the prompt's mood (model_server.mood, the mood --mood asks for): {in_mood}/{len(passages)} "
          f"({100 * in_mood / max(1, len(passages)):.1f}%); holding a word of it: {worded}/{len(passages)} "
          f"({100 * worded / max(1, len(passages)):.1f}%); chance among {len(MOODS)}: {100 / len(MOODS):.1f}%")
    print(f"  non-word share (hunspell-ko): {100 * sum(w in bad for w in words) / max(1, len(words)):.1f}%")
    print(f"  sentences starting like a sentence: {sum(starts_like_a_sentence(s) for s in pieces)}/{len(pieces)}")
    print(f"  distinct-2 across K: mean {statistics.mean(distinct2(ps) for _, ps in groups):.3f}")
    print(f"  keyword and count kept: {kept}/{len(passages)}")
    capped = "+" if max(longest) >= LONGEST_RUN else ""
    print(f"  copied from the training novels: longest run max {max(longest)}{capped} words, "
          f"mean {statistics.mean(longest):.2f}; "
          f"share of 4-word runs found {100 * share_found(passages, corpus_runs[4], 4):.2f}%, "
          f"of 8-word runs {100 * share_found(passages, corpus_runs[8], 8):.2f}%")
    print(f"  four words in a row of the story's recent text: {parroted}/{len(passages)} passages")


def ranking(host, judge, prompts: list[Prompt], rng: random.Random) -> None:
    """How often the judge ranks the true continuation first among 5 (chance 0.2)."""
    from model_server.evaluate import context_window, passage_logprobs
    from model_server.generation import GenerationSettings
    from model_server.prompting import build_prompt
    from model_server.judges.judge import FEATURES, Judge, ranked_first

    budget = context_window(host.model) - GenerationSettings().max_sentence_tokens
    against_base, against_real = [], []
    for prompt in prompts:
        elsewhere = [p for p in prompts if p.novel != prompt.novel]
        if not elsewhere:  # a few contexts may all come from one novel: none to set beside it
            continue
        try:
            written = host.generate(None, prompt.context, prompt.keyword, prompt.sentences, 4,
                                    seed=rng.getrandbits(32), settings=GenerationSettings(pool=1))
        except Exception:
            continue
        ids = build_prompt(host.tokenizer, prompt.context, None, prompt.sentences, budget, control=False)
        for group, found in (([prompt.real[0]] + [w.text for w in written], against_base),
                             ([prompt.real[0], prompt.later] + [rng.choice(elsewhere).real[0] for _ in range(3)],
                              against_real)):
            found.append(judge.features(prompt.context, group, passage_logprobs(host.model, host.tokenizer, ids, group)))
    print(f"judges: true continuation ranked first among 5 (chance 0.2), {len(against_base)} held-out contexts")
    print(f"  combined score: vs the base's candidates {ranked_first(judge, against_base):.2f}, "
          f"vs real passages (1 later in the novel, 3 from other novels) {ranked_first(judge, against_real):.2f}")
    for i, name in enumerate(FEATURES):
        alone = Judge([1.0 if j == i else 0.0 for j in range(len(FEATURES))])
        print(f"  {name} alone: vs the base's {ranked_first(alone, against_base):.2f}, "
              f"vs real {ranked_first(alone, against_real):.2f}")


def burn() -> None:
    while True:
        sum(i * i for i in range(10_000))


def pretrain_base(data: str | None, heldout: str | None, passes: float, out: Path) -> Path:
    from bench.corpus_split import load_split
    from model_server.data import SourceText
    from model_server.starter import pretrain

    train_texts, _ = load_split(data, heldout)
    print(f"pretraining a starter for {passes:g} passes on {len(train_texts)} novels ...", flush=True)
    return pretrain([SourceText(f"train:{i}", t) for i, t in enumerate(train_texts)], out, passes=passes, seed=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a base folder (default: pretrain a starter first)")
    parser.add_argument("--adapter", help="a story adapter on the base")
    parser.add_argument("--pretrain-passes", type=float, default=8.0)
    parser.add_argument("--judges", help="a judges folder (default: the untrained judge, or --train-judges)")
    parser.add_argument("--train-judges", action="store_true", help="train the judges on the training novels first")
    parser.add_argument("--data", help="training folder (default: corpus minus held-out)")
    parser.add_argument("--heldout", help="held-out .txt file or folder (default: bench/corpus_split.py's)")
    parser.add_argument("--prompts", type=int, default=30)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="which prompts are cut")
    parser.add_argument("--ranking-contexts", type=int, default=40)
    parser.add_argument("--busy", action="store_true", help="a CPU-bound process runs beside generation")
    parser.add_argument("--mood", action="store_true",
                        help="ask each prompt's candidates for a mood (model_server.mood.MOODS in turn)")
    parser.add_argument("--bible", action="store_true",
                        help="give each prompt the story bible made from its novel so far (bench/sense.py)")
    parser.add_argument("--dump", help="write prompts and candidates as JSON lines for bench/blind_read.py")
    parser.add_argument("--samples", type=int, default=10, help="candidates printed in full")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a GenerationSettings field to change, e.g. --set pool=4")
    args = parser.parse_args()
    if shutil.which("hunspell") is None or not Path(f"/usr/share/hunspell/{HUNSPELL_DICT}.dic").exists():
        raise SystemExit("needs hunspell and its Korean dictionary: apt-get install hunspell hunspell-ko")
    sys.stdout.reconfigure(line_buffering=True)

    import torch

    from bench.corpus_split import load_split
    from model_server.errors import GenerationError
    from model_server.generation import GenerationSettings
    from model_server.host import ModelHost
    from model_server.judges.judge import Judge
    from model_server.judges.training import train_judges
    from model_server.starter import read_heldout

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", 1)))
    settings = GenerationSettings()
    for assignment in args.set:
        name, _, value = assignment.partition("=")
        kind = type(getattr(settings, name))
        setattr(settings, name, value.lower() in ("1", "true", "yes") if kind is bool else kind(value))

    train, heldout = load_split(args.data, args.heldout)
    scratch = Path(tempfile.mkdtemp(prefix="writing-bench-"))
    base = args.base or pretrain_base(args.data, args.heldout, args.pretrain_passes, scratch / "starter")
    host = ModelHost(str(base))
    if args.judges:
        judge = Judge.load(args.judges)
    elif args.train_judges:
        print("training the judges ...", flush=True)
        train_judges(host, train, scratch / "judges", heldout=read_heldout(base) or None)
        judge = Judge.load(scratch / "judges")
    else:
        judge = Judge.untrained()
    prompts = make_prompts(heldout, args.prompts, args.k, args.seed)
    corpus_runs = {n: runs_of(train, n) for n in range(1, LONGEST_RUN + 1)}
    print(f"settings: {settings}; story bible {'given' if args.bible else 'not given'} (--bible); "
          f"mood {'asked' if args.mood else 'not asked'} (--mood)")
    print(f"base {base}; judges {'trained ' + str(judge.metrics.get('weights')) if judge.trained else 'untrained'}")
    print(f"{len(prompts)} prompts from {len(heldout)} held-out texts, K={args.k}; torch threads {torch.get_num_threads()}")

    burner = multiprocessing.Process(target=burn, daemon=True) if args.busy else None
    if burner:
        burner.start()
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} (1 min) before generating"
          + ("; a CPU-bound process runs beside it" if burner else ""))
    host.generate(args.adapter, prompts[0].context, prompts[0].keyword, 1, 1, seed=0, judge=judge)  # warm-up
    groups, failures, latencies = [], [], {}
    from_bank = written_by_model = 0
    bank = host.adapter_banks.get(str(Path(args.adapter).resolve())) if args.adapter else host.base_bank
    following: Counter = Counter()  # how each two sentences of the bank in a row stood in their novel
    for prompt in prompts:
        started = time.perf_counter()
        try:
            written = host.generate(args.adapter, prompt.context, prompt.keyword, prompt.sentences, args.k,
                                    seed=1000 + prompt.id, settings=settings, judge=judge,
                                    notes=sense.story_bible(prompt.story) if args.bible else (),
                                    mood=prompt.mood if args.mood else None)
        except GenerationError as error:
            failures.append(f"{prompt.keyword}/{prompt.sentences}: {error}")
            continue
        latencies.setdefault(prompt.sentences, []).append(time.perf_counter() - started)
        groups.append((prompt, [w.text for w in written]))
        from_bank += sum(entry is not None for w in written for entry in w.given)
        written_by_model += sum(entry is None for w in written for entry in w.given)
        following.update(in_novel(bank, a, b) for w in written for a, b in zip(w.given, w.given[1:])
                         if a is not None and b is not None)
    load = os.getloadavg()[0]
    if burner:
        burner.terminate()

    people = {noun for entry in bank.entries for _, noun in entry.names} if bank is not None else set()
    report("AI candidates", groups, corpus_runs, people)
    print(f"  sentences from the novels' bank (retrieval): {from_bank}, written by the model: {written_by_model}")
    print(f"  two of the bank's in a row: {sum(following.values())}; the second was the next in its novel "
          f"{following['next']}, later in its scene {following['scene']}, elsewhere {following['elsewhere']}")
    report("held-out novels (ceiling)", [(p, p.real) for p in prompts], corpus_runs, people)
    print(f"generation failures: {len(failures)}/{len(prompts)}" + "".join(f"\n  {f}" for f in failures))
    print(f"latency (load {load:.2f} at the end{', busy' if args.busy else ''}):")
    for n in sorted(latencies):
        print(f"  K={args.k} x {n} sentences: p50 {statistics.median(latencies[n]):.2f} s "
              f"(max {max(latencies[n]):.2f} s, {len(latencies[n])} requests)")
    ranking(host, judge, make_prompts(heldout, args.ranking_contexts, args.k, args.seed + 1), random.Random(args.seed))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for prompt, candidates in groups:
                out.write(json.dumps({"id": prompt.id, "context": prompt.context, "keyword": prompt.keyword,
                                      "sentences": prompt.sentences, "candidates": candidates, "real": prompt.real},
                                     ensure_ascii=False) + "\n")
        print(f"candidates written to {args.dump} (python bench/blind_read.py make --dump {args.dump} --out SHEET.md)")
    print(f"\n{args.samples} sample candidates:")
    for prompt, candidates in groups[: args.samples]:
        tail = prompt.context[-80:].replace("\n", " ")
        print(f"\n[…{tail}]  키워드 {prompt.keyword} · {prompt.sentences}문장\n→ {candidates[0]}")


def in_novel(bank, first: int, second: int) -> str:
    """Where entry ``second`` stands from ``first`` in the bank's novels: "next", "scene" (within
    ``retrieval.SCENE`` sentences after it) or "elsewhere"."""
    if int(bank.after[first]) == second:
        return "next"
    return "scene" if second in bank.scene_after(first) else "elsewhere"


if __name__ == "__main__":
    main()
