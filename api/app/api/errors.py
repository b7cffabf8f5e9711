"""Error helpers that keep FastAPI's validation shape: {"detail": [{"loc", "msg", "type"}]}."""

from __future__ import annotations

from fastapi import HTTPException, status

from app.services.workflow import WorkflowError


def field_error(
    location: str, field: str, message: str, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
) -> HTTPException:
    return HTTPException(code, [{"loc": [location, field], "msg": message, "type": "value_error"}])


def not_found(what: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"{what} not found")


def workflow_error(error: WorkflowError) -> HTTPException:
    # A move the ticket's state forbids is a conflict; a missing or bad input value is a 422.
    http = status.HTTP_409_CONFLICT if error.field == "status" else status.HTTP_422_UNPROCESSABLE_CONTENT
    return HTTPException(
        http,
        [
            {
                "loc": ["body", error.field],
                "msg": error.message,
                "type": "value_error",
                "code": error.code,  # stable: clients never match the English message
            }
        ],
    )


def personal_number_search() -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        [
            {
                "loc": ["query", "q"],
                "msg": "search by ticket number, booking number or words, not by personal numbers",
                "type": "value_error",
                "code": "personal_number",
            }
        ],
    )


def too_many_attempts(field: str, retry_after: int, scope: str | None = None) -> HTTPException:
    detail = {"field": field, "msg": f"too many failed attempts; try again in {retry_after} s"}
    if scope:
        detail["scope"] = scope  # what is locked: booking, ticket, sender, address, user
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail,
        headers={"Retry-After": str(retry_after)},
    )
