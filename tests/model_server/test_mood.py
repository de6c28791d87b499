"""The mood tagger (model_server.mood): the words of each mood as Kiwi lemmatises them, counted
once per sentence; no mood when a passage holds none, or when two are as strong."""
import pytest

from model_server.mood import LEXICON, MOODS, mood_of, mood_scores


@pytest.mark.parametrize("text, mood", [
    ("순이는 편지를 읽다가 그만 울었다. 눈물이 뺨을 타고 흘렀다.", "슬픔"),
    ("아이들은 손뼉을 치며 껄껄 웃었다. 모두 기뻐하였다.", "기쁨"),
    ("그는 화가 나서 주먹으로 책상을 쳤다. 괘씸한 놈 같으니!", "분노"),
    ("어둠 속에서 무엇인가 움직였다. 그는 무서워서 벌벌 떨었다.", "두려움"),
    ("그녀의 손이 닿자 가슴이 두근거렸다. 얼굴을 붉히며 고개를 숙였다.", "설렘"),
    ("바람은 잔잔하고 호수는 고요하였다. 노인은 편안히 잠들었다.", "평온"),
    ("발소리가 가까워지자 그는 숨을 죽였다. 식은땀이 등을 타고 흘렀다.", "긴장"),
])
def test_a_passage_reads_in_the_mood_its_words_speak_of(text, mood):
    assert mood_of(text) == mood


def test_no_mood_without_its_words_or_when_two_are_as_strong():
    assert mood_of("그는 아침에 시장에 가서 무를 두 개 샀다.") is None
    assert mood_of("그는 울었다. 그는 웃었다.") is None  # one word of 슬픔, one of 기쁨
    assert mood_of("그는 울었다. 그는 웃었다. 눈물이 났다.") == "슬픔"


def test_a_word_counts_once_per_sentence_and_every_mood_has_words():
    assert mood_scores("울고 또 울었다.")["슬픔"] == 1
    assert mood_scores("울었다. 또 울었다.")["슬픔"] == 2
    assert set(LEXICON) == set(MOODS) and all(len(words) >= 20 for words in LEXICON.values())
