"""One JSON error shape for every failure, with the HTTP status picked from the error's type."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from bookwright.errors import (
    BookLocked,
    BookNotFound,
    BookwrightError,
    ChapterNotFound,
    ConfigError,
    Conflict,
    InvalidArtifact,
    Next,
    UsageError,
)
from bookwright.llm.errors import redact

log = logging.getLogger("bookwright.web")


class Unauthorized(UsageError):
    """Missing or wrong API token."""


class ErrorDetail(BaseModel):
    status: int
    type: str
    message: str
    remedy: str = ""
    details: list[dict[str, Any]] = []


class ErrorBody(BaseModel):
    """Every failure, from a bad field to an internal error, has this shape."""

    error: ErrorDetail


STATUS_BY_TYPE: list[tuple[type[BookwrightError], int]] = [
    (Unauthorized, 401),
    (BookNotFound, 404),
    (ChapterNotFound, 404),
    (BookLocked, 409),
    (Conflict, 409),
    (InvalidArtifact, 422),
    (ConfigError, 400),
    (UsageError, 400),
]
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in [
        (400, "Bad input"),
        (401, "Missing or wrong token"),
        (404, "Unknown book or chapter"),
        (409, "The book's state does not allow it"),
        (422, "Invalid request or artifact"),
    ]
}


def call(step: Next) -> str:
    """The API's words for a next step (errors.command is the CLI's)."""
    book = f"/api/books/{step.book_id}"
    if step.verb == "show":
        return f"GET {book}/artifacts/{step.what}"
    if step.verb == "status":
        return f"GET {book}"
    return f"POST {book}/{step.verb}"


def remedy_of(error: BookwrightError) -> str:
    """The remedy in the API's words: a conflict's next steps as calls."""
    if isinstance(error, Conflict) and error.next:
        return ", then ".join(call(n) for n in error.next)
    return error.remedy


def status_of(error: BookwrightError) -> int:
    for kind, status in STATUS_BY_TYPE:
        if isinstance(error, kind):
            return status
    return 500


def type_name(error: type[BaseException]) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", error.__name__).lower()


def error_response(
    status: int,
    kind: str,
    message: str,
    remedy: str = "",
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    detail = ErrorDetail(
        status=status, type=kind, message=message, remedy=remedy, details=details or []
    )
    return JSONResponse(
        ErrorBody(error=detail).model_dump(mode="json"), status_code=status, headers=headers
    )


def install(app: FastAPI) -> None:
    """Register the handlers that turn every exception into `ErrorBody`."""

    @app.exception_handler(BookwrightError)
    async def bookwright_error(_: Request, error: BookwrightError) -> JSONResponse:
        status = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(
            status, type_name(type(error)), error.message, remedy_of(error), headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        where = ".".join(p for p in first["loc"] if p not in ("body", "query", "path"))
        return error_response(
            422,
            "invalid_request",
            f"Invalid {where or 'request'}: {first['msg']}",
            "Fix the field and send the request again",
            details,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(
            error.status_code, kind, str(error.detail), headers=getattr(error, "headers", None)
        )

    @app.exception_handler(Exception)
    async def internal_error(_: Request, error: Exception) -> JSONResponse:
        log.exception("internal error")
        first = redact(str(error).splitlines()[0] if str(error) else "")
        return error_response(
            500,
            "internal",
            f"Internal error {type(error).__name__}: {first}",
            "This is a bug; nothing of the book is lost. See the server log",
        )
