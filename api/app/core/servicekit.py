"""What every service runs at start-up: the secrets check and the log masking; and the one
traditional-to-simplified converter, the one set of question words and the one table of Chinese
numerals every part shares.

Standard library only at import (OpenCC is imported on first use), so each service can use the
very same code: the Rasa server (`bot/serve.py`) and the action server (`actions/server.py`)
import this file from the repository root; the ticketing API, which lives in its own environment and may be
deployed alone, carries a byte-identical copy at `api/app/core/servicekit.py`
(`tests/test_servicekit.py` fails when the two differ: edit this file, then copy it).

Secrets: development values in `dev.env` start with "dev-". A service refuses them,
and empty secrets, unless APP_ENV=development is set explicitly; APP_ENV unset (or any
other value) counts as production.

Logs: `install_log_masking()` puts one `MaskingFilter` on every handler of every logger
(root, named, child and third-party loggers such as httpx, sanic, uvicorn), so every
record that is written anywhere is masked, whichever logger it came from. A filter on a
logger only sees records logged on that very logger, not those of its children. A service
with a richer masker (the API's `mask_text`) passes it: `install_log_masking(mask_text)`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import re
import time
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, Mapping, Optional

DEV_PREFIX = "dev-"
# Environment variables whose names end like this hold secrets (checked when they are set).
SECRET_SUFFIXES = ("_TOKEN", "_SECRET", "_PASSWORD", "_KEY")


class InsecureConfiguration(ValueError):
    """A service was about to start with development or empty secrets outside development."""


def is_development(app_env: Optional[str]) -> bool:
    """Only an explicit APP_ENV=development is development; unset means production."""
    return (app_env or "").strip().lower() == "development"


def refuse_development_secrets(
    service: str, secrets: Mapping[str, Optional[str]], app_env: Optional[str]
) -> None:
    """Raise InsecureConfiguration if any secret is empty or a "dev-" value outside development."""
    if is_development(app_env):
        return
    weak = sorted(
        name.upper() for name, value in secrets.items() if not value or value.startswith(DEV_PREFIX)
    )
    if weak:
        shown = app_env if app_env else "unset, i.e. production"
        raise InsecureConfiguration(
            f"{service} refuses to start: APP_ENV is {shown} but these secrets are empty or keep "
            f"their development values: {', '.join(weak)}. Set real secrets, or APP_ENV=development "
            "on a developer's machine."
        )


def check_environment(
    service: str, required: Iterable[str], environ: Optional[Mapping[str, str]] = None
) -> None:
    """The start-up check of a service configured by environment variables alone.

    `required` names the secrets the service uses (they must be set); every other
    variable that looks like a secret (SECRET_SUFFIXES) must not hold a "dev-" value.
    """
    env = os.environ if environ is None else environ
    secrets = {name: env.get(name) for name in required}
    secrets.update(
        (name, value)
        for name, value in env.items()
        if name.upper().endswith(SECRET_SUFFIXES) and value.startswith(DEV_PREFIX)
    )
    refuse_development_secrets(service, secrets, env.get("APP_ENV"))


# --- Rasa's HTTP API: a JWT in the Authorization header -----------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(
    secret: str, payload: Dict[str, Any], lifetime_seconds: int = 300, now: Optional[float] = None
) -> str:
    """An HS256 JWT as Rasa's `--jwt-secret` checks it (sanic-jwt; `exp` is verified)."""
    issued = int(time.time() if now is None else now)
    claims = {**payload, "iat": issued, "exp": issued + lifetime_seconds}
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signature = hmac.new(secret.encode(), f"{header}.{body}".encode("ascii"), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(signature)}"


def rasa_admin_jwt(secret: str, username: str, lifetime_seconds: int = 300) -> str:
    """Role `admin` reaches every conversation of Rasa's HTTP API (rasa/server.py requires_auth)."""
    return make_jwt(secret, {"user": {"username": username, "role": "admin"}}, lifetime_seconds)


# --- Log masking -----------------------------------------------------------------

# Mainland mobile numbers (138****5678) and resident identity numbers (last four kept).
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<!\d)\d{14}(\d{3}[\dXx])(?![\dXx])")


def mask_log_text(text: str) -> str:
    text = _ID_CARD.sub(r"**************\1", text)
    return _MOBILE.sub(r"\1****\3", text)


class MaskingFilter(logging.Filter):
    """Masks personal data in the message and the traceback of every record it sees, with
    `mask` (text -> masked text; this module's `mask_log_text` unless a service has a richer one)."""

    def __init__(self, mask: Callable[[str], str] = mask_log_text) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_masked", False):  # one record, several handlers
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix here
            return True
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatter.format() uses exc_text when it is set: format the traceback now, masked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        record._masked = True
        return True


