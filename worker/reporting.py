"""A running job's progress, written to SQL from a side thread while the model trains.

The training loop only hands each report to this object (memory, no database); a thread
writes the latest progress, the new loss points and a heartbeat every ``interval`` seconds in
one short transaction, and reads back whether an admin asked the job to stop. So the page
sees an update every second or two even while the data is prepared or the version saved, a
slow database never slows training, and ``should_cancel`` costs the loop nothing.
"""
import logging
import math
import threading
import time

from flask import current_app

from app.extensions import db
from app.jobs import services as jobs
from app.rounds import events

log = logging.getLogger(__name__)


class JobReporter:
    """``stop_when``: asked in the writer thread (with an app context) at every write; True stops
    the job as a cancel does, and ``stopped_by_check`` says so (a background pretrain that makes
    way for the site's own jobs)."""

    def __init__(self, job_id: int, interval: float = 1.0, training_share: float = 0.95, worker: str | None = None,
                 stop_when=None):
        self.app = current_app._get_current_object()
        self.stop_when, self.stopped_by_check = stop_when, False
        self.job_id, self.interval, self.training_share = job_id, interval, training_share
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._progress = 0.0
        # which Celery node runs it stays in the metrics the reports replace (after a redelivery too)
        self._metrics: dict = {"stage": "preparing", **({"worker": worker} if worker else {})}
        self._points: list[tuple[int, float, float]] = []
        self._heldout: list[list[float]] = []  # [step, seconds, held-out loss], as measured after each pass
        self._cancel = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-progress", daemon=True)

    def __enter__(self) -> "JobReporter":
        self.flush()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> bool:
        self._stop.set()
        self._thread.join(timeout=30)
        self.flush()  # the last loss points
        return False

    # --- called from the training loop (model_server's callbacks) ---

    def progress(self, p) -> None:
        loss = p.loss if math.isfinite(p.loss) else None
        with self._lock:
            self._progress = self.training_share * p.step / max(1, p.total)
            # the last report comes when the budget is spent: validation and saving follow
            self._metrics.update(stage="training" if p.step < p.total else "saving", step=p.step,
                                 total=p.total, loss=loss, tokens_per_s=round(p.tokens_per_s, 1),
                                 eta_s=round(p.eta_s, 1), train_elapsed_s=round(p.elapsed_s, 1))
            if loss is not None:
                self._points.append((p.step, loss, p.tokens_per_s))
            heldout = getattr(p, "heldout_loss", None)
            if heldout is not None and math.isfinite(heldout) and (not self._heldout or self._heldout[-1][2] != round(heldout, 4)):
                self._heldout.append([p.step, round(p.elapsed_s, 1), round(heldout, 4)])
                self._metrics["heldout_loss"] = [list(point) for point in self._heldout]

    def note(self, **values) -> None:
        """Figures the job adds to its live metrics (kept through every report)."""
        with self._lock:
            self._metrics.update(values)

    def should_cancel(self) -> bool:
        return self._cancel

    @property
    def metrics(self) -> dict:
        with self._lock:
            return dict(self._metrics)

    # --- the writer thread ---

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            self._metrics["elapsed_s"] = round(time.monotonic() - self.started, 1)
            progress, metrics, points, self._points = self._progress, dict(self._metrics), self._points, []
        try:
            if threading.current_thread() is self._thread:
                with self.app.app_context():  # the thread's own session, removed after each write
                    try:
                        self._record(progress, metrics, points)
                    finally:
                        db.session.remove()
            else:  # the task's own thread (start and end): its app context is already active
                try:
                    self._record(progress, metrics, points)
                except Exception:
                    db.session.rollback()
                    raise
        except Exception:  # a busy or unreachable database: keep the points for the next try
            log.warning("could not record the progress of job %s", self.job_id, exc_info=True)
            with self._lock:
                self._points = points + self._points

    def _record(self, progress: float, metrics: dict, points: list) -> None:
        if jobs.record_progress(self.job_id, progress, metrics, points):
            self._cancel = True
        elif self.stop_when is not None and not self._cancel and self.stop_when():
            self.stopped_by_check = self._cancel = True


class TimedReporter(JobReporter):
    """A job with no steps to count (a round's generation): its progress and time left are
    read off the clock against the estimate it was queued with (``estimate_s``, from this
    site's recent speed, app/rounds/estimate.py), and written the same way as a training
    job's, with the same heartbeat. Progress stops short of the end until the job is done.
    The story's round shows that progress, so each write moves the story's revision."""

    def __init__(self, job_id: int, story_id: int, estimate_s: float | None, interval: float = 1.0,
                 worker: str | None = None):
        super().__init__(job_id, interval=interval, worker=worker)
        self.story_id = story_id
        self.estimate_s = estimate_s if estimate_s and estimate_s > 0 else None
        self._metrics.update(stage="writing", estimate_s=self.estimate_s)

    def _record(self, progress: float, metrics: dict, points: list) -> None:
        super()._record(progress, metrics, points)
        events.changed(self.story_id)

    def flush(self) -> None:
        elapsed = time.monotonic() - self.started
        with self._lock:
            if self.estimate_s:
                self._progress = min(0.95, elapsed / self.estimate_s)
                self._metrics["eta_s"] = round(max(0.0, self.estimate_s - elapsed), 1)
        super().flush()
