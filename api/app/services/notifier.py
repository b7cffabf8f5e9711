"""Notices to travellers through their own channel (DESIGN §6, issue 16 items 1-2).

Two halves, so that a notice is never lost and never sent twice:

1. `enqueue_*` run inside the transaction that changes the ticket (crud/tickets.py): the
   notice is a `notifications` row committed with the status change it announces (an
   outbox). Its `key` ("C20261206001:status:investigating") is unique: a second insert of the
   same event is ignored.
2. `deliver_due` runs after the commit (a background task of the request) and again every
   NOTIFIER_RETRY_SECONDS in each API worker (`run_periodically`). A worker claims a row with
   one conditional UPDATE (pending -> sending) before it sends, so two workers never send the
   same row; a failure puts it back to pending with an exponential backoff, up to
   NOTIFIER_MAX_ATTEMPTS; every outcome (route, attempts, last error) stays on the row.

Routes (how the agents' replies already travel, api/app/services/rasa_client.py):
- `socketio` (the website widget): a `bot` event appended to the conversation with
  `execute_side_effects` and `output_channel=socketio`: pushed to an open widget, and in the
  tracker, so the widget's server-side history shows it when the traveller comes back;
- `wechat`: within 48 hours of the traveller's last message (read from the tracker) the same
  through Rasa's WeChat output channel, i.e. a customer-service message (buttons become
  numbered options there); after that WeChat refuses customer-service messages (45015), so a
  template message is sent to WeChat's API directly, and the notice is appended to the
  tracker without an output channel (the transcript and the survey's state stay complete);
- `rest`: nothing can be pushed; the notice lands in the tracker only.

The survey's state travels with the notice as slot events (`survey_ticket`, `survey_step`),
so the bot (actions/survey.py) knows what a "1" or a star button answers.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.core.clients import AppClients
from app.core.config import Settings
from app.core.db import upsert_insert
from app.models import Ticket
from app.models.notification import FAILED, PENDING, SENDING, SENT, SKIPPED, Notification
from app.services import deadlines as dl
from app.services import workflow
from app.services.rasa_client import ConversationNotFound, RasaClient, RasaUnavailable, app_rasa_client

log = logging.getLogger(__name__)

SURVEY_TICKET_SLOT = "survey_ticket"
SURVEY_STEP_SLOT = "survey_step"
CONFIRM_BUTTONS = [
    {"title": "确认处理结果", "payload": "/affirm"},
    {"title": "对结果有异议", "payload": "/deny"},
]
# errcodes after which sending again cannot help: unknown openid, not following the account,
# unknown template, template message refused for this user.
WECHAT_PERMANENT = {40003, 40037, 43004, 43101}
WECHAT_TOKEN_ERRORS = {40001, 40014, 42001}


# --- what the traveller reads ----------------------------------------------------------------


def _china(at: datetime | None) -> str:
    if at is None:
        return "待定"
    local = at.astimezone(dl.CHINA_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def _owner_name(ticket: Ticket) -> str:
    if ticket.owner is not None:
        return ticket.owner.display_name or ticket.owner.username
    return "客服中心值班专员"


DEFAULT_MEASURES = {
    "investigating": "我们已开始调查核实您反映的情况。",
    "plan_made": "处理方案已制定，正在安排落实。",
    "resolved": "处理方案已落实。",
    "followed_up": "我们已完成回访，记录了您的意见。",
}


def _measures(ticket: Ticket) -> str:
    # Public notes are the "measures taken" (models/ticket.py); the latest few, in order.
    public = [note.text for note in ticket.notes if note.public][-3:]
    return "；".join(public) if public else DEFAULT_MEASURES.get(ticket.status, "我们正在处理。")


def render_options(text: str, buttons: Iterable[dict]) -> str:
    """Numbered options, as the WeChat channel renders buttons (a bare number answers them)."""
    lines = [f"{i}. {b['title']}" for i, b in enumerate(buttons, 1)]
    return text + ("\n" + "\n".join(lines) + "\n回复数字即可选择。" if lines else "")


@dataclass(frozen=True)
class Notice:
    kind: str
    event: str  # the part of the key after the ticket number
    text: str
    title: str
    buttons: tuple[dict, ...] = ()
    slots: dict | None = None

    def template(self, ticket: Ticket, now: datetime) -> dict:
        """The WeChat template message's fields (service-progress template)."""
        return {
            "first": self.title,
            "keyword1": ticket.ticket_no,
            "keyword2": workflow.STATUS_LABELS.get(ticket.status, ticket.status),
            "keyword3": _china(now),
            "remark": render_options(self.text, self.buttons),
        }


