"""Every kind of background job, declared once: its Celery task, its queue, its time budget,
whether an admin may cancel it and how many may be unfinished at once. The job rows
(``app.jobs.models``), dispatch (``app.jobs.services``), the tasks (``worker/tasks.py``) and the
Celery routes and time limits (``app.extensions.celery_init_app``) read this table; adding a
kind is a row here, its runner, its task and a migration for the database's list of kinds.

The time limits come from the site's budgets (``config.task_budgets``: ``TRAIN_MAX_MINUTES``,
``STARTER_MAX_MINUTES``, ``GENERATION_TIME_LIMIT``, ``TASK_OVERHEAD_SECONDS``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from config import HARD_LIMIT_GRACE_SECONDS, task_budgets

GPU_QUEUE = "gpu"


@dataclass(frozen=True)
class JobKind:
    name: str                     # jobs.kind
    task: str                     # the Celery task that runs it
    budget: str                   # its time limit: "generation", "training" or "starter"
    cancellable: bool = True      # an admin may stop it (a generation belongs to its round, which retries it)
    one_at_a_time: str | None = None  # "story": one unfinished of these kinds per story; "site": one of it on the site
    takes_round: bool = False     # the task is given the job's round, not the job


KINDS: dict[str, JobKind] = {kind.name: kind for kind in (
    # put_Human_txt: learn from a human passage, then continue the story
    JobKind("train", "relay.learn_and_continue", "training", one_at_a_time="story"),
    # a story's adapter on its training set
    JobKind("retrain", "relay.retrain_story", "training", one_at_a_time="story"),
    # a story's adapter tuned on the crowd's candidate votes (DPO)
    JobKind("prefer", "relay.prefer_story", "training", one_at_a_time="story"),
    # the site's starter base
    JobKind("pretrain", "relay.pretrain_starter", "starter", one_at_a_time="site"),
    # the judges that rank candidates (model_server.judges)
    JobKind("judge", "relay.train_judges", "starter", one_at_a_time="site"),
    # a round's candidates
    JobKind("generate", "relay.generate_candidates", "generation", cancellable=False, takes_round=True),
)}
JOB_KINDS = tuple(KINDS)
STORY_TRAINING_KINDS = tuple(k.name for k in KINDS.values() if k.one_at_a_time == "story")
CANCELLABLE_KINDS = tuple(k.name for k in KINDS.values() if k.cancellable)

# Small tasks without a job row, on the default queue: (soft) seconds each.
LIGHT_TASKS = {"relay.count_proposal_sentences": 60, "relay.count_novel_sentences": 600, "relay.tick": 60}


def time_limits(config: Mapping) -> dict[str, tuple[int, int]]:
    """(soft, hard) seconds per task name, from the site's ``config``."""
    seconds = task_budgets(config["TRAIN_MAX_MINUTES"], config["STARTER_MAX_MINUTES"],
                           config["GENERATION_TIME_LIMIT"], config["TASK_OVERHEAD_SECONDS"])
    soft = {kind.task: seconds[kind.budget] for kind in KINDS.values()} | LIGHT_TASKS
    return {name: (limit, limit + HARD_LIMIT_GRACE_SECONDS) for name, limit in soft.items()}


def celery_routing(config: Mapping) -> dict:
    """The Celery settings this table decides: job tasks on the ``gpu`` queue, every task's limits."""
    return {
        "task_routes": {kind.task: {"queue": GPU_QUEUE} for kind in KINDS.values()},
        "task_annotations": {name: {"soft_time_limit": soft, "time_limit": hard}
                             for name, (soft, hard) in time_limits(config).items()},
    }
