"""The Celery app of the worker and beat processes (Flask's Celery pattern).

    celery -A worker.celery_app worker -Q celery,gpu      # embedded: one worker for both queues
    celery -A worker.celery_app worker -Q gpu -c 1        # production: one per GPU
    celery -A worker.celery_app beat                      # deadlines and job sweeps
"""
from celery.signals import worker_init, worker_process_init, worker_ready

from app import create_app
from app.database import dispose_engines

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

import worker.tasks  # noqa: E402,F401  (registers the tasks)


@worker_process_init.connect
def _fresh_connections(**_kwargs):
    # A forked child must not share the parent's database connections.
    dispose_engines(flask_app, close=False)
    _torch_threads()


@worker_init.connect
def _torch_threads(**_kwargs):
    """TORCH_THREADS for every process that runs tasks (the pool's children, and a solo pool's
    one process). On a small shared host torch's default, a thread per core, made one 4-sentence
    generation several times slower under load than one thread did."""
    from worker.models import limit_torch_threads

    limit_torch_threads(flask_app.config["TORCH_THREADS"])


@worker_ready.connect
def _first_heartbeat(**_kwargs):
    from app.health import beat

    with flask_app.app_context():
        beat()
