"""The only code that talks to the ticketing API (service token, loopback HTTP)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional

import httpx

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

    async def _request(self, method: str, path: str, **kwargs: Any) -> Dict[str, Any]:
        headers = {**self._headers, **kwargs.pop("headers", {})}
        try:
            response = await self._client().request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            logger.warning("ticketing API unreachable: %s %s (%s)", method, path.split("/")[1], type(exc).__name__)
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

    async def verify_booking(self, booking_ref: str, phone_last4: str) -> Dict[str, Any]:
        data = await self._request(
            "POST", f"/bookings/{booking_ref}/verify", json={"phone_last4": phone_last4}
        )
        return data["booking"]

    async def get_booking(self, booking_ref: str) -> Dict[str, Any]:
        return await self._request("GET", f"/bookings/{booking_ref}")

    async def classify(self, text: str) -> Dict[str, Any]:
        return await self._request("POST", "/classify", json={"text": text})

    async def create_ticket(
        self, payload: Dict[str, Any], idempotency_key: Optional[str] = None
    ) -> Dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return await self._request("POST", "/tickets", json=payload, headers=headers)

    async def verify_ticket(self, ticket_no: str, phone_last4: str) -> Dict[str, Any]:
        return await self._request(
            "POST", f"/tickets/{ticket_no}/verify", json={"phone_last4": phone_last4}
        )

    async def open_handoff(self, payload: Dict[str, Any]) -> Dict[str, Any]:
        """Queue the conversation for a human agent; idempotent per open conversation."""
        return await self._request("POST", "/handoffs", json=payload)

    async def get_handoff(self, handoff_id: int) -> Dict[str, Any]:
        return await self._request("GET", f"/handoffs/{handoff_id}")


_client: Optional[TicketingClient] = None


def get_client() -> TicketingClient:
    """Lazy provider, so importing actions does no I/O and tests can point it elsewhere."""
    global _client
    if _client is None:
        settings = get_settings()
        _client = TicketingClient(
            settings.api_url, settings.api_service_token, settings.api_timeout_seconds
        )
    return _client


def set_client(client: Optional[TicketingClient]) -> None:
    global _client
    _client = client
