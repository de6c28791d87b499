"""Which words belong to one novel: its people and places, that no other story may borrow.

A starter that read forty novels knows forty casts. Left free it wrote 형철이, 영애 and 을밀대
into stories that never had them, and readers took that for nonsense at once. A word is a
novel's own when its noun is a proper noun (Kiwi reads it so in most places) found in at most
two of the texts, or any noun found in a single text and often there (a name Kiwi misreads as
a common noun: 점순이, 일복), or nearly only there where it is written as a person (문호에게, once
in another novel as "great writer"). Generation's lexicon leaves such words out; a story's own text
puts its own names back (``lexicon.words_of``).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

from model_server.josa import final_consonant
from model_server.text import _get_kiwi
from model_server.voice import TITLES

NOUNS = ("NNG", "NNP")
PIECES = ("J", "E", "XS", "VCP")   # morphemes that only follow another: a word opening with one is a stray piece
PROPER_MAX_TEXTS = 2        # a proper noun in at most this many texts is theirs
OWN_MIN_COUNT = 10          # a common noun this frequent in one text and absent from all others
OWN_SHARE = 0.9             # ... or, for one written as a person and never read as a name, this share of its uses
# What follows a person's name, not a thing's: to, by, an honorific subject, 씨, a call.
PERSONAL = ("에게", "한테", "께서", "더러", "씨", "아", "야")
# A name ending in a consonant takes 이 before its particle (순영이가, 덕만이는), which no common noun
# does: Kiwi splits many such names (순영 is 순 "pure" + 영 to it), and one written so this often in a
# text, nearly only there, is one of its people
CALLED_WITH_I = re.compile(r"^([가-힣]{2,3})이(?:가|는|도|를|의|에게|와|하고|야|랑|만)$")
I_NAMED_MIN = 5
# ... and someone is named more than once: what Kiwi read as a name once (단열밤 "a short
# night", 미국, 지루함) and renamed to a story's person read as nonsense (유월의 춘수가 벌써 새었다)
PERSON_MIN_USES = 2
EOJEOL = re.compile(r"\S+")
EDGES = re.compile(r"^[\W_]+|[\W_]+$")


def own_nouns(texts: list[str]) -> set[str]:
    """The nouns (NFC) that belong to one or two of ``texts``, by the rules above. A noun is the
    run of nouns that opens a word: Kiwi reads many names as two one-syllable nouns (형 철)."""
    return own_people(texts)[0]


def own_people(texts: list[str]) -> tuple[set[str], set[str]]:
    """``own_nouns(texts)``, and those of them that name someone: read as a proper noun at
    least once, or written as one speaks to or of a person (일복이에게, 금례야, 주사께서). Such a
    noun is a novel's own though another text uses it once or twice: read blind, 문호 (a
    protagonist Kiwi reads as the common noun "great writer", once in another novel) came into
    stories that never had him. A title (진사, 서방) is no one's name. So is a name written with
    the 이 only names take (순영이가) often in one text and nearly only there, however Kiwi reads it.
    A noun written fewer than ``PERSON_MIN_USES`` times is no one (a proper noun of it is a
    stranger: ``retrieval.Entry.strangers``).
    The rest are things and places one novel talks of often (벤치, 농장, 유치장): renamed to a
    story's people they read as nonsense (차차 춘수가 되고자)."""
    in_texts: Counter = Counter()
    counts: Counter = Counter()
    most: Counter = Counter()        # its uses in the one text that uses it most
    as_proper: Counter = Counter()
    as_person: Counter = Counter()
    with_i: Counter = Counter()      # ... and the same of the names written with 이 (``CALLED_WITH_I``)
    most_with_i: Counter = Counter()
    for text in texts:
        here: Counter = Counter()
        here_with_i: Counter = Counter()
        for word, noun, proper, _first in eojeols(text):
            if len(noun) > 1:
                here[noun] += 1
                as_proper[noun] += proper
                as_person[noun] += word[len(noun):].startswith(PERSONAL)
            if (called := CALLED_WITH_I.match(word)) and final_consonant(called.group(1)[-1]):
                here_with_i[called.group(1)] += 1
        in_texts.update(here.keys())
        counts.update(here)
        with_i.update(here_with_i)
        most |= here  # the larger count of each
        most_with_i |= here_with_i
    personal = {noun for noun in counts if as_proper[noun] or as_person[noun]}
    owned = {noun for noun, found in in_texts.items()
             if (2 * as_proper[noun] > counts[noun] and found <= PROPER_MAX_TEXTS)
             or (len(texts) > 2 and most[noun] >= OWN_MIN_COUNT
                 and (found == 1 or (as_person[noun] and not as_proper[noun] and noun not in TITLES
                                     and most[noun] >= OWN_SHARE * counts[noun])))}
    if len(texts) > 2:
        owned |= {name for name, n in most_with_i.items() if n >= I_NAMED_MIN and n >= OWN_SHARE * with_i[name]}
    return owned, {noun for noun in owned & (personal | set(with_i)) if counts[noun] + with_i[noun] >= PERSON_MIN_USES}


def words_to_leave_out(texts: list[str]) -> set[str]:
    """The words (eojeol, NFD, punctuation stripped) of ``texts`` that no other story should
    write: those that open with a noun one of the texts owns (점순이는, 형철의), and stray
    pieces of other words, written apart by a typo or a quote (라고, 런), whose first morpheme
    is a particle, an ending or a suffix."""
    nouns = own_nouns(texts)
    return {unicodedata.normalize("NFD", word) for text in texts for word, noun, _proper, first in eojeols(text)
            if noun in nouns or first.startswith(PIECES)}


def stray_pieces(text: str) -> set[str]:
    """The stray pieces of ``text`` alone (NFD): a story's own names stay its own to write."""
    return {unicodedata.normalize("NFD", word) for word, _noun, _proper, first in eojeols(text)
            if first.startswith(PIECES)}


def eojeols(text: str):
    """For each word (eojeol, punctuation stripped) of ``text``: the word, the run of nouns it
    opens with (or ""), whether one of them is a proper noun, and its first morpheme's tag."""
    lines = _lines(text)
    for line, tokens in zip(lines, _get_kiwi().tokenize(lines)):
        spans = []
        for match in EOJEOL.finditer(line):
            word = EDGES.sub("", match.group())
            if word:
                start = match.start() + match.group().find(word)
                spans.append((start, start + len(word), word))
        index = 0
        for start, end, word in spans:
            while index < len(tokens) and tokens[index].start < start:
                index += 1
            inside = []
            while index < len(tokens) and tokens[index].start < end:
                inside.append(tokens[index])
                index += 1
            if not inside or inside[0].start != start:
                continue
            run = []
            for token in inside:
                if token.tag not in NOUNS or (run and token.start != run[-1].start + run[-1].len):
                    break
                run.append(token)
            noun = "".join(t.form for t in run)
            yield word, noun if word.startswith(noun) else "", any(t.tag == "NNP" for t in run), inside[0].tag


def _lines(text: str) -> list[str]:
    return [line for line in unicodedata.normalize("NFC", text).split("\n") if line.strip()] or [""]
