"""Korean text pipeline shared by the web site, the worker and the trainer.

bytes --decode--> str --normalize--> clean text --sentences/segments/nouns--> pieces

Torch-free on purpose: web processes import this module to validate uploads and to count
sentences. ``sentences()`` is the one judge of "N sentences" in the whole product.
Kiwi (the Korean morphological analyser behind sentences and nouns) is loaded on first
use, once per process, never at import time.
"""
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from model_server._korean_encodings import (
    BinaryFileError,
    DecodedText,
    EmptyTextError,
    TextError,
    UndecodableTextError,
    decode_bytes,
)

__all__ = [
    "TextError", "EmptyTextError", "BinaryFileError", "UndecodableTextError",
    "DecodedText", "decode_bytes", "decode", "normalize", "clean",
    "sentences", "count_sentences", "Segment", "segments", "dialogue_share",
    "nouns", "contains_keyword", "TextStats", "stats",
]


def decode(data: bytes) -> str:
    return decode_bytes(data).text


def clean(data: bytes) -> DecodedText:
    """Decode and normalise an upload, keeping the encoding it came in."""
    decoded = decode_bytes(data)
    return DecodedText(text=normalize(decoded.text), encoding=decoded.encoding)


# --- normalisation ---------------------------------------------------------------------

ZERO_WIDTH = re.compile("[\u200b-\u200d\u2060\ufeff]")
LINE_BREAK = re.compile("\r\n|[\r\x0b\x0c\x85\u2028]")
SPACES = re.compile(r"[^\S\n]+")  # any whitespace but LF: tabs, U+3000, no-break spaces
IDEOGRAPH = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
HANJA_GLOSS = re.compile(f" ?[(（][ ,、，]*[{IDEOGRAPH}][{IDEOGRAPH} ,、，]*[)）]")
BLANK_LINES = re.compile(r"\n{3,}")
CURLY_QUOTES = str.maketrans({
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\uff02": '"',
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\uff07": "'",
})
# Corner brackets mark speech in some texts and book or magazine titles in others
# (『반도공론』의 ...). A span counts as speech when it ends like a sentence or is followed
# by a quoting verb (하고, 라고, ...); titles are left as they are.
CORNER_SPAN = re.compile("[「『]([^「」『』\n]*)[」』]")
SENTENCE_END = tuple(".?!…~")
QUOTING_VERB = re.compile(r"[^\S\n]*(?:하|라고|이라고|라며|이라며)")


def normalize(text: str) -> str:
    """Clean text for storage and training; idempotent. Rules, in the order applied:

    zero-width characters and stray BOMs removed; NFC (macOS sends NFD Hangul); every line
    end becomes LF; runs of spaces, tabs and U+3000 become one space; bracketed hanja
    glosses dropped with the space before them (삼대(三代) -> 삼대, but (웃음) and (1) stay);
    lines lose indentation and trailing spaces; scene-marker lines (starting with #) become
    blank lines, so a scene change is at least a paragraph break; curly quotes and speech
    corner brackets become straight quotes; a paragraph break is exactly one blank line;
    no blank lines at either end.
    """
    text = ZERO_WIDTH.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = LINE_BREAK.sub("\n", text).replace("\u2029", "\n\n")
    text = SPACES.sub(" ", text)
    text = HANJA_GLOSS.sub("", text)
    lines = (line.strip() for line in text.split("\n"))
    text = "\n".join("" if line.startswith("#") else line for line in lines)
    text = _unify_quotes(text)
    return BLANK_LINES.sub("\n\n", text).strip()


def _unify_quotes(text: str) -> str:
    """Straight quotes for curly ones and for speech corner brackets; keeps every offset."""
    text = text.translate(CURLY_QUOTES)

    def straighten(span: re.Match) -> str:
        said = span.group(1)
        if said.rstrip().endswith(SENTENCE_END) or QUOTING_VERB.match(text, span.end()):
            return f'"{said}"'
        return span.group(0)

    return CORNER_SPAN.sub(straighten, text)


# --- sentences ---------------------------------------------------------------------------

