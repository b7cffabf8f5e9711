from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.api.deps import SessionDep

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


@router.get(
    "/healthz",
    summary="Liveness and database check",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database does not answer"}},
)
def healthz(session: SessionDep):
    try:
        session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return JSONResponse({"status": "unavailable"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)
    return Health(status="ok")


@router.get(
    "/livez",
    summary="Liveness: the process answers (no database; a database outage must not restart it)",
    response_model=Health,
)
def livez() -> Health:
    return Health(status="ok")
