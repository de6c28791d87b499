"""The embedded broker (relayfs) between real processes, and a real worker with beat."""
import multiprocessing
import os

from tests.app.worker_process import start_worker, stop_worker, wait_for


def _publish(folder: str, start: int, count: int) -> None:
    from kombu import Connection

    from app.extensions import register_embedded_broker

    register_embedded_broker()
    options = {"data_folder_in": folder, "data_folder_out": folder, "processed_folder": folder + "-done",
               "control_folder": folder + "-control"}
    with Connection("relayfs://localhost//", transport_options=options) as conn:
        queue = conn.SimpleQueue("q")
        for i in range(start, start + count):
            queue.put({"n": i, "padding": "가" * 2000})
        queue.close()


def _consume(folder: str, count: int, results) -> None:
    from kombu import Connection

    from app.extensions import register_embedded_broker

    register_embedded_broker()
    options = {"data_folder_in": folder, "data_folder_out": folder, "processed_folder": folder + "-done",
               "control_folder": folder + "-control", "polling_interval": 0.01}
    got = []
    with Connection("relayfs://localhost//", transport_options=options) as conn:
        queue = conn.SimpleQueue("q")
        try:
            while True:
                message = queue.get(timeout=1.5)
                got.append(message.payload["n"])
                message.ack()
        except Exception:
            pass
        queue.close()
    results.put(got)


def test_every_message_arrives_whole_and_once_across_processes(tmp_path):
    folder = str(tmp_path / "queue")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    consumers = [context.Process(target=_consume, args=(folder, 0, results)) for _ in range(2)]
    producers = [context.Process(target=_publish, args=(folder, i * 200, 200)) for i in range(2)]
    for p in consumers + producers:
        p.start()
    received = results.get(timeout=60) + results.get(timeout=60)
    for p in consumers + producers:
        p.join(timeout=30)
    assert sorted(received) == list(range(400))  # nothing lost, nothing twice, nothing torn
    assert not [n for n in os.listdir(folder) if not n.startswith(".")]


def test_a_real_worker_with_beat_enforces_deadlines(app, db, users, make_story, tmp_path):
    from app.database import utcnow
    from app.rounds.models import Round
    from app.rounds.machine import current_round_query

    owner, story = make_story(proposing_minutes=1)
    users.make("p1").post(f"/api/v1/stories/{story['id']}/round/proposals", {"keyword": "비", "sentences": 1})
    # The deadline has passed: only the beat-driven tick running in the worker can move it on.
    db.session.execute(Round.__table__.update().values(deadline=utcnow()))
    db.session.commit()
    log = tmp_path / "worker.log"
    worker = start_worker(app, log, beat=True)
    try:
        def phase():
            # Read and end the transaction at once: an open SQLite transaction holds the write lock.
            value = db.session.scalar(current_round_query(story["id"])).phase
            db.session.rollback()
            return value == "voting"

        wait_for(phase, 60, "the tick to open voting", log)
        assert owner.client.get("/healthz").status_code == 200  # the worker's heartbeat is there
    finally:
        stop_worker(worker)
