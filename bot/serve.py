"""The Rasa server's entry point: `python -m bot.serve run --enable-api --port … --model …`.

It runs Rasa's own command line after what every service of ours does first
(servicekit: refuse development secrets unless APP_ENV=development; mask every log
handler) and fills in, from the environment, what must not be left to defaults or
put on a command line that `ps` shows:

- `--interface` from RASA_HOST (default 127.0.0.1; Rasa's own default is 0.0.0.0);
- `--cors` from RASA_CORS_ORIGINS (the site's origins, space- or comma-separated; none
  when empty; "*" only in development);
- `--jwt-secret` from RASA_JWT_SECRET: the HTTP API takes `Authorization: Bearer <JWT>`
  (HS256, payload {"user": {"username": …, "role": "admin"}}). `--auth-token` (the
  secret in `?token=`, which ends up in access logs and proxies) is refused.

Travellers' input is bounded before Rasa reads it, on every channel:

- a request body above RASA_MAX_REQUEST_BYTES (Sanic's REQUEST_MAX_SIZE, the websocket
  frame size and the socket.io packet size) is refused; the REST webhook answers 413 with
  the polite reply in its usual body;
- a message above RASA_MAX_MESSAGE_CHARS is not processed (no NLU, no tracker): the
  traveller is told, on the channel they used, that it was too long.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any, List, Optional, Sequence

import rasa.core.run
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from sanic import Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request

import servicekit
from bot import patches

logger = logging.getLogger(__name__)

SERVICE = "Rasa server"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_MESSAGE_CHARS = 2000
DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
TOO_LONG_REPLY = (
    "抱歉，您的消息太长了（超过{limit}字），我没能读完。"
    "请精简一下，或分成几条发给我；需要的话也可以说“转人工”。"
)


def max_message_chars() -> int:
    return int(os.environ.get("RASA_MAX_MESSAGE_CHARS") or DEFAULT_MAX_MESSAGE_CHARS)


def max_request_bytes() -> int:
    return int(os.environ.get("RASA_MAX_REQUEST_BYTES") or DEFAULT_MAX_REQUEST_BYTES)


def too_long_reply() -> str:
    return TOO_LONG_REPLY.format(limit=max_message_chars())


def check_startup(environ: Optional[dict] = None) -> None:
    servicekit.check_environment(
        SERVICE, required=["RASA_JWT_SECRET", "ACTION_SERVER_TOKEN"], environ=environ
    )


def _given(argv: Sequence[str], *flags: str) -> bool:
    return any(arg == flag or arg.startswith(flag + "=") for arg in argv for flag in flags)


def rasa_arguments(argv: Sequence[str], environ: Optional[dict] = None) -> List[str]:
    """Rasa's command line with the interface, CORS origins and JWT secret filled in."""
    env = os.environ if environ is None else environ
    args = list(argv)
    if _given(args, "--auth-token", "-t"):
        raise servicekit.InsecureConfiguration(
            f"{SERVICE}: --auth-token sends the secret in the query string; use RASA_JWT_SECRET (JWT)"
        )
    if not args or args[0] != "run" or (len(args) > 1 and args[1] == "actions"):
        return args  # only `rasa run` is ours to complete
    if not _given(args, "--interface", "-i"):
        args += ["--interface", env.get("RASA_HOST") or DEFAULT_HOST]
    if not _given(args, "--cors"):
        origins = (env.get("RASA_CORS_ORIGINS") or "").replace(",", " ").split()
        if "*" in origins and not servicekit.is_development(env.get("APP_ENV")):
            raise servicekit.InsecureConfiguration(f"{SERVICE}: RASA_CORS_ORIGINS='*' outside development")
        if origins:
            args += ["--cors", *origins]
    if _given(args, "--enable-api") and not _given(args, "--jwt-secret"):
        secret = env.get("RASA_JWT_SECRET")
        if not secret:
            raise servicekit.InsecureConfiguration(f"{SERVICE}: --enable-api needs RASA_JWT_SECRET")
        args += ["--jwt-secret", secret]
    return args


# --- Bounded input -----------------------------------------------------------------

_stock_handle_message = Agent.handle_message


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


async def handle_message(self: Agent, message: UserMessage) -> Optional[List[Any]]:
    """Agent.handle_message, except that an over-long message is answered, not processed, and
    lone surrogates (JSON escapes allow them; UTF-8 cannot hold them) become U+FFFD: with them
    the turn failed silently and the traveller got no reply (tests/e2e/test_hostile_input.py)."""
    if message.text:
        message.text = LONE_SURROGATE.sub("\ufffd", message.text)
    limit = max_message_chars()
    if message.text is not None and len(message.text) > limit:
        # Neither the text nor its start: a log line must not carry what the traveller wrote.
        logger.warning(
            "Message of %d characters on %s not processed (limit %d)",
            len(message.text),
            message.input_channel,
            limit,
        )
        if message.output_channel is not None:
            await message.output_channel.send_text_message(message.sender_id, too_long_reply())
        return None
    return await _stock_handle_message(self, message)


def bound_app(app: Sanic, input_channels: Sequence[Any] = ()) -> Sanic:
    """Request size limits on the app and every socket.io server; a polite 413; masked logs;
    the pooled custom-action sessions closed when the server stops."""
    limit = max_request_bytes()
    app.config.REQUEST_MAX_SIZE = limit
    app.config.WEBSOCKET_MAX_SIZE = limit
    for channel in input_channels:
        sio = getattr(channel, "sio", None)  # set by SocketIOInput.blueprint()
        if sio is not None:
            sio.eio.max_http_buffer_size = limit

    @app.exception(PayloadTooLarge)
    async def payload_too_large(request: Request, exception: PayloadTooLarge):
        if request.path.startswith("/webhooks/"):
            # The REST channel's own shape, so a client shows the reply like any other.
            return response.json([{"recipient_id": None, "text": too_long_reply()}], status=413)
        return response.json(
            {"status": "failure", "message": "Request body too large", "code": 413}, status=413
        )

    @app.listener("before_server_start")
    async def mask_logs(_app: Sanic, _loop: Any) -> None:
        servicekit.install_log_masking()  # after Rasa and Sanic have set up their handlers

    @app.listener("after_server_stop")
    async def close_action_sessions(_app: Sanic, _loop: Any) -> None:
        # The custom-action connections pooled by bot/patches.py: closed, not left to the
        # garbage collector ("Unclosed client session" on every shutdown).
        await patches.close_pooled_sessions()

    return app


_stock_configure_app = rasa.core.run.configure_app


def configure_app(input_channels: Optional[List[Any]] = None, *args: Any, **kwargs: Any) -> Sanic:
    return bound_app(_stock_configure_app(input_channels, *args, **kwargs), input_channels or ())


def install() -> None:
    """Bound the input of `rasa run` in this process (serve_application calls configure_app).

    Wraps whatever Agent.handle_message is now (the patches' store-failure handling, when
    applied first), so the bound is checked before anything else; once only."""
    global _stock_handle_message
    if Agent.handle_message is not handle_message:
        _stock_handle_message = Agent.handle_message
        Agent.handle_message = handle_message  # type: ignore[method-assign]
    rasa.core.run.configure_app = configure_app


def main(argv: Optional[Sequence[str]] = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        check_startup()
        args = rasa_arguments(argv)
    except servicekit.InsecureConfiguration as error:
        sys.exit(str(error))
    servicekit.install_log_masking()
    patches.apply()  # first: install() wraps what the patches leave in place
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
