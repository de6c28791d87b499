"""Scale-out on Redis: more workers on the same queue share the jobs, and one worker serves
many stories on one loaded base by switching their adapters."""
import shutil
from pathlib import Path

import pytest

from tests.cluster.helpers import close_round, to_generating, wait_choosing

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_generation_jobs_spread_across_two_workers(app, db, users, make_story, with_base, workers):
    first, second = workers.start("w1"), workers.start("w2")
    workers.wait_ready(db, 2)
    voter = users.make("voter")
    stories = [make_story(users.make(f"owner{i}"), candidates_k=2) for i in range(4)]
    for owner, story in stories:
        to_generating(owner, voter, story["id"])
    states = [wait_choosing(owner, story["id"], workers) for owner, story in stories]

    jobs = [users.make(f"reader{i}").get(f"/api/v1/jobs/{s['job']['id']}").json for i, s in enumerate(states)]
    assert all(job["status"] == "succeeded" and job["metrics"]["candidates"] == 2 for job in jobs)
    ran_on = [job["metrics"]["worker"] for job in jobs]
    assert set(ran_on) == {first, second}, ran_on  # both workers took jobs from the one queue
    # Each worker loaded the base once, however many stories it wrote for.
    assert all(job["metrics"]["host"]["base_loads"] == 1 for job in jobs), jobs


def test_one_worker_switches_story_adapters_without_reloading_the_base(app, db, users, make_story, with_base,
                                                                      workers, tmp_path):
    from model_server.training import TrainSettings, SourceText, train

    from app.stories.models import Story
    from app.training.models import ModelVersion

    adapter = train(str(with_base), [SourceText(name="t", text=OPENING * 4)], tmp_path / "adapter",
                    settings=TrainSettings(steps=3, seed=0))
    voter = users.make("voter")
    (owner_a, a), (owner_b, b) = make_story(candidates_k=2), make_story(users.make("owner_b"), candidates_k=2)
    for story in (a, b):  # each story has its own trained version, in its own folder
        folder = Path(app.config["DATA_DIR"]) / "models" / str(story["id"]) / "v1"
        shutil.copytree(adapter, folder)
        version = ModelVersion(story_id=story["id"], name=f"이야기{story['id']}-v1", base=str(with_base),
                               path=str(folder), data={}, metrics={})
        db.session.add(version)
        db.session.flush()
        db.session.get(Story, story["id"]).active_model_version_id = version.id
    db.session.commit()

    workers.start("solo")
    workers.wait_ready(db, 1)
    hosts = []
    for round_number in (1, 2):
        for owner, story in ((owner_a, a), (owner_b, b)):  # A, B, A, B
            to_generating(owner, voter, story["id"])
            state = wait_choosing(owner, story["id"], workers)
            hosts.append(owner.get(f"/api/v1/jobs/{state['job']['id']}").json["metrics"]["host"])
            close_round(owner, voter, story["id"], state)
            passages = owner.get(f"/api/v1/stories/{story['id']}").json["passages"]
            assert passages[-1]["model_version"] == f"이야기{story['id']}-v1"  # written with its own adapter

    assert len({h["pid"] for h in hosts}) == 1  # one worker process served all four
    assert [h["base_loads"] for h in hosts] == [1, 1, 1, 1]  # the base was loaded once
    # A's adapter, then B's; the second round finds both in the host's cache.
    assert [h["adapter_loads"] for h in hosts] == [1, 2, 2, 2] and hosts[-1]["adapters_cached"] == 2


OPENING = "해가 지자 작은 정거장에 기차가 멈추었다. 그는 가방을 들고 천천히 내렸다. 역무원이 그를 불러 세웠다. "
