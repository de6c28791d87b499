"""Debian's nginx in front of gunicorn, both started here on free ports in a folder of their own,
with the repository's proxy configuration (deploy/nginx/); and clients that send their headers
a byte at a time. Used by tests/proxy/ and bench/slow_clients_bench.py.

Nothing here touches a system nginx service or the shared PostgreSQL and Redis: the site runs
on SQLite in the folder, with its rate limits in memory (one gunicorn process)."""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO / "deploy" / "nginx"
NGINX_CANDIDATES = ["/usr/sbin/nginx", shutil.which("nginx")]


def nginx_binary() -> str | None:
    return next((path for path in NGINX_CANDIDATES if path and os.access(path, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_answering(url: str, seconds: float, log: Path | None = None, **kwargs) -> None:
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        try:
            urllib.request.urlopen(url, timeout=2, **kwargs).close()
            return
        except urllib.error.HTTPError:
            return  # it answers, whatever it says
        except OSError:
            time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} did not answer within {seconds} s\n{tail}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- gunicorn: the production configuration (gunicorn.conf.py), fewer processes ---------------

def start_gunicorn(folder: Path, port: int, workers: int = 1, threads: int = 4, **env) -> subprocess.Popen:
    """The site under gunicorn.conf.py on 127.0.0.1:port, on a migrated SQLite database in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_URL", "PROXY_HOPS"))},
        "DATABASE_URL": f"sqlite:///{folder / 'relay.sqlite'}", "SECRET_KEY": "proxy-test", "INSTANCE_DIR": str(folder),
        "DATA_DIR": str(folder / "data"), "BROKER_DIR": str(folder / "broker"), "PORT": str(port),
        "WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads), **{k: str(v) for k, v in env.items()},
    }
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=REPO, env=settings,
                   check=True, capture_output=True)
    log = folder / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=REPO, env=settings, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/livez", 60, log)
    except Exception:
        stop(process)
        raise
    return process


# --- nginx: the repository's templates, filled in as the official image's envsubst does -------

TEMPLATE_VARIABLE = re.compile(r"\$\{(RELAY_[A-Z_]+)\}")


def render_template(name: str, values: dict) -> str:
    """deploy/nginx/<name> with ${RELAY_*} filled in; nginx's own $variables stay."""
    text = (NGINX_DIR / name).read_text()
    missing = set(TEMPLATE_VARIABLE.findall(text)) - set(values)
    assert not missing, f"{name} needs {missing}"
    return TEMPLATE_VARIABLE.sub(lambda m: str(values[m.group(1)]), text)


def self_signed_certificate(folder: Path) -> None:
    """certs/fullchain.pem and certs/privkey.pem for 127.0.0.1 (openssl, as the proxy mounts them)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(folder / "privkey.pem"), "-out", str(folder / "fullchain.pem")],
                   check=True, capture_output=True)


@dataclass
class Nginx:
    process: subprocess.Popen
    folder: Path
    http_port: int
    https_port: int | None = None

    def error_log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def start_nginx(folder: Path, upstream_port: int, scheme: str = "http", hsts_seconds: int = 31536000,
                live_port: int | None = None, connections: int = 4096) -> Nginx:
    """Debian's nginx with deploy/nginx/<scheme>.conf.template and relay.conf, as compose runs it;
    the live round streams go to ``live_port`` (none listening there: pages are told to poll)."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conf.d").mkdir(exist_ok=True)
    (folder / "relay").mkdir(exist_ok=True)
    (folder / "relay" / "relay.conf").symlink_to(NGINX_DIR / "relay.conf")  # the file itself, not a copy
    http_port, https_port = free_port(), free_port() if scheme == "https" else None
    values = {"RELAY_UPSTREAM": f"127.0.0.1:{upstream_port}", "RELAY_HTTP_PORT": f"127.0.0.1:{http_port}",
              "RELAY_LIVE_UPSTREAM": f"127.0.0.1:{live_port or free_port()}",
              "RELAY_HTTPS_PORT": f"127.0.0.1:{https_port}", "RELAY_HSTS_SECONDS": hsts_seconds}
    (folder / "conf.d" / "default.conf").write_text(render_template(f"{scheme}.conf.template", values))
    if scheme == "https":
        self_signed_certificate(folder / "certs")
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    # The main file is the image's nginx.conf in spirit: the paths are this folder's.
    (folder / "nginx.conf").write_text(f"""
{"user root root;" if os.geteuid() == 0 else ""}
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
worker_rlimit_nofile {2 * connections + 64};
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include conf.d/*.conf;
}}
""")
    command = [binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log"),
               "-g", "daemon off;"]
    check = subprocess.run([*command[:-2], "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=(folder / "nginx.out").open("wb"))
    nginx = Nginx(process, folder, http_port, https_port)
    try:
        wait_until_answering(f"http://127.0.0.1:{http_port}/proxy-health", 15, folder / "error.log")
    except Exception:
        stop(process)
        raise
    return nginx


# --- slow clients ----------------------------------------------------------------------------

@dataclass
class SlowClients:
    """Sockets that send a request's headers a byte every ``interval`` seconds and never finish."""

    port: int
    count: int
    interval: float
    sockets: list = field(default_factory=list)
    opened: int = 0
    cut_off: int = 0  # sockets the server closed on them
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self):
        for _ in range(self.count):
            conn = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            conn.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            self.sockets.append(conn)
        self.opened = len(self.sockets)
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()
        return self

    def _trickle(self):
        while not self._stop.wait(self.interval):
            for conn in list(self.sockets):
                try:
                    conn.sendall(b"X")  # one byte of a header that never ends
                except OSError:
                    self.sockets.remove(conn)
                    self.cut_off += 1

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        for conn in self.sockets:
            conn.close()


def timed_gets(url: str, count: int, timeout: float, pause: float = 0.1, headers: dict | None = None,
               within: float | None = None) -> list[float | None]:
    """Seconds each of ``count`` ordinary GETs took, None for one that got no answer in time;
    with ``within``, no GET starts after that many seconds."""
    took = []
    ends = time.monotonic() + within if within else None
    for _ in range(count):
        if ends and time.monotonic() > ends:
            break
        started = time.monotonic()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=timeout) as answer:
                answer.read()
            took.append(time.monotonic() - started)
        except (OSError, urllib.error.URLError):
            took.append(None)
        time.sleep(pause)
    return took
