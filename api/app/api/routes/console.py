"""The agent console page (static HTML; it logs in with POST /auth/login and calls /handoffs)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

STATIC = Path(__file__).resolve().parents[2] / "static"
router = APIRouter(tags=["console"])


@router.get("/console", include_in_schema=False)
def console():
    page = STATIC / "console.html"
    if not page.is_file():
        return JSONResponse({"detail": "console page not installed"}, status_code=404)
    # no-store: an agent always gets the current console after a deploy.
    return FileResponse(page, headers={"Cache-Control": "no-store"})
