"""Plays written conversations against the real services and checks what the traveller gets.

A conversation file (suite.yml, heldout.yml) is a list of travellers' chats. Each one is
played over Rasa's REST channel with a fresh sender id; every bot reply of a turn (texts
and button titles) is checked against the turn's `expect`, and after the last turn the
`outcome` is checked on the ticketing API (tickets and handoffs of that conversation).

DSL (all keys optional except id, category and turns):

    - id: emg-mountain-fall
      category: emergency
      booking: TR20260001          # fills {booking} {last4} {phone} {product} {guide_phone} ...
      other_booking: TR20260004    # the same values prefixed other_ ({other_booking} ...)
      trip: ended | upcoming       # guard: the booking must still be in that state today
      min_days_ahead: 30           #   (upcoming only; today is computed in Asia/Shanghai)
      setup: {ticket: {phone: "13911112222", description: "..."}}   # -> {ticket_no} {ticket_last4}
      never_contains: ["好的，已取消。"]   # no reply of the conversation may contain these
      turns:
        - user: "..."
          expect:
            contains_all: ["120", "{emergency_line}"]
            contains_any: ["110", "120"]      # or a list of groups: [["a", "b"], ["c"]]
            not_contains: ["请提供您的订单号"]
            regex: "C\\d{11,}"
            silent: true                      # the bot must not answer (paused for an agent)
            handoff: {severity: urgent, reason: emergency}   # or: none
            tickets: 0
      outcome:
        handoff: {severity: urgent, reason: emergency}       # or: none
        tickets: 1
        ticket: {equals: {booking_ref: "{booking}"}, contains: {description: ["导游"]},
                 contains_any: {request_detail: ["退", "赔"]}, not_contains: {...}}
                 # when_where = occurred_at + location

List placeholders ({hotels} {meeting_places} {flights}) expand in place when they are a
whole list item. Matching is on NFKC-normalised text (full-width and half-width alike).
"""

from __future__ import annotations

import datetime as dt
import re
import time
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

import httpx
import yaml

from tests import staff
from tests.services import base_env

HERE = Path(__file__).resolve().parent
SUITE_PATH = HERE / "suite.yml"
HELDOUT_PATH = HERE / "heldout.yml"
CHINA = ZoneInfo("Asia/Shanghai")
TICKET_NO = re.compile(r"C\d{11,}")
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
LIST_PLACEHOLDERS = {"hotels", "meeting_places", "flights"}

CATEGORIES = (
    "emergency",
    "ordinary_complaint",
    "cancel",
    "all_at_once",
    "off_topic",
    "two_questions",
    "refund",
    "verification",
    "itinerary_followup",
)
TURN_KEYS = {"contains_all", "contains_any", "not_contains", "regex", "silent", "handoff", "tickets"}
OUTCOME_KEYS = {"handoff", "tickets", "ticket"}
CONVERSATION_KEYS = {
    "id",
    "category",
    "booking",
    "other_booking",
    "trip",
    "min_days_ahead",
    "setup",
    "never_contains",
    "turns",
    "outcome",
    "note",
    "known_failure",
}

Send = Callable[[str], List[Dict[str, Any]]]


# --- the conversation files ------------------------------------------------------------------


@dataclass
class Turn:
    user: str
    expect: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    id: str
    category: str
    turns: List[Turn]
    booking: Optional[str] = None
    other_booking: Optional[str] = None
    trip: Optional[str] = None
    min_days_ahead: int = 1
    setup: Dict[str, Any] = field(default_factory=dict)
    never_contains: List[str] = field(default_factory=list)
    outcome: Dict[str, Any] = field(default_factory=dict)
    source: str = ""
    known_failure: str = (
        ""  # why the bot fails it today: an xfail (strict) in pytest, a failure in the figures
    )


class ConversationFileError(ValueError):
    pass


