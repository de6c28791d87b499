"""Real sentences as the model's guide: the novels a model read, retrieved and edited.

A base that read half a million characters writes Korean words without sense, whatever reranks
them (read blind: bench/blind_read.py). The novels it read hold tens of
thousands of sentences, each written after a moment of its own. The bank keeps them beside the
model with what came before each. At every place of a candidate, the sentences that followed
the moments most like the story's last lines are offered beside the model's own, and the
judge's best of them is kept wherever one fits (retrieve and edit: Guu et al. 2018, Weston et
al. 2018), edited so they belong to the story:

- the novel's people are renamed to the story's (its most recent names first), their particles
  respelled to fit the new name (순이가, 복남이가), and one the story has no name left for is 그
  (``PRONOUN``); a sentence that names a place of its novel, or more people than that, is not
  offered; a candidate's next sentence from the same novel keeps the names its last one gave;
- where the crowd's keyword is due, sentences that hold it themselves are offered first (set in
  just any noun's place it read as nonsense: 좋은 트릿을 가져오게); after them, it takes the
  place of a noun before a verb it takes itself in the story (고추장을 먹이면 →
  모이를 먹였다 → 고추장을 먹였다), then of a thing that is only looked at, thought of, found or
  missed (``SLOTS``: 편지를 바라보았다 → 트릿을 바라보았다); where it is due a few sentences on,
  those it follows in their novel rank higher (``ahead``);
- a sentence the last one came from goes on with the sentence that followed it there; a line
  that is all talk, or whose narration cries, asks or stops before a verb (산 너머로!, 남편의 말.),
  comes only so (``answering``);
- where the crowd asked for a mood, sentences holding one of its words (``mood.LEXICON``) rank
  higher, as if their moment were that much more like the story's;
- a sentence given to one passage is not given again for a while, to this story or another.

What a candidate copies is bounded: no sentence keeps more than MAX_COPIED words in a row of
its novel unless the caller allows more, counted on across sentences that follow each other
there (``bench/writing_bench.py`` reports the runs copied).
"""
from __future__ import annotations

import gzip
import json
import math
import random
import re
import unicodedata
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from model_server import text as ktext
from model_server.copying import EDGES
from model_server.josa import RIEUL, final_consonant
from model_server.mood import LEXICON
from model_server.names import PERSONAL, PROPER_MAX_TEXTS, eojeols, own_people
from model_server.voice import last_morpheme, narration

BANK_FILE = "bank.json.gz"
TERM_TAGS = ("NNG", "VV", "VA", "XR")   # what a moment is about: its common nouns, verbs, adjectives
MAX_WORDS = 20                          # longer sentences are not offered
MIN_WORDS = 2
RECENT = (1.0, 0.6, 0.4)                # the weight of the last sentences of the text so far, latest first
BEFORE = (1.0, 0.5)                     # how much the sentence right before an entry counts, and the one before it
OWN_TERMS = 0.5                         # ... and the entry's own words (the next sentence often stays on a thing)
SHORTLIST = 60                          # entries edited per place, best first
MAX_COPIED = 7                          # words in a row of a novel a candidate may keep (8-word runs never)
NOISE = 0.1                             # how far chance reorders the shortlist (Gumbel, on scores scaled to 1)
REMEMBERED = 2000                       # sentences given lately, not given again
NEW_CHARS = 1_000_000                   # text a version adds to its bank at most (Kiwi reads it four times)
COMMON = 3                              # a noun in this many sentences as a common noun is no one's name
KEYWORD_BOOST = 1.0                     # what leading to the keyword within the passage adds to an entry's score
MOOD_BOOST = 0.5                        # what a word of the mood asked for adds to an entry's score
SCENE = 8                               # the sentences after a candidate's last one in its novel: still its scene
SCENE_BOOST = 1.0                       # ... which adds this share of the place's best score to an entry's
# Marks a sentence opens and closes; one the sentence splitter cut from its pair is dropped
PAIRED_MARKS = (("(", ")"), ("‘", "’"), ("“", "”"), ("「", "」"), ("『", "』"), ("'", "'"))
FRAMED = ("JKO", "JKS")                 # the particles after which a keyword may take a noun's place
# A novel's person the story has no name left for is 그 (그는, 그의, 그에게), one per sentence: the
# sentence still tells what someone did, and a story with few names is left more of the novels'
# sentences (with none, its keyword's sentence was the model's to write, and a small base failed it)
PRONOUN = "그"
CALLED = ("아", "야", "씨", "님")           # ... but no one is called 그야 or 그 씨

