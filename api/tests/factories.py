"""Plain factory functions for test data."""

from __future__ import annotations

from itertools import count

_counter = count(1)


def ticket_payload(**overrides) -> dict:
    n = next(_counter)
    payload = {
        "booking_ref": "TR20260001",
        "name": "张伟",
        "phone": "13812345678",
        "channel": "rest",
        "conversation_id": f"conv-{n}",
        "description": "酒店房间有蟑螂，前台态度冷淡，不给换房。",
        "occurred_at": "2026-12-06 晚上",
        "location": "大理洱海天域英迪格酒店",
        "evidence": ["https://example.com/photo1.jpg"],
        "request": "fix",
        "emotion": "angry",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def create_ticket(
    client, headers, expected: int = 201, idempotency_key: str | None = None, **overrides
) -> dict:
    extra = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    response = client.post("/tickets", json=ticket_payload(**overrides), headers={**headers, **extra})
    assert response.status_code == expected, response.text
    return response.json()
