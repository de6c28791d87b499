"""Training the judges on the site's novels and the base's own writing; a version folder or nothing.

Read top to bottom, in the order a job runs:

1. cut the novels into (context, true next passage) examples, keeping the base's held-out
   passages (the starter's, ``starter.read_heldout``; for another base, the last part of each novel)
   apart for step 5;
2. train the relevance judge: each context's true next passage against one from later in the
   same novel and ones from other novels;
3. let the base write passages for some of the training contexts (plain samples, one row per
   candidate: what the judges must learn to tell from a writer's);
4. train the style and repetition judges on the true passages against the base's;
5. on held-out contexts, let the base write ``candidates`` passages more and fit the mixing
   weights so that the true continuation outranks them; report how often it does, and how
   often it outranks real passages from elsewhere (relevance alone cannot fake that one).

Everything runs on the CPU in minutes; the base samples on the GPU when there is one.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

import torch

from model_server import text as ktext
from model_server.evaluate import context_window, passage_logprobs
from model_server.generation import GenerationSettings
from model_server.prompting import build_prompt
from model_server.judges.judge import CONTEXT_SENTENCES, FEATURES, Judge, fit_weights, ranked_first
from model_server.judges.relevance import idf_of, train_relevance
from model_server.judges.repetition import train_repetition
from model_server.judges.style import train_style
from model_server.progress import Cancelled, Progress
from model_server.versions import atomic_dir



@dataclass
class JudgeSettings:
    contexts: int = 800            # training contexts the base writes for (style and repetition)
    heldout_contexts: int = 120    # held-out contexts that fit the mixing weights
    relevance_groups: int = 1500   # (context, true, distractors) groups for the relevance judge
    candidates: int = 4            # base candidates per held-out context: with the true one, 5
    seed: int = 0


@dataclass
class Example:
    context: str
    passage: str                   # the true next 1-3 sentences
    later: str                     # as many sentences from later in the same text
    elsewhere: str                 # as many from another text
    sentences: int


def examples_of(texts: list[list[str]], n: int, rng: random.Random) -> list[Example]:
    """``n`` examples cut from texts given as lists of sentences."""
    usable = [i for i, sentences in enumerate(texts) if len(sentences) >= CONTEXT_SENTENCES + 24]
    if not usable:
        return []
    found = []
    for _ in range(n * 3):
        if len(found) >= n:
            break
        i = rng.choice(usable)
        sentences = texts[i]
        count = rng.randint(1, 3)
        at = rng.randrange(CONTEXT_SENTENCES, len(sentences) - 20)
        later = rng.randrange(at + 10, len(sentences) - count)
        others = [j for j in range(len(texts)) if j != i and len(texts[j]) > count] or [i]
        other = texts[rng.choice(others)]
        away = rng.randrange(0, len(other) - count)
        found.append(Example(" ".join(sentences[at - CONTEXT_SENTENCES: at]), " ".join(sentences[at: at + count]),
                             " ".join(sentences[later: later + count]), " ".join(other[away: away + count]), count))
    return found


def split_texts(texts: list[str], heldout: list[str] | None) -> tuple[list[list[str]], list[list[str]]]:
    """Training and held-out texts as lists of sentences: the given held-out passages, else the
    last sixth of each text."""
    training = [ktext.sentences(t) for t in texts]
    if heldout:
        return training, [ktext.sentences(t) for t in heldout]
    cut = [max(len(s) * 5 // 6, 1) for s in training]
    return [s[:c] for s, c in zip(training, cut)], [s[c:] for s, c in zip(training, cut)]


def base_writes(host, examples: list[Example], per_example: int, rng: random.Random,
                check: Callable[[], None]) -> list[list[str]]:
    """The base's plain candidates for each example (no trained judge; two rows a sentence, the
    first that keeps the rules goes on, so a weak base still writes something)."""
    plain = GenerationSettings(pool=2, enough=1)
    written = []
    for example in examples:
        check()
        keyword = rng.choice(ktext.nouns(example.passage, min_chars=2) or [None])
        try:
            rows = host.generate(None, example.context, keyword, example.sentences, per_example,
                                 seed=rng.getrandbits(32), settings=plain)
            written.append([row.text for row in rows])
        except Exception:  # a context the base cannot continue under the rules: left out
            written.append([])
    return written


def train_judges(host, texts: list[str], out_dir: str | Path, settings: Optional[JudgeSettings] = None,
                 heldout: list[str] | None = None,
                 progress: Optional[Callable[[Progress], None]] = None,
                 should_cancel: Optional[Callable[[], bool]] = None) -> dict:
    """Train the judges for ``host``'s base on ``texts``; write them to ``out_dir``; return
    their metrics. ``heldout`` are passages the base never read (``starter.read_heldout``)."""
    settings = settings or JudgeSettings()
    rng = random.Random(settings.seed)
    torch.manual_seed(settings.seed)
    started = time.monotonic()
    stages = 5

    def report(stage: int, loss: float = float("nan")) -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled("training the judges was cancelled")
        if progress is not None:
            elapsed = time.monotonic() - started
            progress(Progress(step=stage, total=stages, loss=loss, tokens_per_s=0.0,
                              eta_s=elapsed / max(stage, 1) * (stages - stage), elapsed_s=elapsed))

    def check() -> None:
        if should_cancel is not None and should_cancel():
            raise Cancelled("training the judges was cancelled")

    training, held = split_texts(texts, heldout)
    relevance_examples = examples_of(training, settings.relevance_groups, rng)
    writing_examples = examples_of(training, settings.contexts, rng)
    heldout_examples = examples_of(held, settings.heldout_contexts, rng)
    if not relevance_examples or not heldout_examples:
        raise ValueError("too little text to train the judges on")
    report(1)

    idf = idf_of([e.passage for e in relevance_examples])
    relevance = train_relevance([(e.context, [e.passage, e.later, e.elsewhere]) for e in relevance_examples],
                                idf, should_stop=should_cancel)
    report(2)

    written = base_writes(host, writing_examples, 2, rng, check)
    real_pairs = [(e.context, e.passage) for e, w in zip(writing_examples, written) if w]
    written_pairs = [(e.context, p) for e, w in zip(writing_examples, written) for p in w]
    if not written_pairs:
        raise ValueError("the base wrote nothing to learn from")
    report(3)

    style = train_style([p for _, p in real_pairs], [p for _, p in written_pairs], seed=settings.seed)
    repetition = train_repetition(real_pairs, written_pairs, seed=settings.seed)
    judge = Judge([0.0] * len(FEATURES), relevance=relevance, style=style, repetition=repetition)
    report(4)

    against_base, against_real = [], []
    model, tokenizer = host.model, host.tokenizer
    budget = context_window(model) - GenerationSettings().max_sentence_tokens
    for example, candidates in zip(heldout_examples, base_writes(host, heldout_examples, settings.candidates, rng, check)):
        if len(candidates) < settings.candidates:
            continue
        prompt = build_prompt(tokenizer, example.context, None, example.sentences, budget, control=False)
        group = [example.passage] + candidates
        against_base.append(judge.features(example.context, group, passage_logprobs(model, tokenizer, prompt, group)))
        others = [example.later] + [e.elsewhere for e in rng.sample(heldout_examples, settings.candidates - 1)]
        group = [example.passage] + others
        against_real.append(judge.features(example.context, group, passage_logprobs(model, tokenizer, prompt, group)))
    if len(against_base) < 4:
        raise ValueError("too few held-out contexts to fit the mixing weights on")
    # fit on half, report on the other half; then fit on all for the version saved
    half = len(against_base) // 2
    judge.weights = fit_weights(judge, against_base[:half] + against_real[:half])
    metrics = {
        "ranked_first_vs_base": ranked_first(judge, against_base[half:]),
        "ranked_first_vs_real": ranked_first(judge, against_real[half:]),
        "heldout_groups": len(against_base) - half,
        "group_size": settings.candidates + 1,
    }
    judge.weights = fit_weights(judge, against_base + against_real)
    judge.metrics = {**metrics, "weights": dict(zip(FEATURES, judge.weights)), "examples": {
        "relevance": len(relevance_examples), "real": len(real_pairs), "written": len(written_pairs)},
        "seconds": round(time.monotonic() - started, 1), "settings": asdict(settings)}
    report(5)
    with atomic_dir(out_dir) as tmp:
        judge.save(tmp)
    return judge.metrics
