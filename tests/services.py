"""Start the real services on free loopback ports for the test suite.

Each service is a subprocess with its own environment; logs go to files under
the pytest temp dir so a failing test can show what the service said.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import httpx

import servicekit

ROOT = Path(__file__).resolve().parent.parent
BOT_BIN = Path(sys.executable).parent
API_PYTHON = ROOT / "api" / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    name: str
    args: List[str]
    env: Dict[str, str]
    health_url: str
    log_path: Path
    cwd: Path = ROOT
    headers: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 600) -> "Service":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
            try:
                if httpx.get(self.health_url, headers=self.headers, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"{self.name} did not become healthy in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def dev_defaults() -> Dict[str, str]:
    """dev.env's values, as `make` would export them for variables not already set."""
    pairs = (line.split("=", 1) for line in (ROOT / "dev.env").read_text().splitlines())
    return {k.strip(): v.strip() for k, v in (p for p in pairs if len(p) == 2) if not k.startswith("#")}


def base_env(**extra: str) -> Dict[str, str]:
    env = {**dev_defaults(), **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}}
    env.update({"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1", "RASA_TELEMETRY_ENABLED": "false"})
    env.update(extra)
    return env


def api_service(workdir: Path, database_url: str, port: Optional[int] = None) -> Service:
    port = port or free_port()
    return Service(
        name="ticketing-api",
        args=[str(API_PYTHON), "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        env=base_env(DATABASE_URL=database_url),
        health_url=f"http://127.0.0.1:{port}/healthz",
        log_path=workdir / "api.log",
        cwd=ROOT / "api",
    )


def rasa_auth_headers(jwt_secret: str) -> Dict[str, str]:
    """What the ticketing API sends to Rasa's HTTP API: a JWT signed with Rasa's --jwt-secret."""
    token = servicekit.rasa_admin_jwt(jwt_secret, "tests", lifetime_seconds=24 * 3600)
    return {"Authorization": f"Bearer {token}"}


def action_service(workdir: Path, api_url: str) -> Service:
    port = free_port()
    return Service(
        name="action-server",
        # actions/server.py: rasa-sdk behind the shared secret (ACTION_SERVER_TOKEN, dev.env)
        args=[str(BOT_BIN / "python"), "-m", "actions.server", "--port", str(port), "--actions", "actions"],
        env=base_env(API_URL=api_url),
        health_url=f"http://127.0.0.1:{port}/health",
        log_path=workdir / "actions.log",
    )


def rasa_service(
    workdir: Path,
    model: Path,
    action_url: str,
    token: str,
    port: Optional[int] = None,
    endpoints: Optional[Path] = None,
) -> Service:
    """Rasa through bot/serve.py; `token` is the JWT secret of its HTTP API (RASA_JWT_SECRET):
    call it with `rasa_auth_headers(token)`. `endpoints`: a file to use as it is (its variables
    set in the returned service's env) instead of one written for `action_url` and a tracker
    store in `workdir`."""
    port = port or free_port()
    if endpoints is None:
        endpoints = workdir / "endpoints.yml"
        endpoints.write_text(
            f"action_endpoint:\n  url: {action_url}\n"
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_TOKEN}\n"
            f"tracker_store:\n  type: bot.tracker_store.PooledSQLTrackerStore\n  dialect: sqlite\n"
            f"  db: {workdir / 'tracker.db'}\n"
        )
    return Service(
        name="rasa",
        args=[
            str(BOT_BIN / "python"),
            "-m",
            "bot.serve",
            "run",
            "--enable-api",
            "--port",
            str(port),
            "--model",
            str(model),
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--endpoints",
            str(endpoints),
        ],
        env=base_env(RASA_JWT_SECRET=token),
        health_url=f"http://127.0.0.1:{port}/status",
        headers=rasa_auth_headers(token),
        log_path=workdir / "rasa.log",
    )
