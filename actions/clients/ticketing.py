"""The only code that talks to the ticketing API (service token, loopback HTTP)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, cast

import httpx

from actions.clients import contract
from actions.clients.contract import (
    Booking,
    BookingVerified,
    Classification,
    EmergencyContact,
    Handoff,
    HandoffCreate,
    HandoffOpened,
    SurveyAnswer,
    SurveyRecorded,
    Ticket,
    TicketCreate,
    TicketProgress,
)
from actions.settings import get_settings

logger = logging.getLogger(__name__)


class TicketingError(Exception):
    """Base class: the call did not give the caller what it asked for."""


class Unavailable(TicketingError):
    """The API is down, timed out or answered 5xx: the traveller should retry later."""


class NotFound(TicketingError):
    pass


class Mismatch(TicketingError):
    """Verification failed (403): the phone digits do not match."""


class Locked(TicketingError):
    """Verification refused (429): too many misses for this number; try again later."""

    def __init__(self, path: str, retry_after: int) -> None:
        super().__init__(path)
        self.retry_after = retry_after

    @property
    def minutes(self) -> int:
        """Whole minutes to wait, as the traveller is told."""
        return max(1, -(-self.retry_after // 60))


class Rejected(TicketingError):
    """The API refused the data (4xx other than 403/404)."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class TicketingClient:
    def __init__(self, base_url: str, token: str, timeout: float) -> None:
        self._base_url = base_url
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = timeout
        self._http: Optional[httpx.AsyncClient] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def _client(self) -> httpx.AsyncClient:
        # One pooled client per event loop: a new AsyncClient per call built an SSL
        # context each time (most of the action server's CPU under load) and opened
        # a new connection. Keyed by loop because a client cannot outlive its loop.
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop:
            self._http = httpx.AsyncClient(base_url=self._base_url, timeout=self._timeout)
            self._loop = loop
        return self._http

    async def aclose(self) -> None:
        """Close the pooled connections (the action server's shutdown): open keep-alive
        sockets to the API would otherwise be dropped without a FIN when the loop ends."""
        http, self._http, self._loop = self._http, None, None
        if http is not None and not http.is_closed:
            await http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = await self._client().request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            logger.warning(
                "ticketing API unreachable: %s %s (%s)", method, path.split("/")[1], type(exc).__name__
            )
            raise Unavailable(str(exc)) from exc
        if response.status_code >= 500:
            raise Unavailable(f"{response.status_code}")
        if response.status_code == 404:
            raise NotFound(path)
        if response.status_code == 403:
            raise Mismatch(path)
        if response.status_code == 429:
            try:
                retry_after = int(response.headers.get("Retry-After", "900"))
            except ValueError:
                retry_after = 900
            raise Locked(path, retry_after)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = response.text
            raise Rejected(response.status_code, detail)
        return response.json()

    async def _call(self, name: str, params: Dict[str, Any], **kwargs: Any) -> Dict[str, Any]:
        # Method and path from the contract, which tests/test_contract.py checks against the API.
        endpoint = contract.ENDPOINTS[name]
        return await self._request(endpoint.method, contract.path(name, **params), **kwargs)

    async def verify_booking(
        self, booking_ref: str, phone_last4: str, sender_id: str, channel: str = "rest"
    ) -> BookingVerified:
        """{verified, booking, grant, grant_expires_at}: the grant reads the booking later."""
        body: contract.PhoneCheck = {"phone_last4": phone_last4, "sender_id": sender_id, "channel": channel}
        return cast(BookingVerified, await self._call("verify_booking", {"ref": booking_ref}, json=body))

    async def get_booking(self, booking_ref: str, grant: Optional[str], sender_id: str) -> Booking:
        """The booking, with the grant of a right check in this conversation (403 -> Mismatch
        when it is missing, expired or another conversation's)."""
        if not grant:
            raise Mismatch(f"/bookings/{booking_ref}")
        headers = {"X-Verification-Grant": grant, "X-Sender-Id": sender_id}
        return cast(Booking, await self._call("get_booking", {"ref": booking_ref}, headers=headers))

    async def emergency_contact(self, booking_ref: str) -> EmergencyContact:
        """{ref, tour_type, guide_name, guide_phone}: no verification needed in an emergency."""
        return cast(EmergencyContact, await self._call("emergency_contact", {"ref": booking_ref}))

    async def classify(self, text: str) -> Classification:
        body: contract.ClassifyIn = {"text": text}
        return cast(Classification, await self._call("classify", {}, json=body))

    async def create_ticket(self, payload: TicketCreate, idempotency_key: Optional[str] = None) -> Ticket:
        """The new ticket (201), or the one this key already opened (200 replay). A 409 while the
        first request with the key is still in progress is waited out and asked again, so a
        retry always ends with the ticket number; a 409 for another body stays Rejected."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        for attempt in range(3):
            try:
                return cast(Ticket, await self._call("create_ticket", {}, json=payload, headers=headers))
            except Rejected as exc:
                in_progress = exc.status == 409 and "in progress" in str(exc.detail)
                if not (idempotency_key and in_progress) or attempt == 2:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        raise Unavailable("unreachable")  # pragma: no cover

    async def verify_ticket(self, ticket_no: str, phone_last4: str, sender_id: str) -> TicketProgress:
        """The traveller's progress view and a grant that reads the ticket later (get_ticket)."""
        body: contract.TicketVerify = {"phone_last4": phone_last4, "sender_id": sender_id}
        return cast(TicketProgress, await self._call("verify_ticket", {"ticket_no": ticket_no}, json=body))

    async def get_ticket(self, ticket_no: str, sender_id: str, grant: Optional[str] = None) -> Ticket:
        """A ticket this conversation opened, or one verified in it (the grant of verify_ticket);
        any other is refused (403 -> Mismatch), whether it exists or not."""
        headers = {"X-Sender-Id": sender_id, **({"X-Verification-Grant": grant} if grant else {})}
        return cast(Ticket, await self._call("get_ticket", {"ticket_no": ticket_no}, headers=headers))

    async def answer_survey(self, ticket_no: str, sender_id: str, answer: SurveyAnswer) -> SurveyRecorded:
        """The traveller's confirmation, 1-5 stars or comment, for this conversation's ticket."""
        return cast(
            SurveyRecorded,
            await self._call(
                "answer_survey", {"ticket_no": ticket_no}, json=answer, headers={"X-Sender-Id": sender_id}
            ),
        )

    async def open_handoff(self, payload: HandoffCreate) -> HandoffOpened:
        """Queue the conversation for a human agent; idempotent per open conversation."""
        # The conversation it acts for, as on every read: the API relays a `notice` only there.
        headers = {"X-Sender-Id": payload["conversation_id"]}
        return cast(HandoffOpened, await self._call("open_handoff", {}, json=payload, headers=headers))

    async def get_handoff(self, handoff_id: int, sender_id: str) -> Handoff:
        """This conversation's handoff; another conversation's is refused (403 -> Mismatch)."""
        return cast(
            Handoff,
            await self._call("get_handoff", {"handoff_id": handoff_id}, headers={"X-Sender-Id": sender_id}),
        )


_client: Optional[TicketingClient] = None


def get_client() -> TicketingClient:
    """Lazy provider, so importing actions does no I/O and tests can point it elsewhere."""
    global _client
    if _client is None:
        settings = get_settings()
        _client = TicketingClient(settings.api_url, settings.api_service_token, settings.api_timeout_seconds)
    return _client


async def close_client() -> None:
    """Close the shared client's connections; the next get_client() call opens new ones."""
    if _client is not None:
        await _client.aclose()


def set_client(client: Optional[TicketingClient]) -> None:
    global _client
    _client = client
