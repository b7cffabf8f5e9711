"""One settings object for the API, read from environment variables.

Development defaults equal the values in the repository's dev.env (which the Makefile
exports); every `dev-` secret is refused unless APP_ENV=development is set explicitly
(APP_ENV unset is production), by the start-up check all services share (servicekit).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.servicekit import InsecureConfiguration, refuse_development_secrets

# api/app/core/config.py -> the repository root is three folders up from core/.
REPO_ROOT = Path(__file__).resolve().parents[3]
API_ROOT = REPO_ROOT / "api"

SECRET_FIELDS = (
    "api_service_token",
    "agent_initial_password",
    "supervisor_initial_password",
    "verify_grant_secret",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # Only APP_ENV=development allows the "dev-" secrets (dev.env sets it for `make`);
    # unset means production.
    app_env: str = ""
    database_url: str = "sqlite:///var/tickets.db"
    api_service_token: str = "dev-service-token"
    agent_initial_password: str = "dev-agent-password"
    supervisor_initial_password: str = "dev-supervisor-password"
    # Run `alembic upgrade head` and seed demo data in the app lifespan.
    migrate_on_startup: bool = True
    # Demo bookings from fixtures/bookings.json: only outside production (the embedded
    # defaults); APP_ENV=production never seeds them, whatever this says.
    seed_demo_bookings: bool = True
    warm_classifier: bool = True  # load the complaint model at start-up
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    token_ttl_hours: int = Field(default=12, gt=0)
    # Phone-digit checks per booking/ticket: after this many misses in the window,
    # the verify endpoints answer 429 until the window ends (even for the right digits).
    verify_max_failures: int = Field(default=5, gt=0)
    verify_window_minutes: int = Field(default=15, gt=0)
    # The same window, counted per source: the traveller's sender id (sent by the bot) and
    # the caller's address (every check through one action server shares its address).
    verify_max_failures_per_sender: int = Field(default=10, gt=0)
    verify_max_failures_per_address: int = Field(default=100, gt=0)
    # A right check gives the bot a grant (booking + sender id) that reading the booking needs.
    verify_grant_secret: str = "dev-verify-grant-secret"
    verify_grant_minutes: int = Field(default=30, gt=0)
    # Logins: after this many failures in the window per username (lockout) or per address,
    # 429 with Retry-After, right password included.
    login_max_failures: int = Field(default=5, gt=0)
    login_max_failures_per_address: int = Field(default=20, gt=0)
    login_window_minutes: int = Field(default=15, gt=0)
    # scrypt cost of new password hashes (a power of two; older, cheaper hashes are upgraded
    # on the next login).
    password_scrypt_n: int = Field(default=2**17, ge=2**14)
    log_level: str = "INFO"
    # Retention (app/services/retention.py; `make retention`, or the API's daily run).
    # Complaints: the complainant's name, phone and the personal data in every free text are
    # masked this many days after the ticket's last activity (closed, else last update); the
    # ticket stays for statistics. At least a year.
    retention_complaint_days: int = Field(default=3 * 365, ge=365)
    # Full handoff transcripts (the ticket keeps its masked copy as a note).
    retention_transcript_days: int = Field(default=3 * 365, ge=30)
    # Idempotency-Key records of POST /tickets (the bot retries within minutes).
    retention_idempotency_days: int = Field(default=7, ge=1)
    # Rasa conversations (the SQL tracker store's `events`) idle longer than this are deleted.
    retention_tracker_days: int = Field(default=90, ge=1)
    # The tracker store: a SQLAlchemy URL, else the SQLite file TRACKER_DB (relative to the
    # repository root); empty both = trackers are not purged by this service.
    tracker_store_url: str = ""
    tracker_db: str = "var/tracker.db"
    # The in-process run: one worker (PostgreSQL advisory lock / SQLite file lock) runs the
    # job every RETENTION_INTERVAL_HOURS, the first time RETENTION_FIRST_RUN_SECONDS after start.
    retention_schedule: bool = True
    retention_interval_hours: float = Field(default=24.0, gt=0)
    retention_first_run_seconds: float = Field(default=300.0, ge=0)
    # Scheduled jobs (app/services/scheduler.py, APScheduler in every API worker; a job_runs row
    # claimed per due time makes one worker run it). Off: only RETENTION_SCHEDULE's job runs.
    scheduler_enabled: bool = True
    # Deadline alerts: a step due within this many working hours alerts its owner; an overdue
    # one alerts the supervisors and escalates the ticket one authority level.
    deadline_alert_interval_seconds: float = Field(default=300.0, gt=0)
    deadline_alert_working_hours: float = Field(default=4.0, gt=0)
    # The supervisors' daily digest, at this hour China time.
    digest_hour: int = Field(default=8, ge=0, le=23)
    # Reminders to travellers: the survey once if unanswered this long after the result was
    # sent; the itinerary this many China days before departure. Looked for every interval.
    survey_reminder_hours: float = Field(default=24.0, gt=0)
    itinerary_reminder_days: int = Field(default=3, ge=1)
    reminder_interval_minutes: float = Field(default=60.0, gt=0)

    # The agents' availability: opening hours (China time, every day), away and offline after;
    # what they mean is in app/services/availability.py (AvailabilitySettings).
    opening_hours: str = "08:00-22:00"
    agent_away_minutes: float = Field(default=5.0, gt=0)
    agent_offline_seconds: float = Field(default=150.0, ge=30)

    # --- Rasa's HTTP API (app/services/rasa_client.py) and the notices to travellers
    # (app/services/notifier.py). Their secrets are checked where they are used (the lifespan
    # and the first call: check_rasa_secret, check_wechat_secret), not by every Settings: the
    # CLI (migrate, retention) talks to neither.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_jwt_secret: str = "dev-rasa-jwt-secret"
    rasa_timeout_seconds: float = 10.0
    notifier_enabled: bool = True
    # Every worker looks for due retries this often (a notice is first tried right after the
    # request that wrote it).
    notifier_retry_seconds: float = Field(default=30.0, gt=0)
    notifier_backoff_seconds: float = Field(default=30.0, gt=0)  # 30 s, 1 min, 2 min ... capped 1 h
    notifier_max_attempts: int = Field(default=8, ge=1)
    # A claim older than this (the worker died mid-send) is tried again.
    notifier_stale_claim_seconds: float = Field(default=600.0, gt=0)
    # WeChat's customer-service messages reach a user within 48 hours of their last message.
    wechat_service_window_hours: float = 48.0
    # The account the template messages go out from.
    wechat_app_id: str = "wx-dev-app-id"
    wechat_app_secret: str = "dev-wechat-secret"
    wechat_api_base: str = "https://api.weixin.qq.com"
    # The account's template for service progress (first / keyword1-3 / remark); empty = none:
    # a notice past the 48-hour window then waits in the conversation (route `tracker`).
    wechat_template_id: str = ""
    # The bot's access-token cache (bot/channels/wechat_api.py FileTokenStore): the same file,
    # key and lock, because a token fetched here invalidates the bot's, and the reverse.
    wechat_token_cache: str = "var/wechat-token.json"

    @field_validator("opening_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        # Imported here: services build on core, not the reverse (the parser is pure arithmetic).
        from app.services.availability import OpeningHours

        OpeningHours.parse(value)
        return value

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> "Settings":
        # The start-up check every service runs (servicekit): "dev-" or empty secrets only
        # with APP_ENV=development set explicitly; unset counts as production.
        secrets = {name.upper(): getattr(self, name) for name in SECRET_FIELDS}
        try:
            refuse_development_secrets("ticketing API", secrets, self.app_env)
        except InsecureConfiguration:
            # Refused anyway: name the secrets checked on first use too, so that one fix of the
            # environment finds them all.
            refuse_development_secrets("ticketing API", {**secrets, **self._used_secrets()}, self.app_env)
            raise
        if self.is_production and len(self.api_service_token) < 24:
            raise ValueError("API_SERVICE_TOKEN must be at least 24 characters in production")
        return self

    def _used_secrets(self) -> dict[str, str]:
        used = {"RASA_JWT_SECRET": self.rasa_jwt_secret}
        if self.wechat_template_id:  # the WeChat account is only called for template messages
            used["WECHAT_APP_SECRET"] = self.wechat_app_secret
        return used

    def check_rasa_secret(self) -> None:
        """The start-up check (servicekit) for RASA_JWT_SECRET: the lifespan runs it."""
        refuse_development_secrets("ticketing API", {"RASA_JWT_SECRET": self.rasa_jwt_secret}, self.app_env)

    def check_wechat_secret(self) -> None:
        """WECHAT_APP_SECRET, when template messages are on (WECHAT_TEMPLATE_ID)."""
        if self.wechat_template_id:
            refuse_development_secrets(
                "ticketing API", {"WECHAT_APP_SECRET": self.wechat_app_secret}, self.app_env
            )

    @property
    def token_cache_path(self) -> Path:
        """WECHAT_TOKEN_CACHE, a relative path taken from the repository root."""
        path = Path(self.wechat_token_cache)
        return path if path.is_absolute() else REPO_ROOT / path

    @property
    def is_production(self) -> bool:
        return not self.app_env or self.app_env.lower() == "production"

    @property
    def seeds_demo_data(self) -> bool:
        return self.seed_demo_bookings and not self.is_production

    @property
    def tracker_sqlalchemy_url(self) -> str | None:
        """Rasa's tracker store as a SQLAlchemy URL (None: not configured)."""
        if self.tracker_store_url:
            return resolve_database_url(self.tracker_store_url)
        if self.tracker_db:
            return resolve_database_url(f"sqlite:///{self.tracker_db}")
        return None

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