def load(path: Path) -> List[Conversation]:
    """Reads and validates one conversation file (unknown keys are errors: typos would hide checks)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    items = data.get("conversations") or []
    conversations: List[Conversation] = []
    seen = set()
    for number, raw in enumerate(items, 1):
        where = f"{Path(path).name} conversation {number} ({raw.get('id', '?')})"
        unknown = set(raw) - CONVERSATION_KEYS
        if unknown:
            raise ConversationFileError(f"{where}: unknown keys {sorted(unknown)}")
        if raw.get("id") in seen:
            raise ConversationFileError(f"{where}: duplicate id")
        seen.add(raw.get("id"))
        if raw.get("category") not in CATEGORIES:
            raise ConversationFileError(f"{where}: category must be one of {CATEGORIES}")
        turns = []
        for turn in raw.get("turns") or []:
            expect = turn.get("expect") or {}
            if (
                set(turn) - {"user", "expect"}
                or set(expect) - TURN_KEYS
                or not isinstance(turn.get("user"), str)
            ):
                raise ConversationFileError(f"{where}: bad turn {turn!r}")
            turns.append(Turn(turn["user"], expect))
        if not turns:
            raise ConversationFileError(f"{where}: no turns")
        outcome = raw.get("outcome") or {}
        if set(outcome) - OUTCOME_KEYS:
            raise ConversationFileError(
                f"{where}: unknown outcome keys {sorted(set(outcome) - OUTCOME_KEYS)}"
            )
        if raw.get("trip") not in (None, "ended", "upcoming"):
            raise ConversationFileError(f"{where}: trip must be ended or upcoming")
        conversations.append(
            Conversation(
                id=raw["id"],
                category=raw["category"],
                turns=turns,
                booking=raw.get("booking"),
                other_booking=raw.get("other_booking"),
                trip=raw.get("trip"),
                min_days_ahead=int(raw.get("min_days_ahead", 1)),
                setup=raw.get("setup") or {},
                never_contains=list(raw.get("never_contains") or []),
                outcome=outcome,
                source=Path(path).name,
                known_failure=str(raw.get("known_failure") or ""),
            )
        )
    return conversations


# --- the two services ------------------------------------------------------------------------


def settings() -> Dict[str, str]:
    """The settings the services run with: dev.env's defaults, the environment winning."""
    return base_env()


class RestChat:
    """One traveller on Rasa's REST channel."""

    def __init__(self, rasa_url: str, sender: Optional[str] = None, timeout: float = 120):
        self.rasa_url = rasa_url
        self.sender = sender or f"conv-{uuid.uuid4().hex[:12]}"
        self.timeout = timeout

    def __call__(self, text: str) -> List[Dict[str, Any]]:
        response = httpx.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": self.sender, "message": text},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return response.json()


class TicketingApi:
    """What the outcome checks read: tickets with the service token; bookings, the handoff
    queue and the ticket list as a supervisor (staff reads; the service token reads a booking
    only with a verification grant)."""

    def __init__(self, api_url: str, env: Optional[Dict[str, str]] = None, timeout: float = 60):
        env = env or settings()
        self.url = api_url.rstrip("/")
        self.http = httpx.Client(timeout=timeout)
        self.service = {"Authorization": f"Bearer {env.get('API_SERVICE_TOKEN', 'dev-service-token')}"}
        self.env = env
        self._staff: Optional[Dict[str, str]] = None
        self._bookings: Dict[str, Dict[str, Any]] = {}

    def _get_as_staff(self, path: str, params: Any = None) -> Any:
        for _ in range(2):
            if self._staff is None:
                # The session's first login changes the initial password (tests/staff.py).
                self._staff = staff.login(self.url, "supervisor", self.http, self.env)
            response = self.http.get(f"{self.url}{path}", params=params, headers=self._staff)
            if response.status_code == 401:
                self._staff = None
                continue
            response.raise_for_status()
            return response.json()
        raise RuntimeError("supervisor login refused")

    def booking(self, ref: str) -> Dict[str, Any]:
        """The booking as the API holds it, read by a supervisor (unmasked, audited): the service
        token may read a booking only with the grant of a phone check for one sender."""
        if ref not in self._bookings:
            self._bookings[ref] = self._get_as_staff(f"/bookings/{ref}")
        return self._bookings[ref]

    def ticket(self, ticket_no: str, conversation_id: str) -> Optional[Dict[str, Any]]:
        """The ticket as the bot of that conversation reads it: the service token reads only a
        ticket opened from the conversation it names (X-Sender-Id), so a 200 means it is ours."""
        headers = {**self.service, "X-Sender-Id": conversation_id}
        response = self.http.get(f"{self.url}/tickets/{ticket_no}", headers=headers)
        return response.json() if response.status_code == 200 else None

    def create_ticket(self, body: Dict[str, Any]) -> Dict[str, Any]:
        response = self.http.post(f"{self.url}/tickets", json=body, headers=self.service)
        if response.status_code >= 400:
            raise RuntimeError(f"setup ticket refused: {response.status_code} {response.text}")
        return response.json()

    def handoffs(self, conversation_id: str) -> List[Dict[str, Any]]:
        # Staff see conversation ids masked; a supervisor looks one up by its raw id.
        params = [("status", s) for s in ("waiting", "active", "returned", "closed")]
        return self._get_as_staff("/handoffs", [*params, ("conversation_id", conversation_id)])["items"]

    def tickets(
        self, conversation_id: str, since: dt.datetime, mentioned: Iterable[str] = ()
    ) -> List[Dict[str, Any]]:
        """Tickets the conversation created: the newest tickets received since it started (the
        list is newest first) plus any ticket number the bot quoted, kept when their
        conversation_id is this conversation's."""
        numbers = set(mentioned)
        offset = 0
        while True:
            page = self._get_as_staff("/tickets", {"limit": 100, "offset": offset})
            fresh = [t for t in page["items"] if _when(t["received_at"]) >= since]
            numbers.update(t["ticket_no"] for t in fresh)
            if len(fresh) < len(page["items"]) or len(page["items"]) < 100:
                break
            offset += 100
        found = [self.ticket(n, conversation_id) for n in sorted(numbers)]
        return [t for t in found if t and t.get("conversation_id") == conversation_id]


