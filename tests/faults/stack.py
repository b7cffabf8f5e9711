"""The scaled-out setup of `make run-scale` on the fault tests' own ports, piece by piece.

The same processes, commands and settings as scripts/run_scale.py (deploy/scale.env,
deploy/endpoints.scale.yml, the nginx template), moved to ports 6050-6099 so that a running
`make run-scale` and the tests do not collide, and with two pieces the tests can break:

- Redis is a redis-server of our own on REDIS_PORT (the machine's shared Redis is never
  stopped): `kill -9` and restart it;
- PostgreSQL is the machine's server reached through `TcpProxy` on TRACKER_DB_PORT: `cut()`
  closes every connection and refuses new ones, `mend()` lets them through again.

Each process is started, killed (SIGKILL) and restarted on its own; the API and the nginx
front are health-checked like the rest.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional

import httpx

from scripts import run_scale
from tests.services import Service, rasa_auth_headers

PORTS = {
    "SCALE_FRONT_PORT": "6050",
    "SCALE_RASA_LB_PORT": "6051",
    "SCALE_ACTION_LB_PORT": "6052",
    "RASA_REPLICA_PORTS": "6060 6061",
    "API_PORT": "6065",
    "ACTION_REPLICA_PORTS": "6070 6071",
}
REDIS_PORT = 6080
PG_PROXY_PORT = 6081
PG_PORT = 5432
TRACKER_DB = "travel_faults_tracker"
API_DB = "travel_faults_api"
TICKET_NO = re.compile(r"C\d{11,}")


def fault_environment(pg_port: int = PG_PROXY_PORT, **overrides: str) -> Dict[str, str]:
    """deploy/scale.env's settings on the tests' ports, Redis and PostgreSQL proxy (pg_port:
    PG_PORT for PostgreSQL itself, as make bench-scale does: no proxy thread in its way)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    env = run_scale.scale_environment(base)
    env.update(PORTS)
    env.update(
        RASA_URL=f"http://127.0.0.1:{PORTS['SCALE_RASA_LB_PORT']}",
        ACTION_SERVER_URL=f"http://127.0.0.1:{PORTS['SCALE_ACTION_LB_PORT']}/webhook",
        API_URL=f"http://127.0.0.1:{PORTS['API_PORT']}",
        RASA_CORS_ORIGINS=f"http://127.0.0.1:{PORTS['SCALE_FRONT_PORT']}",
        TRACKER_DB_PORT=str(pg_port),
        TRACKER_DB_NAME=TRACKER_DB,
        TRACKER_STORE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/{TRACKER_DB}",
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:{pg_port}/{API_DB}",
        REDIS_PORT=str(REDIS_PORT),
        REDIS_LOCK_DB="0",
        CHANNEL_REDIS_URL=f"redis://127.0.0.1:{REDIS_PORT}/0",
        TF_CPP_MIN_LOG_LEVEL="2",
        PYTHONUNBUFFERED="1",
        RETENTION_SCHEDULE="false",
    )
    env.update(overrides)
    return env


