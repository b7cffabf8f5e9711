from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

BOOKING_REF_PATTERN = r"^TR\d{8}$"
TICKET_NO_PATTERN = r"^C\d{8}\d{3,}$"
MOBILE_PATTERN = r"^1[3-9]\d{9}$"

BookingRef = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=BOOKING_REF_PATTERN)]
Mobile = Annotated[str, StringConstraints(strip_whitespace=True, pattern=MOBILE_PATTERN)]
PhoneLast4 = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{4}$")]
