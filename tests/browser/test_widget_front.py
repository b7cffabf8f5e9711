"""Where the widget looks for Rasa (api/app/static/widget.js), in Debian's Chromium.

Behind the nginx front of `make run-scale` (the template rendered as scripts/run_scale.py
writes it) the page's own origin serves Rasa's socket.io channel: the widget must talk to it,
with no ?rasa= and no meta tag. Served straight by the API, as under `make run` (page :8000,
Rasa :5005), it must keep looking on port 5005. Stand-ins on ports 6230-6239: the real page
and its files from api/app/static (the API's `/` and `/static`), and a "Rasa" that answers
only its socket.io channel's health route, as Rasa does (`GET /webhooks/socketio/`).
"""

from __future__ import annotations

import json
import mimetypes
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

from scripts import run_scale

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "app" / "static"
PORTS = {
    "SCALE_FRONT_PORT": "6230",
    "SCALE_RASA_LB_PORT": "6231",
    "SCALE_ACTION_LB_PORT": "6232",
    "RASA_REPLICA_PORTS": "6233",
    "API_PORT": "6234",
    "ACTION_REPLICA_PORTS": "6235",
}
TIMEOUT = 15_000

pytestmark = pytest.mark.skipif(
    not os.access(run_scale.NGINX, os.X_OK), reason=f"{run_scale.NGINX} missing: `make nginx` installs it"
)


class Page(BaseHTTPRequestHandler):
    """The API's part: `/` is the demo page, `/static/...` its files, anything else 404."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        file = None
        if path == "/":
            file = STATIC / "index.html"
        elif path.startswith("/static/") and ".." not in path:
            file = STATIC / path[len("/static/") :]
        if file is None or not file.is_file():
            return self._send(404, b'{"detail":"Not Found"}', "application/json")
        self._send(200, file.read_bytes(), mimetypes.guess_type(file.name)[0] or "application/octet-stream")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Rasa(Page):
    """Rasa's part: its socket.io channel's health route, nothing else."""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/webhooks/socketio/":
            return self._send(200, json.dumps({"status": "ok"}).encode(), "application/json")
        self._send(404, b"not found", "text/plain")


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = [
        ThreadingHTTPServer(("127.0.0.1", int(PORTS["API_PORT"])), Page),
        ThreadingHTTPServer(("127.0.0.1", int(PORTS["RASA_REPLICA_PORTS"])), Rasa),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    run_dir = tmp_path_factory.mktemp("nginx")
    conf = run_scale.render_nginx(dict(run_scale.scale_environment({}), **PORTS), run_dir)
    nginx = subprocess.Popen(
        run_scale.nginx_process(conf, run_dir).args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(int(PORTS["SCALE_FRONT_PORT"]))
        yield f"http://127.0.0.1:{PORTS['SCALE_FRONT_PORT']}"
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        for server in servers:
            server.shutdown()
            server.server_close()


def rasa_url_of(browser, url: str) -> str:
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => window.travelChat && window.travelChat.rasaUrl", timeout=TIMEOUT)
        return page.evaluate("() => window.travelChat.rasaUrl")
    finally:
        context.close()


def test_behind_the_front_the_widget_talks_to_the_pages_own_origin(browser, front):
    assert rasa_url_of(browser, front + "/") == front


def test_served_by_the_api_alone_the_widget_looks_on_port_5005(browser, front):
    # make run: the API serves the page on its own port and answers 404 on /webhooks/socketio/.
    assert rasa_url_of(browser, f"http://127.0.0.1:{PORTS['API_PORT']}/") == "http://127.0.0.1:5005"


def test_rasa_parameter_still_wins_on_this_machine(browser, front):
    assert rasa_url_of(browser, front + "/?rasa=http://127.0.0.1:6999") == "http://127.0.0.1:6999"
