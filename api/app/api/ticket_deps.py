"""The ticket a route under /tickets/{ticket_no} acts on: loaded, the caller's right to it
checked, committed and shown as the caller may see it.

The dependency does not load the ticket itself: the route asks for it (`access.get()`,
`access.owned()`). FastAPI runs dependencies before it validates the request body, so a
loading dependency would answer 404 or 403 where a bad body answers 422 today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from sqlalchemy.orm import Session

from app.api.deps import AnyCaller, GrantHeader, NowDep, SenderHeader, SessionDep, SettingsDep, Staff
from app.api.errors import not_found
from app.api.verify import has_grant, no_grant
from app.core.config import Settings
from app.core.security import Actor
from app.crud import tickets as crud
from app.models import Ticket
from app.schemas.common import TICKET_NO_PATTERN
from app.schemas.ticket import TicketOut
from app.services.ticket_reads import ticket_view

NoPath = Annotated[str, Path(pattern=TICKET_NO_PATTERN, description="C + YYYYMMDD + sequence")]


@dataclass
class TicketAccess:
    session: Session
    caller: Actor
    now: datetime
    ticket_no: str
    settings: Settings | None = None  # the service's grants are checked with its secret
    grant: str | None = None
    sender_id: str | None = None

    def get(self) -> Ticket:
        """The ticket, if the caller may see it (404 when unknown). The service (the bot) acts
        for one conversation (X-Sender-Id): it reads a ticket opened from that conversation, or
        one whose phone digits were checked in it (the grant of /verify). A forged request
        naming another ticket gets 403, whether the ticket exists or not."""
        if self.caller.role == "service" and not has_grant(
            self.settings, self.grant, self.sender_id, what="ticket", number=self.ticket_no, now=self.now
        ):
            ticket = crud.get_by_no(self.session, ticket_no=self.ticket_no)
            if ticket is None or not self.sender_id or ticket.conversation_id != self.sender_id:
                raise no_grant(
                    "check the phone digits first, or ask from the conversation that opened the ticket"
                )
            return ticket
        ticket = crud.get_by_no(self.session, ticket_no=self.ticket_no)
        if ticket is None:
            raise not_found("ticket")
        return ticket

    def owned(self) -> Ticket:
        """The ticket, if the caller may also change it."""
        ticket = self.get()
        # One named owner handles a ticket from first contact to close; supervisors may step in.
        if self.caller.role == "agent" and ticket.owner_id != self.caller.user_id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "only the ticket's owner or a supervisor may change it"
            )
        return ticket

    def view(self, ticket: Ticket) -> TicketOut:
        return ticket_view(self.session, ticket, self.caller, self.now)

    def saved(self, ticket: Ticket) -> TicketOut:
        """Commit the route's change, then the caller's view of the ticket."""
        self.session.commit()
        return self.view(ticket)


def staff_ticket(ticket_no: NoPath, caller: Staff, session: SessionDep, now: NowDep) -> TicketAccess:
    return TicketAccess(session, caller, now, ticket_no)


def caller_ticket(
    ticket_no: NoPath,
    caller: AnyCaller,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    grant: GrantHeader = None,
    sender_id: SenderHeader = None,
) -> TicketAccess:
    return TicketAccess(session, caller, now, ticket_no, settings, grant, sender_id)


# Agents and supervisors only; the owner check is `owned()`.
StaffTicket = Annotated[TicketAccess, Depends(staff_ticket)]
# The service too, for the conversation it acts for (X-Sender-Id, X-Verification-Grant).
CallerTicket = Annotated[TicketAccess, Depends(caller_ticket)]
