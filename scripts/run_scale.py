"""`make run-scale`: the scaled-out setup on this machine (docs/scale.md).

Two Rasa replicas (PostgreSQL tracker store, Redis lock store, socket.io rooms through Redis),
two action servers, the ticketing API with several workers on PostgreSQL, nginx in front of
them all. Settings: the environment wins over deploy/scale.env, which wins over dev.env (with
APP_ENV set to anything but development, dev.env's and scale.env's "dev-" secrets are dropped,
as scripts/env.sh does).

Process supervision is honcho's (the library behind `make run`'s Procfile, already in the
bot's environment): one coloured log stream, and Ctrl-C or the death of any process stops
them all, so a broken replica is never left half-running unnoticed. It does not restart a
process; in a cluster that is the orchestrator's job (deploy/k8s, deploy/compose). The
replica count comes from RASA_REPLICA_PORTS / ACTION_REPLICA_PORTS, so the processes are
added through honcho's Python API rather than a fixed Procfile.

    .venv/bin/python -m scripts.run_scale            # prepare, then run everything
    .venv/bin/python -m scripts.run_scale prepare    # databases and nginx.conf only
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from pathlib import Path
from string import Template
from typing import Dict, List, Mapping, NamedTuple, Optional
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
SCALE_ENV = ROOT / "deploy" / "scale.env"
DEV_ENV = ROOT / "dev.env"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx" / "scale.conf.template"
ENDPOINTS = ROOT / "deploy" / "endpoints.scale.yml"
RUN_DIR = ROOT / "var" / "scale"
BOT_PYTHON = ROOT / ".venv" / "bin" / "python"
API_BIN = ROOT / "api" / ".venv" / "bin"
NGINX = "/usr/sbin/nginx"


def read_env_file(path: Path) -> Dict[str, str]:
    values: Dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip()
    return values


def scale_environment(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """dev.env < deploy/scale.env < the environment."""
    environ = dict(os.environ if environ is None else environ)
    app_env = environ.get("APP_ENV", "")
    merged: Dict[str, str] = {}
    for path in (DEV_ENV, SCALE_ENV):
        for key, value in read_env_file(path).items():
            if app_env and app_env != "development" and value.startswith("dev-"):
                continue
            merged[key] = value
    merged.update(environ)
    merged.setdefault("PYTHONUNBUFFERED", "1")
    merged.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return merged


def ports(value: str) -> List[int]:
    return [int(p) for p in value.replace(",", " ").split()]


def render_nginx(env: Mapping[str, str], run_dir: Path) -> Path:
    """Writes run_dir/nginx.conf from the template; returns its path."""
    (run_dir / "nginx-tmp").mkdir(parents=True, exist_ok=True)

    def servers(name: str) -> str:
        return "\n".join(f"        server 127.0.0.1:{port} max_fails=0;" for port in ports(env[name]))

    values = dict(env, RUN_DIR=str(run_dir), RASA_SERVERS=servers("RASA_REPLICA_PORTS"))
    values["ACTION_SERVERS"] = servers("ACTION_REPLICA_PORTS")
    # Only ${NAME} placeholders are ours; nginx's own $variables pass through.
    conf = Template(NGINX_TEMPLATE.read_text(encoding="utf-8")).safe_substitute(values)
    path = run_dir / "nginx.conf"
    path.write_text(conf, encoding="utf-8")
    return path


class Database(NamedTuple):
    host: str
    port: int
    user: str
    password: str
    name: str


def databases(env: Mapping[str, str]) -> List[Database]:
    """The tracker store's database and the API's, as the services will reach them."""
    tracker = Database(
        env["TRACKER_DB_HOST"],
        int(env["TRACKER_DB_PORT"]),
        env["TRACKER_DB_USER"],
        env.get("TRACKER_DB_PASSWORD", ""),
        env["TRACKER_DB_NAME"],
    )
    url = urlsplit(env["DATABASE_URL"])
    if not url.scheme.startswith("postgresql"):
        return [tracker]
    api = Database(
        url.hostname or "127.0.0.1",
        url.port or 5432,
        url.username or "postgres",
        url.password or "",
        url.path.lstrip("/"),
    )
    return [tracker, api]


def ensure_databases(env: Mapping[str, str], drop: bool = False) -> None:
    """Creates the databases that do not exist yet (with `drop`, fresh ones)."""
    import psycopg2  # Rasa's PostgreSQL driver, in the bot's environment

    for db in databases(env):
        conn = psycopg2.connect(
            host=db.host,
            port=db.port,
            user=db.user,
            password=db.password,
            dbname="postgres",
            connect_timeout=5,
        )
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                if drop:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)')
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db.name,))
                if cursor.fetchone() is None:
                    cursor.execute(f'CREATE DATABASE "{db.name}"')
                    print(f"created PostgreSQL database {db.name} on {db.host}:{db.port}", flush=True)
        finally:
            conn.close()


def model_path(env: Mapping[str, str]) -> str:
    if env.get("RASA_MODEL"):
        return env["RASA_MODEL"]
    out = subprocess.run(
        [str(BOT_PYTHON), "scripts/train_model.py", "--path"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    wanted = out.stdout.strip()
    if Path(wanted).exists():
        return wanted
    # The working tree's data changed since the last training (another session's edit):
    # the newest model there is, said out loud.
    found = sorted((ROOT / "models").glob("assistant-*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not found:
        sys.exit(f"no trained model ({wanted}): run `make train` first")
    print(f"{wanted} not trained yet: using {found[-1]}", file=sys.stderr, flush=True)
    return str(found[-1])


class Process(NamedTuple):
    name: str
    args: List[str]
    cwd: Path
    health_url: Optional[str]


def rasa_process(env: Mapping[str, str], port: int, model: str, name: str) -> Process:
    return Process(
        name,
        [
            str(BOT_PYTHON),
            "-m",
            "bot.serve",
            "run",
            "--enable-api",
            "--port",
            str(port),
            "--model",
            model,
            "--credentials",
            str(ROOT / "credentials.yml"),
            "--endpoints",
            str(ENDPOINTS),
        ],
        ROOT,
        f"http://127.0.0.1:{port}/",
    )


def action_process(port: int, name: str) -> Process:
    args = [str(BOT_PYTHON), "-m", "actions.server", "--port", str(port), "--actions", "actions"]
    return Process(name, args, ROOT, f"http://127.0.0.1:{port}/health")


def api_process(env: Mapping[str, str]) -> Process:
    port = env["API_PORT"]
    args = [str(API_BIN / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", port]
    args += ["--workers", env.get("API_WORKERS", "2")]
    return Process("api", args, ROOT / "api", f"http://127.0.0.1:{port}/healthz")


def nginx_process(conf: Path, run_dir: Path) -> Process:
    args = [NGINX, "-p", str(run_dir), "-c", str(conf), "-e", str(run_dir / "nginx-error.log")]
    return Process("nginx", args, ROOT, None)


def processes(env: Mapping[str, str], model: str, run_dir: Path) -> List[Process]:
    conf = render_nginx(env, run_dir)
    found = [nginx_process(conf, run_dir), api_process(env)]
    for index, port in enumerate(ports(env["ACTION_REPLICA_PORTS"]), start=1):
        found.append(action_process(port, f"actions{index}"))
    for index, port in enumerate(ports(env["RASA_REPLICA_PORTS"]), start=1):
        found.append(rasa_process(env, port, model, f"rasa{index}"))
    return found


def check_nginx() -> None:
    if not os.access(NGINX, os.X_OK):
        sys.exit(f"{NGINX} not found: `make nginx` installs Debian's nginx")


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", nargs="?", default="run", choices=["run", "prepare"])
    args = parser.parse_args(argv)
    check_nginx()
    env = scale_environment()
    ensure_databases(env)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    model = model_path(env)
    found = processes(env, model, RUN_DIR)
    subprocess.run([NGINX, "-t", "-q", "-p", str(RUN_DIR), "-c", str(RUN_DIR / "nginx.conf")], check=True)
    if args.command == "prepare":
        print(f"databases ready; {RUN_DIR / 'nginx.conf'} written")
        return
    from honcho.manager import Manager

    manager = Manager()
    for process in found:
        command = f"cd {shlex.quote(str(process.cwd))} && exec {shlex.join(process.args)}"
        manager.add_process(process.name, command, env=env)
    front = env["SCALE_FRONT_PORT"]
    print(
        f"front: http://127.0.0.1:{front}/ (the web page; its widget talks to the front too); "
        f"console: http://127.0.0.1:{front}/static/console.html; "
        f"Rasa replicas {env['RASA_REPLICA_PORTS']} take a minute to load",
        flush=True,
    )
    manager.loop()
    sys.exit(manager.returncode)


if __name__ == "__main__":
    main()
