"""The words a keyword may stand in: itself, or itself with a particle (josa) that fits it.

When generation has to write the crowd's keyword itself, the word must end properly: 편지 may
become 편지를, 편지가, 편지였다 or stay 편지, never 편지개를히더니. Which particles fit depends on
the keyword's last syllable (을 after a final consonant, 를 after a vowel; 로 after ㄹ or a
vowel, 으로 after other consonants), so the forms are chosen here, and the model picks among
them while it samples. A keyword that does not end in a Hangul syllable (a name in Latin
letters, a number, an emoji) stands alone.
"""
from __future__ import annotations

import unicodedata

# The common particles and copula forms only: offered dozens, the starter chose the rare
# ones (살길한테서, 하늘한테) as often as the ones a writer would.
AFTER_CONSONANT = ("이", "은", "을", "과", "으로", "이나", "이다", "이었다", "이라고", "이라는", "이야")
AFTER_VOWEL = ("가", "는", "를", "와", "로", "나", "다", "였다", "라고", "라는", "야")
AFTER_ANY = ("의", "에", "에서", "에게", "에는", "도", "만", "까지", "부터", "처럼", "보다")
# Forms that end a sentence or a clause themselves: they may take punctuation; the others
# need a space after them (편지를, never 편지를.)
PREDICATES = ("이다", "이었다", "이야", "다", "였다", "야")
RIEUL = 8  # index of ㄹ among final consonants


def final_consonant(syllable: str) -> int | None:
    """Index of the final consonant of a Hangul syllable (0: none), None for anything else."""
    code = ord(syllable) - 0xAC00
    return code % 28 if 0 <= code < 11172 else None


def particles(keyword: str) -> tuple[str, ...]:
    """The particles that may follow ``keyword`` directly, the empty one included."""
    keyword = unicodedata.normalize("NFC", keyword.strip())
    final = final_consonant(keyword[-1]) if keyword else None
    if final is None:
        return ("",)
    if final == 0:
        fitting = AFTER_VOWEL
    elif final == RIEUL:  # 서울로, not 서울으로
        fitting = tuple(p for p in AFTER_CONSONANT if not p.startswith("으로")) + ("로", "로는", "로도")
    else:
        fitting = AFTER_CONSONANT
    return ("",) + fitting + AFTER_ANY


def keyword_words(keyword: str) -> frozenset[str]:
    """Every form the word holding ``keyword`` may take (NFC, no spaces around)."""
    keyword = unicodedata.normalize("NFC", keyword.strip())
    return frozenset(keyword + p for p in particles(keyword))


def predicate_words(keyword: str) -> frozenset[str]:
    """The forms of ``keyword`` that may stand before punctuation (편지였다. 편지야!)."""
    keyword = unicodedata.normalize("NFC", keyword.strip())
    return frozenset(keyword + p for p in particles(keyword) if p in PREDICATES)