# Particles whose form follows the sound a noun ends in: (after a consonant, after a vowel).
# The longer ones first: 이었다 is 이었 + 다, not 이 + 었다.
ALTERNATING = (("이었", "였"), ("이라", "라"), ("이나", "나"), ("이랑", "랑"), ("이며", "며"), ("이면", "면"),
               ("이야", "야"), ("이다", "다"), ("이지", "지"), ("이여", "여"), ("으로", "로"), ("이", "가"),
               ("은", "는"), ("을", "를"), ("과", "와"), ("아", "야"))
# Particles that follow any noun unchanged; a word whose ending is neither is not edited.
FIXED = ("의", "에게서", "에게", "에서", "에", "한테", "도", "만", "까지", "부터", "처럼", "보다", "께서", "께",
         "하고", "더러", "보고", "마저", "조차", "뿐", "씨", "님")
PLACE = ("에서", "에", "으로", "로", "까지", "부터")   # a novel's own noun taking these is a place
ACTING = ("은", "는", "이", "가") + PERSONAL   # a story's proper noun taking one of these is someone's name
# The verbs after which any noun reads, by the particle the noun takes (Kiwi's stems; 생각하다 is
# 생각 + 하): a keyword no sentence of the novels holds takes the place of such a noun where the
# verb ends the sentence (what follows may speak of the noun: 편지를 꺼내어 주소를 읽었다). Read blind,
# the model's own keyword sentences made no sense at all (장독에 한 욕을 이토록 먹어 버리란다).
SLOTS = {
    "JKO": frozenset({"보", "바라보", "쳐다보", "내려다보", "들여다보", "떠올리", "찾", "잊", "생각", "기억"}),
    "JKS": frozenset({"떠오르", "보이", "생각나"}),
}
# ... but first a verb the keyword takes itself in the story (고추장을 먹이다: 모이를
# 먹였다 → 고추장을 먹였다); read blind, a keyword looked at or looked for read as nonsense (형편을
# 찾았다, 진고개를 바라보았다). 하다 and 되다 say nothing of the noun before them (약속을 하였다).
BARE_VERBS = frozenset({"하", "되"})
EXCLAIMED = re.compile(r"[!?][.…]*$")  # narration that ends in a cry or a question
# ... or on a noun, an adverb, a particle or an interjection: no verb closes it (남편의 말., 깜짝 놀라는 듯이.)
VERBLESS = ("NN", "NR", "NP", "MAG", "JKB", "JKG", "JX", "XSN", "ETN", "IC")
# ... a cheap first look for sentences that end in a noun, its particle and a verb (Kiwi then reads those)
MAY_END_IN_FRAME = re.compile(r"[을를이가] \S+$")
# ... and a noun nothing qualifies: after one of these (있는 어머니, 남편의 얼굴, 밭 고랑) it would keep
# another thing's words (사랑과 자랑의 변통이 보인다)
QUALIFYING = ("ETM", "JKG", "NNG", "NNP", "NNB", "NR", "SN", "XSN", "XPN", "VA")


@dataclass(frozen=True)
class Entry:
    text: str
    terms: tuple[str, ...]
    novel: int
    names: tuple[tuple[int, str], ...]     # (word index, noun) of the words opening with one of its novel's people
    usable: bool = True                    # False: only what comes before others (too long, too short)
    strangers: tuple[str, ...] = ()        # the proper nouns it keeps as they are (서울, 톨스토이, 김)


@dataclass(frozen=True)
class Guide:
    """An edited sentence of the bank, with the entry it came from."""
    text: str
    entry: int
    cast: tuple[tuple[str, str], ...] = ()  # the novel's people it renamed, as (noun, the story's name)


def terms_of(sentences: Iterable[str]) -> list[list[str]]:
    """The content morphemes of each sentence (verbs by their stem), in order."""
    sentences = [unicodedata.normalize("NFC", s) for s in sentences]
    if not sentences:
        return []
    analysed = ktext._get_kiwi().tokenize(sentences)
    return [[t.form for t in tokens if t.tag in TERM_TAGS] for tokens in analysed]


