"""Bounded input before any route sees it: request bodies over the limit get 413 (by
Content-Length and by streamed size); JSON string values (and query values) that hold a NUL
character, or nothing but whitespace and zero-width characters, get 422 naming the field."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send


# Characters that print as nothing: a value made only of these (and whitespace) is blank.
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad"


def string_problem(value: str) -> str | None:
    """Why a string value is refused, or None. Empty strings are left to the schemas."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if value and not value.strip().strip(INVISIBLE + " \t\r\n\u3000"):
        return "must not be blank (only whitespace or invisible characters)"
    return None


def find_bad_string(value, path: list) -> tuple[list, str] | None:
    """(location, reason) of the first refused string in a JSON document, keys included."""
    if isinstance(value, str):
        problem = string_problem(value)
        return (path, problem) if problem else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return (path + [key], "field names must not contain NUL characters")
            found = find_bad_string(item, path + [key])
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_bad_string(item, path + [index])
            if found:
                return found
    return None


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await _reject(send, self.max_bytes)
                return
        query = scope.get("query_string") or b""
        if query:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True, errors="replace"):
                problem = string_problem(value) if value else None
                if "\x00" in name or problem:
                    await _unprocessable(send, ["query", name], problem or "must not contain NUL characters")
                    return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE") and length is None:
            await self.app(scope, receive, send)
            return
        # Chunked or lying clients: read the body (bounded) before the app sees any of it.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await _reject(send, self.max_bytes)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(headers):
            try:
                document = json.loads(body)
            except ValueError:
                document = None  # FastAPI answers malformed JSON itself
            found = find_bad_string(document, ["body"]) if document is not None else None
            if found:
                await _unprocessable(send, *found)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _reject(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_json(headers: dict) -> bool:
    kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    return kind == b"application/json" or kind.endswith(b"+json")


async def _unprocessable(send: Send, location: list, message: str) -> None:
    # FastAPI's validation shape, so clients read it like any other 422.
    body = json.dumps(
        {"detail": [{"loc": location, "msg": message, "type": "value_error"}]}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
