"""The words a small base may write, and how they were put together in what it read.

A starter pretrained for ten minutes on a few novels knows Korean only roughly: left alone it
writes syllable strings that are no word at all (빔이조그혹는, 버맀다), opens sentences with the
tail of a word (였다., 에 그들이) and strings real words into no sentence. Its lexicon holds,
from the text it was trained on: every word (eojeol), the words that opened a sentence, the
word pairs with a space between, the punctuation right after each word, and the common
separators between words. Generation with a lexicon (``words.walk``) lets a row go on only
while the word it is writing can still become such a word, close it only when it is one,
follow a word only with one that followed it somewhere (or followed a word ending the same
way, for a word nobody saw), and punctuate only as the novels did. The model still chooses
which word, and where.

Words are compared in NFD, so a tokenizer over Hangul letters (jamo) can be checked halfway
through a syllable. Only Hangul counts: a word without Hangul is never refused. A lexicon is a
stack of layers: the base's, a story adapter's, and one made for each request from the story
so far (its own names and turns of phrase) and the keyword's forms.
"""
from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_left
from itertools import accumulate
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from model_server.names import stray_pieces, words_to_leave_out

LEXICON_FILE = "lexicon.json"
# Anything that is not a letter or digit ends a word: spaces, line breaks, punctuation, quotes.
BOUNDARY = re.compile(r"[\W_]+")
EDGES = re.compile(r"^[\W_]+|[\W_]+$")
SEPARATOR = re.compile(r"(?<=[^\W_])[\W_]+(?=[^\W_])")
# A base keeps the separators its novels used this often, not odd ones (한다."나는); and not
# speech opened after a space, which opened nonsense (그는 이렇게 울타리라는 "여보세요.").
MIN_SEPARATOR_COUNT = 25
MID_LINE_SPEECH = re.compile(r'[^\S\n]"')
# A sentence opens at a line's start and after an end mark; an opening quote may stand before its
# first word. A word after a closing quote is the speech's tag (."라고), not an opener.
OPENING = re.compile(r"(?:^|[.!?…]\s+)[\"(]*$")
COMMA = ","  # stands in ``pairs`` for the word before: what followed a comma
LINE_START = "\n"  # what stands before a passage's first word (mid-text, a line break follows an end mark)
HANGUL = re.compile("[\u1100-\u11ff\uac00-\ud7a3\ua960-\ua97f\ud7b0-\ud7ff\u3131-\u318e]")


@dataclass
class Words:
    words: set[str] = field(default_factory=set)
    openers: Counter = field(default_factory=Counter)      # words that opened a sentence, and how often
    pairs: set[tuple[str, str]] = field(default_factory=set)  # words that followed each other after a space
    marks: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # punctuation right after a word
    separators: Counter = field(default_factory=Counter)  # spaces and punctuation between two words

    def without(self, left_out: set[str]) -> "Words":
        """These words less ``left_out``, and every pair and mark of theirs."""
        kept = Words(self.words - left_out, Counter({w: n for w, n in self.openers.items() if w not in left_out}),
                     {pair for pair in self.pairs if not (pair[0] in left_out or pair[1] in left_out)},
                     separators=self.separators)
        for word, marks in self.marks.items():
            if word not in left_out:
                kept.marks[word] = marks
        return kept

    def __ior__(self, other: "Words") -> "Words":
        self.words |= other.words
        self.openers.update(other.openers)
        self.pairs |= other.pairs
        for word, marks in other.marks.items():
            self.marks[word] |= marks
        self.separators.update(other.separators)
        return self


def words_of(text: str) -> Words:
    """The Hangul words of ``text`` in NFD, those that open a sentence, and the pairs of words
    with only a space between. A word is a run between spaces with the punctuation around it
    stripped; a run with punctuation inside ('러브레터'였다) gives none, not fragments that are
    no words ('였다')."""
    found = Words()
    text = unicodedata.normalize("NFD", text)
    found.separators.update(SEPARATOR.findall(text))
    for line in text.split("\n"):
        before, previous = "", None
        for run in line.split():
            word = EDGES.sub("", run)
            if word and HANGUL.search(word) and not BOUNDARY.search(word):
                found.words.add(word)
                if OPENING.search(before + run[: run.find(word[0])]):
                    found.openers[word] += 1
                if previous is not None and run.startswith(word):
                    found.pairs.add((previous, word))
                end = run.find(word) + len(word)
                if end < len(run):
                    found.marks[word].add(run[end])
                previous = word if run.endswith(word) else COMMA if run.endswith(COMMA) else None
            else:
                previous = None
            before = run + " "
    return found


