"""Who is calling, password and token hashing, verification grants. Only hashes are stored:
scrypt for passwords, SHA-256 for random bearer tokens (they carry 256 bits of entropy, so a
slow hash adds nothing)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Actor:
    """The caller of a request (app/api/deps.py resolves it from the bearer token); every change
    is audited under its name and role."""

    name: str
    role: str  # service | agent | supervisor
    user_id: int | None = None
    display_name: str | None = None


# OWASP's scrypt minimum (N=2^17, r=8, p=1: 128 MiB, about 0.3 s on a server core). Stored
# hashes carry their parameters, so older ones (N=2^14) still verify and are upgraded on login.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1


def _maxmem(n: int, r: int, p: int) -> int:
    return 128 * r * (n + p + 2) + 1024 * 1024


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, maxmem=_maxmem(n, SCRYPT_R, SCRYPT_P)
    )
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        n, r, p = int(n), int(r), int(p)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=n,
        r=r,
        p=p,
        dklen=len(expected),
        maxmem=_maxmem(n, r, p),
    )
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str, *, n: int = SCRYPT_N) -> bool:
    """True when a stored hash uses weaker parameters than the current ones."""
    try:
        scheme, sn, sr, sp, _salt, _digest = stored.split("$")
        return scheme != "scrypt" or int(sn) < n or int(sr) < SCRYPT_R or int(sp) < SCRYPT_P
    except ValueError:
        return True


_dummy_hashes: dict[int, str] = {}


def dummy_hash(*, n: int = SCRYPT_N) -> str:
    """A hash to check unknown usernames against, so they cost as much time as known ones."""
    if n not in _dummy_hashes:
        _dummy_hashes[n] = hash_password(secrets.token_urlsafe(16), n=n)
    return _dummy_hashes[n]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


# --- verification grants ---------------------------------------------------------------------
# After the right phone digits, the bot gets a grant: "<ref>.<expiry unix>.<signature>", an
# HMAC over (booking, sender id, expiry). Reading the booking needs it, from the same sender,
# before it expires: a tracker that merely claims "verified" reads nothing.


def _grant_signature(secret: str, ref: str, sender_id: str, expires: int) -> str:
    message = f"booking-grant|{ref}|{expires}|{sender_id}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue_grant(secret: str, *, ref: str, sender_id: str, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"{ref}.{expires}.{_grant_signature(secret, ref, sender_id, expires)}"


def check_grant(secret: str, grant: str, *, ref: str, sender_id: str, now: datetime) -> bool:
    try:
        grant_ref, expires_text, signature = grant.split(".")
        expires = int(expires_text)
    except ValueError:
        return False
    expected = _grant_signature(secret, ref, sender_id, expires)
    return (
        hmac.compare_digest(signature.encode(), expected.encode())
        and grant_ref == ref
        and now.timestamp() < expires
    )
