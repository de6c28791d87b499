"""Whether a sentence of another novel speaks in the story's voice.

Read blind, the bank's sentences most often failed as a continuation by belonging to another
story: an "I" narrating in a story told of "him" (or a "he" in one told by "I" that never said it),
a narrator who suddenly says 합니다 or 했소, a 문 서방
or 김 첨지 nobody had met, a 소년 or a 왕자 the scene never had (``people``). A sentence's
narration (what lies outside its quotes) is checked against the story's recent narration; what
people say inside quotes may be anything but a person the story has not met.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

from model_server import text as ktext
from model_server.people import people_in

QUOTED = re.compile(r"[\"“][^\"”]*[\"”]|['‘][^'’]*['’]|「[^」]*」|『[^』]*』")
# 나가, 나와 and 나서 are as often the verb 나다 as "I" (내가 is "I"), and 저 as often "that"
FIRST_PERSON = re.compile(r"(?:^|\s)(?:나(?:는|를|의|도|에게|한테|만)|내가?|우리(?:는|가|를|의|도|와|에게|한테|만)?)"
                          r"(?=\s|[,.!?…]|$)")
# 그 as someone (그는, 그의, 그에게), not as "that" (그 사람, 그때, 그러나)
THIRD_PERSON = re.compile(r"(?:^|\s)그(?:는|가|의|를|에게|한테|도|만|와|하고)(?=\s|[,.!?…]|$)")
POLITE = re.compile(r"(?:니다|니까|세요|어요|아요|지요|에요)[.!?…]*\s*$")
SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진나엄채원천방공현함변염여추도석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예봉경사부"
TITLES = ("서방", "첨지", "영감", "생원", "참봉", "주사", "진사", "선생", "노인", "씨", "부인", "마님", "서기", "교장")
PARTICLES = ("이", "가", "은", "는", "을", "를", "의", "에게", "께", "도", "과", "와", "하고", "만", "님", "댁", "네",
             "한테", "께서", "더러", "에게서", "한테서", "으로", "로", "이다", "이었다", "이랑", "랑", "처럼", "보다",
             "까지", "조차", "마저", "이나", "나")
# How a narrator of 하오체 (났소, 가오, 보우, 왔구려) or of the old storytellers (고하였더라, 이니라) ends a
# sentence: Kiwi's last ending (EF, or EC where it reads 났소's 소 so)
OLD_STYLE = frozenset({"소", "오", "우", "구려", "더라", "니라", "느니라", "노라", "도다", "로다"})
TITLED = re.compile(rf"(?<![가-힣])([{SURNAMES}]) ?({'|'.join(TITLES)})(?=$|[^가-힣]|(?:{'|'.join(PARTICLES)})(?![가-힣]))")


@dataclass(frozen=True)
class Voice:
    first_person: bool       # the narrator says 나 (or 내가, 우리)
    third_person: bool       # ... or 그 for someone (그는, 그의)
    polite: bool             # the narration ends its sentences in 합니다/해요
    old_style: bool          # ... or some in 하오체 or the old storytellers' endings (``OLD_STYLE``)
    titled: frozenset[str]   # the surname-and-title people the story has (송 서방), spaces taken out
    people: frozenset[str]   # the people it names by a noun for one (소년, 어머니: people.GROUPS)


def narration(sentence: str) -> str:
    """What ``sentence`` tells outside its quotes; of a piece of a quote cut by the sentence
    splitter ("오늘은 변통이 있어야겠습니다. / 글쎄요." 하고), only the side outside it."""
    text = QUOTED.sub(" ", unicodedata.normalize("NFC", sentence))
    if text.count('"') % 2:
        text = "" if text.lstrip().startswith('"') else text.rpartition('"')[2]
    return text.strip()


@lru_cache(maxsize=4096)
def last_morpheme(told: str):
    """The last morpheme of narration ``told`` that is not a mark (a Kiwi token), or None."""
    tokens = [t for t in ktext._get_kiwi().tokenize(told) if not t.tag.startswith("S")]
    return tokens[-1] if tokens else None


def old_style(told: str) -> bool:
    """Whether narration ``told`` ends as ``OLD_STYLE`` has it."""
    last = last_morpheme(told)
    return last is not None and last.tag in ("EF", "EC") and last.form in OLD_STYLE


def titled_people(text: str) -> set[str]:
    return {surname + title for surname, title in TITLED.findall(unicodedata.normalize("NFC", text))}


def voice_of(sentences: list[str], named: Iterable[str] = ()) -> Voice:
    """The voice of a story's recent ``sentences``; the words of ``named`` (the crowd's keyword,
    the names of the story bible's notes) count as people it has met."""
    told = [narration(s) for s in sentences]
    told = [t for t in told if t]
    first = sum(bool(FIRST_PERSON.search(t)) for t in told)
    polite = sum(bool(POLITE.search(t)) for t in told)
    return Voice(first_person=first > 0, third_person=any(THIRD_PERSON.search(t) for t in told),
                 polite=2 * polite > len(told) > 0,
                 old_style=any(old_style(t) for t in told),
                 titled=frozenset(p for s in sentences for p in titled_people(s)),
                 people=people_in("\n".join([*sentences, *named])))


def speaks_in(sentence: str, voice: Voice) -> bool:
    """Whether ``sentence`` may follow a story of ``voice``: its narration says "I" only where the
    story's narrator does, and where the narrator says "I", says 그 for someone only where the
    narrator has (read blind, 그는 in a story told by 나 read as the narrator turned into someone
    else), says 합니다 (or 했소, 하였더라) only where the story's does, and names no one by surname
    and title, nor by a noun for a person (소년, 순사), whom the story has not named."""
    told = narration(sentence)
    if told and not voice.first_person and FIRST_PERSON.search(told):
        return False
    if told and voice.first_person and not voice.third_person and THIRD_PERSON.search(told):
        return False
    if told and not voice.polite and POLITE.search(told):
        return False
    if told and not voice.old_style and old_style(told):
        return False
    return titled_people(sentence) <= voice.titled and people_in(sentence) <= voice.people
