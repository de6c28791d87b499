"""What readers found in the candidates of a starved starter, each kept out.

A busy host gave the admin's ten minutes a few dozen steps: sentences opened with particles
grown into words (에이, 은행, 도에나), the same memorised runs of words came back in unrelated
stories, and a required keyword was tacked on to end a sentence (기차야!). These tests starve a
tiny starter on purpose and read what it writes for unrelated prompts of unseen novels.
"""
import random
import unicodedata

import pytest

from bench.sense import particle_openings, recurring_runs, tacked_on
from model_server import text as ktext
from model_server.copying import longest_copied, runs_of
from model_server.host import ModelHost
from model_server.retrieval import MAX_COPIED
from model_server.starter import StarterConfig, pretrain
from model_server.words import KeywordWords

pytestmark = pytest.mark.slow

UNSEEN = ("08_Dark_Moon.txt", "20_Anemone.txt", "29_The_Calf.txt")


@pytest.fixture(scope="module")
def starved(tmp_path_factory, tiny_base_novels):
    out = tmp_path_factory.mktemp("starved") / "starter"
    return pretrain(tiny_base_novels, out, steps=40, seed=0, config=StarterConfig.tiny())


@pytest.fixture(scope="module")
def written(starved, novels_dir):
    """Three candidates of three sentences for each of twelve prompts cut from unseen novels,
    half of them asking for a keyword of the prompt."""
    host = ModelHost(str(starved))
    texts = [ktext.normalize((novels_dir / name).read_text(encoding="utf-8")) for name in UNSEEN]
    rng = random.Random(0)
    groups = []
    for i in range(12):
        text = texts[i % 3]
        at = rng.randrange(2000, len(text) - 100)
        context = text[:at][-1500:]
        keyword = rng.choice(ktext.nouns(context[-300:], min_chars=2)) if i % 2 else None
        candidates = host.generate(None, context, keyword, 3, 3, seed=i)
        groups.append((keyword, [c.text for c in candidates]))
    return groups


def test_a_starved_starter_opens_sentences_as_the_novels_do(written):
    openers, total = particle_openings([p for _, passages in written for p in passages])
    assert total >= 90
    bad = sum(openers.values())
    assert bad / total <= 0.2, f"{bad} of {total} sentences open with a particle syllable: {openers.most_common(8)}"


def test_no_run_of_four_words_recurs_across_unrelated_prompts(written):
    assert recurring_runs([passages for _, passages in written], n=4, prompts=3) == []


def test_no_candidate_copies_more_than_seven_words_in_a_row_from_the_novels_its_base_read(written, tiny_base_novels):
    # The model's own words never complete four of a novel's words in a row (runs.npy); the
    # novels' sentences it is offered (retrieval) keep at most MAX_COPIED in a row.
    texts = [path.read_text(encoding="utf-8") for path in tiny_base_novels]
    read = {n: runs_of(texts, n) for n in range(1, MAX_COPIED + 2)}
    for _, passages in written:
        for passage in passages:
            assert longest_copied(passage, read) <= MAX_COPIED, passage


def test_a_keyword_is_required_only_in_forms_that_go_on_with_the_sentence():
    required = {unicodedata.normalize("NFC", w) for w in KeywordWords("기차").steps[-1].words}
    assert {"기차가", "기차를", "기차에서"} <= required
    assert not required & {"기차", "기차야", "기차다", "기차였다"}


def test_a_required_keyword_never_ends_a_sentence_as_a_vocative_or_copula(written):
    asked = [(keyword, p) for keyword, passages in written if keyword for p in passages]
    assert len(asked) == 18
    assert [p for keyword, p in asked if tacked_on(p, keyword)] == []