class Layer:
    def __init__(self, found: Words):
        # sorted, so that membership and "some word starts with this" are each one bisection
        self.words = tuple(sorted(found.words))
        self.openers = tuple(sorted(found.openers))
        # how often the openers starting at each position of ``openers`` opened a sentence, summed
        # up to there: the share of openings by words that start with some text is two bisections
        self.opened = list(accumulate((found.openers[w] for w in self.openers), initial=0))
        followers = defaultdict(list)
        for first, second in found.pairs:
            followers[first].append(second)
        self.followers = {first: tuple(sorted(seconds)) for first, seconds in followers.items()}
        self.marks = {word: "".join(sorted(marks)) for word, marks in found.marks.items()}
        self.known = frozenset(self.words)
        self.separators = tuple(sorted(found.separators))
        # A word nobody saw is followed as words with its last two syllables were (제정신을 as
        # 정신을), else its last one: one syllable alone mixes particles with endings (을 in
        # 먹을 리가).
        self.by_ending: dict[str, list[str]] = defaultdict(list)
        for word in self.followers:
            for ending in endings(word):
                self.by_ending[ending].append(word)
        self._after_ending: dict[str, tuple[str, ...]] = {}

    def after_ending(self, word: str) -> tuple[str, ...] | None:
        """The words that followed words ending like ``word``, or None when none end so."""
        ending = next((e for e in endings(word) if e in self.by_ending), None)
        if ending is None:
            return None
        if ending not in self._after_ending:
            self._after_ending[ending] = tuple(sorted({f for w in self.by_ending[ending] for f in self.followers[w]}))
        return self._after_ending[ending]

    def openings(self, start: str) -> int:
        """How many sentences of this layer's texts opened with a word starting with ``start``."""
        low = bisect_left(self.openers, start)
        high = bisect_left(self.openers, start + LAST, low)
        return self.opened[high] - self.opened[low]

    @classmethod
    def of_forms(cls, forms: Iterable[str]) -> "Layer":
        """Words that may stand anywhere: a keyword's forms."""
        forms = {unicodedata.normalize("NFD", f) for f in forms}
        return cls(Words(forms, Counter(forms)))


def endings(word: str) -> list[str]:
    """The last two syllables of an NFD word and its last one, each shorter than the word."""
    starts = [i for i, char in enumerate(word) if i > 0 and "\u1100" <= char <= "\u1112"]
    return [word[i:] for i in starts[-2:]]


def holds(words: tuple[str, ...], word: str, finished: bool) -> bool:
    """Whether sorted ``words`` hold ``word`` (finished) or a word starting with it."""
    i = bisect_left(words, word)
    return i < len(words) and (words[i] == word if finished else words[i].startswith(word))


def _continuations(words: tuple[str, ...], start: str, found: set[str]) -> None:
    """Add to ``found`` the next one and two characters of every word of sorted ``words`` that
    goes on after ``start``: one bisection per distinct continuation, not one per word."""
    i, n = bisect_left(words, start), len(start)
    while i < len(words) and words[i].startswith(start):
        tail = words[i][n: n + 2]
        if not tail:
            i += 1
            continue
        found.update((tail, tail[:1]))
        i = bisect_left(words, start + tail + LAST, i + 1)


LAST = "\U0010ffff"  # sorts after every character: start + LAST ends the range of words with that start


