"""Training examples and the one prompt template that training and generation share.

Two kinds of example teach a base to continue our story the way the crowd asks:

* continuation chunks: plain text, loss on every token (style and vocabulary);
* control examples: ``context + [keyword, n sentences, mood] -> the next n sentences``, with
  the loss only on the target (the prompt is masked, as the Korean Vicuna recipe masked the
  user's turns). They teach the model to use the crowd's keyword, stop after n sentences and
  write in the mood asked for (the one ``model_server.mood`` reads in the target, if any).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from model_server import text as ktext
from model_server.mood import mood_of

IGNORE = -100  # label of a token the loss skips

# Plain-text markers (no new special tokens) so that any base's tokenizer can read them.
CONTROL_LINE = "[이어쓰기 · 키워드: {keyword} · {sentences}문장{mood}]"
CONTROL_LINE_NO_KEYWORD = "[이어쓰기 · {sentences}문장{mood}]"
MOOD_PART = " · 분위기: {mood}"
MAX_CONTROL_SENTENCES = 5  # the crowd may ask for up to 10; examples teach 1-5, counting generalises


def control_prompt(context: str, keyword: str | None, sentences: int, mood: str | None = None) -> str:
    """The prompt that asks for ``sentences`` sentences containing ``keyword`` (and in ``mood``)
    after ``context``."""
    asked = MOOD_PART.format(mood=mood) if mood else ""
    line = (CONTROL_LINE.format(keyword=keyword, sentences=sentences, mood=asked) if keyword
            else CONTROL_LINE_NO_KEYWORD.format(sentences=sentences, mood=asked))
    return f"{context.strip()}\n\n{line}\n" if context.strip() else f"{line}\n"


@dataclass
class Example:
    input_ids: list[int]
    labels: list[int]   # IGNORE where the loss is masked


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each sentence of ``text``, so text between them is kept as it was."""
    spans, cursor = [], 0
    for sentence in ktext.sentences(text):
        start = text.find(sentence, cursor)
        if start < 0:  # sentences() NFC-normalised something; text is normalised already
            continue
        spans.append((start, start + len(sentence)))
        cursor = start + len(sentence)
    return spans


def continuation_examples(tokenizer, text: str, max_tokens: int) -> list[Example]:
    """Consecutive chunks of ``max_tokens`` tokens, loss on all of them."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    chunks = [ids[i: i + max_tokens] for i in range(0, len(ids), max_tokens)]
    return [Example(chunk, list(chunk)) for chunk in chunks if len(chunk) >= 8]


def control_examples(tokenizer, text: str, max_tokens: int, rng: random.Random,
                     count: int) -> list[Example]:
    """Up to ``count`` control examples from random places of ``text``."""
    spans = sentence_spans(text)
    if len(spans) < 2:
        return []
    examples = []
    for _ in range(count * 2):
        if len(examples) >= count:
            break
        n = rng.randint(1, min(MAX_CONTROL_SENTENCES, len(spans) - 1))
        first = rng.randint(1, len(spans) - n)
        target = text[spans[first][0]: spans[first + n - 1][1]]
        if ktext.count_sentences(target) != n:
            # Kiwi splits some text differently with the novel around it than alone, and the
            # model is asked for n sentences as candidates are judged: alone.
            continue
        keyword = pick_keyword(target, rng)
        example = build_control_example(tokenizer, text, spans, first, target, keyword, n, max_tokens,
                                        mood_of(target))
        if example is not None:
            examples.append(example)
    return examples


def pick_keyword(target: str, rng: random.Random) -> str | None:
    """A noun of the target, as the crowd would pick one; longer nouns first, None if it has none."""
    candidates = ktext.nouns(target, min_chars=2) or ktext.nouns(target)
    return rng.choice(candidates) if candidates else None


def build_control_example(tokenizer, text: str, spans: list[tuple[int, int]], first: int, target: str,
                          keyword: str | None, n: int, max_tokens: int, mood: str | None = None) -> Example | None:
    target_ids = tokenizer(target, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    budget = max_tokens - len(target_ids) - len(tokenizer(control_prompt("", keyword, n, mood),
                                                          add_special_tokens=False)["input_ids"]) - 4
    if budget < 8:
        return None
    # The context is whole sentences before the target, as many as fit the token budget.
    start = first
    while start > 0:
        candidate = text[spans[start - 1][0]: spans[first][0]]
        if len(tokenizer(candidate, add_special_tokens=False)["input_ids"]) > budget:
            break
        start -= 1
    context = text[spans[start][0]: spans[first][0]] if start < first else ""
    prompt_ids = tokenizer(control_prompt(context, keyword, n, mood), add_special_tokens=False)["input_ids"]
    ids = prompt_ids + target_ids
    if len(ids) > max_tokens:
        return None
    return Example(ids, [IGNORE] * len(prompt_ids) + target_ids)
