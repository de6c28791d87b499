"""Runs of words a base read: saved beside it, never written whole, measured in the bench."""
import unicodedata

from model_server.copying import (copied_run, load_runs, longest_copied, run_hash, runs_of, save_runs,
                                  share_found, words_of)
from model_server.sampling import copies

NOVEL = "그는 을밀대에서 기자 묘 솔밭으로 현무문으로 걸었다. 바람이 불었다."


def nfd(words: str) -> list[str]:
    return [unicodedata.normalize("NFD", w) for w in words.split()]


def test_a_saved_base_keeps_its_four_word_runs_and_an_adapter_its_parents(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "adapter").mkdir()
    save_runs(tmp_path / "base", [NOVEL])
    save_runs(tmp_path / "adapter", ["어머니는 편지를 다시 읽었다."], inherit=tmp_path / "base")
    base, adapter = load_runs(tmp_path / "base"), load_runs(tmp_path / "adapter")
    assert run_hash(nfd("을밀대에서 기자 묘 솔밭으로")) in base
    assert base < adapter and run_hash(nfd("어머니는 편지를 다시 읽었다")) in adapter
    assert load_runs(tmp_path) == set()


def test_a_row_may_not_finish_the_fourth_word_of_a_run_it_read():
    runs = runs_of([NOVEL])
    assert copies(nfd("그는 을밀대에서 기자"), nfd("묘"), runs)
    assert not copies(nfd("그는 을밀대에서 기자"), nfd("무덤"), runs)
    assert copies(nfd("현무문으로"), nfd("걸었다 바람이 불었다"), runs)  # across a sentence too
    assert not copied_run(nfd("기자 묘"), runs)


def test_the_bench_measures_the_longest_copied_run_and_the_share_found():
    corpus = {n: runs_of([NOVEL], n) for n in range(1, 9)}
    assert longest_copied("저녁에 기자 묘 솔밭으로 갔다.", corpus) == 3
    assert longest_copied("아무도 없었다.", corpus) == 0
    assert share_found(["을밀대에서 기자 묘 솔밭으로 갔다."], runs_of([NOVEL], 4), 4) == 0.5
    assert words_of("\"그래!\" 하고") == nfd("그래 하고")