def _when(value: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


# --- placeholders ----------------------------------------------------------------------------


def booking_values(booking: Dict[str, Any], prefix: str = "") -> Dict[str, Any]:
    days = booking.get("itinerary") or []
    flights = [f["number"] for d in days for f in (d.get("flights") or [])]
    meetings = [d["meeting"] for d in days if d.get("meeting")]
    values: Dict[str, Any] = {
        "booking": booking["ref"],
        "phone": booking["phone"],
        "last4": booking["phone"][-4:],
        "name": booking.get("traveller_name"),
        "product": booking["product"],
        "guide_name": booking.get("guide_name"),
        "guide_phone": booking.get("guide_phone"),
        "destination": booking.get("destination"),
        "days": str(len(days)),
        "price": str(booking.get("price_cny")),
        "departure_date": booking.get("departure_date"),
        "return_date": booking.get("return_date"),
        "outbound_flight": flights[0] if flights else None,
        "return_flight": flights[-1] if flights else None,
        "meeting_place": meetings[0]["place"] if meetings else None,
        "meeting_time": meetings[0]["time"] if meetings else None,
        "hotels": [d["hotel"] for d in days if d.get("hotel")],
        "meeting_places": [m["place"] for m in meetings],
        "flights": flights,
    }
    for day in days:
        values[f"hotel_day{day['day']}"] = day.get("hotel")
    return {f"{prefix}{k}": v for k, v in values.items()}


def fill(value: Any, values: Dict[str, Any]) -> Any:
    """Fills placeholders in strings, lists and dicts; a whole-item list placeholder expands."""
    if isinstance(value, str):

        def one(match: "re.Match[str]") -> str:
            key = match.group(1)
            if key not in values or values[key] is None:
                raise KeyError(f"no value for placeholder {{{key}}}")
            if isinstance(values[key], list):
                raise KeyError(f"{{{key}}} is a list: use it as a whole list item")
            return str(values[key])

        return PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        out: List[Any] = []
        for item in value:
            whole = PLACEHOLDER.fullmatch(item) if isinstance(item, str) else None
            if whole and isinstance(values.get(whole.group(1)), list):
                out.extend(values[whole.group(1)])
            else:
                out.append(fill(item, values))
        return out
    if isinstance(value, dict):
        return {k: fill(v, values) for k, v in value.items()}
    return value


def norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "")


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


# --- results ---------------------------------------------------------------------------------


@dataclass
class TurnRecord:
    user: str
    bot: List[str]


@dataclass
class Result:
    id: str
    category: str
    source: str
    sender: str
    passed: bool
    reason: Optional[str] = None  # the first failure, in words
    check: Optional[str] = None  # which check failed (no values: safe to show for held-out)
    failed_turn: Optional[int] = None  # 1-based; None for setup and outcome failures
    transcript: List[TurnRecord] = field(default_factory=list)
    seconds: float = 0.0
    stale: bool = False  # the test data no longer fits today's date

    def report(self) -> str:
        head = f"[{self.id}] {self.category} ({self.source}, sender {self.sender}): "
        head += "passed" if self.passed else f"FAILED — {self.reason}"
        lines = [head]
        for number, turn in enumerate(self.transcript, 1):
            mark = "  >>" if number == self.failed_turn else "    "
            lines.append(f"{mark} {number}. 旅客: {turn.user}")
            for text in turn.bot or ["(no reply)"]:
                lines.extend(
                    f"         机器人: {line}" if i == 0 else f"                 {line}"
                    for i, line in enumerate(text.splitlines() or [""])
                )
        return "\n".join(lines)

    def as_dict(self, redact: bool = False) -> Dict[str, Any]:
        if redact:  # held-out: which conversation failed and on which kind of check, nothing it says
            return {
                "id": self.id,
                "category": self.category,
                "passed": self.passed,
                "check": self.check,
                "failed_turn": self.failed_turn,
                "stale": self.stale,
            }
        out = asdict(self)
        out["transcript"] = [asdict(t) for t in self.transcript]
        return out


