"""The Korean text pipeline: decoding uploads, normalising, sentences, speech, keywords.

Corpus texts are read from outside the repository through the conftest fixtures; the short
Korean sentences written inline here are made up for these tests.
"""
import random
import re
import subprocess
import sys
import threading
import unicodedata

import pytest

from model_server import text as korean
from model_server.text import (
    BinaryFileError,
    EmptyTextError,
    TextError,
    UndecodableTextError,
)

SAMPLE = '그는 "어디 가니?" 하고 웃었다.\n\n나는 대답하지 않았다.\n'


def without_whitespace(text: str) -> str:
    return re.sub(r"\s", "", text)


@pytest.fixture(scope="module")
def euc_kr_bytes(encodings_dir) -> bytes:
    return (encodings_dir / "dongbaekkkot.euc-kr.txt").read_bytes()


@pytest.fixture(scope="module")
def utf8_bytes(encodings_dir) -> bytes:
    return (encodings_dir / "dongbaekkkot.utf8.txt").read_bytes()


@pytest.fixture(scope="module")
def short_novel(novels_dir) -> str:
    # About 7,000 characters with speech spread over several lines and an unclosed quote.
    return (novels_dir / "36_Presence.txt").read_text(encoding="utf-8")


# --- decoding -----------------------------------------------------------------------------

def test_utf8_is_decoded_and_reported_as_utf8():
    decoded = korean.decode_bytes(SAMPLE.encode("utf-8"))
    assert decoded == korean.DecodedText(text=SAMPLE, encoding="utf-8")
    assert korean.decode(SAMPLE.encode("utf-8")) == SAMPLE


def test_utf8_bom_is_reported_as_utf8_sig_and_stripped():
    decoded = korean.decode_bytes(b"\xef\xbb\xbf" + SAMPLE.encode("utf-8"))
    assert decoded.encoding == "utf-8-sig"
    assert decoded.text == SAMPLE


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_with_a_bom_decodes_in_either_byte_order(codec):
    decoded = korean.decode_bytes(("\ufeff" + SAMPLE).encode(codec))
    assert decoded == korean.DecodedText(text=SAMPLE, encoding="utf-16")


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
def test_utf32_with_a_bom_is_not_mistaken_for_utf16(codec):
    decoded = korean.decode_bytes(("\ufeff" + SAMPLE).encode(codec))
    assert decoded == korean.DecodedText(text=SAMPLE, encoding="utf-32")


@pytest.mark.parametrize("sample", [
    SAMPLE,
    "똠방각하가 쏼라쏼라 떠들었다. 그러나 아무도 듣지 않았다.",  # 똠, 쏼: CP949-only syllables
])
def test_cp949_text_is_decoded_and_reported_as_cp949(sample):
    assert korean.decode_bytes(sample.encode("cp949")) == korean.DecodedText(sample, "cp949")


def test_euc_kr_corpus_file_is_decoded_as_cp949(euc_kr_bytes):
    decoded = korean.decode_bytes(euc_kr_bytes)
    assert decoded.encoding == "cp949"
    assert decoded.text == euc_kr_bytes.decode("euc-kr")
    assert "동백꽃" in decoded.text and "점순" in decoded.text


def test_euc_kr_corpus_file_equals_its_utf8_twin_after_normalisation(euc_kr_bytes, utf8_bytes):
    from_euc_kr = korean.normalize(korean.decode(euc_kr_bytes))
    from_utf8 = korean.normalize(korean.decode(utf8_bytes))
    assert from_euc_kr == from_utf8
    assert from_euc_kr.startswith("동백꽃\n\n김유정\n\n")
    assert "\r" not in from_euc_kr and "\n " not in from_euc_kr


def test_clean_normalises_and_keeps_the_encoding(euc_kr_bytes, utf8_bytes):
    cleaned = korean.clean(euc_kr_bytes)
    assert cleaned.encoding == "cp949"
    assert cleaned.text == korean.normalize(utf8_bytes.decode("utf-8"))


def test_a_last_character_cut_in_half_is_dropped_not_misdetected(euc_kr_bytes):
    cut = euc_kr_bytes[:200]
    with pytest.raises(UnicodeDecodeError):
        cut.decode("cp949")  # byte 199 opens a two-byte character
    decoded = korean.decode_bytes(cut)
    assert decoded.encoding == "cp949"
    assert decoded.text == euc_kr_bytes[:199].decode("cp949")