def _all_handlers() -> Iterable[logging.Handler]:
    loggers = [logging.getLogger()] + [
        logger
        for logger in list(logging.Logger.manager.loggerDict.values())
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        yield from list(logger.handlers)
    # Handlers created through logging.config live in this weak registry even before use.
    for ref in list(getattr(logging, "_handlerList", [])):
        handler = ref()
        if handler is not None:
            yield handler


def install_log_masking(mask: Callable[[str], str] = mask_log_text) -> int:
    """Put one `MaskingFilter` using `mask` on every handler there is now (a masking filter
    with another mask is replaced: one filter per handler); returns how many handlers got it.

    Call it after the service has configured its logging (and again whenever a framework
    may have added handlers, e.g. when the server starts); it is idempotent.
    """
    wanted = _filters.get(mask)
    if wanted is None:
        wanted = _filters[mask] = MaskingFilter(mask)
    installed = 0
    for handler in _all_handlers():
        present = [f for f in handler.filters if isinstance(f, MaskingFilter)]
        if present == [wanted]:
            continue
        for old in present:
            handler.removeFilter(old)
        handler.addFilter(wanted)
        installed += 1
    return installed


# One filter per mask function, so that installing again finds the one already there.
_filters: Dict[Callable[[str], str], MaskingFilter] = {}


# ---------------------------------------------------------------- Chinese text


@lru_cache(maxsize=1)
def _t2s_converter():
    # OpenCC's phrase tables, pure Python (no native build on 3.10); loaded on first use,
    # never at import: a service that does not convert text pays nothing.
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional to simplified characters (OpenCC "t2s"): the NLU normaliser, the actions'
    keyword checks, the trainers' tools and the complaint classifier all read one spelling."""
    return _t2s_converter().convert(text) if text else text


# A wish to complain, too short to be the story ("我要投诉导游"): the clause splitter keeps it apart
# from a question beside it ("投诉流程是啥，我要投诉导游"), the actions start the complaint.
WANTS_TO_COMPLAIN = re.compile(
    r"(?:要|想|想要|必须|得|我们要)(?:投诉|投訴)|(?:投诉|投訴)(?:你们|一下|导游|酒店|司机|领队)"
    # "我想反映个问题 导游讲解很敷衍…": reporting a problem is a complaint in politer words.
    r"|反映(?:个|一个|一下)?(?:问题|情况)"
)


# Chinese numerals, one table for every part that reads them: phone digits said one by one
# ("幺三八…"), the day of a trip or the days before departure ("第十二天", "出发前七天"), a star
# rating ("四星"), a WeChat choice ("选二"), a head count in a complaint (the API's severity rules).
CHINESE_DIGITS: Dict[str, int] = {
    "零": 0,
    "〇": 0,
    "○": 0,
    "一": 1,
    "幺": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def chinese_number(text: str) -> Optional[int]:
    """'3', '三', '十', '十二', '二十', '四十五' -> the number (0-99); None for anything else."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if "十" not in text:
        return CHINESE_DIGITS.get(text) if len(text) == 1 else None
    tens, _, units = text.partition("十")
    if len(tens) > 1 or len(units) > 1 or any(ch not in CHINESE_DIGITS for ch in tens + units):
        return None
    return (CHINESE_DIGITS[tens] if tens else 1) * 10 + (CHINESE_DIGITS[units] if units else 0)


# What makes a clause a question. The NLU's clause splitter (bot/components/clauses.py) and the
# action server (actions/utils/reading.py) must agree: a clause the splitter sends as a question
# is answered only if the actions also read it as one. 哪 at the end of a clause: "第三天住哪".
QUESTION = re.compile(
    r"[?？]|吗|呢|么$|怎么|怎样|如何|多少|多久|多长时间|能否|可以不|是否"
    r"|(?<![好十])几[天个点号次岁件公斤时月晚位人钱块成]|什么|啥|咋|哪[里儿个些天家位趟班间]|哪(?![\u4e00-\u9fff])|为什么|谁"
    r"|(?<=[\u4e00-\u9fff])不[\s。.!！~～]*$"  # a clause ending in 不 asks: 要加钱不, 能退不
    r"|([\u4e00-\u9fff])[不没]\1"  # A-not-A: 能不能, 冷不冷, 管不管, 有没有
    r"|(?<![很许好太更挺差不])多[重大远贵]"  # 行李能带多重, 箱子多大 (not 很多大家, 差不多大)
)
