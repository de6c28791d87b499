"""The cooperative judge: discriminators trained on novels against the base's own writing,
mixed with the model's score by weights fitted on held-out continuations."""
import pytest
import torch

from model_server.judges.judge import FEATURES, Judge, fit_weights, ranked_first
from model_server.judges.relevance import idf_of, train_relevance
from model_server.judges.repetition import train_repetition
from model_server.judges.style import train_style

REAL = ["순이는 창밖을 내다보았다.", "기차는 어둠 속을 달렸다.", "오빠의 편지가 주머니에 있었다.",
        "그는 모자를 벗어 들었다.", "어머니는 말없이 고개를 끄덕였다.", "바람이 문풍지를 울렸다."]
WRITTEN = ["그는 그는 그 자리에 그 자리에 누웠다.", "눈을 눈을 크게 떴다 떴다.", "그리고 그리고 다시 다시 한번.",
           "그는 다시 한번 다시 한번 보았다.", "그 여자는 그 여자는 울었다.", "나는 나는 그 말을 그 말을 했다."]


def test_the_style_judge_tells_the_novels_from_the_bases_writing():
    judge = train_style(REAL * 3, WRITTEN * 3)
    real, written = judge.score(REAL), judge.score(WRITTEN)
    assert min(real) > max(written)


def test_the_repetition_judge_scores_a_passage_that_repeats_itself_lower():
    context = "순이는 정거장에 섰다. 기차가 들어왔다."
    judge = train_repetition([(context, p) for p in REAL] * 2, [(context, p) for p in WRITTEN] * 2)
    plain, looping = judge.score(context, ["순이는 기차에 올랐다. 창밖이 어두웠다.",
                                           "순이는 기차에 올랐다. 순이는 기차에 올랐다."])
    assert plain > looping


def test_the_relevance_judge_prefers_the_passage_that_follows_from_its_context():
    groups = []
    for i in range(30):
        context = f"순이는 기차를 탔다. 오빠의 편지를 꺼냈다. 정거장이 멀어졌다. {i}"
        groups.append((context, ["순이는 편지를 다시 읽었다.", "장군은 말을 몰아 성으로 달렸다.", "시장에는 사람이 많았다."]))
    judge = train_relevance(groups, idf_of([p for _, ps in groups for p in ps]), epochs=10)
    follows, elsewhere = judge.score("순이는 기차를 탔다. 오빠의 편지를 꺼냈다.",
                                     ["순이는 편지를 접어 넣었다.", "장군은 칼을 뽑았다."])
    assert follows > elsewhere


def test_mixing_weights_make_the_true_continuation_outrank_the_models_and_none_is_negative():
    torch.manual_seed(0)
    groups = []
    for _ in range(40):
        group = torch.randn(5, len(FEATURES))
        group[0, 3] += 2.0   # the true one reads more like the novels (style) ...
        group[0, 0] -= 1.0   # ... though the model likes its own candidates better
        groups.append(group)
    judge = Judge([0.0] * len(FEATURES))
    judge.weights = fit_weights(judge, groups)
    assert min(judge.weights) >= 0.0 and judge.weights[0] < 0.1  # the model's own liking misleads here
    assert judge.weights[3] == max(judge.weights)
    assert ranked_first(judge, groups) > 0.6


def test_a_storys_votes_move_its_weights_towards_what_its_crowd_chose():
    judge = Judge([1.0, 1.0, 1.0, 1.0, 1.0])
    chosen = [[0.0, 0.0, 0.0, 0.0, 2.0]] * 20    # the crowd picks what repeats least
    passed = [[0.0, 0.0, 0.0, 2.0, 0.0]] * 20    # over what reads most like the novels
    story = judge.for_story(list(zip(chosen, passed)))
    assert story.weights[4] > judge.weights[4] and story.weights[3] < judge.weights[3]
    assert min(story.weights) >= 0.0 and judge.for_story([]) is judge


def test_a_saved_judge_loads_and_scores_the_same(tmp_path):
    judge = Judge([1.0, 0.5, 0.2, 0.7, 0.3], means=[0.1] * 5, scales=[2.0] * 5,
                  relevance=train_relevance([("순이는 웃었다.", ["순이는 울었다.", "장군은 떠났다."])] * 3,
                                            idf_of(["순이는 울었다."]), epochs=2),
                  style=train_style(REAL, WRITTEN, epochs=2), repetition=train_repetition(
                      [("a", p) for p in REAL], [("a", p) for p in WRITTEN], epochs=5))
    judge.save(tmp_path)
    loaded = Judge.load(tmp_path)
    passages = ["순이는 편지를 읽었다.", "그는 그는 울었다."]
    assert loaded.score("순이는 기차를 탔다.", passages, [-3.0, -2.0]) == pytest.approx(
        judge.score("순이는 기차를 탔다.", passages, [-3.0, -2.0]))


@pytest.mark.slow
def test_judges_train_on_novels_against_the_bases_writing_and_save_a_version(tiny_base, novel_texts, tmp_path):
    from model_server.host import ModelHost
    from model_server.judges.training import JudgeSettings, train_judges

    seen = []
    metrics = train_judges(ModelHost(str(tiny_base)), novel_texts, tmp_path / "judges",
                           JudgeSettings(contexts=6, heldout_contexts=16, relevance_groups=30),
                           progress=lambda p: seen.append(p.step))
    judge = Judge.load(tmp_path / "judges")
    assert judge.trained and min(judge.weights) >= 0.0
    assert 0.0 <= metrics["ranked_first_vs_base"] <= 1.0 and metrics["heldout_groups"] >= 2
    assert seen == [1, 2, 3, 4, 5]