def test_nfd_hangul_becomes_nfc():
    nfd = unicodedata.normalize("NFD", "한글 소설을 읽었다.")
    assert len(nfd) > len("한글 소설을 읽었다.")
    assert korean.clean(nfd.encode("utf-8")).text == "한글 소설을 읽었다."


@pytest.mark.parametrize("magic, kind", [
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff\xe0", "JPEG"),
    (b"GIF89a", "GIF"),
    (b"%PDF-1.7\n", "PDF"),
    (b"PK\x03\x04", "ZIP"),
])
def test_known_binary_formats_are_refused_by_their_magic_number(magic, kind):
    data = magic + "그런데 본문처럼 보이는 글자".encode("utf-8")
    with pytest.raises(BinaryFileError, match=kind) as refused:
        korean.decode_bytes(data)
    assert refused.value.code == "binary"
    assert refused.value.message.startswith("the file is binary, not text")


def test_random_bytes_are_refused_as_binary():
    with pytest.raises(BinaryFileError):
        korean.decode_bytes(random.Random(7).randbytes(4096))


def test_random_high_bytes_are_refused_as_undecodable():
    # No NUL or control byte, so nothing says "binary", yet no codec turns them into text.
    data = bytes(b | 0x80 for b in random.Random(7).randbytes(4096))
    with pytest.raises(UndecodableTextError) as refused:
        korean.decode_bytes(data)
    assert refused.value.code == "undecodable"
    assert "UTF-8" in str(refused.value) and "CP949" in str(refused.value)


def test_nul_bytes_without_a_bom_are_binary_even_when_they_are_utf16():
    with pytest.raises(BinaryFileError, match="NUL"):
        korean.decode_bytes(SAMPLE.encode("utf-16-le"))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_a_nul_character_after_a_byte_order_mark_is_binary_however_long_the_text(encoding):
    # One NUL in a long text is under the share of control characters that is tolerated, but
    # PostgreSQL cannot store it in a text column at all: it must never get past decoding.
    data = ("가나다라마바사 " * 50 + "\x00" + "끝.").encode(encoding)
    with pytest.raises(BinaryFileError, match="NUL"):
        korean.decode_bytes(data)


def test_a_high_share_of_control_characters_is_binary():
    with pytest.raises(BinaryFileError, match="control characters"):
        korean.decode_bytes("소설 ".encode("utf-8") + b"\x01\x02\x03\x04" * 5)


def test_a_few_control_characters_in_a_long_text_are_tolerated():
    data = ("가나다라마바사 " * 50).encode("utf-8") + b"\x1a"  # a DOS end-of-file mark
    assert korean.decode_bytes(data).encoding == "utf-8"


def test_invalid_utf16_after_a_bom_is_undecodable():
    lone_surrogate = b"\xff\xfe" + "\ud800".encode("utf-16-le", "surrogatepass") + b"A\x00"
    with pytest.raises(UndecodableTextError, match="UTF-16"):
        korean.decode_bytes(lone_surrogate)


def test_an_empty_file_is_refused():
    with pytest.raises(EmptyTextError) as refused:
        korean.decode_bytes(b"")
    assert refused.value.code == "empty"


@pytest.mark.parametrize("data", [
    b" \r\n\t  \n",
    b"\xef\xbb\xbf",
    "\ufeff \n ".encode("utf-16-le"),
    "\u3000\u3000".encode("cp949"),
])
def test_whitespace_only_files_are_refused_as_empty(data):
    with pytest.raises(EmptyTextError):
        korean.decode_bytes(data)


def test_every_refusal_is_a_value_error_with_a_distinct_code():
    classes = [EmptyTextError, BinaryFileError, UndecodableTextError]
    assert all(issubclass(cls, TextError) and issubclass(cls, ValueError) for cls in classes)
    assert [cls.code for cls in classes] == ["empty", "binary", "undecodable"]


