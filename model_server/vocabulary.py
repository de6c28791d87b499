"""What generation needs to know about every token of a tokenizer, computed once per base.

Each token's text (``piece``) decides what it may follow and what it does to the row that
writes it: whether it ends a sentence, opens or closes a quote, may start a line, and which
words it finishes or starts (``words``).
"""
from __future__ import annotations

import re
import unicodedata
from collections import defaultdict

import torch

from model_server.words import TokenWords

SENTENCE_END = re.compile(r"[.!?…]+[\"'”’」』)]*\s*$")
FORBIDDEN = ("[", "]", "이어쓰기")  # the model must not write our control line back
BYTE_TOKEN = re.compile(r"^<0x[0-9A-F]{2}>$")
# What a lexicon-bound row may write besides Hangul: where every word must be one the model
# read, digits, Latin letters, brackets, dashes and single quotes were how its rows escaped.
PLAIN = re.compile(r"[\u1100-\u11ff\uac00-\ud7a3\ua960-\ua97f\ud7b0-\ud7ff\s.,!?…\"]*")

# Hangul letters (conjoining jamo) as a jamo tokenizer writes them: a syllable is L V (T).
JAMO_L = set(range(0x1100, 0x1160)) | set(range(0xA960, 0xA980))
JAMO_V = set(range(0x1160, 0x11A8)) | set(range(0xD7B0, 0xD7C7))
JAMO_T = set(range(0x11A8, 0x1200)) | set(range(0xD7CB, 0xD7FC))
OTHER, LEAD, VOWEL, TAIL = range(4)
# which letter class may follow which: a lead needs a vowel; a vowel or tail never starts a syllable
MAY_FOLLOW = {OTHER: {OTHER, LEAD}, LEAD: {VOWEL}, VOWEL: {OTHER, LEAD, TAIL}, TAIL: {OTHER, LEAD}}


def letter_class(char: str) -> int:
    code = ord(char)
    return LEAD if code in JAMO_L else VOWEL if code in JAMO_V else TAIL if code in JAMO_T else OTHER


def well_formed(piece: str) -> bool:
    return all(letter_class(b) in MAY_FOLLOW[letter_class(a)] for a, b in zip(piece, piece[1:]))


class Vocabulary:
    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        size = len(tokenizer)
        pieces = [tokenizer.decode([i]) for i in range(size)]
        names = tokenizer.convert_ids_to_tokens(list(range(size)))
        self.ends_sentence = torch.tensor([bool(SENTENCE_END.search(p.strip()) and p.strip()) for p in pieces])
        self.may_end = torch.tensor([any(c in p for c in ".!?…\n\"") for p in pieces])
        # never sampled: our control line, special tokens, raw UTF-8 bytes of a byte-fallback
        # vocabulary, and jamo runs that cannot be part of a syllable
        self.banned = torch.tensor([any(f in p for f in FORBIDDEN) or not well_formed(p) for p in pieces])
        self.banned |= torch.tensor([bool(BYTE_TOKEN.match(name or "")) for name in names])
        for token_id in tokenizer.all_special_ids:
            self.banned[token_id] = True
        self.unusual = torch.tensor([not PLAIN.fullmatch(unicodedata.normalize("NFD", p)) for p in pieces])
        self.quote_parity = torch.tensor([p.count('"') % 2 == 1 for p in pieces])
        # A line break splits sentences for the judge, so it may only follow a sentence's end:
        # in the token itself (".\n") or in the token before ("\n" alone).
        heads = [p.split("\n", 1)[0].strip() if "\n" in p else None for p in pieces]
        self.newline_first = torch.tensor([h == "" for h in heads])
        self.banned |= torch.tensor([bool(h) and not SENTENCE_END.search(h) for h in heads])
        self.first_class = [letter_class(p[0]) if p else OTHER for p in pieces]
        self.last_class = [letter_class(p[-1]) if p else None for p in pieces]
        first = torch.tensor(self.first_class)
        # allowed[c]: the tokens that may come after a token ending in letter class c
        self.allowed = torch.stack([torch.isin(first, torch.tensor(sorted(MAY_FOLLOW[c])))
                                    for c in (OTHER, LEAD, VOWEL, TAIL)])
        self.words = [TokenWords.of(p) for p in pieces]
        # Tokens by how their first word goes on, for a lexicon's candidates: the first two
        # letters of the word they continue, or of the word they start after a space, a line
        # or sentence break, or other punctuation; tokens that start no word in their first
        # two parts are always tried.
        continuing, wordless = defaultdict(list), []
        starting = {kind: defaultdict(list) for kind in ("space", "break", "punctuation")}
        for token, words in enumerate(self.words):
            if words.parts[0]:
                continuing[words.parts[0][:2]].append(token)
            elif len(words.parts) > 1 and words.parts[1]:
                kind = "break" if words.breaks[0] else "punctuation" if words.punctuation[0] else "space"
                starting[kind][words.parts[1][:2]].append(token)
            else:
                wordless.append(token)
        self.continuing = {start: torch.tensor(ids) for start, ids in continuing.items()}
        self.starting = {kind: {start: torch.tensor(ids) for start, ids in index.items()}
                         for kind, index in starting.items()}
        self.wordless = torch.tensor(wordless, dtype=torch.long)

    def decode(self, ids: list[int]) -> str:
        # NFC: jamo tokenizers (the starter's) decode to decomposed Hangul
        return unicodedata.normalize("NFC", self.tokenizer.decode(ids, skip_special_tokens=True))
