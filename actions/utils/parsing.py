"""Pure helpers: read booking, phone and ticket numbers the way travellers type them.

Travellers write "tr 2026-0001", "ＴＲ２０２６０００１", "幺三八一二三四五六七八",
"尾号 5678" or give the whole phone number where only the last four are asked.
"""

from __future__ import annotations

import re
from typing import List, Optional

import servicekit

# Digits said one by one ("幺三八…", "五六七八"): each numeral becomes its digit.
_CN_DIGITS = str.maketrans({numeral: str(value) for numeral, value in servicekit.CHINESE_DIGITS.items()})
FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_SEPARATORS = re.compile(r"[\s\-—_.·、，,]+")

BOOKING_REF = re.compile(r"(?<![A-Z0-9])TR\d{8}(?!\d)")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
TICKET_NO = re.compile(r"(?<![A-Z0-9])C\d{11,14}(?!\d)")
FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
# "tr2026 0005", "TR 2026 0005", "TR-20260005": the number with spaces or hyphens inside, read where
# it stands. Folding separators away first ran a word before it into it ("my booking tr2026 0005"
# became "BOOKINGTR…", "尾号9876 TR 2026 0005" became "9876TR…") and the number was lost. Exactly
# eight digits: "TR2026001 5678" (a digit short, then the phone digits) is no number.
_SPACED_BOOKING_REF = re.compile(r"(?<![A-Z0-9])TR[\s\-_.·]*\d(?:[\s\-_.·]?\d){7}(?!\d)")


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
    found = _find(BOOKING_REF, text)
    if found or not text:
        return found
    spaced = _SPACED_BOOKING_REF.search(text.translate(FULLWIDTH).upper().translate(_CN_DIGITS))
    return re.sub(r"[^A-Z0-9]", "", spaced.group(0)) if spaced else None


def parse_booking_refs(text: Optional[str]) -> List[str]:
    """Every distinct booking number in the message, in order ("TR20260001和TR20260013")."""
    if not text:
        return []
    found = BOOKING_REF.findall(text.translate(FULLWIDTH).upper())
    first = parse_booking_ref(text)
    return list(dict.fromkeys(([first] if first else []) + found))


def parse_phone(text: Optional[str]) -> Optional[str]:
    return _find(MOBILE, text)


def parse_phone_last4(text: Optional[str]) -> Optional[str]:
    """The last four digits, from "5678", "尾号五六七八" or a whole phone number."""
    if not text:
        return None
    phone = parse_phone(text)
    if phone:
        return phone[-4:]
    if parse_booking_ref(text) or parse_ticket_no(text):
        return None
    text = canonical(text)
    matches = FOUR_DIGITS.findall(text)
    return matches[-1] if len(matches) == 1 else None


# "phone 6789", "电话：6789", "手机号 6789": four digits named as the phone are its last four (a
# whole number has eleven); not a year, a date, a time or an amount.
LABELLED_LAST4 = re.compile(
    r"(?:phone|mobile|cell|tel|联系电话|电话|手机)\s*(?:number|no\.?|号码|号)?\s*(?:是|为|is|[:：=])?\s*"
    r"(?P<d>\d{4})(?![\d年月日号点时分元块:：])",
    re.I,
)


def parse_labelled_last4(text: Optional[str]) -> Optional[str]:
    """Four digits the traveller labels as their phone ("phone 6789", "电话6789"), None otherwise."""
    if not text:
        return None
    match = LABELLED_LAST4.search(to_simplified(text.translate(FULLWIDTH)))
    return match.group("d") if match else None


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
