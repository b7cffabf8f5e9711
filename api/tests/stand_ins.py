"""Stand-ins for what the API talks to, shared by the notifier's and the disruptions' tests:
Rasa's two conversation endpoints (in memory) and the WeChat account of the template messages
(the assistant's fake WeChat server, over HTTP). The fixtures are in conftest.py."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.core.config import Settings
from app.services import notifier as nt
from app.services.rasa_client import RasaUnavailable

REPO = Path(__file__).resolve().parents[2]


class StandInRasa:
    """Rasa's `GET /conversations/{id}/tracker` and `POST .../tracker/events` as RasaClient
    exposes them, keeping each conversation's events."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict]] = {}
        self.pushed: list[tuple[str, str | None, dict]] = []  # (conversation, output channel, event)
        self.down = False

    def tracker(self, conversation_id: str) -> dict:
        if self.down:
            raise RasaUnavailable("Rasa answered 503")
        return {"sender_id": conversation_id, "events": list(self.events.get(conversation_id, []))}

    def append_events(
        self, conversation_id: str, events: list[dict], output_channel: str | None = None
    ) -> None:
        if self.down:
            raise RasaUnavailable("Rasa answered 503")
        self.events.setdefault(conversation_id, []).extend(events)
        self.pushed.extend((conversation_id, output_channel, e) for e in events)

    def bot_texts(self, conversation_id: str) -> list[str]:
        return [e["text"] for e in self.events.get(conversation_id, []) if e["event"] == "bot"]


def fake_wechat_module():
    """The assistant's fake WeChat server (stdlib only), loaded by path: its package name
    (`tests`) clashes with api/tests."""
    spec = importlib.util.spec_from_file_location(
        "fake_wechat_api", REPO / "tests" / "fakes" / "wechat_api.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class WeChatAccount:
    """An account on the fake WeChat server: the server (what it received), the settings that
    name it (template messages on) and the notifier's sender for it, on the test's clock."""

    server: Any  # fake_wechat_api.FakeWeChatAPI
    settings: Settings
    sender: nt.WeChatTemplateSender

    def notifier(self, session: Session, rasa: StandInRasa) -> nt.Notifier:
        """A notifier that delivers through this account, on the test's database."""
        return nt.Notifier(nt.sessions_beside(session), rasa, self.settings, self.sender)
