"""Canned replies for the agents' console (GET /canned-replies, staff only).

Supervisors and trainers edit `api/canned_replies.yml`; it is read again when it changes, so a
new reply reaches the console without a restart. A broken file answers 503 naming the entry
and the field, rather than serving half a list.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated

import yaml
from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from app.api.deps import Staff
from app.core.config import API_ROOT

router = APIRouter(tags=["console"])
log = logging.getLogger(__name__)

CANNED_FILE = API_ROOT / "canned_replies.yml"


class CannedReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[\w-]{1,24}$")]
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class CannedReplies(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replies: list[CannedReply] = Field(max_length=500)

    @field_validator("replies")
    @classmethod
    def _unique_keys(cls, replies: list[CannedReply]) -> list[CannedReply]:
        seen: set[str] = set()
        for reply in replies:
            if reply.key.lower() in seen:
                raise ValueError(f"key {reply.key!r} is used twice")
            seen.add(reply.key.lower())
        return replies


class CannedFileError(Exception):
    pass


def read_canned_file(path: Path) -> CannedReplies:
    """The file's replies, checked; CannedFileError says what is wrong and where."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CannedFileError(f"{path.name}: file not found") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise CannedFileError(f"{path.name}: not readable YAML ({error.__class__.__name__})") from None
    try:
        return CannedReplies.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise CannedFileError(f"{path.name}: {where}: {first['msg']}") from None


_cache: dict[Path, tuple[float, int, CannedReplies]] = {}
_lock = threading.Lock()


def load_canned(path: Path) -> CannedReplies:
    """Cached by modification time and size: editors' changes show at the next request."""
    stat = path.stat() if path.exists() else None
    with _lock:
        cached = _cache.get(path)
        if stat is not None and cached and cached[:2] == (stat.st_mtime, stat.st_size):
            return cached[2]
    replies = read_canned_file(path)
    if stat is not None:
        with _lock:
            _cache[path] = (stat.st_mtime, stat.st_size, replies)
    return replies


def get_canned_path() -> Path:
    """The file the replies come from (tests point it elsewhere)."""
    return CANNED_FILE


@router.get(
    "/canned-replies",
    summary="Canned replies agents insert in the reply box (from api/canned_replies.yml)",
    response_model=CannedReplies,
    responses={503: {"description": "the file is missing or invalid; the detail names the entry and field"}},
)
def canned_replies(caller: Staff, path: Annotated[Path, Depends(get_canned_path)]) -> CannedReplies:
    try:
        return load_canned(path)
    except CannedFileError as error:
        log.error("canned replies unavailable: %s", error)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, {"field": "canned_replies", "msg": str(error)}
        ) from None
