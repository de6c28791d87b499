"""A sentence of another novel must speak in the story's voice to be offered."""
import pytest

from model_server.voice import speaks_in, voice_of

TOLD_OF_HIM = ["그날 밤이 깊어서야 송 서방은 돌아왔다.", '"어디 갔다 오우?" 하고 아내가 물었다.', "가을이 깊었다."]
TOLD_BY_ME = ["나는 지게를 지고 산으로 올라갔다.", "점순이가 뒤에서 나를 불렀다."]


def test_a_story_told_of_him_takes_no_narrator_who_says_i():
    voice = voice_of(TOLD_OF_HIM)
    assert not voice.first_person
    assert not speaks_in("나는 그를 한참 바라보았다.", voice)
    assert not speaks_in("내 가슴에는 고마운 생각이 복받쳐 올랐다.", voice)
    assert speaks_in('"나는 안 가오." 하고 그는 돌아섰다.', voice)  # a person may say "I"
    assert speaks_in("그는 한숨을 쉬었다.", voice)
    assert speaks_in("이 생각 저 생각 하다가 잠이 들었다.", voice)  # 저: that, not I
    assert speaks_in("그는 마루로 나와 문턱에 걸터앉았다.", voice)  # 나와: came out


def test_a_piece_of_a_quote_the_splitter_cut_is_speech_not_narration():
    voice = voice_of(TOLD_OF_HIM)
    assert speaks_in('"오늘은 어떻게 변통이 있어야겠습니다.', voice)
    assert speaks_in('글쎄요." 하고 그는 웃었다.', voice)
    assert not speaks_in('글쎄요." 하고 나는 웃었다.', voice)


def test_a_story_told_by_me_takes_he_only_where_its_narrator_has_said_it():
    """Read blind, 그는 in a story told by 나 read as the narrator turned into someone else."""
    voice = voice_of(TOLD_BY_ME)
    assert voice.first_person and not voice.third_person
    assert speaks_in("나는 한참 바라보았다.", voice)
    assert speaks_in("그 사람은 한숨을 쉬었다.", voice)  # 그: that
    assert speaks_in('"그는 안 와." 하고 점순이가 말했다.', voice)  # someone may say 그
    assert not speaks_in("나는 그를 한참 바라보았다.", voice)
    assert not speaks_in("그는 한숨을 쉬었다.", voice)
    voice = voice_of(TOLD_BY_ME + ["그는 나를 보고 웃었다."])
    assert speaks_in("나는 그를 한참 바라보았다.", voice)
    assert speaks_in("그는 한숨을 쉬었다.", voice)


def test_a_plain_narration_takes_no_polite_one():
    assert not speaks_in("한 사람이 버는 돈으로 이 많은 식구를 먹이기는 힘들었습니다.", voice_of(TOLD_OF_HIM))
    assert speaks_in('"오늘은 늦었는데 미안합니다."', voice_of(TOLD_OF_HIM))
    polite = voice_of(["옛날 어느 마을에 나무꾼이 살았습니다.", "나무꾼은 날마다 산에 갔습니다."])
    assert speaks_in("한 사람이 버는 돈으로 이 많은 식구를 먹이기는 힘들었습니다.", polite)


def test_a_story_told_in_haetda_takes_no_narration_in_haoche_or_the_old_storytellers_endings():
    """Read blind, 한숨소리가 났소 and 신사의 일을 고하였더라 came into a story told in 했다."""
    voice = voice_of(TOLD_OF_HIM)
    assert not voice.old_style
    assert not speaks_in("그 뒤를 이어 후하는 한숨소리가 났소.", voice)
    assert not speaks_in("춘수의 집을 찾아가 신사의 일을 고하였더라.", voice)
    assert speaks_in('"나는 안 가오." 하고 그는 돌아섰다.', voice)  # a person may speak so
    assert speaks_in("그의 얼굴에 떠오르는 미소.", voice)         # a noun ends it, not 하오체's 소
    assert speaks_in("그는 모르리라.", voice)
    told_so = voice_of(["그날 밤 송 서방은 돌아왔소.", "가을이 깊었소."])
    assert told_so.old_style and speaks_in("그 뒤를 이어 후하는 한숨소리가 났소.", told_so)


@pytest.mark.parametrize("sentence,fits", [
    ("그날 밤늦게서야 문 서방이 그 집에 찾아왔다.", False),   # someone the story never had
    ("김첨지는 웃었다.", False),
    ("이 문 서방한테 치여난 칠성이다.", False),                # read blind on four sheets: 한테 hid him
    ("송 서방이 다시 찾아왔다.", True),                         # the story's own
    ("그는 이 양반을 보았다.", True),                           # 이 양반 is no one's name
    ("이 씨앗을 뿌렸다.", True),
])
def test_no_one_is_named_by_surname_and_title_whom_the_story_never_named(sentence, fits):
    assert speaks_in(sentence, voice_of(TOLD_OF_HIM)) is fits


@pytest.mark.parametrize("sentence,fits", [
    ("소년은 비로소 빙긋 웃었다.", False),            # read blind: a boy the scene never had
    ("장사는 벌떡 일어나 왕자의 손을 잡아끌었다.", False),
    ('"손님이 오셨는데 미안합니다."', False),          # nor in what someone says
    ("마누라는 아무 대답도 하지 않았다.", True),        # the story's 아내, by another word
    ("송 서방은 사람들 틈에 섞여 걸었다.", True),       # 사람 is anyone
    ("새서방은 그래도 시원치 못하였다.", False),        # read blind: a bridegroom in 송 서방's house
    ("신사는 모자를 벗고 웃었다.", False),
])
def test_no_one_is_named_by_a_noun_for_a_person_whom_the_story_never_had(sentence, fits):
    assert speaks_in(sentence, voice_of(TOLD_OF_HIM)) is fits


def test_the_crowds_keyword_and_the_notes_names_count_as_people_the_story_has():
    assert not speaks_in("어머니는 부엌에서 나왔다.", voice_of(TOLD_OF_HIM))
    assert speaks_in("어머니는 부엌에서 나왔다.", voice_of(TOLD_OF_HIM, ["어머니"]))
