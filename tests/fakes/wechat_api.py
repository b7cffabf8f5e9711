"""A fake of WeChat's server API on a free loopback port, for the channel's tests.

It speaks the endpoints the channel and the API's notifier use, with WeChat's JSON
shapes and errcodes, and records what it receives:

- `GET /cgi-bin/token?grant_type=client_credential&appid=..&secret=..`
  -> {"access_token", "expires_in"} or {"errcode": 40013/40125, ...}
- `POST /cgi-bin/message/custom/send?access_token=..` (JSON body)
  -> {"errcode": 0, "errmsg": "ok"}, or 40001/42001 for an unknown/expired token,
  45002 for content over 2048 bytes, 45015 when the user's last message (as recorded
  with `record_inbound`) is more than 48 hours old: WeChat only lets an account answer
  within 48 hours of the user's last message.
- `POST /cgi-bin/message/template/send?access_token=..` (JSON body: touser,
  template_id, data{name: {value}}) -> {"errcode": 0, "errmsg": "ok", "msgid"}, or
  40037 for an unknown template id, 43004 for a user who does not follow the account;
  no time window (that is what template messages are for).

Like WeChat, fetching a new token invalidates the previous ones (here at once).
Token lifetimes follow `clock` (epoch seconds): a test shares one fake clock with
the client to let a token expire without sleeping.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs, urlparse


@dataclass
class FakeWeChatAPI:
    app_id: str = "wx-test-app"
    app_secret: str = "test-secret"
    expires_in: int = 7200
    token_requests: List[Dict[str, str]] = field(default_factory=list)
    sent: List[Dict[str, Any]] = field(default_factory=list)
    rejected: List[Dict[str, Any]] = field(default_factory=list)
    send_delay: float = 0.0
    clock: Callable[[], float] = field(default_factory=lambda: time.time)
    template_ids: List[str] = field(default_factory=lambda: ["tmpl-progress"])
    templates_sent: List[Dict[str, Any]] = field(default_factory=list)
    unsubscribed: List[str] = field(default_factory=list)
    service_window: float = 48 * 3600

    def __post_init__(self) -> None:
        self._lock = threading.Condition()
        self._tokens: Dict[str, float] = {}  # token -> expiry (epoch)
        self._last_inbound: Dict[str, float] = {}  # openid -> epoch of their last message
        self._server: Optional[ThreadingHTTPServer] = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> "FakeWeChatAPI":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def _json(self, data: Dict[str, Any], status: int = 200) -> None:
                body = json.dumps(data, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/cgi-bin/token":
                    return self._json({"errcode": 404, "errmsg": "not found"}, 404)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._json(fake._issue_token(query))

            def do_POST(self) -> None:
                url = urlparse(self.path)
                send = {
                    "/cgi-bin/message/custom/send": fake._custom_send,
                    "/cgi-bin/message/template/send": fake._template_send,
                }.get(url.path)
                if send is None:
                    return self._json({"errcode": 404, "errmsg": "not found"}, 404)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if fake.send_delay:
                    time.sleep(fake.send_delay)
                self._json(send(query.get("access_token", ""), raw))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- behaviour -------------------------------------------------------------

    def _issue_token(self, query: Dict[str, str]) -> Dict[str, Any]:
        with self._lock:
            self.token_requests.append(query)
            if query.get("grant_type") != "client_credential":
                return {"errcode": 40002, "errmsg": "invalid grant_type"}
            if query.get("appid") != self.app_id:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if query.get("secret") != self.app_secret:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            token = f"TOKEN-{len(self.token_requests)}-{int(time.time() * 1000)}"
            self._tokens = {token: self.clock() + self.expires_in}
            return {"access_token": token, "expires_in": self.expires_in}

    def _custom_send(self, token: str, raw: bytes) -> Dict[str, Any]:
        with self._lock:
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                return {"errcode": 47001, "errmsg": "data format error"}
            expiry = self._tokens.get(token)
            if expiry is None:
                self.rejected.append(body)
                return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"}
            if self.clock() > expiry:
                self.rejected.append(body)
                return {"errcode": 42001, "errmsg": "access_token expired"}
            last = self._last_inbound.get(body.get("touser", ""))
            if last is not None and self.clock() - last > self.service_window:
                self.rejected.append(body)
                return {"errcode": 45015, "errmsg": "response out of time limit or subscription is canceled"}
            content = body.get("text", {}).get("content", "")
            if body.get("msgtype") == "text" and len(content.encode("utf-8")) > 2048:
                self.rejected.append(body)
                return {"errcode": 45002, "errmsg": "content size out of limit"}
            self.sent.append(body)
            self._lock.notify_all()
            return {"errcode": 0, "errmsg": "ok"}

    def _template_send(self, token: str, raw: bytes) -> Dict[str, Any]:
        with self._lock:
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                return {"errcode": 47001, "errmsg": "data format error"}
            expiry = self._tokens.get(token)
            if expiry is None or self.clock() > expiry:
                self.rejected.append(body)
                code = 40001 if expiry is None else 42001
                return {"errcode": code, "errmsg": "access_token is invalid or expired"}
            if body.get("template_id") not in self.template_ids:
                self.rejected.append(body)
                return {"errcode": 40037, "errmsg": "invalid template_id"}
            if not body.get("touser") or body["touser"] in self.unsubscribed:
                self.rejected.append(body)
                return {"errcode": 43004, "errmsg": "require subscribe"}
            self.templates_sent.append(body)
            self._lock.notify_all()
            return {"errcode": 0, "errmsg": "ok", "msgid": len(self.templates_sent)}

    def record_inbound(self, openid: str, at: Optional[float] = None) -> None:
        """The user wrote to the account at `at` (default: now on the fake's clock); WeChat
        measures the 48-hour customer-service window from there."""
        with self._lock:
            self._last_inbound[openid] = self.clock() if at is None else at

    def templates_to(self, openid: str) -> List[Dict[str, Any]]:
        with self._lock:
            return [m for m in self.templates_sent if m.get("touser") == openid]

    def wait_for_template(self, openid: str, count: int, timeout: float = 30.0) -> List[Dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [m for m in self.templates_sent if m.get("touser") == openid]
                remaining = deadline - time.monotonic()
                if len(found) >= count or remaining <= 0:
                    return found
                self._lock.wait(remaining)

    def invalidate_tokens(self) -> None:
        """As if another client had fetched a token elsewhere."""
        with self._lock:
            self._tokens = {}

    @property
    def token_fetches(self) -> int:
        return len(self.token_requests)

    def texts_to(self, openid: str) -> List[str]:
        with self._lock:
            return [m["text"]["content"] for m in self.sent if m.get("touser") == openid]

    def wait_for(self, openid: str, count: int, timeout: float = 30.0) -> List[str]:
        """Blocks until `count` messages reached `openid` (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                texts = [m["text"]["content"] for m in self.sent if m.get("touser") == openid]
                remaining = deadline - time.monotonic()
                if len(texts) >= count or remaining <= 0:
                    return texts
                self._lock.wait(remaining)