class Failure(Exception):
    def __init__(self, check: str, reason: str):
        super().__init__(reason)
        self.check = check
        self.reason = reason


def summarise(results: Sequence[Result]) -> Dict[str, Dict[str, Any]]:
    table: Dict[str, Dict[str, Any]] = {}
    for category in CATEGORIES:
        mine = [r for r in results if r.category == category]
        if mine:
            passed = sum(r.passed for r in mine)
            table[category] = {"passed": passed, "total": len(mine), "rate": round(passed / len(mine), 3)}
    passed = sum(r.passed for r in results)
    table["overall"] = {
        "passed": passed,
        "total": len(results),
        "rate": round(passed / len(results), 3) if results else 0.0,
    }
    return table


def format_summary(title: str, table: Dict[str, Dict[str, Any]]) -> str:
    lines = [title]
    for category, row in table.items():
        lines.append(f"  {category:<20} {row['passed']:>3}/{row['total']:<3} {row['rate'] * 100:5.1f} %")
    return "\n".join(lines)


# --- playing ---------------------------------------------------------------------------------


class Runner:
    def __init__(
        self,
        rasa_url: str,
        api_url: str,
        env: Optional[Dict[str, str]] = None,
        today: Optional[dt.date] = None,
    ):
        self.env = env or settings()
        self.rasa_url = rasa_url.rstrip("/")
        self.api = TicketingApi(api_url, self.env)
        self.today = today or today_in_china()

    def values_for(self, conversation: Conversation) -> Dict[str, Any]:
        values: Dict[str, Any] = {
            "emergency_line": self.env.get("EMERGENCY_LINE", "400-820-1190"),
            "sales_line": self.env.get("SALES_LINE", "400-820-1100"),
            "today": self.today.isoformat(),
        }
        if conversation.booking:
            values.update(booking_values(self.api.booking(conversation.booking)))
        if conversation.other_booking:
            values.update(booking_values(self.api.booking(conversation.other_booking), "other_"))
        return values

    def _trip_guard(self, conversation: Conversation, values: Dict[str, Any]) -> None:
        if not conversation.trip:
            return
        departure = dt.date.fromisoformat(values["departure_date"])
        back = dt.date.fromisoformat(values["return_date"])
        if conversation.trip == "ended" and not back < self.today:
            raise Failure("stale", f"stale test data: {values['booking']} has not ended on {self.today}")
        if conversation.trip == "upcoming" and (departure - self.today).days < conversation.min_days_ahead:
            raise Failure(
                "stale",
                f"stale test data: {values['booking']} departs {departure}, "
                f"less than {conversation.min_days_ahead} days after {self.today}",
            )

    def _setup(self, conversation: Conversation, values: Dict[str, Any]) -> None:
        ticket = conversation.setup.get("ticket")
        if ticket:
            body = {
                "category": "accommodation",
                "severity": "general",
                "channel": "console",
                **fill(ticket, values),
            }
            created = self.api.create_ticket(body)
            values.update(
                ticket_no=created["ticket_no"], ticket_phone=body["phone"], ticket_last4=body["phone"][-4:]
            )

    def play(self, conversation: Conversation, send: Optional[Send] = None) -> Result:
        send = send or RestChat(self.rasa_url)
        sender = getattr(send, "sender", None) or "?"
        result = Result(conversation.id, conversation.category, conversation.source, sender, passed=False)
        started = time.monotonic()
        since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
        mentioned: List[str] = []
        try:
            values = self.values_for(conversation)
            self._trip_guard(conversation, values)
            self._setup(conversation, values)
            never = [norm(s) for s in fill(conversation.never_contains, values)]
            for number, turn in enumerate(conversation.turns, 1):
                text = fill(turn.user, values)
                record = TurnRecord(text, [])
                result.transcript.append(record)
                try:
                    replies = send(text)
                except httpx.HTTPError as error:
                    raise Failure("transport", f"turn {number}: REST call failed: {error!r}")
                record.bot = [reply_text(r) for r in replies if reply_text(r)]
                said = norm("\n".join(record.bot))
                mentioned.extend(TICKET_NO.findall(said))
                try:
                    for phrase in never:
                        if phrase in said:
                            raise Failure("never_contains", f"reply contains {phrase!r}, never allowed here")
                    self._check_turn(fill(turn.expect, values), said, sender, since, mentioned)
                except Failure as failure:
                    result.failed_turn = number
                    failure.reason = f"turn {number}: {failure.reason}"
                    raise
            self._check_outcome(fill(conversation.outcome, values), sender, since, mentioned)
            result.passed = True
        except Failure as failure:
            result.reason, result.check = failure.reason, failure.check
            result.stale = failure.check == "stale"
        except (KeyError, httpx.HTTPError, RuntimeError) as error:
            result.reason, result.check = f"runner: {error!r}", "runner"
        result.seconds = round(time.monotonic() - started, 2)
        return result

    def play_all(
        self, conversations: Sequence[Conversation], progress: Optional[Callable[[Result], None]] = None
    ) -> List[Result]:
        results = []
        for conversation in conversations:
            results.append(self.play(conversation))
            if progress:
                progress(results[-1])
        return results

    # --- checks ---

    def _check_turn(
        self, expect: Dict[str, Any], said: str, sender: str, since: dt.datetime, mentioned: List[str]
    ) -> None:
        if expect.get("silent"):
            if said.strip():
                raise Failure("silent", "the bot answered although it should stay silent")
        elif any(k in expect for k in ("contains_all", "contains_any", "regex")) and not said.strip():
            raise Failure("no_reply", "no reply")
        for phrase in expect.get("contains_all", []):
            if norm(phrase) not in said:
                raise Failure("contains_all", f"reply lacks {phrase!r}")
        groups = expect.get("contains_any") or []
        if groups and not isinstance(groups[0], list):
            groups = [groups]
        for group in groups:
            if not any(norm(p) in said for p in group):
                raise Failure("contains_any", f"reply contains none of {group!r}")
        for phrase in expect.get("not_contains", []):
            if norm(phrase) in said:
                raise Failure("not_contains", f"reply contains {phrase!r}")
        if expect.get("regex") and not re.search(expect["regex"], said):
            raise Failure("regex", f"reply does not match /{expect['regex']}/")
        if "handoff" in expect:
            self._check_handoff(expect["handoff"], sender)
        if "tickets" in expect:
            self._check_ticket_count(expect["tickets"], self.api.tickets(sender, since, mentioned))

    def _check_outcome(
        self, outcome: Dict[str, Any], sender: str, since: dt.datetime, mentioned: List[str]
    ) -> None:
        if "handoff" in outcome:
            self._check_handoff(outcome["handoff"], sender, where="outcome")
        if "tickets" in outcome or "ticket" in outcome:
            tickets = self.api.tickets(sender, since, mentioned)
            if "tickets" in outcome:
                self._check_ticket_count(outcome["tickets"], tickets, where="outcome")
            if "ticket" in outcome:
                if not tickets:
                    raise Failure("outcome.ticket", "outcome: no ticket was created for this conversation")
                newest = max(tickets, key=lambda t: t["received_at"])
                check_ticket_fields(outcome["ticket"], newest)

    def _check_handoff(self, want: Any, sender: str, where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        check = f"{where}.handoff" if where else "handoff"
        handoffs = self.api.handoffs(sender)
        if want in (None, "none", False):
            if handoffs:
                seen = [(h["reason"], h["severity"]) for h in handoffs]
                raise Failure(check, f"{prefix}a handoff was opened {seen}, none expected")
            return
        want = {} if want is True or want == "any" else dict(want)
        matching = [h for h in handoffs if all(str(h.get(k)) == str(v) for k, v in want.items())]
        if not matching:
            seen = [(h["reason"], h["severity"]) for h in handoffs] or "none"
            raise Failure(check, f"{prefix}no handoff with {want} (handoffs: {seen})")

    @staticmethod
    def _check_ticket_count(want: Any, tickets: List[Dict[str, Any]], where: str = "") -> None:
        prefix = f"{where}: " if where else ""
        check = f"{where}.tickets" if where else "tickets"
        if isinstance(want, int) and len(tickets) != want:
            raise Failure(
                check,
                f"{prefix}{len(tickets)} ticket(s) {[t['ticket_no'] for t in tickets]}, expected {want}",
            )


def check_ticket_fields(want: Dict[str, Any], ticket: Dict[str, Any]) -> None:
    def field_text(name: str) -> str:
        if name == "when_where":  # the form's one question, stored in two fields
            return norm(" ".join(str(ticket.get(k) or "") for k in ("occurred_at", "location")))
        if name not in ticket:
            raise Failure("outcome.ticket", f"outcome: ticket {ticket['ticket_no']} has no field {name!r}")
        value = ticket[name]
        return norm(value if isinstance(value, str) else ("" if value is None else str(value)))

    for name, value in (want.get("equals") or {}).items():
        if field_text(name) != norm(str(value)):
            raise Failure(
                "outcome.ticket",
                f"outcome: ticket {ticket['ticket_no']} {name} is {ticket.get(name)!r}, expected {value!r}",
            )
    for name, phrases in (want.get("contains") or {}).items():
        for phrase in phrases:
            if norm(phrase) not in field_text(name):
                raise Failure(
                    "outcome.ticket",
                    f"outcome: ticket {ticket['ticket_no']} {name} {ticket.get(name)!r} lacks {phrase!r}",
                )
    for name, phrases in (want.get("contains_any") or {}).items():
        if not any(norm(p) in field_text(name) for p in phrases):
            raise Failure(
                "outcome.ticket",
                f"outcome: ticket {ticket['ticket_no']} {name} {ticket.get(name)!r} has none of {phrases!r}",
            )
    for name, phrases in (want.get("not_contains") or {}).items():
        for phrase in phrases:
            if norm(phrase) in field_text(name):
                raise Failure(
                    "outcome.ticket",
                    f"outcome: ticket {ticket['ticket_no']} {name} {ticket.get(name)!r} contains {phrase!r}",
                )


def reply_text(reply: Dict[str, Any]) -> str:
    """A reply as the traveller sees it: its text, then its buttons' titles."""
    parts = [reply.get("text") or ""]
    parts += [b.get("title", "") for b in reply.get("buttons") or []]
    return "\n".join(p for p in parts if p)


def wrong_digit_budget(conversations: Iterable[Conversation]) -> Dict[str, int]:
    """Literal 4-digit numbers the travellers send for a booking that are not its last 4 digits,
    per booking: the API locks a booking after 5 misses in 15 minutes, and a whole run
    (suite and held-out, one API) must stay below that or later conversations would fail
    for the runner's sake. Correct digits are written as {last4}."""
    misses: Dict[str, int] = {}
    for conversation in conversations:
        if not conversation.booking:
            continue
        for turn in conversation.turns:
            text = re.sub(r"TR\d{8}|C\d{11,}|\d{5,}", " ", turn.user)
            count = len(re.findall(r"(?<!\d)\d{4}(?!\d)", text))
            if count:
                misses[conversation.booking] = misses.get(conversation.booking, 0) + count
    return misses


BOOKING_KEYS = set(booking_values({"ref": "", "phone": "0000", "product": "", "itinerary": []}))
TICKET_KEYS = {"ticket_no", "ticket_phone", "ticket_last4"}


def placeholder_problems(conversation: Conversation) -> List[str]:
    """Placeholders that could never be filled (checked without the services)."""
    known = {"emergency_line", "sales_line", "today"}
    if conversation.booking:
        known |= BOOKING_KEYS
    if conversation.other_booking:
        known |= {f"other_{k}" for k in BOOKING_KEYS}
    if conversation.setup.get("ticket"):
        known |= TICKET_KEYS
    texts = [t.user for t in conversation.turns]
    texts += [yaml.safe_dump(t.expect, allow_unicode=True) for t in conversation.turns]
    texts += [yaml.safe_dump(conversation.outcome, allow_unicode=True), " ".join(conversation.never_contains)]
    used = {m for text in texts for m in PLACEHOLDER.findall(text)}
    day = re.compile(r"(other_)?hotel_day\d+")
    return sorted(
        f"{conversation.id}: {{{key}}}"
        for key in used
        if key not in known
        and not (day.fullmatch(key) and (conversation.booking or conversation.other_booking))
    )


def play_file(runner: Runner, path: Path) -> Tuple[List[Result], Dict[str, Dict[str, Any]]]:
    results = runner.play_all(load(path))
    return results, summarise(results)
