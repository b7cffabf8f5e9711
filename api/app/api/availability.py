"""Dependencies for who can answer now: opening hours and agents online (issue 15, DESIGN §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.api.deps import NowDep, SessionDep
from app.crud import presence
from app.services.availability import AvailabilitySettings, get_availability_settings

AvailabilityDep = Annotated[AvailabilitySettings, Depends(get_availability_settings)]


def get_staffing(session: SessionDep, now: NowDep, availability: AvailabilityDep) -> presence.Staffing:
    return presence.staffing(session, now=now, settings=availability)


StaffingDep = Annotated[presence.Staffing, Depends(get_staffing)]
