"""The mood (분위기) a passage reads in, from a small Korean emotion lexicon. Torch-free.

A proposal may ask for one of MOODS; generation prefers candidates this tagger reads in it, and
a story adapter learns it in its control line from training passages this tagger labels. The
lexicon was written by hand for this project: words a Korean reader takes as signs of each
mood, as Kiwi lemmatises them (울었다 → 울, 고요하다 → 고요, 화가 나다 → 화 + 나). A passage's
mood is the one whose words it holds most (each word counted once per sentence); none when it
holds none, or when two moods tie. ``bench/mood_bench.py`` measures it against a reader's
labels of corpus passages.
"""
from __future__ import annotations

import unicodedata
from collections import Counter

from model_server import text as ktext

MOODS = ("기쁨", "슬픔", "분노", "두려움", "설렘", "평온", "긴장")

# Lemmas (one Kiwi token, or two in a row joined by a space) that speak of each mood.
LEXICON: dict[str, tuple[str, ...]] = {
    "기쁨": ("기쁘", "기뻐하", "기쁨", "즐겁", "즐거워하", "즐거움", "웃", "웃음", "행복", "반갑", "반가워하", "흐뭇",
           "흡족", "유쾌", "신나", "좋아하", "환희", "만족", "껄껄", "싱글벙글", "방긋", "빙그레", "생글생글", "벙글",
           "고맙", "다행", "경사", "기꺼이", "환하", "웃음소리", "춤추", "축하"),
    "슬픔": ("슬프", "슬퍼하", "슬픔", "울", "울음", "눈물", "서럽", "서러워하", "설움", "서글프", "애통", "비통", "구슬프",
           "한숨", "그립", "그리워하", "그리움", "외롭", "외로움", "쓸쓸", "처량", "불쌍", "가엾", "측은", "애처롭", "비참",
           "흐느끼", "통곡", "눈시울", "애달프", "한탄", "탄식", "가련", "서운", "섭섭", "울먹이", "애끓", "비애", "상심",
           "애도", "이별"),
    "분노": ("분노", "노하", "성나", "화 나", "화 내", "분하", "괘씸", "노기", "격분", "호령", "꾸짖", "고함", "소리치",
           "지랄", "앙심", "원망", "미워하", "밉", "증오", "핏대", "씩씩거리", "발끈", "버럭", "울화", "야단", "분통",
           "노여움", "노엽", "욕설", "욕하", "이놈", "이년", "망하", "악쓰", "으르렁", "눈 부라리", "삿대질", "치밀",
           "분개", "성내", "골내", "약 오르"),
    "두려움": ("무섭", "무서워하", "무서움", "두렵", "두려워하", "두려움", "겁", "겁나", "겁내", "공포", "소름", "덜덜",
             "벌벌", "오싹", "섬뜩", "으스스", "질리", "움츠리", "기겁", "무시무시", "끔찍", "악마", "귀신", "유령",
             "몸서리", "떨", "부들부들", "간담", "혼비백산", "차마", "겁먹", "오금"),
    "설렘": ("설레", "설렘", "두근거리", "두근두근", "콩닥", "사랑", "사랑하", "수줍", "붉히", "연정", "연모", "애정",
           "감격", "황홀", "첫사랑", "입맞추", "키스", "가슴 뛰", "얼굴 붉", "벅차", "들뜨", "설레이",
           "부끄러워하", "안기"),
    "평온": ("고요", "잔잔", "평화", "평화롭", "편안", "편안히", "편하", "한가", "한가롭", "조용", "조용히", "포근", "쉬",
           "휴식", "느긋", "한적", "아늑", "평온", "평안", "안심", "잠들", "산들산들", "솔솔", "햇볕", "따사롭", "나른",
           "한가히", "고즈넉", "느릿느릿", "한가로이"),
    "긴장": ("긴장", "숨 죽이", "조마조마", "초조", "불안", "졸이", "식은땀", "마른침", "침 삼키", "노려보",
           "긴박", "위태", "위험", "다급", "급하", "허둥지둥", "허겁지겁", "수상", "의심", "엿보", "몰래", "답답",
           "깜짝", "놀라", "떨리", "불길", "조마증", "숨 막히", "머뭇거리", "망설이", "살기", "쫓기", "두리번거리"),
}

CONTENT_TAGS = ("NN", "VV", "VA", "XR", "MAG", "IC")
_WORDS = {word: mood for mood, words in LEXICON.items() for word in words}


def lemmas(sentence: str) -> list[str]:
    """The sentence's content words as Kiwi lemmatises them, and each pair in a row ("화 나")."""
    forms = ktext.lemmas(sentence, CONTENT_TAGS)
    return forms + [f"{a} {b}" for a, b in zip(forms, forms[1:])]


def mood_scores(text: str) -> Counter:
    """How many of each mood's words ``text`` holds, each counted once per sentence."""
    scores = Counter()
    for sentence in ktext.sentences(unicodedata.normalize("NFC", text)):
        for word in set(lemmas(sentence)):
            if word in _WORDS:
                scores[_WORDS[word]] += 1
    return scores


def mood_of(text: str) -> str | None:
    """The mood ``text`` reads in, or None (no mood's words, or two moods as strong)."""
    ranked = mood_scores(text).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]