class Lexicon:
    def __init__(self, layers: Iterable[Layer]):
        self.layers = tuple(layers)
        self._next: dict[tuple, frozenset[str]] = {}
        self._separators: dict[tuple[str, bool], bool] = {}
        self._opening: dict[str, float] = {}

    def with_layer(self, layer: Layer) -> "Lexicon":
        return Lexicon(self.layers + (layer,))

    def _lists(self, opening: bool, previous: str | None) -> list[tuple[str, ...]]:
        """Where an allowed word is found: opening a sentence, among the words that opened one;
        right after ``previous`` with a space between, among the words that followed it (none,
        if it was only ever followed by punctuation; for a word no layer knows, the words that
        followed words ending like it); otherwise among all words."""
        if opening:
            return [layer.openers for layer in self.layers]
        if previous is not None:
            known = [layer.followers[previous] for layer in self.layers if previous in layer.followers]
            if known:
                return known
            if any(previous in layer.known for layer in self.layers if layer.followers):
                return []  # a word the novels always followed with punctuation (웃었습니다.)
            known = [f for f in (layer.after_ending(previous) for layer in self.layers) if f is not None]
            if known:
                return known
        return [layer.words for layer in self.layers]

    def allows(self, word: str, finished: bool, opening: bool = False, previous: str | None = None) -> bool:
        """Whether ``word`` (``finished``, or as far as it has come) may be written there."""
        if not HANGUL.search(word):
            return True
        return any(holds(words, word, finished) for words in self._lists(opening, previous))

    def next_chars(self, start: str, opening: bool = False, previous: str | None = None) -> frozenset[str]:
        """The next one and two characters an allowed word may take after ``start``."""
        key = (start, opening, previous)
        if key not in self._next:
            found: set[str] = set()
            for words in self._lists(opening, previous):
                _continuations(words, start, found)
            self._next[key] = frozenset(found)
        return self._next[key]

    def separator(self, sep: str, finished: bool) -> bool:
        """Whether ``sep`` may stand between two words (``finished``), or begin what does: the
        separators of the layers that know any (a keyword's forms know none)."""
        key = (sep, finished)
        if key not in self._separators:
            known = [layer.separators for layer in self.layers if layer.separators]
            self._separators[key] = (not known or sep == LINE_START
                                     or any(holds(seps, sep, finished) for seps in known))
        return self._separators[key]

    def may_mark(self, word: str, mark: str) -> bool:
        """Whether punctuation ``mark`` may come right after ``word``: a mark that followed it
        in some layer, or any mark where no layer knows the word."""
        if not HANGUL.search(word):
            return True
        known = [layer.marks.get(word, "") for layer in self.layers if word in layer.known]
        return not known or any(mark in marks for marks in known)

    def opening_share(self, start: str) -> float:
        """The share of the texts' sentences that opened with a word starting with ``start``."""
        if start not in self._opening:
            total = sum(layer.opened[-1] for layer in self.layers)
            self._opening[start] = sum(layer.openings(start) for layer in self.layers) / total if total else 0.0
        return self._opening[start]

    def __len__(self) -> int:
        return sum(len(layer.words) for layer in self.layers)


def story_layer(text: str) -> Layer:
    """The words of the story being continued (its names, its turns of phrase) as a layer of
    their own, without its separators: a story's odd punctuation (speech opened mid-line) is
    no rule for what comes next; the base's common separators are. Nor are its stray word pieces
    (동백꽃's "올랐다, 라고 하는 것은" had the AI write ", 라고 하는" in prompt after prompt)."""
    found = words_of(text).without(stray_pieces(text))
    found.separators = Counter()
    return Layer(found)


def words_of_texts(texts: Iterable[str]) -> Words:
    found = Words()
    for text in texts:
        found |= words_of(text)
    return found


def save_words(folder: str | Path, texts: Iterable[str], inherit: str | Path | None = None) -> None:
    """Write the words of ``texts`` (and those saved in the folder ``inherit``, an adapter's
    parent) beside a model: for each word, whether it opened a sentence, the punctuation that
    came right after it and the words that followed it; and the separators used at least
    MIN_SEPARATOR_COUNT times. A novel's own names and stray word pieces are left out
    (``names.words_to_leave_out``)."""
    texts = list(texts)
    found = words_of_texts(texts).without(words_to_leave_out(texts))
    separators = {sep for sep, count in found.separators.items()
                  if count >= MIN_SEPARATOR_COUNT and not MID_LINE_SPEECH.search(sep)}
    inherited = read_words(inherit) if inherit is not None else None
    if inherited is not None:
        found |= inherited
        separators |= set(inherited.separators)
    followers = defaultdict(list)
    for first, second in found.pairs:
        followers[first].append(second)
    saved = {
        "separators": sorted(separators),
        "after_comma": sorted(followers[COMMA]),
        "words": [[word, found.openers.get(word, 0), "".join(sorted(found.marks.get(word, ""))),
                   sorted(followers[word])] for word in sorted(found.words)],
    }
    Path(folder, LEXICON_FILE).write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")


def read_words(folder: str | Path) -> Words | None:
    """The words saved beside a model, or None when it has none (any base but the starter)."""
    path = Path(folder, LEXICON_FILE)
    if not path.is_file():
        return None
    saved = json.loads(path.read_text(encoding="utf-8"))
    found = Words(separators=Counter(saved["separators"]))
    found.pairs.update((COMMA, word) for word in saved["after_comma"])
    for word, opens, marks, followers in saved["words"]:
        found.words.add(word)
        if opens:  # a count; lexicons saved before counts were kept say True
            found.openers[word] += int(opens)
        if marks:
            found.marks[word] = set(marks)
        found.pairs.update((word, second) for second in followers)
    return found


def load_layer(folder: str | Path) -> Layer | None:
    found = read_words(folder)
    return Layer(found) if found is not None else None
