"""The handoff a route under /handoffs/{handoff_id} acts on: loaded, and the caller's right to
read it, to talk in it or to end it checked, in one place (as ticket_deps does for tickets).

The dependency does not load the handoff itself: the route asks for it (`access.get()`,
`access.held()`...). FastAPI runs dependencies before it validates the request body, so a
loading dependency would answer 404 or 403 where a bad body answers 422 today.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, status
from sqlalchemy.orm import Session

from app.api.deps import AnyCaller, SenderHeader, SessionDep, Staff
from app.api.errors import not_found
from app.core.security import Actor
from app.crud import handoffs as crud
from app.models import Handoff
from app.models.handoff import OPEN_STATUSES
from app.services.handoff_reads import full_view

# Ids are PostgreSQL INTEGERs: a larger number is a 422, not an overflow inside the driver (500).
HandoffId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ENDED = "该会话已结束"
NOT_HOLDER = "请先接入该会话；只有接入的客服可以回复"


def holds(handoff: Handoff, actor: Actor) -> bool:
    """The caller is the agent talking to the traveller now."""
    return handoff.status == "active" and handoff.agent_id is not None and handoff.agent_id == actor.user_id


@dataclass
class HandoffAccess:
    session: Session
    caller: Actor
    handoff_id: int
    sender_id: str | None = None  # the service: the conversation it acts for (X-Sender-Id)

    def get(self) -> Handoff:
        """The handoff (404 when unknown), read again from the session at each call. The
        service (the bot) acts for one conversation and reads nothing else: 403 for another
        conversation's handoff, whether or not it exists."""
        handoff = crud.get(self.session, handoff_id=self.handoff_id)
        if self.caller.role == "service" and not (
            handoff is not None and self.sender_id and handoff.conversation_id == self.sender_id
        ):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                {"field": "X-Sender-Id", "msg": "not a handoff of this conversation"},
            )
        if handoff is None:
            raise not_found("handoff")
        return handoff

    def readable(self) -> tuple[Handoff, bool]:
        """The handoff and whether the caller sees it in full; other agents read a waiting one
        only (masked), to decide whether to take it."""
        handoff = self.get()
        full = full_view(handoff, self.caller)
        if not full and handoff.status != "waiting":
            raise HTTPException(status.HTTP_403_FORBIDDEN, "只有接入该会话的客服或主管可以查看完整记录")
        return handoff, full

    def in_full(self, refusal: str) -> Handoff:
        """The handoff if the caller sees it in full (its holder, supervisors); 403 otherwise."""
        handoff = self.get()
        if not full_view(handoff, self.caller):
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
        return handoff

    def held(self, *, ended: str = ENDED) -> Handoff:
        """The open handoff the caller holds: only the agent talking to the traveller replies
        (409 once it has ended, 403 for anyone else)."""
        return self._open(ended, lambda handoff: holds(handoff, self.caller), NOT_HOLDER)

    def endable(self) -> Handoff:
        """The open handoff, if the caller holds it or is a supervisor (who may end any)."""
        return self._open(
            ENDED,
            lambda handoff: holds(handoff, self.caller) or self.caller.role == "supervisor",
            "只有接入该会话的客服或主管可以结束或交还",
        )

    def _open(self, ended: str, allowed, refusal: str) -> Handoff:
        handoff = self.get()
        if handoff.status not in OPEN_STATUSES:
            raise HTTPException(status.HTTP_409_CONFLICT, ended)
        if not allowed(handoff):
            raise HTTPException(status.HTTP_403_FORBIDDEN, refusal)
        return handoff


def staff_handoff(handoff_id: HandoffId, caller: Staff, session: SessionDep) -> HandoffAccess:
    return HandoffAccess(session, caller, handoff_id)


def caller_handoff(
    handoff_id: HandoffId, caller: AnyCaller, session: SessionDep, sender_id: SenderHeader = None
) -> HandoffAccess:
    return HandoffAccess(session, caller, handoff_id, sender_id)


# Agents and supervisors; what they may do with it is `readable()`, `in_full()`, `held()`, `endable()`.
StaffHandoff = Annotated[HandoffAccess, Depends(staff_handoff)]
# The service too, for the conversation it acts for (X-Sender-Id).
CallerHandoff = Annotated[HandoffAccess, Depends(caller_handoff)]