def respell(noun: str, suffix: str) -> str | None:
    """``suffix`` (what followed another noun in a word) as it follows ``noun``; None where the
    ending is not one this module knows how to carry over."""
    final = final_consonant(noun[-1]) if noun else None
    if final is None:
        return None
    for p in FIXED:
        if suffix == "" or suffix.startswith(p):
            return suffix
    for after_consonant, after_vowel in ALTERNATING:
        for form in (after_consonant, after_vowel):
            if not suffix.startswith(form):
                continue
            rest = suffix[len(form):]
            if form == "이" and rest:
                # a name's own 이 before a particle (점순이는, 점순이가): kept after a consonant
                carried = respell("가", rest)  # rest already follows a vowel
                if carried is None:
                    return None
                return ("이" + carried) if final else carried
            if after_consonant == "으로":
                return ("로" if final in (0, RIEUL) else "으로") + rest
            return (after_consonant if final else after_vowel) + rest
    return None


class Bank:
    """The sentences of the novels a model read, each with what came before it."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        count = len(entries)
        self.postings: dict[str, np.ndarray] = {}
        found: dict[str, list[int]] = {}
        for i, entry in enumerate(entries):
            for term in set(entry.terms):
                found.setdefault(term, []).append(i)
        self.postings = {term: np.array(ids, dtype=np.int64) for term, ids in found.items()}
        self.idf = {term: math.log((count + 1) / (len(ids) + 0.5)) for term, ids in found.items()}
        self.norm = np.array([math.sqrt(len(set(e.terms)) + 1.0) for e in entries])
        novels = np.array([e.novel for e in entries], dtype=np.int64)
        # the entry that follows each one in its novel (-1 at a novel's end)
        self.after = np.full(count, -1, dtype=np.int64)
        if count > 1:
            same = novels[1:] == novels[:-1]
            self.after[:-1][same] = np.arange(1, count)[same]
        self.before = np.full(count, -1, dtype=np.int64)  # ... and the one it follows
        followed = self.after >= 0
        self.before[self.after[followed]] = np.flatnonzero(followed)
        self.given: deque[int] = deque(maxlen=REMEMBERED)
        self._moods: dict[str, np.ndarray] = {}
        self._holding: tuple[str | None, np.ndarray] = (None, np.array([], dtype=np.int64))
        self._endings: dict[tuple[str, str], dict[int, tuple[int, str]]] | None = None
        self._placeable: dict[int, tuple[int, str]] | None = None
        self._framed: tuple[tuple | None, dict[int, tuple[int, str]]] = (None, {})
        self._answering: dict[int, bool] = {}

    def give(self, entry: int) -> None:
        """Remember that ``entry`` went into a candidate: it is not offered again for a while."""
        self.given.append(entry)

    def __len__(self) -> int:
        return len(self.entries)

    # ------------------------------------------------------------------ retrieving

    def moments(self, recent: list[str]) -> np.ndarray:
        """How well each entry follows ``recent`` (the text so far, by sentence, oldest first)."""
        holds = np.zeros(len(self.entries))   # how much of the moment each entry's own words hold
        query: Counter = Counter()
        for weight, terms in zip(RECENT, reversed(terms_of(recent[-len(RECENT):]))):
            for term in set(terms):
                query[term] += weight
        for term, weight in query.items():
            ids = self.postings.get(term)
            if ids is not None:
                holds[ids] += weight * self.idf[term] / self.norm[ids]
        scores = OWN_TERMS * holds
        source, target = np.arange(len(self.entries)), self.after
        for weight in BEFORE:  # the sentence right after those that hold the moment, then the one after that
            kept = target >= 0
            source, target = source[kept], target[kept]
            np.add.at(scores, target, weight * holds[source])
            target = self.after[target]
        return scores

    def guides(self, recent: list[str], names: list[str], keyword: str | None, keyword_due: bool, n: int,
               written: list[str] = (), last: int | None = None, rng: random.Random | None = None,
               skip: Iterable[int] = (), moments: np.ndarray | None = None, mood: str | None = None,
               cast: dict[str, str] | None = None, copied: int = MAX_COPIED, ahead: int = 0,
               keeps: Callable[[str], bool] | None = None, story: Iterable[str] = ()) -> list[Guide]:
        """Up to ``n`` edited sentences to go after ``recent``: the one that followed entry ``last``
        (what the candidate's last sentence was) in its novel, then the rest of its scene
        (``scene_after``: read blind, a passage stitched from three novels read as three stories),
        then those that followed the likeliest moments, shuffled a little by ``rng``. With
        ``keyword_due`` each holds ``keyword``: those that hold it as their novel wrote them first,
        then those it is placed in before a verb it takes in ``story``'s sentences (``framed``),
        then before one any noun takes (``placeable``); without, those the keyword follows within
        ``ahead`` sentences of their novel rank higher. None is a sentence the candidate ``written``
        holds, an entry of ``skip`` or one given lately, a line all talk that did not follow
        ``last``, or keeps more than ``copied`` words in a row of its novel, counting the words of
        ``written`` it would go on from, or keeps a proper noun (``Entry.strangers``) that
        ``story``, ``recent`` and the ``keyword`` never wrote. ``moments``:
        ``self.moments(recent)``, when the caller asks twice for one place. ``mood``: entries
        holding its words rank higher. ``cast``: the people of ``last``'s novel already renamed in
        the candidate, kept so. ``keeps``: the caller's own rules for an edited sentence; one it
        refuses does not count among the ``n``."""
        if not self.entries or n <= 0:
            return []
        scores = (self.moments(recent) if moments is None else moments).copy()
        if keyword and not keyword_due and ahead > 0:
            scores[self.leading_to(keyword, ahead)] += KEYWORD_BOOST
        if mood:
            scores[self.mood_entries(mood)] += MOOD_BOOST
        if last is not None:
            scores[self.scene_after(last)] += SCENE_BOOST * scores.max()
        # where the keyword is due, a sentence holding it comes first: the first shortlist is of those; then,
        # while too few are found, the keyword takes a noun's place before a verb the story gave it, then a
        # looked-at thing's place, in those most like the moment
        passes = [(np.arange(len(self.entries)), None)]  # (the entries to shortlist, their slots when placing)
        if keyword and keyword_due:
            passes = [(self.holding(keyword), None)]
            if ktext.is_one_noun(keyword):
                for slots in (self.framed(keyword, story), self.placeable()):
                    if slots:
                        passes.append((np.array(list(slots), dtype=np.int64), slots))
        before = " ".join(written).split()[-(copied + 1):]
        known = " ".join([*story, *recent, keyword or ""])
        found, seen, skipped = [], set(written), set(skip) | set(self.given)
        for among, slots in passes:
            if len(found) >= n:
                break
            for i in self._shortlist(scores, among, rng, last):
                if len(found) >= n:
                    break
                if i in skipped or (slots is not None and i not in slots) \
                        or (self.answering(i) and (last is None or int(self.after[last]) != i)) \
                        or any(stranger not in known for stranger in self.entries[i].strangers):
                    continue
                own = cast if cast and last is not None and self.entries[i].novel == self.entries[last].novel else None
                guide = self.edit(i, names, keyword if keyword_due else None, before, own, copied, last,
                                  slots[i] if slots is not None else None)
                if guide is not None and guide.text not in seen and (keeps is None or keeps(guide.text)):
                    seen.add(guide.text)
                    found.append(guide)
        return found

    def _shortlist(self, scores: np.ndarray, among: np.ndarray, rng: random.Random | None,
                   last: int | None) -> list[int]:
        """The SHORTLIST best of ``among`` by ``scores``, shuffled a little by ``rng``, after the
        entry that followed ``last`` in its novel."""
        shortlist = among[np.argsort(-scores[among], kind="stable")[:SHORTLIST]]
        if rng is not None and len(shortlist) and scores[shortlist[0]] > 0:
            keys = scores[shortlist] / scores[shortlist[0]] + NOISE * np.array(
                [-math.log(-math.log(rng.random() or 1e-12)) for _ in shortlist])
            shortlist = shortlist[np.argsort(-keys, kind="stable")]
        order = [int(i) for i in shortlist]
        if last is not None and self.after[last] >= 0:
            order.insert(0, int(self.after[last]))
        return order

    def endings(self) -> dict[tuple[str, str], dict[int, tuple[int, str]]]:
        """The entries that end in a common noun nothing qualifies, its particle and a verb, by
        (particle tag, verb stem), each with the noun's (word index, noun); found once per bank,
        so the keyword may take the noun's place in any of them, not only in those that fall
        among the sentences most like the moment."""
        if self._endings is None:
            near = [i for i, e in enumerate(self.entries) if e.usable and MAY_END_IN_FRAME.search(e.text)]
            analysed = ktext._get_kiwi().tokenize([self.entries[i].text for i in near]) if near else []
            self._endings = {}
            for i, tokens in zip(near, analysed):
                if (ending := _ending(self.entries[i], tokens)) is not None:
                    frame, slot = ending
                    self._endings.setdefault(frame, {})[i] = slot
        return self._endings

    def placeable(self) -> dict[int, tuple[int, str]]:
        """The entries whose last noun any other could stand in for (``SLOTS``)."""
        if self._placeable is None:
            self._placeable = {i: slot for (particle, verb), found in self.endings().items()
                               if verb in SLOTS.get(particle, ()) for i, slot in found.items()}
        return self._placeable

    def framed(self, keyword: str, story: Iterable[str] = ()) -> dict[int, tuple[int, str]]:
        """The entries whose last noun ``keyword`` may take the place of (``endings``): before a
        verb it takes itself, with the same particle, in ``story``'s sentences (the novels'
        own uses of a word mislead: 강도 is a robber and a strength, 서방 is in 새서방); kept for
        the last asked, as every place of every candidate of a request asks."""
        story = tuple(s for s in story if keyword in s)
        if self._framed[0] != (keyword, story):
            endings = self.endings()
            self._framed = ((keyword, story), {i: slot for frame in frames_of(keyword, list(story))
                                               for i, slot in endings.get(frame, {}).items()})
        return self._framed[1]

    def answering(self, i: int) -> bool:
        """Whether entry ``i`` reads only after the line before it in its novel: it is all talk (read
        blind, another novel's line answered a remark no one made: "형편에 따라서 다르다니, 형편이란
        어떤 것 말인가?" after narration), or its narration cries or asks (산 너머로!, 그리고는,
        닮았나?) or stops before a verb (남편의 말., 그는 깜짝 놀라는 듯이.): a thought on that line,
        read blind as a fragment of nothing. Such were an eighth and a twelfth of the candidates'
        sentences, a hundredth and a fiftieth of the real passages'. Read once per entry."""
        if i not in self._answering:
            told = narration(self.entries[i].text)
            self._answering[i] = not told or EXCLAIMED.search(told) is not None or verbless(told)
        return self._answering[i]

    def holding(self, keyword: str) -> np.ndarray:
        """The entries whose text holds ``keyword`` as written (Kiwi may read it as two terms),
        kept for the last keyword asked: every place of every candidate of a request asks."""
        cached = self._holding
        if cached[0] != keyword:
            cached = self._holding = (keyword, np.array([i for i, e in enumerate(self.entries) if keyword in e.text],
                                                        dtype=np.int64))
        return cached[1]

    def reaches(self, i: int, keyword: str, within: int) -> bool:
        """Whether entry ``i`` or one of the ``within`` - 1 that follow it in its novel holds ``keyword``."""
        for _ in range(within):
            if i < 0:
                return False
            if keyword in self.entries[i].text:
                return True
            i = int(self.after[i])
        return False

    def leading_to(self, keyword: str, ahead: int) -> np.ndarray:
        """The entries that ``keyword`` follows within ``ahead`` sentences of their novel."""
        found, step = [], self.holding(keyword)
        for _ in range(ahead):
            step = self.before[step]
            step = step[step >= 0]
            found.append(step)
        return np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)

    def scene_after(self, i: int) -> list[int]:
        """The ``SCENE`` entries that follow entry ``i`` in its novel (fewer at its end)."""
        found = []
        for _ in range(SCENE):
            i = int(self.after[i])
            if i < 0:
                break
            found.append(i)
        return found

    def mood_entries(self, mood: str) -> np.ndarray:
        """The entries whose terms hold a word of ``mood`` (``mood.LEXICON``; its one-word lemmas),
        worked out once per mood: every place of a candidate asks."""
        if mood not in self._moods:
            found = [self.postings[word] for word in LEXICON[mood] if word in self.postings]
            self._moods[mood] = np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)
        return self._moods[mood]

    def names_in(self, text: str, limit: int = 6) -> list[str]:
        """The people of ``text``, the most recently named first: its proper nouns (two
        syllables or more, named twice or more) that the novels do not use as common words
        (Kiwi reads 장화 as a name now and then) and that the text once writes as someone who
        acts or is spoken to (``ACTING``): 창경원 앞, 창경원의 돌담 name a place, and a
        novel's people renamed to it read as nonsense (창경원은 다시 눈을 감았다)."""
        last: dict[str, int] = {}
        seen: Counter = Counter()
        acts: set[str] = set()
        for position, (word, noun, proper, _first) in enumerate(eojeols(text)):
            if proper and len(noun) > 1 and len(self.postings.get(noun, ())) < COMMON:
                last[noun] = position
                seen[noun] += 1
                if word[len(noun):].startswith(ACTING):
                    acts.add(noun)
        return sorted((n for n in last if seen[n] > 1 and n in acts), key=lambda noun: -last[noun])[:limit]

    # ------------------------------------------------------------------ editing

    def edit(self, i: int, names: list[str], keyword: str | None, before: list[str] = (),
             cast: dict[str, str] | None = None, copied: int = MAX_COPIED, last: int | None = None,
             slot: tuple[int, str] | None = None) -> Guide | None:
        """Entry ``i`` with its novel's people renamed to ``names`` (those of ``cast`` as it
        says, the rest to names it leaves free); None where it cannot be, where it lacks
        ``keyword`` (when given) or keeps more than ``copied`` words in a row of its novel, the
        last words of ``before`` (the text it would follow, entry ``last``'s) counted in: both
        those that come before ``i`` in its novel and, where ``i`` opens as the sentence after
        ``last`` did, those before that one. With a ``slot`` (``slots``), the ``keyword`` takes
        the place of its noun."""
        entry = self.entries[i]
        if not entry.usable:
            return None
        source = entry.text.split()
        words = list(source)
        renamed = dict(cast or {})
        free = iter([name for name in names if name not in renamed.values()])
        for noun in dict.fromkeys(noun for _, noun in entry.names):
            if noun not in renamed:
                renamed[noun] = next(free, None)
                if renamed[noun] is None:
                    if PRONOUN in renamed.values():
                        return None  # more people than the story has names for, and 그 for one of them
                    renamed[noun] = PRONOUN
        for index, noun in entry.names:
            word = replace(words[index], noun, renamed[noun])
            if word is None:
                return None
            words[index] = word
        if slot is not None and keyword is not None:
            index, noun = slot
            words[index] = replace(words[index], noun, keyword)
            if words[index] is None:
                return None
        if keyword is not None and not ktext.contains_keyword(" ".join(words), keyword):
            return None
        runs = [len(run) for run in "".join("1" if same_word(a, b) else "0" for a, b in zip(words, source)).split("0")]
        if runs[0]:
            runs[0] += self.kept_before(i, before)
        following = int(self.after[last]) if last is not None else -1
        if following >= 0 and following != i:  # 그는 ... after a sentence its novel went on with 그는 ...
            opening = 0
            for a, b in zip(words, self.entries[following].text.split()):
                if not same_word(a, b):
                    break
                opening += 1
            if opening:
                runs.append(opening + self.kept_before(following, before))
        if max(runs) > copied:
            return None
        return Guide(unpaired_marks_dropped(" ".join(words)), i, tuple(renamed.items()))

    def kept_before(self, i: int, before: list[str]) -> int:
        """How many of the last words of ``before`` are the words before entry ``i`` in its novel."""
        source: list[str] = []
        j = i
        while len(source) < len(before) and j > 0 and self.after[j - 1] == j:
            j -= 1
            source = self.entries[j].text.split() + source
        count = 0
        for a, b in zip(reversed(before), reversed(source)):
            if not same_word(a, b):
                break
            count += 1
        return count

    # ------------------------------------------------------------------ saving

    @classmethod
    def of_texts(cls, texts: list[str]) -> "Bank":
        people = own_people(texts)[1] if len(texts) > 2 else set()
        spelled = spelled_apart(texts, people)
        entries = []
        for novel, text in enumerate(texts):
            sentences = ktext.sentences(text)
            for sentence, terms in zip(sentences, terms_of(sentences)):
                entries.append(_entry(sentence, terms, novel, people, len(texts) <= 2, spelled))
        return cls(entries)

    def save(self, folder: str | Path) -> None:
        rows = [[e.text, list(e.terms), e.novel, [list(s) for s in e.names], e.usable, list(e.strangers)]
                for e in self.entries]
        with gzip.open(Path(folder) / BANK_FILE, "wt", encoding="utf-8") as out:
            json.dump(rows, out, ensure_ascii=False)

    @classmethod
    def load(cls, folders: Iterable[str | Path]) -> "Bank | None":
        """The banks saved in ``folders`` (a base and its adapter) as one; None where none is."""
        parts = []
        for folder in folders:
            path = Path(folder) / BANK_FILE
            if path.is_file():
                with gzip.open(path, "rt", encoding="utf-8") as source:
                    # a bank saved before its entries kept their strangers has five fields a row
                    parts.append([Entry(text, tuple(terms), novel, tuple(map(tuple, names)), usable,
                                        tuple(strangers[0]) if strangers else ())
                                  for text, terms, novel, names, usable, *strangers in json.load(source)])
        return cls(_renumbered(parts)) if parts else None

    @classmethod
    def joined(cls, banks: Iterable["Bank | None"]) -> "Bank":
        """One bank of several, their novels kept apart."""
        return cls(_renumbered([bank.entries for bank in banks if bank is not None]))


