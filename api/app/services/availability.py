"""When a person can answer: the agents' opening hours and who is online (DESIGN §6, issue 15).

Opening hours are China time (Asia/Shanghai) every day, whatever the server's zone, like every
date the API reasons about (DESIGN §4). Availability is derived from what the console reports
(crud/presence.py); here are the settings and the pure arithmetic, tested with a given clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import HTTPConnection

from app.core.clients import clients_of
from app.core.config import Settings

CHINA = ZoneInfo("Asia/Shanghai")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class OpeningHours:
    """[start, end) in minutes after midnight, China time; end may be 1440 (24:00). An end
    before the start is a shift past midnight (20:00-02:00); start == end, or 00:00-24:00, is
    always open."""

    start: int
    end: int

    @classmethod
    def parse(cls, text: str) -> "OpeningHours":
        match = _HOURS.match(text or "")
        if not match:
            raise ValueError(f"opening hours must look like 08:00-22:00, got {text!r}")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= 1440 or end > 1440:
            raise ValueError(f"not a time of day in {text!r}")
        return cls(start, end)

    @property
    def always(self) -> bool:
        return self.start == self.end or (self.start == 0 and self.end == 1440)

    @property
    def label(self) -> str:
        def hhmm(minutes: int) -> str:
            return f"{minutes // 60:02d}:{minutes % 60:02d}"

        return "全天" if self.always else f"{hhmm(self.start)}–{hhmm(self.end)}"

    def _minute(self, moment: datetime) -> int:
        local = moment.astimezone(CHINA)
        return local.hour * 60 + local.minute

    def is_open(self, moment: datetime) -> bool:
        if self.always:
            return True
        minute = self._minute(moment)
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end  # a shift past midnight

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next moment agents are back (China time), or None while open."""
        if self.is_open(moment):
            return None
        local = moment.astimezone(CHINA)
        opening = datetime.combine(local.date(), time(self.start // 60, self.start % 60), tzinfo=CHINA)
        return opening if opening > local else opening + timedelta(days=1)


class AvailabilitySettings(BaseModel):
    """OPENING_HOURS, AGENT_AWAY_MINUTES, AGENT_OFFLINE_SECONDS as the app's Settings read them
    (`availability_of`); tests build their own."""

    model_config = ConfigDict(frozen=True)

    opening_hours: str = "08:00-22:00"
    # No keyboard or mouse use in the console for this long: shown as away (automatic).
    agent_away_minutes: float = Field(default=5.0, gt=0)
    # No heartbeat from the console for this long (tab closed, machine asleep, network gone):
    # offline. Background tabs' timers run only once a minute in Chromium, so well above that.
    agent_offline_seconds: float = Field(default=150.0, ge=30)

    @field_validator("opening_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        OpeningHours.parse(value)
        return value

    @property
    def hours(self) -> OpeningHours:
        return OpeningHours.parse(self.opening_hours)

    @property
    def away_after(self) -> timedelta:
        return timedelta(minutes=self.agent_away_minutes)

    @property
    def offline_after(self) -> timedelta:
        return timedelta(seconds=self.agent_offline_seconds)


def availability_of(settings: Settings) -> AvailabilitySettings:
    return AvailabilitySettings(
        opening_hours=settings.opening_hours,
        agent_away_minutes=settings.agent_away_minutes,
        agent_offline_seconds=settings.agent_offline_seconds,
    )


def get_availability_settings(request: HTTPConnection) -> AvailabilitySettings:
    """The request's app's availability settings; routes take them as a dependency that tests
    override."""
    return clients_of(request).get("availability", availability_of)