def progress_notice(ticket: Ticket, now: datetime) -> Notice:
    """A status change: the measures, the expected date and the responsible person (DESIGN §3)."""
    label = workflow.STATUS_LABELS[ticket.status]
    if ticket.status == workflow.REJECTED:
        text = (
            f"【投诉进度通知】您的投诉（工单号 {ticket.ticket_no}）经核实不予受理。\n"
            f"原因：{ticket.rejection_reason}\n"
            f"负责人：{_owner_name(ticket)}\n如有疑问，可直接回复本消息，我们会为您转人工客服。"
        )
        return Notice("progress", f"status:{ticket.status}", text, "投诉处理结果通知")
    lines = [
        f"【投诉进度通知】您的投诉（工单号 {ticket.ticket_no}）有新进展。",
        f"当前状态：{label}",
        f"已采取的措施：{_measures(ticket)}",
        f"预计完成时间：{_china(workflow.expected_completion(ticket))}",
        f"负责人：{_owner_name(ticket)}",
    ]
    if ticket.delay_reason:
        lines.append(f"未能按时办结的原因：{ticket.delay_reason}")
    lines.append("如有疑问，可随时回复本消息。")
    return Notice("progress", f"status:{ticket.status}", "\n".join(lines), "投诉处理进度通知")


def result_notice(ticket: Ticket) -> Notice:
    """The written result in its three parts, with a confirm button; the survey follows the
    traveller's answer (actions/survey.py)."""
    text = (
        f"【投诉处理结果】您的投诉（工单号 {ticket.ticket_no}）已办结。\n"
        f"调查结果：{ticket.result_findings}\n"
        f"处理措施及效果：{ticket.result_measures}\n"
        f"{ticket.result_apology}\n"
        f"负责人：{_owner_name(ticket)}\n"
        "请确认您是否认可以上处理结果："
    )
    return Notice(
        "result",
        "result",
        text,
        "投诉处理结果通知",
        tuple(CONFIRM_BUTTONS),
        {SURVEY_TICKET_SLOT: ticket.ticket_no, SURVEY_STEP_SLOT: "confirm"},
    )


def delay_notice(ticket: Ticket) -> Notice:
    text = (
        f"【投诉进度通知】很抱歉，您的投诉（工单号 {ticket.ticket_no}）未能在原定时间内办结。\n"
        f"原因：{ticket.delay_reason}\n"
        f"预计完成时间：{_china(ticket.expected_completion_at)}\n"
        f"负责人：{_owner_name(ticket)}\n我们会持续跟进，有进展会第一时间通知您。"
    )
    stamp = ticket.expected_completion_at.astimezone(UTC).strftime("%Y%m%d%H%M")
    return Notice("delay", f"delay:{stamp}", text, "投诉处理进度通知")


def notices_for_status(ticket: Ticket, now: datetime) -> list[Notice]:
    if ticket.status == "closed":
        return [result_notice(ticket)]
    return [progress_notice(ticket, now)]


# --- the outbox ------------------------------------------------------------------------------