def save_bank(folder: str | Path, texts: list[str], inherit: str | Path | None = None) -> None:
    """Write the bank of ``texts`` beside a model, after the one saved in ``inherit`` (an
    adapter's parent version): an adapter keeps the novels of its whole line, the base's apart."""
    parent = Bank.load([inherit]) if inherit is not None else None
    kept, room = [], NEW_CHARS
    for text in texts:  # a training task has minutes, not hours: a huge upload lends its beginning
        kept.append(text[:room])
        room -= len(kept[-1])
    Bank.joined([parent, Bank.of_texts([t for t in kept if t])]).save(folder)


def verbless(told: str) -> bool:
    """Whether narration ``told`` ends before any verb or ending (``VERBLESS``)."""
    last = last_morpheme(told)
    return last is not None and last.tag.startswith(VERBLESS)


def unpaired_marks_dropped(sentence: str) -> str:
    """``sentence`` without the brackets and quotes it opens and never closes, or closes and never
    opened: read blind, a sentence cut from a novel's bracket or thought kept the stray mark
    (밤낮 버릇을 보지.), 그리고는, '닮았나?)."""
    for opening, closing in PAIRED_MARKS:
        if sentence.count(opening) != sentence.count(closing) or opening == closing and sentence.count(opening) % 2:
            sentence = sentence.replace(opening, "").replace(closing, "")
    return " ".join(sentence.split())


