"""Progress reports and cancellation for long training runs (the worker stores and shows them)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional


class Cancelled(Exception):
    """The caller's should_cancel() said stop; nothing was saved."""


@dataclass(frozen=True)
class Progress:
    step: int
    total: int            # planned steps (an estimate while a time budget runs)
    loss: float           # training loss of the latest step
    tokens_per_s: float
    eta_s: float          # seconds left
    elapsed_s: float
    heldout_loss: Optional[float] = None  # the latest loss on text never trained on, where measured


class ProgressMeter:
    """Tracks a step or wall-clock budget and calls back at most every ``interval`` seconds."""

    def __init__(self, total_steps: Optional[int], total_seconds: Optional[float],
                 callback: Optional[Callable[[Progress], None]] = None, interval: float = 2.0,
                 step_cap: Optional[int] = None):
        if (total_steps is None) == (total_seconds is None):
            raise ValueError("give exactly one budget: steps or seconds")
        if total_steps is not None and total_steps < 1:
            raise ValueError("the step budget must be at least 1")
        if total_seconds is not None and total_seconds <= 0:
            raise ValueError("the time budget must be positive")
        self.total_steps, self.total_seconds = total_steps, total_seconds
        # with a time budget: also done after this many steps, whichever comes first
        self.step_cap = step_cap if total_seconds is not None else None
        self.callback, self.interval = callback, interval
        self.started = time.monotonic()
        self.tokens = 0
        self.last_loss = float("nan")
        self._last_report = float("-inf")

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / max(self.elapsed, 1e-9)

    def fraction(self, step: int) -> float:
        if self.total_steps is not None:
            return step / self.total_steps
        by_time = self.elapsed / self.total_seconds
        return max(by_time, step / self.step_cap) if self.step_cap else by_time

    def finished(self, step: int) -> bool:
        return self.fraction(step) >= 1.0

    def update(self, step: int, loss: float, tokens: int, heldout_loss: Optional[float] = None) -> None:
        self.tokens += tokens
        self.last_loss = loss
        now = time.monotonic()
        if self.callback is None or (now - self._last_report < self.interval and not self.finished(step)):
            return
        self._last_report = now
        done = max(self.fraction(step), 1e-9)
        total = self.total_steps if self.total_steps is not None else max(step, round(step / done))
        eta = max(self.elapsed / done - self.elapsed, 0.0)
        self.callback(Progress(step=step, total=total, loss=loss, tokens_per_s=self.tokens_per_s,
                               eta_s=eta, elapsed_s=self.elapsed, heldout_loss=heldout_loss))
