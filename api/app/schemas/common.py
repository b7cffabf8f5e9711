from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, StringConstraints

from app.api.middleware import INVISIBLE

CHINA_TZ = ZoneInfo("Asia/Shanghai")

BOOKING_REF_PATTERN = r"^TR\d{8}$"
TICKET_NO_PATTERN = r"^C\d{8}\d{3,}$"
MOBILE_PATTERN = r"^1[3-9]\d{9}$"

BookingRef = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=BOOKING_REF_PATTERN)
]
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=MOBILE_PATTERN)]
PhoneLast4 = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{4}$")]


def _china_if_naive(value: datetime) -> datetime:
    # A client's wall-clock time without a zone is China time (DESIGN §4), never the server's.
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value


def _visible(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if not value.strip(INVISIBLE + " \t\r\n\u3000"):
        raise ValueError("must not be blank (only whitespace or invisible characters)")
    return value


# Datetime inputs (body and query): naive values are read as China time (Asia/Shanghai).
ChinaDatetime = Annotated[datetime, AfterValidator(_china_if_naive)]


def CleanText(max_length: int):  # noqa: N802 - a type factory
    """A required string: stripped, 1..max_length characters, no NUL, not only invisible characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length),
        AfterValidator(_visible),
    ]
