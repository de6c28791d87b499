"""config.py's production settings: limits and the visibility timeout derive from the budgets."""
from pathlib import Path

from config import Config, celery_settings, engine_options, task_budgets, visibility_timeout


def limits(**budgets):
    from app.jobs.kinds import time_limits

    site = {"TRAIN_MAX_MINUTES": Config.TRAIN_MAX_MINUTES, "STARTER_MAX_MINUTES": Config.STARTER_MAX_MINUTES,
            "GENERATION_TIME_LIMIT": Config.GENERATION_TIME_LIMIT, "TASK_OVERHEAD_SECONDS": Config.TASK_OVERHEAD_SECONDS}
    return time_limits({**site, **budgets})


def test_the_visibility_timeout_outlasts_the_longest_job_and_follows_the_budgets():
    settings = celery_settings("redis://127.0.0.1:6379/0", Path("/tmp"), 5)
    timeout = settings["broker_transport_options"]["visibility_timeout"]
    assert timeout > max(hard for _soft, hard in limits().values())
    assert timeout > limits()["relay.pretrain_starter"][1] > limits()["relay.retrain_story"][1]
    assert visibility_timeout(task_budgets(train_minutes=300)) > 300 * 60  # a bigger budget moves it
    assert limits(TRAIN_MAX_MINUTES=300)["relay.retrain_story"][0] > 300 * 60
    soft, hard = limits()["relay.generate_candidates"]
    assert soft < hard < limits()["relay.learn_and_continue"][0]  # generation is the short one


def test_every_job_kind_has_its_task_acked_late_on_the_gpu_queue_with_its_sites_limits(tmp_path):
    from app import create_app
    from app.jobs.kinds import KINDS

    app = create_app({"CELERY": celery_settings("redis://127.0.0.1:6379/0", tmp_path, 5), "TRAIN_MAX_MINUTES": 7})
    celery = app.extensions["celery"]
    import worker.tasks  # noqa: F401

    assert celery.conf.worker_prefetch_multiplier == 1 and celery.conf.result_backend.startswith("redis://")
    for kind in KINDS.values():
        task = celery.tasks[kind.task]
        assert task.acks_late and task.reject_on_worker_lost
        assert celery.amqp.router.route({}, kind.task)["queue"].name == "gpu"
        assert (task.soft_time_limit, task.time_limit) == limits(TRAIN_MAX_MINUTES=7)[kind.task]
    assert celery.tasks["relay.retrain_story"].soft_time_limit == 7 * 60 + Config.TASK_OVERHEAD_SECONDS


def test_a_web_process_pools_one_connection_per_thread():
    from config import GUNICORN_THREADS

    assert engine_options("sqlite:///x.db") == {}
    options = engine_options("postgresql+psycopg://u@h/db")
    assert options["pool_size"] == GUNICORN_THREADS
    # Dead connections are found by app.database's checkout check, not by a ping per request.
    assert not options["pool_pre_ping"]
    assert options["pool_recycle"] > 0 and options["max_overflow"] >= 0


def test_a_job_lost_with_its_machine_is_redelivered_before_the_stale_sweep_fails_it():
    assert Config.JOB_STALE_SECONDS > visibility_timeout(task_budgets())


def gunicorn_settings() -> dict:
    import runpy

    return runpy.run_path(str(Path(__file__).resolve().parents[1] / "gunicorn.conf.py"))


def test_gunicorn_closes_a_keep_alive_connection_now_and_then():
    import random
    from types import SimpleNamespace

    settings = gunicorn_settings()
    random.seed(7)
    requests = [SimpleNamespace(must_close=False) for _ in range(4000)]
    for req in requests:
        settings["pre_request"](None, req)
    closed = sum(req.must_close for req in requests) / len(requests)
    # About one request in KEEPALIVE_REQUESTS ends its connection, so clients spread over workers.
    assert abs(closed - 1 / settings["KEEPALIVE_REQUESTS"]) < 0.015
    assert settings["worker_class"] == "gthread"


def test_a_gunicorn_worker_freezes_what_the_app_loaded_out_of_the_collectors_reach():
    import gc

    settings = gunicorn_settings()
    gc.unfreeze()
    try:
        settings["post_worker_init"](None)
        assert gc.get_freeze_count() > 1000  # the test process's own modules and objects
    finally:
        gc.unfreeze()