# --- normalisation ------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("첫 줄\r\n둘째 줄\r셋째 줄\n넷째 줄", "첫 줄\n둘째 줄\n셋째 줄\n넷째 줄"),
    ("\u201c어디 가니?\u201d 하고 물었다.", '"어디 가니?" 하고 물었다.'),
    ("\u2018그래\u2019 하고 생각했다.", "'그래' 하고 생각했다."),
    ("「어디 가니?」 하고 물었다.", '"어디 가니?" 하고 물었다.'),
    ("『가자』 하고 그가 외쳤다.", '"가자" 하고 그가 외쳤다.'),
    ("그는 『청춘』이라는 잡지를 샀다.", "그는 『청춘』이라는 잡지를 샀다."),
    ("소\u200b설\u200c을\u200d 읽\ufeff었\u2060다.", "소설을 읽었다."),
    ("삼대(三代)가 지났다.", "삼대가 지났다."),
    ("삼대（三代）가 지났다.", "삼대가 지났다."),
    ("왕조(李, 朝) 이야기.", "왕조 이야기."),
    ("그는 (웃음) 말했다 (1).", "그는 (웃음) 말했다 (1)."),
    ("그는 (三代의) 말을 했다.", "그는 (三代의) 말을 했다."),
    ("그는\t\t천천히   걸었다.\u3000\u3000끝.", "그는 천천히 걸었다. 끝."),
    ("    들여쓴 문단이다.   \n  둘째 줄.  ", "들여쓴 문단이다.\n둘째 줄."),
    ("\n\n\n첫 문단.\n\n\n\n둘째 문단.\n \n셋째 문단.\n\n\n", "첫 문단.\n\n둘째 문단.\n\n셋째 문단."),
    ("한 줄.\n다음 줄.", "한 줄.\n다음 줄."),
])
def test_normalize_rule(raw, expected):
    assert korean.normalize(raw) == expected


@pytest.mark.parametrize("marker", ["#씬", "#scene 3", "#32", "   # 장면 전환"])
def test_scene_marker_lines_are_removed_and_leave_a_paragraph_break(marker):
    raw = f"앞 장면이다.\n{marker}\n뒤 장면이다."
    assert korean.normalize(raw) == "앞 장면이다.\n\n뒤 장면이다."


def test_nfd_hangul_is_composed():
    nfd = unicodedata.normalize("NFD", "동백꽃이 피었다.")
    assert korean.normalize(nfd) == "동백꽃이 피었다."


def test_normalize_is_idempotent_on_awkward_text():
    awkward = (
        "\ufeff  #씬 1\r\n\r\n\r\n\u201c삼대 (三代)\u201d 하고\u3000\u3000말했다.\u200b  \r\n"
        "「가자.」라고 『청춘』의 (웃음)\t\t끝.\u2029\u2029\u2029마지막 (李朝)"
    )
    once = korean.normalize(awkward)
    assert korean.normalize(once) == once
    assert "\r" not in once and "\u3000" not in once and "三" not in once


def test_normalize_is_idempotent_on_the_corpus(novels_dir, euc_kr_bytes):
    texts = [path.read_text(encoding="utf-8") for path in sorted(novels_dir.glob("*.txt"))]
    texts.append(korean.decode(euc_kr_bytes))
    for raw in texts:
        once = korean.normalize(raw)
        assert korean.normalize(once) == once
        assert "\n\n\n" not in once and once == once.strip()


def test_normalize_keeps_every_paragraph_of_a_corpus_novel(short_novel):
    paragraphs = [p for p in re.split(r"\n\s*\n", short_novel) if p.strip()]
    assert korean.normalize(short_novel).count("\n\n") == len(paragraphs) - 1


# --- sentences ----------------------------------------------------------------------------

@pytest.mark.parametrize("speech", [
    '"어디 가니?" 하고 그는 웃었다.',
    "\u201c어디 가니?\u201d 하고 그는 웃었다.",
    "「어디 가니?」 하고 그는 웃었다.",
    '그는 "나는 간다. 너는 남아라." 하고 말했다.',
])
def test_quoted_speech_with_its_hago_tag_is_one_sentence(speech):
    assert korean.sentences(speech) == [speech]


def test_narration_before_speech_is_its_own_sentence():
    assert korean.sentences('바람이 불었다.\n"어디 가오?" 하고 그가 물었다.') == [
        "바람이 불었다.", '"어디 가오?" 하고 그가 물었다.']
    assert korean.sentences('그는 웃었다. "어디 가오?" 하고 물었다.') == ["그는 웃었다.", '"어디 가오?" 하고 물었다.']