def replace(word: str, noun: str, new: str) -> str | None:
    """``word`` (opening with ``noun``) with ``new`` in the noun's place; None where its ending
    cannot be carried over, makes the noun a place (을밀대에서: no person stands in for it) or
    calls ``new`` by name where it is ``PRONOUN`` (그야, 그 씨)."""
    stripped = word.lstrip("\"'“‘(")
    lead = word[: len(word) - len(stripped)]
    if not stripped.startswith(noun):
        return None
    tail = stripped[len(noun):]
    suffix = tail.rstrip(".,!?\"'”’…)")
    punctuation = tail[len(suffix):]
    if suffix.startswith(PLACE) and not suffix.startswith("에게") or new == PRONOUN and suffix.startswith(CALLED):
        return None
    ending = respell(new, suffix)
    return None if ending is None else lead + new + ending + punctuation


def same_word(a: str, b: str) -> bool:
    """Whether two words are one in a run of copied words, their marks aside (말! goes on a run of
    말.), as ``copying.words_of`` and the writing bench read them."""
    return EDGES.sub("", a) == EDGES.sub("", b)


def _renumbered(parts: list[list[Entry]]) -> list[Entry]:
    """The entries of several banks in one list, each bank's novels numbered after the last's."""
    entries: list[Entry] = []
    for part in parts:
        offset = entries[-1].novel + 1 if entries else 0
        entries += [Entry(e.text, e.terms, offset + e.novel, e.names, e.usable, e.strangers) for e in part]
    return entries


