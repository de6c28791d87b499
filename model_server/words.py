"""Word by word: which words a row may finish and start with its next token. Torch-free.

A token's text, cut at its boundaries (spaces, punctuation), is a list of parts: the first
continues the word the row is writing, the last starts the next word, and those between are
whole words ("다.\n그" finishes a word with 다 and starts one with 그). A row's ``WordState``
says what word it is writing and which rule that word answers to: the lexicon's words, or,
when the crowd's keyword must come now, the keyword's own forms (see ``josa``). ``walk``
applies one token to a state, or refuses it.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from model_server.josa import keyword_words, predicate_words
from model_server.lexicon import BOUNDARY, COMMA, Layer, Lexicon, holds


SENTENCE_BREAK = set(".!?…\n")
PLAIN_KEYWORD = re.compile(r"[\w ]+")  # a keyword of words and spaces only (not QX🙂) is written word by word  # after one of these, the next word opens a sentence


@dataclass(frozen=True)
class TokenWords:
    parts: tuple[str, ...]         # NFD
    seps: tuple[str, ...]          # the boundary between each two parts
    punctuation: tuple[bool, ...]  # for each boundary: more than spaces
    breaks: tuple[bool, ...]       # for each boundary: it ends a sentence or a line
    marks: tuple[str, ...]         # for each boundary: the punctuation right after the word before, or ""

    @classmethod
    def of(cls, piece: str) -> "TokenWords":
        nfd = unicodedata.normalize("NFD", piece)
        seps = tuple(BOUNDARY.findall(nfd))
        return cls(tuple(BOUNDARY.split(nfd)), seps, tuple(not sep.isspace() for sep in seps),
                   tuple(bool(SENTENCE_BREAK & set(sep)) for sep in seps),
                   tuple("" if sep[0].isspace() else sep[0] for sep in seps))


class KeywordWords:
    """The keyword as the words a row must write: each word as it is, the last one alone or
    with a particle that fits it (편지 -> 편지를, 편지가, 편지에서, ...; 작은 배 -> 작은, then 배가, ...)."""

    def __init__(self, keyword: str):
        *first, last = keyword.split()
        # The last word with a particle, not bare: left bare, the starter wrote 편지 않았다 and
        # 편지, 그는 far more often than 편지 한 장. Nor as a predicate (편지였다, 편지야): required
        # that way, it was tacked on to end a sentence (대신들을 불빛이었다., 기차야!); a row may
        # still write such a form of its own accord.
        forms = keyword_words(last) - {last} - predicate_words(last) or {last}
        self.steps = [Layer.of_forms([w]) for w in first] + [Layer.of_forms(forms)]
        self.single = unicodedata.normalize("NFD", keyword) if not first else None
        # a keyword that takes no particle (a number, a Latin name) may be followed by punctuation
        self.before_punctuation = frozenset(unicodedata.normalize("NFD", w) for w in forms) if forms == {last} \
            else frozenset()

    def after(self, step: int) -> int | None:
        return step + 1 if step + 1 < len(self.steps) else None


@dataclass(frozen=True)
class WordState:
    word: str = ""              # the word being written, NFD, as far as it has come
    opening: bool = False       # ... and it opens a sentence
    rule: int | None = None     # the keyword word it must be (an index into the steps), or None: any word
    due: int | None = None      # the keyword word the next word started must be, or None
    sep: str = ""               # the spaces and punctuation written since the last word
    next_opens: bool = True     # the next word started opens a sentence (a row starts after one)
    previous: str | None = None  # the last word finished, while only spaces have followed it
    wrote_keyword: bool = False


def walk(state: WordState, token: TokenWords, keyword: KeywordWords | None, lexicon: Lexicon | None,
         check: bool = True) -> WordState | None:
    """The state after ``token``, or None when it writes what is not allowed: a word outside
    the lexicon (finished, or one that can no longer become a word; for a sentence's first
    word, one that never opened a sentence), punctuation the lexicon never saw after a word or
    between words (신고를 . 하고,. 다시-하고), a keyword word that is not one of its forms, or
    punctuation where the keyword must come next."""
    word, opening, rule, due, sep = state.word, state.opening, state.rule, state.due, state.sep
    next_opens, previous, wrote = state.next_opens, state.previous, state.wrote_keyword
    after = previous  # the word the one being written follows
    for i, part in enumerate(token.parts):
        if i > 0:
            if word:
                if check and not _allowed(word, opening, after, rule, keyword, lexicon, finished=True):
                    return None
                if check and rule is None and lexicon is not None and token.marks[i - 1] \
                        and not lexicon.may_mark(word, token.marks[i - 1]):
                    return None  # a full stop after 이천오백, a comma where no novel put one
                if check and rule is not None and token.marks[i - 1] and word not in keyword.before_punctuation:
                    return None  # 울타리와, 편지를.
                if rule is not None and keyword.after(rule) is None:
                    wrote = True
                elif keyword is not None and keyword.single and keyword.single in word:
                    wrote = True
                next_opens, previous, sep = False, word, ""
                if check and rule is None and lexicon is not None and not token.punctuation[i - 1] \
                        and not lexicon.next_chars("", False, word):
                    return None  # a space after a word that only ever took punctuation (있습니까 )
            sep += token.seps[i - 1]
            if check and lexicon is not None and not lexicon.separator(sep, finished=False):
                return None
            if check and due is not None and token.punctuation[i - 1]:
                return None
            next_opens = next_opens or token.breaks[i - 1]
            if token.punctuation[i - 1]:  # after a comma, a word that followed one; else any word
                previous = COMMA if sep.strip() == COMMA else None
            word, opening, rule = "", False, None
        if part and not word:
            if check and lexicon is not None and not lexicon.separator(sep, finished=True):
                return None
            rule, due = due, (keyword.after(due) if due is not None else None)
            opening, next_opens, after, sep = next_opens, False, previous, ""
        word += part
    if word and check and not _allowed(word, opening, after, rule, keyword, lexicon, finished=False):
        return None
    return WordState(word, opening, rule, due, sep, next_opens, previous, wrote)


def _allowed(word: str, opening: bool, after: str | None, rule: int | None, keyword: KeywordWords | None,
             lexicon: Lexicon | None, finished: bool) -> bool:
    if rule is not None:
        return holds(keyword.steps[rule].words, word, finished)
    if lexicon is None:
        return True
    return lexicon.allows(word, finished, opening, after)
