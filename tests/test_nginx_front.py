"""The nginx front of `make run-scale` (deploy/nginx/scale.conf.template), run for real.

nginx renders from the template exactly as scripts/run_scale.py writes it, in front of small
echo servers standing in for the Rasa replicas, the action servers and the API: each answers
with the request headers it received. What the services behind nginx see of the traveller
(X-Forwarded-For: the API's guessing limits and logs, Rasa's socket.io connections) must
survive every public route, websocket upgrades included: a location with its own
`proxy_set_header` inherits none of the server's, and /socket.io/ used to lose them.

Ports 6200-6209 (this session's range). Skipped, saying so, without Debian's nginx (`make nginx`).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Iterator, List

import httpx
import pytest

from scripts import run_scale

PORTS = {
    "SCALE_FRONT_PORT": "6200",
    "SCALE_RASA_LB_PORT": "6201",
    "SCALE_ACTION_LB_PORT": "6202",
    "RASA_REPLICA_PORTS": "6203 6204",
    "API_PORT": "6205",
    "ACTION_REPLICA_PORTS": "6206 6207",
}
TRAVELLER = "203.0.113.7"  # what an outer proxy (a CDN) says the traveller's address is

pytestmark = pytest.mark.skipif(
    not os.access(run_scale.NGINX, os.X_OK), reason=f"{run_scale.NGINX} missing: `make nginx` installs it"
)


class Echo(BaseHTTPRequestHandler):
    """Answers any request with who it is and the headers it got."""

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "upstream": self.server.server_address[1],
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


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
    upstream_ports: List[int] = []
    for name in ("RASA_REPLICA_PORTS", "ACTION_REPLICA_PORTS", "API_PORT"):
        upstream_ports += run_scale.ports(PORTS[name])
    servers = [ThreadingHTTPServer(("127.0.0.1", port), Echo) for port in upstream_ports]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    run_dir: Path = tmp_path_factory.mktemp("nginx")
    conf = run_scale.render_nginx(dict(run_scale.scale_environment({}), **PORTS), run_dir)
    args = run_scale.nginx_process(conf, run_dir).args
    subprocess.run([*args[:-2], "-t", "-q"], check=True)  # the rendered file is valid nginx
    nginx = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(int(PORTS["SCALE_FRONT_PORT"]))
        yield f"http://127.0.0.1:{PORTS['SCALE_FRONT_PORT']}"
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
        for server in servers:
            server.shutdown()
            server.server_close()


def _seen(url: str, headers: Dict[str, str]) -> Dict:
    response = httpx.get(url, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


WEBSOCKET = {"Upgrade": "websocket", "Connection": "Upgrade"}


@pytest.mark.parametrize(
    "path, extra, upstreams",
    [
        ("/socket.io/?EIO=4&transport=websocket", WEBSOCKET, PORTS["RASA_REPLICA_PORTS"]),
        ("/socket.io/?EIO=4&transport=polling", {}, PORTS["RASA_REPLICA_PORTS"]),
        ("/webhooks/rest/webhook", {}, PORTS["RASA_REPLICA_PORTS"]),
        ("/", {}, PORTS["API_PORT"]),
        ("/static/index.html", {}, PORTS["API_PORT"]),
    ],
)
def test_every_public_route_passes_the_travellers_address(front: str, path: str, extra: Dict, upstreams: str):
    seen = _seen(front + path, {"X-Forwarded-For": TRAVELLER, **extra})
    assert seen["upstream"] in run_scale.ports(upstreams)
    headers = seen["headers"]
    # nginx appends the address it saw (loopback here) to what the outer proxy said.
    assert headers.get("x-forwarded-for") == f"{TRAVELLER}, 127.0.0.1"
    assert headers.get("x-forwarded-proto") == "http"
    assert headers.get("host") == "127.0.0.1"  # $host: the name the traveller asked for


def test_websocket_upgrade_still_reaches_rasa_as_an_upgrade(front: str):
    headers = _seen(front + "/socket.io/?EIO=4&transport=websocket", WEBSOCKET)["headers"]
    assert headers.get("upgrade") == "websocket"
    assert headers.get("connection", "").lower() == "upgrade"
    assert headers.get("x-forwarded-for") == "127.0.0.1"


def test_private_rasa_balancer_passes_the_callers_address(front: str):
    url = f"http://127.0.0.1:{PORTS['SCALE_RASA_LB_PORT']}/conversations/x/tracker"
    headers = _seen(url, {"X-Forwarded-For": TRAVELLER})["headers"]
    assert headers.get("x-forwarded-for") == f"{TRAVELLER}, 127.0.0.1"