def enqueue(session: Session, *, ticket: Ticket, notice: Notice, now: datetime) -> bool:
    """Record the notice in the caller's transaction; False when this event was recorded before."""
    stmt = (
        upsert_insert(session)(Notification)
        .values(
            key=f"{ticket.ticket_no}:{notice.event}",
            ticket_id=ticket.id,
            kind=notice.kind,
            channel=ticket.channel,
            conversation_id=ticket.conversation_id,
            text=notice.text,
            buttons=list(notice.buttons),
            slots=notice.slots or {},
            template=notice.template(ticket, now),
            status=PENDING if ticket.conversation_id else SKIPPED,
            route=None if ticket.conversation_id else "none",
            last_error=None if ticket.conversation_id else "the ticket has no conversation to write to",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=[Notification.key])
        .returning(Notification.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def enqueue_status(session: Session, *, ticket: Ticket, now: datetime) -> int:
    return sum(enqueue(session, ticket=ticket, notice=n, now=now) for n in notices_for_status(ticket, now))


def enqueue_delay(session: Session, *, ticket: Ticket, now: datetime) -> bool:
    return enqueue(session, ticket=ticket, notice=delay_notice(ticket), now=now)


def notifications_of(session: Session, *, ticket_id: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(Notification.ticket_id == ticket_id).order_by(Notification.id)
        )
    )


# --- WeChat template messages ----------------------------------------------------------------


class WeChatError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode


class WeChatTemplateSender:
    """`/cgi-bin/message/template/send`, with the access token shared with the bot's channel:
    the same JSON file, cache key (api base | app id) and `flock` lock file as
    bot/channels/wechat_api.py's FileTokenStore, because WeChat keeps only the newest token
    valid and a fetch here would otherwise kill the bot's (and the reverse)."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        api_base: str,
        cache_path: Path,
        clock: Callable[[], float] = time.time,
        refresh_margin: float = 300.0,
        timeout: float = 10.0,
    ) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.api_base = api_base.rstrip("/")
        self.cache_path = cache_path
        self.cache_key = f"{self.api_base}|{app_id}"
        self.clock, self.refresh_margin = clock, refresh_margin
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _read(self) -> dict | None:
        try:
            entry = json.loads(self.cache_path.read_text()).get(self.cache_key)
        except (FileNotFoundError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def _usable(self, entry: dict | None, rejected: str | None) -> bool:
        return bool(
            entry
            and entry.get("access_token")
            and entry["access_token"] != rejected
            and self.clock() < entry.get("refresh_at", 0)
        )

    def access_token(self, rejected: str | None = None) -> str:
        entry = self._read()
        if self._usable(entry, rejected):
            return entry["access_token"]
        self.cache_path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(f"{self.cache_path}.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a worker thread: blocking is fine here
            entry = self._read()  # someone may have refreshed while we waited
            if self._usable(entry, rejected):
                return entry["access_token"]
            data = self._http.get(
                f"{self.api_base}/cgi-bin/token",
                params={"grant_type": "client_credential", "appid": self.app_id, "secret": self.app_secret},
            ).json()
            if "access_token" not in data:
                raise WeChatError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
            expires_in, now = float(data.get("expires_in", 7200)), self.clock()
            entry = {
                "access_token": data["access_token"],
                "expires_at": now + expires_in,
                "refresh_at": now + expires_in - min(self.refresh_margin, expires_in / 2),
            }
            try:
                cache = json.loads(self.cache_path.read_text())
            except (FileNotFoundError, ValueError):
                cache = {}
            cache[self.cache_key] = entry
            tmp = self.cache_path.with_name(f".{self.cache_path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache))
            os.chmod(tmp, 0o600)  # it is a credential
            os.replace(tmp, self.cache_path)
            return entry["access_token"]
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def send_template(self, openid: str, template_id: str, fields: dict[str, str]) -> dict:
        body = {
            "touser": openid,
            "template_id": template_id,
            "data": {name: {"value": value} for name, value in fields.items()},
        }
        token: str | None = None
        for attempt in (1, 2):
            token = self.access_token(rejected=token)
            data = self._http.post(
                f"{self.api_base}/cgi-bin/message/template/send",
                params={"access_token": token},
                content=json.dumps(body, ensure_ascii=False).encode("utf-8"),
                headers={"Content-Type": "application/json; charset=utf-8"},
            ).json()
            errcode = int(data.get("errcode", 0))
            if errcode == 0:
                return data
            if errcode in WECHAT_TOKEN_ERRORS and attempt == 1:
                continue
            raise WeChatError(errcode, str(data.get("errmsg", "")))
        raise AssertionError("unreachable")


# --- delivery --------------------------------------------------------------------------------


class Permanent(Exception):
    """Trying again cannot deliver this notice."""


def last_traveller_message(tracker: dict) -> datetime | None:
    stamps = [float(e.get("timestamp") or 0) for e in tracker.get("events") or [] if e.get("event") == "user"]
    return datetime.fromtimestamp(max(stamps), UTC) if stamps else None


def _events(row: Notification, text: str | None = None) -> list[dict]:
    events: list[dict] = [
        {"event": "slot", "name": name, "value": value, "timestamp": time.time()}
        for name, value in (row.slots or {}).items()
    ]
    bot: dict[str, Any] = {
        "event": "bot",
        "text": text or row.text,
        "timestamp": time.time(),
        # notice_key: a retry after an unknown outcome looks for it before sending again.
        "metadata": {"notice_key": row.key, "notice": row.kind},
    }
    if row.buttons:
        bot["data"] = {"buttons": row.buttons}
    events.append(bot)
    return events


def _already_in(tracker: dict, key: str) -> bool:
    return any(
        e.get("event") == "bot" and (e.get("metadata") or {}).get("notice_key") == key
        for e in tracker.get("events") or []
    )


@dataclass
class Notifier:
    sessions: Callable[[], Session]
    rasa: RasaClient
    settings: Settings
    wechat: WeChatTemplateSender | None = None

    def _send(self, row: Notification, now: datetime) -> str:
        """Deliver one claimed row; returns the route. Raises Permanent or a transient error."""
        conversation, channel = row.conversation_id, row.channel
        try:
            tracker = self.rasa.tracker(conversation) if row.attempts > 1 or channel == "wechat" else None
            if tracker is not None and channel != "wechat" and _already_in(tracker, row.key):
                return "rasa:already"  # an earlier attempt got through before its outcome was lost
            if channel == "socketio":
                self.rasa.append_events(conversation, _events(row), output_channel="socketio")
                return "rasa:socketio"
            if channel == "wechat":
                last = last_traveller_message(tracker or {})
                window = timedelta(hours=self.settings.wechat_service_window_hours)
                if last is not None and now - last < window:
                    self.rasa.append_events(conversation, _events(row), output_channel="wechat")
                    return "rasa:wechat"
                if not (self.wechat and self.settings.wechat_template_id):
                    raise Permanent("past WeChat's 48-hour window and no template message configured")
                self.wechat.send_template(conversation, self.settings.wechat_template_id, row.template)
                # Also into the conversation (no output channel: it must not go out twice), so the
                # transcript has it and the bot knows the survey it opened.
                try:
                    self.rasa.append_events(conversation, _events(row, render_options(row.text, row.buttons)))
                except (RasaUnavailable, ConversationNotFound):
                    log.warning("notice %s sent as a template message but not recorded in Rasa", row.id)
                return "wechat_template"
            # REST and anything else: the conversation keeps it; nothing can be pushed.
            self.rasa.append_events(conversation, _events(row))
            return "tracker"
        except ConversationNotFound as error:
            raise Permanent(str(error)) from error

    def _claim(self, session: Session, row_id: int, now: datetime) -> bool:
        result = session.execute(
            update(Notification)
            .where(Notification.id == row_id, Notification.status == PENDING)
            .values(status=SENDING, claimed_at=now, attempts=Notification.attempts + 1)
        )
        session.commit()
        return result.rowcount == 1

    def _finish(
        self, session: Session, row_id: int, now: datetime, route: str | None, error: Exception | None
    ) -> str:
        row = session.get(Notification, row_id)
        if error is None:
            row.status, row.route, row.sent_at, row.last_error = SENT, route, now, None
        else:
            row.last_error = f"{type(error).__name__}: {error}"[:500]
            if isinstance(error, Permanent) or row.attempts >= self.settings.notifier_max_attempts:
                row.status = FAILED
            else:
                delay = min(self.settings.notifier_backoff_seconds * 2 ** (row.attempts - 1), 3600.0)
                row.status, row.next_attempt_at = PENDING, now + timedelta(seconds=delay)
        session.commit()
        return row.status

    def deliver_due(self, now: datetime, limit: int = 50) -> dict[str, int]:
        """Send what is due; safe in several workers at once (each row is claimed first)."""
        outcome: dict[str, int] = {}
        with self.sessions() as session:
            stale = now - timedelta(seconds=self.settings.notifier_stale_claim_seconds)
            # A worker that died mid-send: try again (the tracker check avoids a double notice).
            session.execute(
                update(Notification)
                .where(Notification.status == SENDING, Notification.claimed_at < stale)
                .values(status=PENDING)
            )
            session.commit()
            due = session.scalars(
                select(Notification.id)
                .where(Notification.status == PENDING, Notification.next_attempt_at <= now)
                .order_by(Notification.id)
                .limit(limit)
            ).all()
            for row_id in due:
                if not self._claim(session, row_id, now):
                    continue  # another worker has it
                row = session.get(Notification, row_id)
                session.refresh(row)
                session.expunge(row)
                # No transaction stays open while Rasa or WeChat answers (SQLite's BEGIN takes
                # the write lock here).
                session.commit()
                route, error = None, None
                try:
                    route = self._send(row, now)
                except (Permanent, RasaUnavailable, WeChatError, httpx.HTTPError) as caught:
                    error = caught
                    if isinstance(caught, WeChatError) and caught.errcode in WECHAT_PERMANENT:
                        error = Permanent(str(caught))
                    log.warning("notice %s not delivered (attempt %s): %s", row.id, row.attempts, error)
                status = self._finish(session, row_id, now, route, error)
                outcome[status] = outcome.get(status, 0) + 1
        return outcome


def wechat_sender_from(settings: Settings) -> WeChatTemplateSender | None:
    """The account's template-message sender (None without WECHAT_TEMPLATE_ID); its secret is
    checked here, when template messages are on."""
    if not settings.wechat_template_id:
        return None
    settings.check_wechat_secret()
    return WeChatTemplateSender(
        settings.wechat_app_id,
        settings.wechat_app_secret,
        settings.wechat_api_base,
        settings.token_cache_path,
    )


def sessions_beside(session: Session) -> Callable[[], Session]:
    """Sessions bound to what `session` is bound to: the engine in production; in the API tests
    the test's connection, so deliveries stay in its rolled-back transaction."""
    bind = session.get_bind()

    def sessions() -> Session:
        return Session(bind=bind, join_transaction_mode="create_savepoint", expire_on_commit=False)

    return sessions


def notifier_for(session: Session, rasa: RasaClient, clients: AppClients) -> Notifier | None:
    """A notifier on the request's database and Rasa client, with the app's settings and
    WeChat sender (None when NOTIFIER_ENABLED is false)."""
    if not clients.settings.notifier_enabled:
        return None
    return Notifier(sessions_beside(session), rasa, clients.settings, app_wechat_sender(clients))


def app_wechat_sender(clients: AppClients) -> WeChatTemplateSender | None:
    """The app's sender, built on first use: one access-token client per app, not per request."""
    return clients.get("wechat_sender", wechat_sender_from)


def deliver_after(notifier: Notifier | None, clock: Callable[[], datetime]) -> None:
    """The request's background task: try the notices it wrote at once."""
    if notifier is None:
        return
    try:
        notifier.deliver_due(clock())
    except Exception:  # noqa: BLE001 - the periodic run retries; the request has answered
        log.exception("notice delivery failed")


def periodic_notifier(sessions: Callable[[], Session], clients: AppClients) -> Notifier | None:
    """The lifespan's notifier: sessions on the app's engine, the app's Rasa client and settings."""
    if not clients.settings.notifier_enabled:
        return None
    return Notifier(sessions, app_rasa_client(clients), clients.settings, app_wechat_sender(clients))


async def run_periodically(
    get: Callable[[], Notifier | None], clock: Callable[[], datetime], interval: float
) -> None:
    """Every worker retries due notices every `interval` (NOTIFIER_RETRY_SECONDS; claims keep it
    to one send)."""
    while True:
        await asyncio.sleep(interval)
        try:
            notifier = get()
            if notifier is not None:
                await asyncio.to_thread(notifier.deliver_due, clock())
        except Exception:  # noqa: BLE001 - the loop must outlive a bad run
            log.exception("notice retry run failed")
