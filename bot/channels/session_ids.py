"""Server-issued conversation ids for the web channels (socket.io, REST).

A client never names its own conversation. The server issues a *session token*

    <conversation>.<issued>.<mac>

- `conversation`: 32 hex characters from `secrets` (128 random bits): Rasa's sender id
  and the socket.io room. Agents and logs may see it; it is not a credential.
- `issued`: Unix seconds in base 36, renewed at every `session_request` (sliding expiry).
- `mac`: HMAC-SHA256 with the server secret over purpose, conversation and time
  (first 128 bits, hex). The purpose (`socketio`, `rest`) keeps a token of one channel
  from being accepted by the other.

Only the holder of a token (a tab's sessionStorage) can speak in its conversation and
receive its replies; knowing a conversation id is not enough. The secret comes from the
environment (`CHAT_SESSION_SECRET`; development default in dev.env); outside
`APP_ENV=development` an empty, short or `dev-` secret is refused. Every replica uses the same
secret, so any of them accepts a token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from typing import Optional, Text

DEFAULT_MAX_AGE = 24 * 3600  # seconds a token stays valid after it was last issued
_TOKEN = re.compile(r"^([0-9a-f]{32})\.([0-9a-z]{1,10})\.([0-9a-f]{32})$")
_CLOCK_SKEW = 300  # replicas' clocks may differ a little


class InsecureSecret(ValueError):
    """The session secret is missing or a development default where that is refused."""


def is_production() -> bool:
    """Anything but an explicit APP_ENV=development (dev.env) counts as production, as for the
    WeChat channel: a deployment that forgets APP_ENV gets the strict settings."""
    return os.environ.get("APP_ENV", "").strip().lower() != "development"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


class SessionSigner:
    """Issues and checks session tokens for one purpose (one channel)."""

    def __init__(self, secret: Optional[Text], purpose: Text, max_age: float = DEFAULT_MAX_AGE) -> None:
        secret = (secret or "").strip()
        if is_production() and (len(secret) < 16 or secret.startswith("dev-")):
            raise InsecureSecret(
                "APP_ENV=production needs CHAT_SESSION_SECRET: at least 16 characters, not a dev- default"
            )
        if not secret:
            # Development without a secret: tokens are good until this process stops.
            secret = secrets.token_hex(32)
        self._key = hashlib.sha256(secret.encode("utf-8")).digest()
        self.purpose = purpose
        self.max_age = float(max_age)

    def _mac(self, conversation: Text, issued: Text) -> Text:
        message = f"{self.purpose}|{conversation}|{issued}".encode("ascii")
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:32]

    def issue(self, conversation: Optional[Text] = None, now: Optional[float] = None) -> Text:
        """A token for a new conversation, or a renewed one for a verified conversation id."""
        conversation = conversation or secrets.token_hex(16)
        issued = _base36(int(now if now is not None else time.time()))
        return f"{conversation}.{issued}.{self._mac(conversation, issued)}"

    def verify(self, token: object, now: Optional[float] = None) -> Optional[Text]:
        """The conversation id of a genuine, unexpired token of this purpose; None otherwise."""
        if not isinstance(token, str):
            return None
        match = _TOKEN.match(token)
        if not match:
            return None
        conversation, issued, mac = match.groups()
        if not hmac.compare_digest(mac, self._mac(conversation, issued)):
            return None
        age = (now if now is not None else time.time()) - int(issued, 36)
        if age > self.max_age or age < -_CLOCK_SKEW:
            return None
        return conversation
