"""gunicorn settings: ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Worker and thread counts come from config.py (WEB_CONCURRENCY, GUNICORN_THREADS), which also
sizes each process's database pool to its threads (config.engine_options)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config import GUNICORN_THREADS, WEB_CONCURRENCY, Config  # noqa: E402

bind = f"0.0.0.0:{Config.PORT}"
workers = WEB_CONCURRENCY
# Threads, not more processes: requests wait on PostgreSQL and Redis, not on the CPU, and a
# thread costs no second copy of the app (a process is about 100 MB).
worker_class = "gthread"
threads = GUNICORN_THREADS
timeout = 60
graceful_timeout = 30
keepalive = 5
# Behind a reverse proxy (TLS): trust its X-Forwarded-* headers.
forwarded_allow_ips = "*"
accesslog = "-"
errorlog = "-"
# Recycle a process now and then, so a slow leak never grows without bound. Not often: a
# restart costs a second or two of CPU while the new process loads the app, and at the few
# hundred votes a second of a busy round, 5,000 requests came round every minute or so (a
# worker restarted in the middle of a 40-second bench/site_bench.py run).
max_requests = 100000
max_requests_jitter = 10000
