"""Error helpers that keep FastAPI's validation shape: {"detail": [{"loc", "msg", "type"}]}."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request, Response, status
from fastapi.routing import APIRoute

from app.crud.handoffs import HandoffConflict
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


def handoff_conflict(error: HandoffConflict) -> HTTPException:
    return HTTPException(status.HTTP_409_CONFLICT, error.message)


class DomainErrorRoute(APIRoute):
    """The one handler of the errors crud raises when a record's state forbids the request
    (WorkflowError, HandoffConflict): a router whose routes reach them names this class,
    `APIRouter(route_class=DomainErrorRoute)`, and its routes let the error rise instead of
    each catching it. Scoped to those routers, not the whole app: such an error anywhere else
    is a bug and stays a 500."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            # Raised before the route commits: the request's session rolled back on the way out.
            try:
                return await handler(request)
            except WorkflowError as error:
                raise workflow_error(error) from None
            except HandoffConflict as error:
                raise handoff_conflict(error) from None

        return handle


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
