"""The proxy of docker-compose.yml, proved with Debian's nginx in front of the production gunicorn
configuration: clients that send their headers a byte at a time no longer starve everyone else,
clients cannot choose the address the rate limits see, TLS brings HSTS, and a body too large
for the proxy still gets the API's JSON error. bench/slow_clients_bench.py prints the figures."""
import json
import ssl
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import missing_service
from tests.proxy.stack import (SlowClients, free_port, nginx_binary, start_gunicorn, start_nginx, stop,
                               timed_gets)

pytestmark = pytest.mark.proxy

SLOW_SOCKETS = 16  # what stopped the production gunicorn (4 processes x 4 threads)
TRICKLE_SECONDS = 2  # a byte every 2 s: as slow as it needs to be, the test stays short
ANSWER_WITHIN = 2.0


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory):
    if nginx_binary() is None:
        missing_service("nginx is not installed (make proxy installs Debian's)")
    port = free_port()
    # One process of four threads: sixteen slow sockets would take four such processes.
    process = start_gunicorn(tmp_path_factory.mktemp("site"), port, workers=1, threads=4, PROXY_HOPS=1,
                             RATELIMIT_ACCOUNT="2/minute")
    yield port
    stop(process)


@pytest.fixture(scope="module")
def nginx(gunicorn, tmp_path_factory):
    proxy = start_nginx(tmp_path_factory.mktemp("nginx"), gunicorn)
    yield proxy
    stop(proxy.process)


def test_slow_header_clients_take_every_thread_of_gunicorn_reached_directly(gunicorn):
    """Why the proxy is there: the same probe, straight at gunicorn, leaves nobody answered."""
    url = f"http://127.0.0.1:{gunicorn}/livez"
    assert None not in timed_gets(url, 2, ANSWER_WITHIN)
    with SlowClients(gunicorn, SLOW_SOCKETS, TRICKLE_SECONDS):
        assert timed_gets(url, 2, ANSWER_WITHIN) == [None, None]
    time.sleep(1)  # the threads come back once the slow sockets are gone
    assert None not in timed_gets(url, 2, ANSWER_WITHIN * 3)


@pytest.mark.parametrize("slow_sockets", [SLOW_SOCKETS, 400])
def test_behind_nginx_slow_header_clients_leave_everyone_else_answered(nginx, slow_sockets):
    url = f"http://127.0.0.1:{nginx.http_port}/livez"
    with SlowClients(nginx.http_port, slow_sockets, TRICKLE_SECONDS) as slow:
        took = timed_gets(url, 25, ANSWER_WITHIN, pause=0.2)  # about 5 s, a couple of trickles
        still_open = len(slow.sockets)
    assert None not in took, (took, nginx.error_log())
    assert still_open == slow_sockets  # they were all still there, holding nothing of gunicorn's


def test_behind_nginx_a_client_cannot_choose_the_address_the_limits_see(gunicorn, nginx):
    """PROXY_HOPS=1 trusts one X-Forwarded-For entry: nginx's. Straight at gunicorn a client writes
    it itself and gets a fresh rate limit with each made-up address."""

    def token_calls(port: int) -> list[int]:
        codes = []
        for n in range(3):
            body = json.dumps({"username": "nobody", "password": "wrong-guess"}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/token", data=body, headers={
                "Content-Type": "application/json", "X-Forwarded-For": f"10.9.8.{n}"})
            try:
                urllib.request.urlopen(request, timeout=10)
            except urllib.error.HTTPError as answer:
                codes.append(answer.code)
        return codes

    assert token_calls(gunicorn) == [401, 401, 401]  # RATELIMIT_ACCOUNT 2/minute, dodged
    assert token_calls(nginx.http_port) == [401, 401, 429]  # one client, whatever it wrote


def test_an_upload_too_large_for_the_proxy_gets_the_apis_json_error(nginx):
    request = urllib.request.Request(f"http://127.0.0.1:{nginx.http_port}/api/v1/novels", data=b"x" * (7 * 1024 * 1024),
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 413
    error = json.loads(refused.value.read())["error"]
    assert error["code"] == "request_too_large" and "5MB" in error["message"]


def test_the_plain_http_proxy_promises_no_https(nginx):
    with urllib.request.urlopen(f"http://127.0.0.1:{nginx.http_port}/livez", timeout=5) as answer:
        assert answer.status == 200 and "Strict-Transport-Security" not in answer.headers


def test_with_tls_the_proxy_sends_hsts_and_sends_plain_http_to_https(gunicorn, tmp_path):
    proxy = start_nginx(tmp_path / "nginx-tls", gunicorn, scheme="https", hsts_seconds=600)
    try:
        unverified = ssl.create_default_context()
        unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE  # self-signed for the test
        with urllib.request.urlopen(f"https://127.0.0.1:{proxy.https_port}/livez", timeout=5, context=unverified) as answer:
            assert answer.status == 200
            assert answer.headers["Strict-Transport-Security"] == "max-age=600; includeSubDomains"
            assert answer.headers["Content-Security-Policy"]  # the site's own headers pass through

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        with pytest.raises(urllib.error.HTTPError) as moved:
            urllib.request.build_opener(NoRedirect).open(f"http://127.0.0.1:{proxy.http_port}/novels?q=1", timeout=5)
        assert moved.value.code == 301 and moved.value.headers["Location"].startswith("https://")
        assert moved.value.headers["Location"].endswith("/novels?q=1")
    finally:
        stop(proxy.process)
