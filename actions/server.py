"""The action server's entry point: rasa-sdk's app, closed to everyone but Rasa.

`python -m actions.server --port 5055 --actions actions` replaces `rasa run actions`:

- it refuses development secrets unless APP_ENV=development (servicekit, as every service);
- it binds ACTION_HOST (default 127.0.0.1), not rasa-sdk's 0.0.0.0;
- every route but /health needs `Authorization: Bearer <ACTION_SERVER_TOKEN>`, which only
  Rasa has (endpoints.yml: action_endpoint.headers). The actions call the ticketing API
  with its service token, so whoever reaches /webhook could otherwise forge a tracker
  (any booking number, "verified") and read any booking;
- an action that raises answers 500 with the action's name only: rasa-sdk's own handler
  echoed the whole request (the tracker) in the body, which Rasa then wrote to its log;
- every log handler masks personal data (servicekit.install_log_masking);
- the domain is kept by digest (`restore_domain`): Rasa (bot/patches.py) sends it only until
  this server has it, then `domain_digest` alone; an unknown digest (a restart, another
  replica, a new model) answers 449 and Rasa sends the call again with the domain.

rasa-sdk has no authentication of its own; this module builds the app with rasa-sdk's
public `create_app()` and adds a request middleware and an exception handler with
Sanic's public API, then runs it as `rasa_sdk.endpoint.run()` would.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from collections import OrderedDict
from typing import Any, Dict, List, Optional

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.request import Request

import servicekit

logger = logging.getLogger(__name__)

SERVICE = "action server"
TOKEN_ENV = "ACTION_SERVER_TOKEN"
HOST_ENV = "ACTION_HOST"
DEFAULT_HOST = "127.0.0.1"
OPEN_PATHS = frozenset({"/health"})
DOMAIN_DIGEST_KEY = "domain_digest"
UNKNOWN_DOMAIN_STATUS = 449  # "retry with the domain" (bot/patches.py sends it again)
KEPT_DOMAINS = 8  # models served at once by the Rasa replicas (a rollout has two)


def check_startup(environ: Optional[dict] = None) -> None:
    """The shared start-up check with the secrets this service uses."""
    servicekit.check_environment(SERVICE, required=[TOKEN_ENV, "API_SERVICE_TOKEN"], environ=environ)


def secure(app: Sanic, token: str) -> Sanic:
    """Require the shared secret on every route but /health; answer errors without the request."""
    if not token:
        raise servicekit.InsecureConfiguration(f"{SERVICE}: {TOKEN_ENV} is empty")
    expected = f"Bearer {token}".encode()

    @app.on_request
    async def require_rasa(request: Request):
        if request.path in OPEN_PATHS:
            return None
        provided = (request.headers.get("Authorization") or "").encode()
        if not hmac.compare_digest(provided, expected):
            return response.json({"error": "not authenticated"}, status=401)
        return None

    @app.exception(Exception)
    async def internal_error(request: Request, exception: Exception):
        action = _action_name(request)
        # The traceback goes to our log (masked); the tracker never does, in no body and no line.
        logger.error("Action %s failed: %s", action, type(exception).__name__, exc_info=exception)
        return response.json({"error": "internal error", "action_name": action}, status=500)

    return app


def _action_name(request: Request) -> str:
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - an unreadable body has no action name
        return "?"
    return str(body.get("next_action", "?")) if isinstance(body, dict) else "?"


class DomainCache:
    """The domains Rasa sent, by digest; the least recently used goes first."""

    def __init__(self, size: int = KEPT_DOMAINS) -> None:
        self.size = size
        self._domains: "OrderedDict[str, Dict[str, Any]]" = OrderedDict()

    def put(self, digest: str, domain: Dict[str, Any]) -> None:
        self._domains[digest] = domain
        self._domains.move_to_end(digest)
        while len(self._domains) > self.size:
            self._domains.popitem(last=False)

    def get(self, digest: str) -> Optional[Dict[str, Any]]:
        domain = self._domains.get(digest)
        if domain is not None:
            self._domains.move_to_end(digest)
        return domain


def keep_domains(app: Sanic, cache: Optional[DomainCache] = None) -> Sanic:
    """A call with a digest and no domain gets the domain last sent under that digest
    (the SDK reads `request.json`, which Sanic parses once and keeps)."""
    domains = cache or DomainCache()

    @app.on_request
    async def restore_domain(request: Request):
        if request.path != "/webhook" or request.method != "POST":
            return None
        if request.headers.get("Content-Encoding"):
            return None  # compressed calls always carry the domain (bot/patches.py)
        try:
            body = request.json
        except Exception:  # noqa: BLE001 - the SDK answers a body it cannot read
            return None
        digest = body.get(DOMAIN_DIGEST_KEY) if isinstance(body, dict) else None
        if not isinstance(digest, str) or not digest:
            return None
        if body.get("domain") is not None:
            domains.put(digest, body["domain"])
            return None
        domain = domains.get(digest)
        if domain is None:
            unknown = {"error": "unknown domain", DOMAIN_DIGEST_KEY: digest}
            return response.json(unknown, status=UNKNOWN_DOMAIN_STATUS)
        body["domain"] = domain
        return None

    return app


def build_app(actions: str, token: str, cors_origins: Optional[List[str]] = None) -> Sanic:
    # secure() first: Sanic runs request middleware in the order it was added.
    app = keep_domains(secure(create_app(actions, cors_origins=cors_origins or ""), token))

    @app.listener("before_server_start")
    async def mask_logs(_app, _loop) -> None:
        servicekit.install_log_masking()  # Sanic may have added handlers since start-up

    @app.listener("after_server_stop")
    async def close_clients(_app, _loop) -> None:
        # Imported here: the actions package is loaded by rasa-sdk from `actions`, not at import.
        from actions.clients.ticketing import close_client

        await close_client()

    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    return app


def main(argv: Optional[List[str]] = None) -> None:
    parser: argparse.ArgumentParser = create_argument_parser()
    args = parser.parse_args(argv)
    try:
        check_startup()
    except servicekit.InsecureConfiguration as error:
        sys.exit(str(error))

    logging.getLogger("matplotlib").setLevel(logging.WARN)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME),
        args.log_file,
        args.loglevel,
        args.logging_config_file,
    )
    utils.update_sanic_log_level()
    servicekit.install_log_masking()

    app = build_app(args.actions, os.environ[TOKEN_ENV], cors_origins=args.cors)
    ssl_context = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    host = os.environ.get(HOST_ENV) or DEFAULT_HOST
    logger.info("Action server on %s://%s:%s", "https" if ssl_context else "http", host, args.port)
    app.run(host, args.port, ssl=ssl_context, workers=utils.number_of_sanic_workers())


if __name__ == "__main__":
    main()
