"""Measures of whether passages read as a continuation, not only as words. Torch-free.

Shared by bench/writing_bench.py and the tests of the artefacts the readers found:

- particle-syllable openings: sentences whose first word starts with 에, 은, 이, 가, 한, 지 or 도
  (a starved base grew particles into words: 에이, 은행, 도에나); real novels: about 8 %;
- distinct openers: distinct first words / sentences;
- recurring runs: four-word runs found in the candidates of several unrelated prompts
  (memorised text: "을밀대에서 기자 묘 솔밭으로 현무문으로" in 13 prompts of 45);
- a tacked-on keyword: a sentence whose last word is the keyword as a vocative or a copula
  (기차야!, 빗줄기다., 불빛이었다.), the keyword forced in to end a sentence;
- names reused: passages naming someone or something the context named (its proper nouns);
- the story's names: with a story bible made from the story so far (``story_bible``: its
  people and places as a reader's notes would hold them), passages that use one of the bible's
  names, and passages naming someone the story never had (a proper noun not in the story so far);
- borrowed people: passages naming one of the training novels' people (``model_server.names``:
  문호, read by Kiwi as a common noun, is one) that the story so far never wrote.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

from model_server import text as ktext
from model_server.names import eojeols

PARTICLE_SYLLABLES = set("에은이가한지도")
# what follows a keyword that ends a sentence as a vocative or a copula
PREDICATE_TAILS = ("", "야", "아", "여", "이여", "다", "이다", "였다", "이었다", "이야", "이요", "요")
EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def first_words(passages: list[str]) -> list[str]:
    words = []
    for passage in passages:
        for sentence in ktext.sentences(passage):
            word = EDGES.sub("", sentence.split()[0]) if sentence.split() else ""
            if word:
                words.append(word)
    return words


def particle_openings(passages: list[str]) -> tuple[Counter, int]:
    """The sentences' first words that open with a particle's syllable (이날 as well as 에이:
    the reader tells which is a word), counted, and the number of sentences."""
    words = first_words(passages)
    return Counter(w for w in words if w[0] in PARTICLE_SYLLABLES), len(words)


def distinct_openers(passages: list[str]) -> float:
    words = first_words(passages)
    return len(set(words)) / len(words) if words else 1.0


def recurring_runs(groups: list[list[str]], n: int = 4, prompts: int = 3) -> list[tuple[str, int]]:
    """The ``n``-word runs found in the passages of at least ``prompts`` groups (one per prompt)."""
    counts: Counter = Counter()
    for passages in groups:
        seen = set()
        for passage in passages:
            words = [w for w in (EDGES.sub("", x) for x in passage.split()) if w]
            seen |= {" ".join(words[i: i + n]) for i in range(len(words) - n + 1)}
        counts.update(seen)
    return sorted(((gram, c) for gram, c in counts.items() if c >= prompts), key=lambda x: -x[1])


def tacked_on(passage: str, keyword: str) -> bool:
    """Whether a sentence of ``passage`` ends on the keyword as a vocative or a copula."""
    keyword = unicodedata.normalize("NFC", keyword)
    for sentence in ktext.sentences(passage):
        words = sentence.split()
        last = EDGES.sub("", words[-1]) if words else ""
        if last.startswith(keyword) and last[len(keyword):] in PREDICATE_TAILS and len(words) >= 1:
            if last != keyword or len(words) == 1:
                return True
    return False


def context_names(context: str) -> set[str]:
    """Who and what the context keeps naming: nouns opening a word at least three times and read
    as a proper noun once, or at least five times (Kiwi misreads many names as common nouns)."""
    counts, proper = Counter(), set()
    for _word, noun, is_proper, _first in eojeols(context[-3000:]):
        if len(noun) > 1:
            counts[noun] += 1
            if is_proper:
                proper.add(noun)
    return {n for n, c in counts.items() if c >= 5 or (c >= 3 and n in proper)}


def names_reused(context: str, passage: str) -> bool:
    names = context_names(context)
    return any(name in passage for name in names)


BIBLE_MIN_COUNT = 3   # a name the story has used this often is one a reader would note
BIBLE_SIZE = 8
NOTE_CHARS = 80


def story_bible(story: str, recent_chars: int = 3000) -> list[tuple[str, str]]:
    """The notes an owner might have written for ``story`` (the novel up to the prompt): its
    proper nouns (Kiwi) used BIBLE_MIN_COUNT times or more, the most used BIBLE_SIZE, each noted
    with the first sentence that names it. Ordered as the site orders notes (app/stories/bible.py,
    ``entries_for``): those the recent story names, the latest mention first; the others are left
    out, as an unpinned note whose name the recent story does not hold is."""
    counts = ktext.proper_nouns(story)
    names = [n for n, c in counts.most_common() if c >= BIBLE_MIN_COUNT][:BIBLE_SIZE]
    recent = story[-recent_chars:]
    sentences = ktext.sentences(story)
    notes = []
    for name in names:
        if name not in recent:
            continue
        first = next((s for s in sentences if name in s), name)
        notes.append((recent.rfind(name), name, " ".join(first.split())[:NOTE_CHARS]))
    return [(name, text) for _, name, text in sorted(notes, reverse=True)]


def uses_bible_name(passage: str, bible: list[tuple[str, str]]) -> bool:
    return any(name in passage for name, _ in bible)


def stranger_names(passage: str, story: str) -> set[str]:
    """Proper nouns of ``passage`` that ``story`` never had: someone from another novel."""
    return set(ktext.proper_nouns(passage)) - set(ktext.proper_nouns(story))


def borrowed_people(passage: str, story: str, people: set[str]) -> set[str]:
    """The words of ``passage`` opening with one of ``people`` (a novel's own, as the bank reads
    them) that ``story`` never wrote."""
    return {word[:end] for word in re.findall(r"[가-힣]+", passage) for end in range(2, len(word) + 1)
            if word[:end] in people and word[:end] not in story}
