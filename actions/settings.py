"""Environment read once; dev defaults mirror dev.env so a bare `rasa run actions` works."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_service_token: str
    api_timeout_seconds: float
    emergency_line: str
    sales_line: str
    # Rasa's HTTP API, for the one message the bot must deliver itself while paused: emergency
    # advice when the ticketing API, which normally relays it, is down. Empty secret = never.
    rasa_url: str
    rasa_jwt_secret: str


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings(
        api_url=os.environ.get("API_URL", "http://127.0.0.1:8000").rstrip("/"),
        api_service_token=os.environ.get("API_SERVICE_TOKEN", "dev-service-token"),
        api_timeout_seconds=float(os.environ.get("API_TIMEOUT_SECONDS", "5")),
        emergency_line=os.environ.get("EMERGENCY_LINE", "400-820-1190"),
        sales_line=os.environ.get("SALES_LINE", "400-820-1100"),
        rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
        rasa_jwt_secret=os.environ.get("RASA_JWT_SECRET", ""),
    )
