"""The complaint fields: one table that the form, the reader, corrections, the summary,
the ticket payload and the reset all read.

Adding a field: a row here (`api_key` sends it to the API, `kept` keeps it after the
complaint); its check in actions/forms/complaint_checks.py and the form's `validate_<slot>`
line; its slot, form entry, question, summary line and correction button in domain.yml with
the summary's value in `show_summary`; sent to the API, its key in `TicketCreate`
(actions/clients/contract.py). Optional: words naming it in a correction
(`FIELD_WORDS`, actions/correction.py) and how a free-text answer is read (actions/reader.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Optional, Tuple


@dataclass(frozen=True)
class Field:
    slot: str
    label: str  # how the traveller and the agents read the field's name
    free_text: bool  # answered in the traveller's own words (not a number or a yes/no)
    api_key: Optional[str] = None  # key in POST /tickets; None: not sent as such
    correctable: bool = True
    kept: bool = False  # kept for the traveller's next request, not cleared with the complaint


FIELDS: Tuple[Field, ...] = (
    Field("booking_ref", "订单号", free_text=False, api_key="booking_ref", kept=True),
    Field("complaint_description", "情况描述", free_text=True, api_key="description"),
    Field("complaint_when_where", "时间地点", free_text=True, api_key="occurred_at"),
    Field("complaint_request", "诉求", free_text=True, api_key="request"),
    Field("complaint_consent", "同意记录个人信息", free_text=False, correctable=False),
    Field("complainant_name", "姓名", free_text=True, api_key="name"),
    Field("phone", "手机号", free_text=False, api_key="phone", kept=True),
)
BY_SLOT: Dict[str, Field] = {f.slot: f for f in FIELDS}
LABELS: Dict[str, str] = {f.slot: f.label for f in FIELDS if f.correctable}
FREE_TEXT_SLOTS = tuple(f.slot for f in FIELDS if f.free_text)

# The request is kept twice: the traveller's words, and a normalised label beside them.
REQUEST_TEXT_SLOT = "complaint_request_text"
# The request's labels are needed before a ticket exists (the buttons, the summary) and the
# API sends them only to staff (GET /labels: requests), so the bot keeps this one copy;
# tests/test_contract.py checks it, and the field labels above, against the running API.
REQUEST_LABELS = {
    "refund": "退款",
    "compensation": "赔偿",
    "apology": "道歉",
    "fix": "整改/解决问题",
    "other": "其他",
}

# Everything a complaint collects, cleared together when it is submitted or dropped: its
# fields but the kept ones, and the state beside them.
COMPLAINT_STATE_SLOTS = tuple(f.slot for f in FIELDS if not f.kept) + (
    REQUEST_TEXT_SLOT,
    "complaint_evidence",
    "complaint_confirming",
    "cancel_pending",
)
NOT_GIVEN = "未说明"
MIN_DESCRIPTION_CHARS = 6
MAX_DESCRIPTION_CHARS = 4000
MAX_WHEN_WHERE_CHARS = 100  # the API's occurred_at limit
MAX_REQUEST_TEXT_CHARS = 500  # the API's request_detail limit