def _entry(sentence: str, terms: list[str], novel: int, people: set[str], every_proper_owned: bool,
           spelled: set[str]) -> Entry:
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return Entry(sentence, tuple(terms), novel, (), usable=False)
    names, strangers, cursor = [], [], 0
    for word, noun, proper, _first in eojeols(sentence):
        index = next((j for j in range(cursor, len(words)) if word in words[j]), None)
        if index is None:
            return Entry(sentence, tuple(terms), novel, (), usable=False)
        cursor = index + 1
        if noun and (noun in people or (every_proper_owned and proper)):
            names.append((index, noun))
        elif noun and proper:
            strangers.append(noun)
    named = {index for index, _ in names}
    names += [(index, person) for index, word in enumerate(words)
              if index not in named and (person := person_opening(word, spelled)) is not None]
    return Entry(sentence, tuple(terms), novel, tuple(sorted(names)), strangers=tuple(dict.fromkeys(strangers)))


def spelled_apart(texts: list[str], people: set[str]) -> set[str]:
    """Those of ``people`` whose spelling opens words of at most ``PROPER_MAX_TEXTS`` of ``texts``:
    a word spelled so is the person, however Kiwi reads it there. 마리 (한 마리), 하니 and 그네 open
    words of every novel, so where Kiwi reads them as something else they are."""
    found: Counter = Counter()
    for text in texts:
        found.update({word[:end] for word in (EDGES.sub("", w) for w in text.split())
                      for end in range(2, len(word) + 1) if word[:end] in people})
    return {person for person in people if found[person] <= PROPER_MAX_TEXTS}


