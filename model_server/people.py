"""The common nouns a Korean reader takes for a person: 소년, 어머니, 순사.

Read blind, a sentence of another novel failed as a continuation when it brought in people the
scene did not have (뽀이들 in a newsroom, a 순사 bursting in, an old 주지 coughing). Among the
bank's sentences offered for held-out scenes there were many: "소년은 비로소 빙긋 웃었다." beside
a man, his wife and their baby, a 왕자, a 벙어리, a 학생 called to the dormitory office at a
chemist's counter. The renaming (``retrieval``) gives a novel's own people the story's names,
but these nouns are every novel's, so they stay as written. The list is written by hand, as a
reader knows them; Kiwi's embedding puts 마음 and 얼굴 as near to 사람 as 소년 is, and the
particles only people take (에게, 께서) are too rare in half a million characters to find them.
Nouns that are as often something else (중 "during", 종 "bell", 장사 "trade") are left out, and
so are the ones any scene may have (사람, 남, 누구).

Each line names one person, the words for them side by side: a story that has 어린애 has met the
아이 of another novel.
"""
from __future__ import annotations

import unicodedata
from functools import lru_cache

from model_server import text as ktext

GROUPS = """
아이 애 어린애 아기 애기 어린아이 꼬마 계집애 사내아이 어린이
소년
소녀
처녀 처자 아가씨
총각
청년 젊은이
노인 늙은이 노파 할멈
남자 사내 사나이
신사
여자 여인 계집 여편네 아낙 아낙네
어머니 어머님 엄마 어미 모친
아버지 아버님 아빠 아비 부친
할머니 할미 조모
할아버지 할아비 조부
부모 양친
아들 자식
딸
형님 형
오빠 오라비 오라버니
누나 누님 누이
언니
동생 아우
남편 서방님 지아비
아내 마누라 부인
색시 신부 새색시 새댁
신랑 새서방 새신랑
며느리
시어머니
시아버지
장인
장모
사위
손자 손녀
조카
삼촌 숙부
아저씨
아주머니 아줌마
마님 마나님 노마님
아씨
도련님
영감 영감님
대감 나리
주인
하인 머슴 하녀 하인배 종놈
기생
왕 임금 부왕
왕자
공주
왕비 왕후
신하
선생 선생님 교사
학생
교장
의사
간호부 간호사
순사 순경
형사
기자
사장
손님
친구 동무
애인 연인
장사꾼 상인
농부 농군 농사꾼
어부
사공 뱃사공
목수
포수
스님 주지 중놈
목사
거지
도둑 도적 강도 도적놈
벙어리
소경 장님
건달
군인 병정 병사
일꾼 노동자 직공
운전사 운전수
차장
유모
형제
이웃
"""

PERSON = {word: line for line in GROUPS.strip().splitlines() for word in line.split()}


@lru_cache(maxsize=4096)
def people_in(text: str) -> frozenset[str]:
    """The people ``text`` names by such a noun, each as its line of ``GROUPS``."""
    tokens = ktext._get_kiwi().tokenize(unicodedata.normalize("NFC", text))
    found = set()
    for previous, token, after in zip([None, *tokens], tokens, [*tokens[1:], None]):
        if token.tag not in ("NNG", "NNP"):  # Kiwi reads 아씨 and 나리 as names
            continue
        # ... and 손님 as 손 + 님, 장사꾼 as 장사 + 꾼: the suffix is part of the word; so is the 새 of
        # 새서방 and 새색시, a determiner to Kiwi (새 + 서방), written as one word with the noun
        whole = token.form + after.form if after is not None and after.tag == "XSN" else None
        if previous is not None and previous.form == "새" and previous.tag == "MM" \
                and previous.start + previous.len == token.start:
            whole = "새" + token.form
        word = whole if whole in PERSON else token.form
        if word in PERSON:
            found.add(PERSON[word])
    return frozenset(found)
