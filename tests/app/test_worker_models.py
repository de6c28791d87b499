"""worker/models.py without a model: the bases a worker process keeps, the adapter a retrain
starts from, and torch's threads in a worker process."""
import json
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


class CountingHost:
    loads: list[str] = []

    def __init__(self, base: str):
        CountingHost.loads.append(base)
        self.base, self.adapter_loads, self.adapters = base, 0, {}


@pytest.fixture
def hosts(monkeypatch):
    from worker import models

    CountingHost.loads = []
    monkeypatch.setattr("model_server.host.ModelHost", CountingHost, raising=False)
    monkeypatch.setattr(models, "_hosts", OrderedDict())
    monkeypatch.setattr(models, "_base_loads", 0)
    return models


def test_a_worker_keeps_the_two_bases_it_used_last_and_loads_each_once(hosts):
    first, again = hosts.model_host("/m/starter"), hosts.model_host("/m/starter-7")
    assert hosts.model_host("/m/starter") is first and hosts.model_host("/m/starter-7") is again
    assert CountingHost.loads == ["/m/starter", "/m/starter-7"]
    hosts.model_host("/m/starter")   # used last: kept
    hosts.model_host("/m/starter-9")  # a third: the least recently used one goes
    assert hosts.model_host("/m/starter") is first
    assert CountingHost.loads == ["/m/starter", "/m/starter-7", "/m/starter-9"]
    assert hosts.host_stats()["bases"] == ["starter-9", "starter"] and hosts.host_stats()["base_loads"] == 3


def version_dir(root: Path, name: str, parent: str | None = None) -> str:
    (root / name).mkdir(parents=True)
    (root / name / "config.json").write_text("{}")
    (root / name / "starter.json").write_text(json.dumps({"parent": parent}))
    return str(root / name)


@pytest.mark.parametrize("lineage,carried", [("same", True), ("other", False)])
def test_a_retrain_starts_from_the_storys_adapter_when_it_carries_over(app, db, make_story, users, tmp_path,
                                                                       monkeypatch, lineage, carried):
    """The serving base is a later version: an adapter of its lineage goes on training; one
    trained on another lineage's base (another tokenizer) gives way to a fresh one."""
    from app.jobs.models import Job
    from app.stories.models import Story
    from app.training.models import ModelVersion
    from app.training.lineage import claim_story_job

    models_dir = tmp_path / "models"
    old = version_dir(models_dir, "starter")
    serving = version_dir(models_dir, "starter-4", parent="starter")
    elsewhere = version_dir(tmp_path / "elsewhere", "starter")
    monkeypatch.setattr("app.training.lineage.resolve_base", lambda: serving)
    _owner, story = make_story()
    adapter = ModelVersion(story_id=story["id"], name="이야기-v1", base=old if lineage == "same" else elsewhere,
                           path="/adapters/v1", data={}, metrics={})
    db.session.add(adapter)
    db.session.flush()
    db.session.get(Story, story["id"]).active_model_version_id = adapter.id
    job = Job(kind="retrain", story_id=story["id"], params={})
    db.session.add(job)
    db.session.commit()
    claimed = claim_story_job(job.id, None, None)
    assert claimed.base == serving
    assert claimed.from_adapter == ("/adapters/v1" if carried else None)
    assert claimed.parent_id == (adapter.id if carried else None)


def test_a_worker_process_gives_torch_the_threads_it_is_told_without_loading_it(tmp_path):
    """TORCH_THREADS=1 on a host with more cores: the signal a pool process gets sets it, and
    torch is loaded only when a task needs it (never by the signal)."""
    script = (
        "import sys, os\n"
        "from celery.signals import worker_process_init\n"
        "import worker.celery_app\n"
        "worker_process_init.send(sender=None)\n"
        "print('torch' in sys.modules)\n"
        "import torch\n"
        "print(torch.get_num_threads(), os.cpu_count())\n")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "TORCH_THREADS": "1", "DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "BROKER_DIR": str(tmp_path / "broker")}
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded_by_signal, threads = out.stdout.split("\n")[:2]
    assert loaded_by_signal == "False"
    threads, cores = map(int, threads.split())
    if cores < 2:
        pytest.skip("one core: torch's default is one thread already")
    assert threads == 1