def person_opening(word: str, people: set[str]) -> str | None:
    """The one of ``people`` that ``word`` is, with a particle this module can respell, or None.
    Kiwi reads a name by the words around it: read alone in its sentence, 현보를 was a determiner
    and a noun, and the novel's 현보 came into stories that never had him."""
    stripped = EDGES.sub("", word)
    for end in range(2, len(stripped) + 1):  # the shortest: 점순 of 점순이도, whose 이 is respelled
        if stripped[:end] in people and respell(stripped[:end], stripped[end:]) is not None:
            return stripped[:end]
    return None


def frames_of(keyword: str, texts: list[str]) -> set[tuple[str, str]]:
    """The (particle tag, verb stem) pairs ``keyword`` takes in ``texts``: a word that is the keyword
    and its particle (``FRAMED``) right before a verb other than ``BARE_VERBS``."""
    found = set()
    for text, tokens in zip(texts, ktext._get_kiwi().tokenize(texts) if texts else []):
        for k, (noun, particle, verb) in enumerate(zip(tokens, tokens[1:], tokens[2:])):
            if noun.form == keyword and noun.tag.startswith("NN") and particle.tag in FRAMED \
                    and verb.tag.startswith(("VV", "VA")) and verb.form not in BARE_VERBS \
                    and (noun.start == 0 or not text[noun.start - 1].isalnum()) \
                    and not _compound(text, tokens, k + 2):
                found.add((particle.tag, verb.form))
    return found