def test_no_sentence_of_a_dialogue_novel_ends_on_the_next_ones_opening_quote(novels_dir):
    # Kiwi alone, over this novel's long paragraphs of dialogue, ended sentences with '\n"'
    # and ran narration on into the speech after it.
    novel = korean.normalize((novels_dir / "01_Ms._B_and_Love_Letters.txt").read_text(encoding="utf-8"))
    found = korean.sentences(novel)
    assert not [s for s in found if re.search(r'\s"$', s)]
    run_on = [s for s in found for m in re.finditer(r'[.!?]\s+"', s) if s[:m.start()].count('"') % 2 == 0]
    assert not run_on
    assert without_whitespace("".join(found)) == without_whitespace(novel)


def test_sentences_keep_the_callers_quote_marks():
    text = "\u201c가자!\u201d \u201c싫어!\u201d 그는 웃었다."
    assert korean.sentences(text) == ["\u201c가자!\u201d", "\u201c싫어!\u201d", "그는 웃었다."]


def test_curly_and_straight_quotes_count_the_same(short_novel):
    quote = iter(["\u201c", "\u201d"] * short_novel.count('"'))
    curly = re.sub('"', lambda _: next(quote), short_novel)
    assert korean.count_sentences(curly) == korean.count_sentences(short_novel)


def test_a_paragraph_break_always_ends_a_sentence():
    assert korean.sentences("첫 문단의 끝\n\n둘째 문단") == ["첫 문단의 끝", "둘째 문단"]
    assert korean.sentences("첫 문단의 끝\r\n\r\n둘째 문단") == ["첫 문단의 끝", "둘째 문단"]


def test_a_final_ending_without_punctuation_ends_a_sentence():
    assert korean.sentences("그는 칼을 뽑았다 그리고 떠났다.") == ["그는 칼을 뽑았다", "그리고 떠났다."]


@pytest.mark.parametrize("blank", ["", "   ", "\n\n \t\n", "\u3000"])
def test_blank_text_has_no_sentences(blank):
    assert korean.sentences(blank) == []
    assert korean.count_sentences(blank) == 0


def test_nfd_text_gives_nfc_sentences():
    nfd = unicodedata.normalize("NFD", "나는 간다. 너는 남아라.")
    assert korean.sentences(nfd) == ["나는 간다.", "너는 남아라."]


def test_corpus_novel_splits_into_non_empty_sentences_that_join_back(short_novel):
    found = korean.sentences(short_novel)
    assert all(sentence and sentence == sentence.strip() for sentence in found)
    assert without_whitespace("".join(found)) == without_whitespace(short_novel)
    # The corpus editors put roughly one sentence on each line.
    lines = [line for line in short_novel.splitlines() if line.strip()]
    assert abs(len(found) - len(lines)) <= 0.15 * len(lines)


def test_normalising_does_not_change_the_sentence_count(short_novel):
    assert korean.count_sentences(korean.normalize(short_novel)) == korean.count_sentences(
        short_novel
    )


