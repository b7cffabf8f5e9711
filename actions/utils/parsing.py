"""Pure helpers: read booking, phone and ticket numbers the way travellers type them.

Travellers write "tr 2026-0001", "ＴＲ２０２６０００１", "幺三八一二三四五六七八",
"尾号 5678" or give the whole phone number where only the last four are asked.
"""

from __future__ import annotations

import re
from typing import Optional

import servicekit

# Digits said one by one ("幺三八…", "五六七八"): each numeral becomes its digit.
_CN_DIGITS = str.maketrans({numeral: str(value) for numeral, value in servicekit.CHINESE_DIGITS.items()})
FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SEPARATORS = re.compile(r"[\s\-—_.·、，,]+")

BOOKING_REF = re.compile(r"(?<![A-Z0-9])TR\d{8}(?!\d)")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TICKET_NO = re.compile(r"(?<![A-Z0-9])C\d{11,14}(?!\d)")
FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")


def to_simplified(text: str) -> str:
    """Traditional to simplified characters, so keyword checks see one spelling (the
    converter the NLU normaliser uses, from servicekit: no Rasa import here)."""
    return servicekit.to_simplified(text)


def canonical(text: str) -> str:
    """Half-width, upper case, Chinese digits as digits, separators removed."""
    text = text.translate(FULLWIDTH).upper().translate(_CN_DIGITS)
    text = re.sub(r"\+?86(?=1[3-9]\d{9})", "", _SEPARATORS.sub("", text))
    return text


def _find(pattern: re.Pattern, text: Optional[str]) -> Optional[str]:
    """As written first ("TR20260001，11月" must not run on into "11"), then with
    separators and Chinese digits folded ("tr 2026-0001", "幺三八…")."""
    if not text:
        return None
    match = pattern.search(text.translate(FULLWIDTH).upper()) or pattern.search(canonical(text))
    return match.group(0) if match else None


def parse_booking_ref(text: Optional[str]) -> Optional[str]:
    return _find(BOOKING_REF, text)


def parse_phone(text: Optional[str]) -> Optional[str]:
    return _find(MOBILE, text)


def parse_phone_last4(text: Optional[str]) -> Optional[str]:
    """The last four digits, from "5678", "尾号五六七八" or a whole phone number."""
    if not text:
        return None
    phone = parse_phone(text)
    if phone:
        return phone[-4:]
    text = canonical(text)
    if BOOKING_REF.search(text) or TICKET_NO.search(text):
        return None
    matches = FOUR_DIGITS.findall(text)
    return matches[-1] if len(matches) == 1 else None


def parse_ticket_no(text: Optional[str]) -> Optional[str]:
    return _find(TICKET_NO, text)


def mask_phone(phone: Optional[str]) -> str:
    """138****5678: for logs and for anyone who is not the verified traveller."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"
