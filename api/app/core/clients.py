"""What an app builds from its own settings and keeps for its life: the Rasa client, the typing
relay, the WeChat template sender, the agents' availability settings.

Each is built on first use from the settings given to `create_app(settings)` (kept on
`app.state.clients`), never from the process's environment or a module-level cache, so two
apps in one process each talk to their own Rasa with their own secrets. Built lazily rather
than in the lifespan: the API tests run their apps without one (and override what they fake).
The lifespan closes what was built at shutdown.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock
from typing import Any, TypeVar

from starlette.requests import HTTPConnection

from app.core.config import Settings

T = TypeVar("T")


class AppClients:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._built: dict[str, Any] = {}
        self._lock = Lock()  # requests run in a thread pool: build each one once

    def get(self, name: str, build: Callable[[Settings], T]) -> T:
        """The app's `name`, built by `build(settings)` the first time (None is kept too)."""
        if name not in self._built:
            with self._lock:
                if name not in self._built:
                    self._built[name] = build(self.settings)
        return self._built[name]

    def close(self) -> None:
        """Close what holds connections; a later request (a lifespan run again) builds anew."""
        with self._lock:
            built, self._built = self._built, {}
        for value in built.values():
            close = getattr(value, "close", None)
            if close is not None:
                close()


def clients_of(connection: HTTPConnection) -> AppClients:
    """The clients of the app serving this request (create_app puts them on app.state)."""
    return connection.app.state.clients
