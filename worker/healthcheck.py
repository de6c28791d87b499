"""Container health check of Celery beat: ``python -m worker.healthcheck``.

Beat itself answers no ping; what it is for is that ``relay.tick`` runs, and every tick writes
a worker heartbeat. Exit 0 while the newest heartbeat is younger than WORKER_HEARTBEAT_SECONDS,
1 otherwise (no Celery, no torch: only the database is read)."""
import sys


def main() -> int:
    from app import create_app
    from app.health import last_heartbeat_age

    app = create_app()
    with app.app_context():
        try:
            age = last_heartbeat_age()
        except Exception as e:
            print(f"database: {type(e).__name__}: {e}")
            return 1
    limit = app.config["WORKER_HEARTBEAT_SECONDS"]
    if age is None or age > limit:
        print(f"no tick in the last {limit}s (newest heartbeat: {'none' if age is None else f'{age:.0f}s ago'})")
        return 1
    print(f"ok: newest heartbeat {age:.0f}s ago")
    return 0


if __name__ == "__main__":
    sys.exit(main())
