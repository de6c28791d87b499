"""gunicorn settings: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Worker and thread counts come from config.py (WEB_CONCURRENCY, GUNICORN_THREADS), which also
sizes each process's database pool to its threads (config.engine_options)."""
import gc
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import GUNICORN_ACCESS_LOG, GUNICORN_THREADS, WEB_CONCURRENCY, Config  # noqa: E402

bind = f"0.0.0.0:{Config.PORT}"
workers = WEB_CONCURRENCY
# Threads, not more processes: requests wait on PostgreSQL and Redis, not on the CPU, and a
# thread costs no second copy of the app (a process holds the whole app in memory).
worker_class = "gthread"
threads = GUNICORN_THREADS
timeout = 60
graceful_timeout = 30
keepalive = 5
# Behind a reverse proxy (TLS): trust its X-Forwarded-* headers.
forwarded_allow_ips = "*"
accesslog = GUNICORN_ACCESS_LOG
errorlog = "-"
# Recycle a process now and then, so a slow leak never grows without bound. Not often: a
# restart costs a second or two of CPU while the new process loads the app, and at the few
# hundred votes a second of a busy round, 5,000 requests came round every minute or so (a
# worker restarted in the middle of a 40-second bench/site_bench.py run).
max_requests = 100000
max_requests_jitter = 10000

# A keep-alive connection stays with the worker that accepted it, and the accept is a race
# that any worker may win: under steady load, 100 clients once ended 47/25/19/9 over the four
# workers, and the busiest (one core at most, by its GIL) queued while others idled. Closing a
# connection now and then, as nginx's keepalive_requests does, sends its client back to
# accept(), which an idle worker wins first. By chance rather than at a fixed count, so that
# clients that started together do not all reconnect at the same moment.
KEEPALIVE_REQUESTS = 20  # on average, per connection


def pre_request(worker, req):
    if random.random() < 1 / KEEPALIVE_REQUESTS:
        req.must_close = True


def post_worker_init(worker):
    # What the app loads (routes, SQLAlchemy metadata, templates: a great many objects) lives
    # as long as the process. Left with the collector, every full collection walked all of it
    # while holding the GIL, stalling the worker's threads under load (the site bench's slowest
    # votes); frozen, a full collection sees only what requests made.
    gc.freeze()
