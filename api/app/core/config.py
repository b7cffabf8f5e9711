"""One settings object for the API, read from environment variables.

Development defaults equal the values in the repository's dev.env (which the Makefile
exports); production must override every `dev-` secret, or the settings refuse to load.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# api/app/core/config.py -> the repository root is three folders up from core/.
REPO_ROOT = Path(__file__).resolve().parents[3]
API_ROOT = REPO_ROOT / "api"

SECRET_FIELDS = (
    "api_service_token",
    "agent_initial_password",
    "supervisor_initial_password",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    app_env: str = "development"
    database_url: str = "sqlite:///var/tickets.db"
    api_service_token: str = "dev-service-token"
    agent_initial_password: str = "dev-agent-password"
    supervisor_initial_password: str = "dev-supervisor-password"
    # Run `alembic upgrade head` and seed demo data in the app lifespan.
    migrate_on_startup: bool = True
    seed_demo_bookings: bool = True
    warm_classifier: bool = True  # load the complaint model at start-up
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    token_ttl_hours: int = Field(default=12, gt=0)
    # Phone-digit checks per booking/ticket: after this many misses in the window,
    # the verify endpoints answer 429 until the window ends (even for the right digits).
    verify_max_failures: int = Field(default=5, gt=0)
    verify_window_minutes: int = Field(default=15, gt=0)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> "Settings":
        if self.app_env.lower() == "production":
            weak = [
                name.upper()
                for name in SECRET_FIELDS
                if not getattr(self, name) or getattr(self, name).startswith("dev-")
            ]
            if weak:
                raise ValueError(
                    f"APP_ENV=production but these secrets keep development values: {', '.join(weak)}"
                )
            if len(self.api_service_token) < 24:
                raise ValueError("API_SERVICE_TOKEN must be at least 24 characters in production")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        """DATABASE_URL with a relative SQLite path resolved against the repository root."""
        return resolve_database_url(self.database_url)


def resolve_database_url(url: str) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith("sqlite:////"):
        rest = url[len(prefix) :]
        if rest and not rest.startswith(":memory:"):
            path, sep, query = rest.partition("?")
            return f"{prefix}{(REPO_ROOT / path).resolve()}{sep}{query}"
    return url


@lru_cache
def get_settings() -> Settings:
    return Settings()