KIWI_OPTIONS = dict(
    # The typo and multi-word dictionaries cost much memory and changed no sentence boundary or
    # noun over the whole test corpus; the default dictionary of proper nouns is kept
    # (without it 동래온천 splits into 동래 + 온천).
    load_typo_dict=False,
    load_multi_dict=False,
)
_kiwi = None
_kiwi_lock = threading.Lock()
PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")


def _get_kiwi():
    """The process-wide Kiwi (~1.5 s and ~300 MB to load). Once built it is safe to share
    between threads; only building it needs the lock."""
    global _kiwi
    if _kiwi is None:
        with _kiwi_lock:
            if _kiwi is None:
                from kiwipiepy import Kiwi

                kiwi = Kiwi(**KIWI_OPTIONS)
                kiwi.tokenize("")  # Kiwi finishes loading on first use; do it inside the lock
                _kiwi = kiwi
    return _kiwi


def _analysis_view(text: str) -> str:
    """A copy of ``text`` of the same length that Kiwi and the quote scanner read.

    Quotes are unified because Kiwi splits curly-quoted speech differently from straight-
    quoted speech, and a passage must count the same before and after ``normalize``;
    CR line ends become LF so that paragraph breaks are found in Windows text.
    """
    return _unify_quotes(text.replace("\r\n", " \n").replace("\r", "\n"))


def _paragraphs(view: str):
    """(start, end) of each paragraph, i.e. of each run of text between blank lines."""
    start = 0
    for brk in PARAGRAPH_BREAK.finditer(view):
        yield start, brk.start()
        start = brk.end()
    yield start, len(view)


def sentences(text: str) -> list[str]:
    """Split into sentences, stripped, in order.

    Text is NFC-normalised first; otherwise each sentence is the caller's own text (curly
    quotes are only unified in the copy Kiwi reads, see ``_analysis_view``). A paragraph
    break always ends a sentence. Speech with its quoting tag stays one sentence:
    '"어디 가니?" 하고 그는 웃었다.' is one. Kiwi also ends a sentence at a final ending
    without punctuation ('뽑았다 그리고 갔다.' is two); that is accepted.
    """
    text = unicodedata.normalize("NFC", text)
    view = _analysis_view(text)
    kiwi = _get_kiwi()
    found = []
    for start, end in _paragraphs(view):
        if not view[start:end].strip():
            continue
        spans = [(start + s.start, start + s.end)
                 for s in kiwi.split_into_sents(view[start:end], return_sub_sents=False)]
        for a, b in _mend_quote_boundaries(view, spans):
            piece = text[a:b].strip()
            if piece:
                found.append(piece)
    return found


# A sentence ended outside quotes, then speech opens: a boundary Kiwi sometimes runs over.
END_BEFORE_SPEECH = re.compile(r'[.!?](?=\s+")')