class TcpProxy:
    """A loopback TCP proxy the tests control: the "network" between the services and PostgreSQL."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port, self.target_port = listen_port, target_port
        self._listener: Optional[socket.socket] = None
        self._pairs: List[socket.socket] = []
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    def mend(self) -> None:
        """Accept and forward connections (again)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.listen_port))
        listener.listen(128)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, args=(listener,), daemon=True)
        self._thread.start()

    def cut(self) -> None:
        """Close every connection and refuse new ones (connection refused)."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() (close alone does not)
            except OSError:
                pass
            listener.close()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for sock in pairs:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for sock in (a, b):
                try:
                    sock.close()
                except OSError:
                    pass
            with self._lock:
                self._pairs = [s for s in self._pairs if s not in (a, b)]


class RedisServer:
    """A redis-server of our own (no persistence), so that killing it harms nobody else."""

    def __init__(self, port: int, workdir: Path) -> None:
        self.port, self.workdir = port, workdir
        self.process: Optional[subprocess.Popen] = None

    def start(self) -> "RedisServer":
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", str(self.workdir)]
        log = open(self.workdir / "redis.log", "ab")
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()


class Stack:
    """Every process of the scaled-out setup, on the fault tests' ports."""

    def __init__(self, workdir: Path, model: str, pg_proxy: bool = True) -> None:
        """pg_proxy=False: the services reach PostgreSQL directly (no cut()/mend(); make
        bench-scale, where the proxy's threads would share this process with the load)."""
        self.workdir = workdir
        self.pg_proxy = pg_proxy
        self.env = fault_environment(PG_PROXY_PORT if pg_proxy else PG_PORT)
        self.model = model
        self.redis = RedisServer(REDIS_PORT, workdir / "redis")
        self.pg = TcpProxy(PG_PROXY_PORT, PG_PORT)
        self.services: Dict[str, Service] = {}
        self.rasa_ports = run_scale.ports(self.env["RASA_REPLICA_PORTS"])
        self.action_ports = run_scale.ports(self.env["ACTION_REPLICA_PORTS"])
        self.front = f"http://127.0.0.1:{self.env['SCALE_FRONT_PORT']}"
        self.rasa_lb = self.env["RASA_URL"]
        self.auth = rasa_auth_headers(self.env["RASA_JWT_SECRET"])
        for process in run_scale.processes(self.env, model, workdir / "nginx"):
            health = process.health_url
            headers: Dict[str, str] = {}
            if process.name.startswith("rasa"):
                health = health + "status"  # 200 once the model is loaded
                headers = self.auth
            elif process.name == "nginx":
                health = f"{self.front}/healthz"
            self.services[process.name] = Service(
                name=process.name,
                args=process.args,
                env=dict(self.env),
                health_url=health,
                log_path=workdir / f"{process.name}.log",
                cwd=process.cwd,
                headers=headers,
            )

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> "Stack":
        direct = dict(self.env, TRACKER_DB_PORT=str(PG_PORT))
        direct["DATABASE_URL"] = direct["DATABASE_URL"].replace(f":{PG_PROXY_PORT}/", f":{PG_PORT}/")
        run_scale.ensure_databases(direct, drop=True)
        self.redis.start()
        if self.pg_proxy:
            self.pg.mend()
        # Replicas load their model at the same time: they share two cores with the rest.
        order = ["api", "actions1", "actions2", "nginx"]
        for name in order:
            self.services[name].start(timeout=180)
        self._start_together([self.services[n] for n in self.services if n.startswith("rasa")])
        return self

    def _start_together(self, services: List[Service], timeout: float = 600) -> None:
        """Start several services at once and wait for all of them."""
        for service in services:
            service.log_path.parent.mkdir(parents=True, exist_ok=True)
            service.process = subprocess.Popen(
                service.args,
                cwd=service.cwd,
                env=service.env,
                stdout=open(service.log_path, "ab"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        waiting = list(services)
        while waiting and time.monotonic() < deadline:
            for service in list(waiting):
                if service.process.poll() is not None:
                    raise RuntimeError(f"{service.name} exited early:\n{service.log_tail()}")
                try:
                    if httpx.get(service.health_url, headers=service.headers, timeout=2).status_code == 200:
                        waiting.remove(service)
                except httpx.HTTPError:
                    pass
            time.sleep(0.5)
        if waiting:
            raise RuntimeError(f"{waiting[0].name} did not become healthy:\n{waiting[0].log_tail()}")

    def stop(self) -> None:
        for service in self.services.values():
            service.stop()
        if self.pg_proxy:
            self.pg.cut()
        self.redis.kill()

    def kill(self, name: str) -> None:
        """kill -9: no clean-up, no goodbye (the whole process group: uvicorn's workers too)."""
        service = self.services[name]
        if service.process and service.process.poll() is None:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()

    def pause(self, *names: str) -> None:
        """SIGSTOP: the process holds its connections and answers nothing (a hung server)."""
        for name in names:
            os.killpg(self.services[name].process.pid, signal.SIGSTOP)

    def resume(self, *names: str) -> None:
        for name in names:
            os.killpg(self.services[name].process.pid, signal.SIGCONT)

    def restart(self, *names: str) -> None:
        self._start_together([self.services[n] for n in names])

    def ensure_running(self) -> None:
        """Whatever an earlier test left dead is started again."""
        if self.redis.process is None or self.redis.process.poll() is not None:
            self.redis.start()
        if self.pg_proxy and self.pg._listener is None:
            self.pg.mend()
        dead = [n for n, s in self.services.items() if s.process is None or s.process.poll() is not None]
        if dead:
            self.restart(*dead)

    # -- talking to it -----------------------------------------------------------------

    def rasa_url(self, replica: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[replica]}"

    def say(self, replica: int, sender: str, text: str, timeout: float = 120) -> List[Dict]:
        """One REST message to one replica; the bot's messages."""
        response = httpx.post(
            f"{self.rasa_url(replica)}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=timeout,
        )
        response.raise_for_status()
        return response.json()

    def tickets_of(self, sender: str) -> List[str]:
        """Ticket numbers the API stored for this conversation (straight from its database)."""
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=PG_PORT, user="postgres", dbname=API_DB)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT ticket_no FROM tickets WHERE conversation_id = %s", (sender,))
                return [row[0] for row in cursor.fetchall()]
        finally:
            conn.close()

    def log_of(self, name: str) -> str:
        return self.services[name].log_path.read_text(errors="replace")


def texts(messages: List[Dict]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)
