import random
import re

import pytest
from transformers import AutoTokenizer

from model_server import text as ktext
from model_server.mood import mood_of
from model_server.starter import compose
from model_server.examples import (
    IGNORE,
    continuation_examples,
    control_examples,
    control_prompt,
    sentence_spans,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_base):
    return AutoTokenizer.from_pretrained(tiny_base)


def test_sentence_spans_cut_the_text_at_the_splitters_boundaries(novel_texts):
    text = novel_texts[1][:3000]
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ktext.sentences(text)
    assert all(b <= c for (_, b), (c, _) in zip(spans, spans[1:]))


def test_control_example_masks_the_prompt_and_trains_on_the_target_only(tokenizer, novel_texts):
    examples = control_examples(tokenizer, novel_texts[0], max_tokens=128, rng=random.Random(1), count=20)
    assert len(examples) >= 10
    for example in examples:
        assert len(example.input_ids) == len(example.labels) <= 128
        first_target = next(i for i, label in enumerate(example.labels) if label != IGNORE)
        assert all(label == IGNORE for label in example.labels[:first_target])
        assert example.labels[first_target:] == example.input_ids[first_target:]
        prompt = compose(tokenizer.decode(example.input_ids[:first_target]))
        target = compose(tokenizer.decode(example.input_ids[first_target:], skip_special_tokens=True))
        assert "[이어쓰기" in prompt and "[이어쓰기" not in target
        assert example.input_ids[-1] == tokenizer.eos_token_id


def test_control_example_asks_for_the_sentences_a_noun_and_the_mood_of_its_target(tokenizer, novel_texts):
    rng = random.Random(7)
    examples = control_examples(tokenizer, novel_texts[0], max_tokens=160, rng=rng, count=15)
    checked, moods = 0, 0
    for example in examples:
        first_target = next(i for i, label in enumerate(example.labels) if label != IGNORE)
        prompt = compose(tokenizer.decode(example.input_ids[:first_target]))
        target = compose(tokenizer.decode(example.input_ids[first_target:], skip_special_tokens=True))
        line = prompt.strip().splitlines()[-1]
        n = int(re.search(r"(\d+)문장", line).group(1))
        assert ktext.count_sentences(target) == n
        if "키워드:" in line:
            keyword = line.split("키워드:")[1].split("·")[0].strip()
            assert ktext.contains_keyword(target, keyword)
            checked += 1
        asked = re.search(r"분위기: (\S+)]", line)
        assert (asked.group(1) if asked else None) == mood_of(target), (line, target)
        moods += asked is not None
    assert checked >= 5 and moods >= 1


def test_continuation_chunks_cover_the_text_and_train_on_every_token(tokenizer, novel_texts):
    text = novel_texts[1]
    chunks = continuation_examples(tokenizer, text, max_tokens=64)
    assert all(len(c.input_ids) <= 64 and c.labels == c.input_ids for c in chunks)
    ids = [i for c in chunks for i in c.input_ids]
    whole = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    assert len(ids) > len(whole) - 8 and ids == whole[: len(ids)]


def test_control_prompt_has_one_template_with_and_without_keyword_and_mood():
    with_keyword = control_prompt("그는 웃었다.", "검객", 3)
    assert with_keyword.startswith("그는 웃었다.\n\n") and "검객" in with_keyword and "3문장" in with_keyword
    assert "분위기" not in with_keyword
    without = control_prompt("", None, 2)
    assert "키워드" not in without and "2문장" in without
    assert control_prompt("그는 웃었다.", "검객", 3, "슬픔").endswith("[이어쓰기 · 키워드: 검객 · 3문장 · 분위기: 슬픔]\n")
    assert control_prompt("", None, 2, "긴장") == "[이어쓰기 · 2문장 · 분위기: 긴장]\n"