def _mend_quote_boundaries(view: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Kiwi's sentence spans with two of its quote mistakes undone.

    In paragraphs of dialogue Kiwi can end a sentence with the opening quote of the next one
    ('목소리다.\n"'), or run a narration sentence on into the speech after it ('불었다.\n"어디
    가오?" 하고 물었다.' as one). An opening quote (one after a space or line break) at the end
    of a sentence moves to the sentence it opens, and a sentence is cut after an end mark that
    is outside quotes and followed by speech.
    """
    mended: list[tuple[int, int]] = []
    moved_quote = None  # where the quote taken off the previous sentence stands
    for i, (a, b) in enumerate(spans):
        if moved_quote is not None:
            a, moved_quote = moved_quote, None
        last = a + len(view[a:b].rstrip())
        if (i + 1 < len(spans) and last - a >= 2 and view[last - 1] == '"' and view[last - 2].isspace()
                and view[a:last - 1].strip()):
            b = moved_quote = last - 1
        cut = a
        for end_mark in END_BEFORE_SPEECH.finditer(view, a, b):
            if view[a:end_mark.start()].count('"') % 2 == 0:
                mended.append((cut, end_mark.end()))
                cut = end_mark.end()
        mended.append((cut, b))
    return mended


def count_sentences(text: str) -> int:
    return len(sentences(text))


# --- dialogue and narration ------------------------------------------------------------

@dataclass(frozen=True)
class Segment:
    kind: Literal["speech", "narration"]
    text: str


def segments(text: str) -> list[Segment]:
    """Speech (inside double quotes, the quotes left out) and narration, in order.

    Curly quotes and speech corner brackets count as double quotes. Segments never cross a
    paragraph break; a quote still open at the end of its paragraph is speech up to there
    (speech running over several lines is closed before the paragraph ends in Korean fiction,
    so a missing closing quote is the likelier error). Pieces are stripped; empty ones dropped.
    """
    text = unicodedata.normalize("NFC", text)
    view = _analysis_view(text)
    found = []

    def add(kind, start, end):
        piece = text[start:end].strip()
        if piece:
            found.append(Segment(kind, piece))

    for start, end in _paragraphs(view):
        inside, cursor = False, start
        quote = view.find('"', start, end)
        while quote != -1:
            add("speech" if inside else "narration", cursor, quote)
            inside, cursor = not inside, quote + 1
            quote = view.find('"', cursor, end)
        add("speech" if inside else "narration", cursor, end)
    return found


def _non_space_chars(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def dialogue_share(text: str) -> float:
    """Characters inside speech / all non-space characters (quotes count in the latter)."""
    total = _non_space_chars(unicodedata.normalize("NFC", text))
    if total == 0:
        return 0.0
    said = sum(_non_space_chars(s.text) for s in segments(text) if s.kind == "speech")
    return said / total


# --- keywords and statistics -----------------------------------------------------------

NOUN_TAGS = ("NNG", "NNP")


def nouns(text: str, min_chars: int = 1) -> list[str]:
    """Common and proper nouns in order of first appearance, each once."""
    if min_chars < 1:
        raise ValueError(f"min_chars must be at least 1, not {min_chars}")
    found = {}
    for token in _get_kiwi().tokenize(unicodedata.normalize("NFC", text)):
        if token.tag in NOUN_TAGS and len(token.form) >= min_chars:
            found.setdefault(token.form)
    return list(found)


def lemmas(text: str, tags: tuple[str, ...]) -> list[str]:
    """Kiwi's lemmas (울었다 → 울) of the tokens whose tag starts with one of ``tags``, in order."""
    return [t.form for t in _get_kiwi().tokenize(unicodedata.normalize("NFC", text)) if t.tag.startswith(tags)]


def proper_nouns(text: str, min_chars: int = 2) -> Counter:
    """How often each proper noun (Kiwi's NNP) of ``min_chars`` characters or more occurs."""
    return Counter(token.form for token in _get_kiwi().tokenize(unicodedata.normalize("NFC", text))
                   if token.tag == "NNP" and len(token.form) >= min_chars)


def is_proper_noun(word: str) -> bool:
    """Whether Kiwi reads ``word`` on its own as one proper noun (순이, not 정거장)."""
    return _tag_alone(word) == "NNP"


def is_one_noun(word: str) -> bool:
    """Whether Kiwi reads ``word`` on its own as one noun, common or proper (편지, 순이)."""
    return _tag_alone(word) in NOUN_TAGS


@lru_cache(maxsize=4096)  # asked of the same keyword at every place of every candidate of a request
def _tag_alone(word: str) -> str | None:
    """Kiwi's tag for ``word`` read on its own as one morpheme; None where it reads more or none."""
    tokens = _get_kiwi().tokenize(unicodedata.normalize("NFC", word.strip()))
    return tokens[0].tag if len(tokens) == 1 else None


def contains_keyword(text: str, keyword: str) -> bool:
    """Whether the keyword occurs in the text (검객이 contains 검객); any run of whitespace
    matches any other, so a two-word keyword may cross a line end."""
    needle = _squeeze(keyword)
    if not needle:
        raise ValueError("the keyword is empty")
    return needle in _squeeze(text)


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


@dataclass(frozen=True)
class TextStats:
    chars: int  # characters other than whitespace, counted after NFC
    sentences: int
    dialogue_share: float


def stats(text: str) -> TextStats:
    return TextStats(
        chars=_non_space_chars(unicodedata.normalize("NFC", text)),
        sentences=count_sentences(text),
        dialogue_share=dialogue_share(text),
    )
