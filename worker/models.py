"""The models of this worker process: a ModelHost per base (the last two used) and the judges that
rank candidates. Built on first use, kept for later
tasks; a base is never loaded twice while it is kept.

Only worker processes import this module's torch-heavy targets (inside the functions)."""
import logging
import os
import sys
from collections import OrderedDict
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)
MAX_HOSTS = 2  # the serving base, and the one older stories' adapters were trained on
MAX_JUDGES = 2

_hosts: "OrderedDict[str, object]" = OrderedDict()
_judges: "OrderedDict[int, object]" = OrderedDict()
_base_loads = 0


def model_host(base: str):
    """The process's ModelHost for ``base`` (loads the base once; adapters switch per call).
    Two are kept: after a new starter version starts serving, stories whose adapters were
    trained on the one before keep writing with it until they are retrained."""
    global _base_loads
    if base in _hosts:
        _hosts.move_to_end(base)
        return _hosts[base]
    from model_server.host import ModelHost

    host = ModelHost(base)
    _base_loads += 1
    _hosts[base] = host
    while len(_hosts) > MAX_HOSTS:
        gone, _ = _hosts.popitem(last=False)
        log.info("unloaded base %s (%d kept)", gone, MAX_HOSTS)
    return host


def host_stats() -> dict:
    """What this process has loaded so far, kept in each generation job's metrics: one base
    load per base while adapters switch per story is the point of the host."""
    return {"pid": os.getpid(), "base_loads": _base_loads, "bases": [Path(b).name for b in _hosts],
            "adapter_loads": sum(h.adapter_loads for h in _hosts.values()),
            "adapters_cached": sum(len(h.adapters) for h in _hosts.values())}


def judge(ref: tuple[int, str] | None, pairs: list):
    """The judges of job ``ref`` (``(job id, folder)``, app.training.judges.judge_ref; kept per
    process and loaded again only for a newer job), refitted to a story's ``pairs`` of
    (chosen, passed-over) features when it has any. None: generation's own default (the
    model's and Kiwi's scores alone)."""
    trained = None
    if ref is not None:
        job_id, folder = ref
        if job_id in _judges:
            _judges.move_to_end(job_id)
            trained = _judges[job_id]
        else:
            from model_server.judges.judge import Judge

            try:
                trained = _judges[job_id] = Judge.load(folder)
            except (OSError, ValueError):
                log.exception("judges of job %s could not be loaded from %s", job_id, folder)
            while len(_judges) > MAX_JUDGES:
                _judges.popitem(last=False)
    if pairs:
        from model_server.judges.judge import Judge

        return (trained or Judge.untrained()).for_story(pairs)
    return trained


def generation_seed(job_id: int) -> int:
    """The seed of a generation job: its id, so that every round and every retry (a new job)
    samples afresh, and what a job wrote can be written again. GENERATION_SEED shifts every
    job's seed, for a site whose job ids start over (a test database)."""
    shift = current_app.config.get("GENERATION_SEED")
    return (int(shift) if shift not in (None, "") else 0) * 2**32 + job_id


def limit_torch_threads(threads: int) -> None:
    """torch's threads in this process (0: torch's own default). Set through the OpenMP and MKL
    variables, which torch reads when a task first imports it, so a process that never runs a
    model (the light worker) never loads torch for this; set directly if it is loaded already."""
    if threads <= 0:
        return
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
