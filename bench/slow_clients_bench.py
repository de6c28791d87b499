"""Slow clients against gunicorn, straight and behind the compose proxy (Debian's nginx).

    .venv/bin/python bench/slow_clients_bench.py [--slow 16] [--trickle 10] [--seconds 30]
        [--workers 4] [--threads 4]

Starts the site under gunicorn.conf.py (--workers x --threads, SQLite in a temporary folder)
and nginx with deploy/nginx/ on free ports, then, for each target (gunicorn straight, then
nginx): opens --slow sockets that send request headers one byte every --trickle seconds and
never finish them, and meanwhile sends ordinary GETs of /livez, one after the other with
0.2 s between them, for --seconds, each with a 5 s timeout: how many were answered, the median and the slowest answer, and how
many slow sockets the server had cut off by the end. Prints figures; asserts nothing.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.proxy.stack import (SlowClients, free_port, nginx_binary, start_gunicorn, start_nginx, stop,  # noqa: E402
                               timed_gets)


def probe(name: str, port: int, args) -> None:
    with SlowClients(port, args.slow, args.trickle) as slow:
        time.sleep(1)
        took = timed_gets(f"http://127.0.0.1:{port}/livez", int(args.seconds / 0.2), 5.0, pause=0.2,
                          within=args.seconds)
        cut = slow.cut_off
    answered = [t for t in took if t is not None]
    figures = (f"median {statistics.median(answered) * 1000:.1f} ms, slowest {max(answered) * 1000:.1f} ms"
               if answered else "none answered")
    print(f"{name}: {len(answered)}/{len(took)} ordinary requests answered within 5 s ({figures}); "
          f"{cut} of {args.slow} slow sockets cut off by the server")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--slow", type=int, default=16)
    parser.add_argument("--trickle", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    if nginx_binary() is None:
        sys.exit("nginx is not installed: make proxy")
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
          f"({os.cpu_count()} cores)")
    print(f"gunicorn {args.workers} x {args.threads} threads; {args.slow} slow sockets, a byte every "
          f"{args.trickle:g} s; GET /livez every 0.2 s for {args.seconds:g} s")
    with tempfile.TemporaryDirectory() as folder:
        port = free_port()
        site = start_gunicorn(Path(folder) / "site", port, workers=args.workers, threads=args.threads, PROXY_HOPS=1)
        proxy = start_nginx(Path(folder) / "nginx", port)
        try:
            probe("gunicorn straight", port, args)
            time.sleep(2)
            probe("behind nginx", proxy.http_port, args)
        finally:
            stop(proxy.process)
            stop(site)
    print(f"load after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
