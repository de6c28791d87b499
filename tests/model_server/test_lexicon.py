"""The lexicon a starter writes from, and the word-by-word rules generation applies with it."""
import unicodedata

from model_server.josa import keyword_words, particles
from model_server.lexicon import COMMA, Layer, Lexicon, load_layer, save_words, story_layer, words_of
from model_server.words import KeywordWords, TokenWords, WordState, walk

NOVEL = "그는 편지를 읽었다.\n그는 한참 동안 말이 없었다.\n\"어디 가니?\"\n하고 물었다. 어머니는, 웃었다."


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def lexicon_of(text: str) -> Lexicon:
    return Lexicon([Layer(words_of(text))])


def write(lexicon: Lexicon, *pieces: str, state: WordState | None = None, keyword: str | None = None):
    """Walk ``pieces`` as tokens; the state after the last, or None at the first refused."""
    state = state or WordState(sep="\n")
    words = KeywordWords(keyword) if keyword else None
    for piece in pieces:
        state = walk(state, TokenWords.of(piece), words, lexicon)
        if state is None:
            return None
    return state


def test_words_openers_pairs_and_punctuation_come_from_the_text():
    found = words_of(NOVEL)
    assert {nfd("편지를"), nfd("없었다"), nfd("어디")} <= found.words
    assert nfd("그는") in found.openers and nfd("어머니는") in found.openers
    assert nfd("편지를") not in found.openers
    assert (nfd("그는"), nfd("편지를")) in found.pairs and (COMMA, nfd("웃었다")) in found.pairs
    assert "." in found.marks[nfd("읽었다")] and "," in found.marks[nfd("어머니는")]


def test_a_quoted_word_inside_a_run_gives_no_fragments():
    found = words_of("그것은 소위 '러브레터'였다.")
    assert nfd("였다") not in found.words and nfd("러브레터") not in found.words


def test_a_speech_tag_after_the_closing_quote_does_not_open_a_sentence():
    assert nfd("라고") not in words_of('"가자." 라고 말했다.').openers


def test_a_saved_lexicon_loads_the_same_and_an_adapter_inherits_its_parent(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "adapter").mkdir()
    save_words(tmp_path / "base", [NOVEL * 30])
    save_words(tmp_path / "adapter", ["그는 편지를 다시 읽었다."], inherit=tmp_path / "base")
    base, adapter = load_layer(tmp_path / "base"), load_layer(tmp_path / "adapter")
    assert base.words == Layer(words_of(NOVEL)).words
    assert nfd("편지를") in adapter.known and nfd("한참") in adapter.known
    assert ". " in base.separators and "\n" not in base.separators
    assert load_layer(tmp_path) is None


def test_a_word_goes_on_only_while_it_can_become_one_the_model_read():
    lexicon = lexicon_of(NOVEL)
    assert write(lexicon, "그", "는", " 편", "지", "를") is not None
    assert write(lexicon, "그", "는", " 편", "지", "개") is None        # 편지개: no such word
    assert write(lexicon, "그", "는", " 편지", " 읽었다") is None     # 편지 was never a word alone


def test_a_sentence_opens_only_with_a_word_that_opened_one():
    lexicon = lexicon_of(NOVEL)
    assert write(lexicon, "그는") is not None
    assert write(lexicon, "편지를") is None
    assert write(lexicon, "그는", " 편지를", " 읽었다", ".\n", "편지를") is None


def test_a_word_follows_one_it_followed_or_one_ending_alike():
    lexicon = lexicon_of(NOVEL)
    assert write(lexicon, "그는", " 한참") is not None
    assert write(lexicon, "그는", " 물었다") is None                  # never after 그는
    assert write(lexicon.with_layer(Layer(words_of("춘수는"))), "춘수는", " 편지를") is not None  # as after 그는


def test_punctuation_stands_where_the_novels_put_it():
    lexicon = lexicon_of(NOVEL * 30)
    assert write(lexicon, "그는", " 편지를", " 읽었다", ".") is not None
    assert write(lexicon, "그는", ",") is None                       # no comma after 그는
    assert write(lexicon, "그는", " 편지를", " 읽었다", " .") is None  # a full stop after a space


def test_a_required_keyword_takes_a_particle_and_nothing_fused():
    lexicon = lexicon_of(NOVEL).with_layer(Layer.of_forms(keyword_words("바다")))
    due = WordState(sep="\n", due=0)
    assert write(lexicon, "바다", "를", state=due, keyword="바다").wrote_keyword is False  # not finished yet
    assert write(lexicon, "바다", "를", " 읽었다", state=due, keyword="바다").wrote_keyword
    assert write(lexicon, "바다", "개", state=due, keyword="바다") is None
    assert write(lexicon, "바다", " 읽었다", state=due, keyword="바다") is None       # bare, then a word
    assert write(lexicon, "그는", state=due, keyword="바다") is None                 # anything but the keyword


def test_particles_follow_the_last_syllable():
    assert {"을", "으로", "이"} <= set(particles("마음")) and "를" not in particles("마음")
    assert {"를", "로", "가"} <= set(particles("바다")) and "을" not in particles("바다")
    assert "로" in particles("서울") and "으로" not in particles("서울")
    assert particles("QX🙂") == ("",)


def test_a_novels_own_names_are_left_out_and_a_story_puts_its_own_back(tmp_path):
    """형철이 of one novel must not walk into another story; a story's own 순이 may."""
    one = "형철이는 편지를 읽었다. 형철이가 웃었다. 그는 밖으로 나갔다.\n" * 6
    other = "순이는 기차를 탔다. 순이가 울었다. 그는 밖으로 나갔다.\n" * 6
    third = "그는 밖으로 나갔다. 바람이 불었다.\n" * 6
    (tmp_path / "base").mkdir()
    save_words(tmp_path / "base", [one, other, third])
    base = load_layer(tmp_path / "base")
    assert nfd("형철이는") not in base.known and nfd("순이는") not in base.known
    assert nfd("편지를") in base.known and nfd("나갔다") in base.known
    with_story = Lexicon([base]).with_layer(Layer(words_of("순이는 정거장에 섰다.")))
    assert with_story.allows(nfd("순이는"), finished=True, opening=True)
    assert not with_story.allows(nfd("형철이는"), finished=True, opening=True)


def test_a_storys_stray_pieces_are_not_its_words_but_its_names_are():
    """동백꽃 writes "올랐다, 라고 하는 것은": the story may lend its 점순이, not a 라고 on its own."""
    story = story_layer('점순이는 약이 오를 대로 다 올랐다, 라고 하는 것은 암탉이 풍기는 서슬이었다.')
    assert nfd("점순이는") in story.known and nfd("올랐다") in story.known
    assert nfd("라고") not in story.known
