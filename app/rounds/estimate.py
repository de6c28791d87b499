"""How long the AI takes to write a round's candidates, judged from this site's own recent
generation jobs, and what fits in the generation task's time limit (GENERATION_TIME_LIMIT).

Writing K candidates of n sentences costs about n x K "candidate-sentences": the sampler
writes its rows together, a few per candidate, step by step until each has its sentences, and
samples again when too few pass. Each finished job stores its seconds per candidate-sentence
in its metrics; a job that ran out of time stores what it spent, a rate it was at least that
slow. The estimate is the median of the recent finished jobs' rates, raised to the slowest
recent time-out's; with no history yet, GENERATION_SECONDS_PER_SENTENCE, a careful guess.
A request whose estimate does not fit in BUDGET_SHARE of the limit (the rest is kept for
loading the model and unlucky samples) is refused up front, or written with fewer candidates.
"""
import math
import statistics

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.jobs.models import Job

RECENT_JOBS = 20
BUDGET_SHARE = 0.8
MAX_SENTENCES = 10


def seconds_per_sentence() -> float:
    """Seconds per candidate-sentence this site's AI takes now (see the module's docstring)."""
    rows = db.session.scalars(
        select(Job.metrics).where(Job.kind == "generate", Job.status.in_(("succeeded", "failed")))
        .order_by(Job.id.desc()).limit(RECENT_JOBS)).all()
    finished = [m["seconds_per_sentence"] for m in rows if _rate(m) and not m.get("timed_out")]
    timed_out = [m["seconds_per_sentence"] for m in rows if _rate(m) and m.get("timed_out")]
    if not finished and not timed_out:
        return float(current_app.config["GENERATION_SECONDS_PER_SENTENCE"])
    return max(([statistics.median(finished)] if finished else []) + timed_out)


def _rate(metrics: dict | None) -> bool:
    value = (metrics or {}).get("seconds_per_sentence")
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def budget_seconds() -> float:
    return current_app.config["GENERATION_TIME_LIMIT"] * BUDGET_SHARE


def estimate_seconds(sentences: int, k: int, rate: float) -> float:
    return sentences * k * rate


def max_sentences(k: int, rate: float) -> int:
    """The most sentences K candidates can have and still fit (0: not even one)."""
    return max(0, min(MAX_SENTENCES, math.floor(budget_seconds() / (rate * k))))


def fitting_k(sentences: int, k: int, rate: float) -> int:
    """How many of the K candidates fit at this length (at least one: the estimate may be
    pessimistic, and a time-out says what happened)."""
    return max(1, min(k, math.floor(budget_seconds() / (rate * sentences))))


def minutes_text(seconds: float) -> str:
    """A duration as people say it: 40초, 약 3분."""
    return f"{max(1, round(seconds))}초" if seconds < 90 else f"약 {round(seconds / 60)}분"
