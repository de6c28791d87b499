"""docker-compose.yml, checked without Docker (no machine here runs it): it parses, each command
names code that exists, each variable it sets is one config.py reads, and the production
promises hold (one task per GPU worker on queue gpu, Redis never evicts, migrations before
serving, a health check everywhere)."""
import ast
import importlib
import importlib.util
import re
import shlex
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
# Services built from our Dockerfile run our code; postgres and redis are upstream images whose
# variables (POSTGRES_*) are theirs.
APP_SERVICES = {name: s for name, s in SERVICES.items() if "build" in s}
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:[:?\-][^}]*)?\}")


def config_reads() -> set[str]:
    """Every environment variable config.py reads: os.environ.get/[]/getenv and its _int/_float."""
    tree = ast.parse((ROOT / "config.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = ast.unparse(node.func)
            if func in ("os.environ.get", "os.getenv", "_int", "_float"):
                names.add(node.args[0].value)
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(node.slice.value)
    return names


def commands(command) -> list[list[str]]:
    """A service's command as argv lists: ``sh -c "a && exec b"`` gives [a, b]."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] == ["sh", "-c"] or argv[:1] == ["CMD-SHELL"]:
        script = argv[2] if argv[0] == "sh" else argv[1]
        return [shlex.split(part.strip().removeprefix("exec ")) for part in script.split("&&")]
    if argv[:1] == ["CMD"]:
        argv = argv[1:]
    return [argv]


def option(argv: list[str], *names: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg in names:
            return argv[i + 1]
    return None


def check_runs_our_code(argv: list[str]) -> None:
    program = argv[0]
    if program == "celery":
        module = importlib.import_module(option(argv, "-A", "--app"))
        from celery import Celery

        assert any(isinstance(v, Celery) for v in vars(module).values()), f"{module.__name__}: no Celery app"
        assert argv[3] in ("worker", "beat", "inspect"), argv
    elif program == "gunicorn":
        assert (ROOT / option(argv, "-c", "--config")).is_file()
        module_name, _, factory = argv[-1].partition(":")
        assert callable(getattr(importlib.import_module(module_name), factory.removesuffix("()")))
    elif program == "flask":
        module = importlib.import_module(option(argv, "--app"))
        group, subcommand = argv[argv.index(option(argv, "--app")) + 1:][:2]
        command = module.create_app().cli.get_command(None, group)  # Flask-Migrate's "db"
        assert command is not None and subcommand in command.commands, argv
    elif program == "python":
        if "-m" in argv:
            assert importlib.util.find_spec(option(argv, "-m")) is not None, argv
    elif program in ("pg_isready", "redis-cli", "redis-server", "curl"):
        pass  # the upstream images' own tools (curl: the nginx image's)
    else:
        raise AssertionError(f"unknown program in {argv}")


def test_the_stack_has_its_services():
    assert {"proxy", "postgres", "redis", "web", "worker-gpu", "worker", "beat"} <= set(SERVICES)
    assert set(APP_SERVICES) >= {"web", "worker-gpu", "worker", "beat"}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_command_and_health_check_names_code_that_exists(name):
    service = SERVICES[name]
    if "command" in service:
        for argv in commands(service["command"]):
            check_runs_our_code(argv)
    test = service["healthcheck"]["test"]
    for argv in commands(test):
        check_runs_our_code([a.replace("$$HOSTNAME", "host") for a in argv])
    assert service["healthcheck"].get("interval") and service["healthcheck"].get("retries")


def test_every_variable_set_is_one_config_reads():
    reads = config_reads()
    assert {"DATABASE_URL", "REDIS_URL", "TRAIN_MAX_MINUTES", "WEB_CONCURRENCY"} <= reads  # the parser works
    for name, service in APP_SERVICES.items():
        unknown = set(service["environment"]) - reads
        assert not unknown, f"{name} sets {unknown}, which config.py never reads"


def test_env_example_holds_only_what_config_or_compose_reads():
    text = (ROOT / "docker-compose.yml").read_text()
    interpolated = set(INTERPOLATION.findall(text))
    example = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert not example - config_reads() - interpolated
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required <= example, "a variable compose requires is missing from .env.example"


def test_gpu_worker_takes_one_task_at_a_time_from_queue_gpu_on_a_gpu():
    service = SERVICES["worker-gpu"]
    [argv] = commands(service["command"])
    assert argv[3] == "worker" and option(argv, "-Q", "--queues") == "gpu"
    assert option(argv, "-c", "--concurrency") == "1"
    [device] = service["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    mounts = {volume.split(":")[1] for volume in service["volumes"]}
    assert service["environment"]["DATA_DIR"] in mounts  # model versions outlive the container
    assert any("huggingface" in m for m in mounts)  # downloaded bases too


def test_the_light_worker_serves_the_default_queue_and_beat_is_there():
    [worker] = commands(SERVICES["worker"]["command"])
    assert option(worker, "-Q", "--queues") == "celery"
    [beat] = commands(SERVICES["beat"]["command"])
    assert beat[3] == "beat"


def test_redis_never_evicts_and_keeps_its_queue_across_a_restart():
    [argv] = commands(SERVICES["redis"]["command"])
    assert option(argv, "--maxmemory-policy") == "noeviction"
    assert option(argv, "--appendonly") == "yes"


def test_web_migrates_before_it_serves():
    steps = commands(SERVICES["web"]["command"])
    assert steps[0][:1] == ["flask"] and steps[0][-2:] == ["db", "upgrade"]
    assert steps[-1][0] == "gunicorn"
    assert "&&" in SERVICES["web"]["command"][-1]  # a failed migration stops the start


def test_app_services_wait_for_healthy_services_and_talk_to_them():
    for name, service in APP_SERVICES.items():
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["FLASK_ENV_CONFIG"] == "production"
        if name != "web":  # workers and beat write tables that the web's migrations create
            assert service["depends_on"]["web"]["condition"] == "service_healthy", name


def test_the_image_serves_the_app_and_leaves_local_state_out():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements.txt" in dockerfile
    cmd = ast.literal_eval(re.search(r"^CMD (\[.*\])$", dockerfile, re.M).group(1))
    check_runs_our_code(cmd)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "instance", ".git"} <= set(ignored)


# --- the proxy: the only way in ---------------------------------------------------------------

def internal_networks() -> set[str]:
    return {name for name, network in (COMPOSE.get("networks") or {}).items() if (network or {}).get("internal")}


def test_only_the_proxy_publishes_ports():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}
    assert {port.rsplit(":", 1)[1] for port in SERVICES["proxy"]["ports"]} == {"80", "443"}


def test_gunicorn_postgres_and_redis_live_on_an_internal_network_only():
    internal = internal_networks()
    assert internal, "no internal network"
    for name in ("web", "postgres", "redis", "worker", "beat"):
        assert set(SERVICES[name]["networks"]) <= internal, name
    assert set(SERVICES["proxy"]["networks"]) & internal and set(SERVICES["proxy"]["networks"]) - internal


def test_the_proxy_forwards_to_the_port_gunicorn_listens_on_and_is_the_one_hop_trusted():
    web = SERVICES["web"]
    port = str(web["environment"]["PORT"])
    assert SERVICES["proxy"]["environment"]["RELAY_UPSTREAM"] == f"web:{port}"
    assert web["expose"] == [port]
    # PROXY_HOPS counts the proxies that add an X-Forwarded-For entry: nginx alone.
    assert re.fullmatch(r"\$\{PROXY_HOPS:-1\}", web["environment"]["PROXY_HOPS"])
    assert SERVICES["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_proxy_mounts_the_repositorys_nginx_files_and_tls_brings_hsts():
    mounts = {volume.rsplit(":", 2)[1]: volume.rsplit(":", 2)[0] for volume in SERVICES["proxy"]["volumes"]}
    template = mounts["/etc/nginx/templates/default.conf.template"]
    assert template == "./deploy/nginx/${PROXY_SCHEME:-https}.conf.template"
    for scheme in ("https", "http"):
        assert (ROOT / template.replace("${PROXY_SCHEME:-https}", scheme)).is_file()
    assert (ROOT / mounts["/etc/nginx/relay/relay.conf"]).is_file() and "/etc/nginx/certs" in mounts
    https = (ROOT / "deploy/nginx/https.conf.template").read_text()
    http = (ROOT / "deploy/nginx/http.conf.template").read_text()
    assert "ssl_certificate certs/fullchain.pem" in https and "add_header Strict-Transport-Security" in https
    assert "add_header Strict-Transport-Security" not in http and not re.search(r"listen [^;]* ssl", http)
    assert "include relay/relay.conf;" in https and "include relay/relay.conf;" in http


def test_the_proxy_takes_an_upload_as_large_as_the_site_does():
    from app.novels.uploads import FORM_ROOM
    from config import Config

    relay = (ROOT / "deploy/nginx/relay.conf").read_text()
    size, unit = re.search(r"^client_max_body_size (\d+)([km]);", relay, re.M).groups()
    assert int(size) * {"k": 1024, "m": 1024 * 1024}[unit] >= Config.NOVEL_MAX_BYTES + FORM_ROOM
    assert re.search(r"^client_header_timeout \d+s;", relay, re.M)  # slow clients wait in nginx, not gunicorn