def _compound(text: str, tokens, k: int) -> bool:
    """Whether the verb ``tokens[k]`` opens a compound within its word (떠받았다 is 뜨 + 어 + 받,
    잡아갔다 is 잡 + 아 + 가): its stem alone says another thing (눈을 뜨다 is not 떠받다)."""
    ending, then = (tokens[k + 1], tokens[k + 2]) if k + 2 < len(tokens) else (None, None)
    return ending is not None and ending.tag == "EC" and then.tag.startswith(("VV", "VX")) \
        and not any(c.isspace() for c in text[ending.start + ending.len: then.start])


def _ending(entry: Entry, tokens) -> tuple[tuple[str, str], tuple[int, str]] | None:
    """``entry``'s (particle tag, verb stem) and (word index, noun), where its last two words
    are a common noun nothing qualifies with a particle alone (``FRAMED``) and a verb (or
    생각하다, read as 생각 + 하); None where they are not."""
    if not entry.usable:
        return None
    words, starts, position = entry.text.split(), [], 0
    for word in words:
        position = entry.text.index(word, position)
        starts.append(position)
        position += len(word)
    named = {index for index, _ in entry.names}
    for k, (before, noun, particle, verb) in enumerate(zip([None, *tokens], tokens, tokens[1:], tokens[2:])):
        if before is not None and before.tag.startswith(QUALIFYING):
            continue
        if noun.tag != "NNG" or particle.tag not in FRAMED or noun.start not in starts \
                or not (verb.tag.startswith(("VV", "VA")) or verb.form in SLOTS.get(particle.tag, ())) \
                or _compound(entry.text, tokens, k + 2):
            continue
        index = starts.index(noun.start)
        if index not in named and index + 2 == len(starts) and starts[index + 1] == verb.start \
                and words[index] == noun.form + particle.form and verb.form not in BARE_VERBS:
            return (particle.tag, verb.form), (index, noun.form)
    return None
