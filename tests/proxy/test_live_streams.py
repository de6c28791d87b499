"""The proxy in front of the live round server (deploy/nginx/relay.conf): streams are passed on
as they come, one address holds at most 64 of them, and with the live server away a page is
told to poll (204), never left with an error page."""
import http.client
import socketserver
import threading

import pytest

from tests.conftest import missing_service
from tests.proxy.stack import free_port, nginx_binary, start_nginx, stop

pytestmark = pytest.mark.proxy
PER_ADDRESS = 64


class Holder(socketserver.BaseRequestHandler):
    """A stand-in live server: answers every stream and holds it open until the test ends."""
    release = threading.Event()

    def handle(self):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n8\r\n: live\n\n\r\n")
        self.release.wait(60)


@pytest.fixture
def holder():
    if nginx_binary() is None:
        missing_service("nginx is not installed (make proxy installs Debian's)")
    server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), Holder)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    Holder.release.set()
    server.shutdown()
    server.server_close()


def open_stream(port: int):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/v1/stories/1/live", headers={"Accept": "text/event-stream"})
    return conn, conn.getresponse()


def test_one_address_holds_at_most_its_share_of_live_streams(holder, tmp_path):
    proxy = start_nginx(tmp_path / "nginx", free_port(), live_port=holder)
    opened = []
    try:
        for _ in range(PER_ADDRESS):
            opened.append(open_stream(proxy.http_port))
            assert opened[-1][1].status == 200
            assert opened[-1][1].headers["Content-Type"] == "text/event-stream"
        conn, refused = open_stream(proxy.http_port)
        assert refused.status == 429  # EventSource gives up; the page polls
        conn.close()
        opened.pop()[0].close()
        conn, again = open_stream(proxy.http_port)
        assert again.status == 200  # a place given back is free again
        conn.close()
    finally:
        for conn, _response in opened:
            conn.close()
        stop(proxy.process)


def test_with_the_live_server_away_the_page_is_told_to_poll(tmp_path):
    if nginx_binary() is None:
        missing_service("nginx is not installed (make proxy installs Debian's)")
    proxy = start_nginx(tmp_path / "nginx", free_port(), live_port=free_port())  # nobody listens there
    try:
        conn, response = open_stream(proxy.http_port)
        assert response.status == 204
        conn.close()
    finally:
        stop(proxy.process)