def test_threads_share_the_analyser_and_get_the_serial_results(short_novel):
    paragraphs = [p for p in short_novel.split("\n\n") if p.strip()][:8]
    expected = [korean.sentences(p) for p in paragraphs]
    results = [None] * len(paragraphs)

    def split(index):
        results[index] = korean.sentences(paragraphs[index])

    threads = [threading.Thread(target=split, args=(i,)) for i in range(len(paragraphs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == expected


def test_the_analyser_is_built_once_when_threads_race_for_it(monkeypatch):
    import time

    import kiwipiepy

    built = []

    class SlowKiwi:
        def __init__(self, **options):
            built.append(options)
            time.sleep(0.05)

        def tokenize(self, text):
            return []

    monkeypatch.setattr(kiwipiepy, "Kiwi", SlowKiwi)
    monkeypatch.setattr(korean, "_kiwi", None)
    got = []
    threads = [threading.Thread(target=lambda: got.append(korean._get_kiwi())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and len(got) == 8 and all(kiwi is got[0] for kiwi in got)
    assert built[0] == {"load_typo_dict": False, "load_multi_dict": False}


def test_importing_the_module_loads_neither_kiwi_nor_torch():
    check = (
        "import sys, model_server.text\n"
        "heavy = [m for m in ('kiwipiepy', 'torch', 'transformers', 'flask') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True, timeout=60)


# --- speech and narration -----------------------------------------------------------------

def test_segments_separate_speech_from_narration_in_order():
    assert korean.segments('그는 "어디 가니?" 하고 웃었다. "가자!"') == [
        korean.Segment("narration", "그는"),
        korean.Segment("speech", "어디 가니?"),
        korean.Segment("narration", "하고 웃었다."),
        korean.Segment("speech", "가자!"),
    ]


def test_curly_quotes_and_speech_brackets_mark_speech_too():
    assert korean.segments("\u201c가자.\u201d 「싫다.」 하고 웃었다.") == [
        korean.Segment("speech", "가자."),
        korean.Segment("speech", "싫다."),
        korean.Segment("narration", "하고 웃었다."),
    ]


def test_an_unclosed_quote_is_speech_to_the_end_of_its_paragraph():
    assert korean.segments('그가 말했다. "나는 간다.\n너는 남아라.\n\n그는 떠났다.') == [
        korean.Segment("narration", "그가 말했다."),
        korean.Segment("speech", "나는 간다.\n너는 남아라."),
        korean.Segment("narration", "그는 떠났다."),
    ]


def test_corpus_novel_segments_cover_the_text_and_hold_no_quotes(short_novel):
    found = korean.segments(short_novel)
    assert {segment.kind for segment in found} == {"speech", "narration"}
    assert not any('"' in segment.text for segment in found if segment.kind == "speech")
    joined = "".join(segment.text for segment in found)
    assert without_whitespace(joined) == without_whitespace(short_novel.replace('"', ""))


def test_dialogue_share_counts_speech_among_non_space_characters(short_novel):
    assert korean.dialogue_share('"가자" 그는') == pytest.approx(2 / 6)
    assert korean.dialogue_share("그는 웃었다.") == 0.0
    assert korean.dialogue_share("") == 0.0
    assert korean.dialogue_share('"어디 가니?"') == pytest.approx(5 / 7)
    assert 0.05 < korean.dialogue_share(short_novel) < 0.6


# --- keywords and statistics --------------------------------------------------------------

def test_nouns_come_in_order_of_appearance_once_each():
    text = "검객이 산에서 칼을 뽑았다. 검객은 다시 산으로 갔다."
    assert korean.nouns(text) == ["검객", "산", "칼"]
    assert korean.nouns(text, min_chars=2) == ["검객"]


def test_nouns_include_proper_nouns_from_a_corpus_text(euc_kr_bytes):
    found = korean.nouns(korean.clean(euc_kr_bytes).text, min_chars=2)
    assert {"동백꽃", "김유정", "수탉", "감자"} <= set(found)
    assert found.index("동백꽃") < found.index("수탉")  # the title comes first
    assert len(found) == len(set(found))


def test_nouns_refuse_a_minimum_below_one():
    with pytest.raises(ValueError):
        korean.nouns("검객", min_chars=0)


@pytest.mark.parametrize("text, keyword, expected", [
    ("검객이 산을 넘었다.", "검객", True),
    ("그는 검객을 보았다.", "  검객 ", True),
    ("그는 칼을 보았다.", "검객", False),
    (unicodedata.normalize("NFD", "검객이 왔다."), "검객", True),
    ("검객이 왔다.", unicodedata.normalize("NFD", "검객"), True),
    ("검은\n고양이가 울었다.", "검은 고양이", True),
])
def test_contains_keyword(text, keyword, expected):
    assert korean.contains_keyword(text, keyword) is expected


@pytest.mark.parametrize("keyword", ["", "   "])
def test_an_empty_keyword_is_refused(keyword):
    with pytest.raises(ValueError):
        korean.contains_keyword("검객이 왔다.", keyword)


def test_stats_count_characters_sentences_and_dialogue():
    found = korean.stats('"가자!" 하고 그가 말했다.\n\n나는 웃었다.')
    assert found == korean.TextStats(
        chars=len('"가자!"하고그가말했다.나는웃었다.'),
        sentences=2,
        dialogue_share=pytest.approx(3 / 19),
    )
