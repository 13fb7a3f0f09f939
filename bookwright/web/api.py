"""The REST API: the same library calls as the CLI, JSON in and out."""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.sse import EventSourceResponse, format_sse_event

from bookwright.engine.books import Books, writer_alive
from bookwright.engine.states import check_approve, check_resume, check_retry
from bookwright.errors import BookLocked, BookwrightError, ChapterNotFound, Conflict, UsageError
from bookwright.model import BookSpec
from bookwright.model.status import StatusReport
from bookwright.settings import Settings
from bookwright.store.private import private_folder
from bookwright.web.errors import ERROR_RESPONSES
from bookwright.web.launcher import Launcher
from bookwright.web.schemas import (
    Approval,
    ChapterRetry,
    FailedCall,
    NewBook,
    Paused,
    Run,
    Started,
)

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)  # type: ignore[arg-type]
POLL_S = 0.5
KEEPALIVE_S = 15.0
SSE_EVENT = {  # one event, as OpenAPI 3.2 describes server-sent events
    "type": "object",
    "properties": {
        "event": {"type": "string", "enum": ["status", "end"]},
        "data": {"type": "string", "description": "JSON: the status object; for `end`, {status}"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}
ERROR_FIELDS = tuple(FailedCall.model_fields)


class ExportFormat(StrEnum):
    md = "md"
    epub = "epub"
    docx = "docx"
    yw7 = "yw7"
    json = "json"


MEDIA_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "epub": "application/epub+zip",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "yw7": "application/xml",
    "json": "application/zip",
}


def books_of(request: Request) -> Books:
    return request.app.state.books  # type: ignore[no-any-return]


def launcher_of(request: Request) -> Launcher:
    return request.app.state.launcher  # type: ignore[no-any-return]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def started(book_id: str, action: str, run_id: str | None, summary: str | None = None) -> Started:
    return Started(
        book_id=book_id,
        action=action,
        run_id=run_id,
        status_url=f"/api/books/{book_id}",
        events_url=f"/api/books/{book_id}/events",
        summary=summary,
    )


@router.post("/books", status_code=202, response_model=Started, tags=["books"])
def create_book(request: Request, new: NewBook) -> Started:
    """Start a book (the fields of `bookwright write`); it is queued and written in the
    background. Bad input is refused before anything is recorded."""
    books = books_of(request)
    values = new.model_dump(exclude={"book_id"}, exclude_none=True)
    values.setdefault("model", books.settings.default_model)
    spec = BookSpec.model_validate(values)
    book_id = books.create(spec, new.book_id)
    run_id = launcher_of(request).start(book_id, "resume")
    return started(book_id, "write", run_id)


@router.get("/books", response_model=list[StatusReport], tags=["books"])
def list_books(request: Request) -> list[StatusReport]:
    """Every book in the workspace, as `bookwright list --json`."""
    return books_of(request).all()


@router.get("/books/{book_id}", response_model=StatusReport, tags=["books"])
def book_status(request: Request, book_id: str) -> StatusReport:
    """The status contract: the same object as `bookwright status BOOK --json`."""
    return books_of(request).status(book_id)


@router.get(
    "/books/{book_id}/events",
    tags=["books"],
    responses={
        200: {
            "description": "`status` events (the status contract), then one `end` event.",
            "content": {"text/event-stream": {"schema": SSE_EVENT}},
        }
    },
)
async def book_events(request: Request, book_id: str) -> EventSourceResponse:
    """Server-sent events: a `status` event with the status object at once and on every
    change, and an `end` event when nothing is queued or writing the book any more."""
    books, launcher = books_of(request), launcher_of(request)
    await anyio.to_thread.run_sync(books.get, book_id)  # unknown book: 404 before streaming
    return EventSourceResponse(
        _status_stream(request, books, launcher, book_id),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _status_stream(
    request: Request, books: Books, launcher: Launcher, book_id: str
) -> AsyncIterator[bytes]:
    last, sent, quiet = None, 0, 0.0
    while not await request.is_disconnected():
        report = await anyio.to_thread.run_sync(books.status, book_id)
        busy = await anyio.to_thread.run_sync(launcher.active, book_id)
        key = report.model_dump_json(exclude={"estimated_completion"})
        if key != last:
            last, sent, quiet = key, sent + 1, 0.0
            yield format_sse_event(
                event="status", data_str=report.model_dump_json(), id=str(sent), retry=3000
            )
        elif quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield format_sse_event(comment="ping")
        if not busy and not report.running:
            yield format_sse_event(event="end", data_str=json.dumps({"status": report.status}))
            return
        await anyio.sleep(POLL_S)
        quiet += POLL_S


@router.post("/books/{book_id}/pause", response_model=Paused, tags=["control"])
def pause_book(request: Request, book_id: str) -> Paused:
    """Stop the book at its next step boundary (a queued one is taken off the queue)."""
    from bookwright.engine.runner import request_pause

    books = books_of(request)
    books.get(book_id)
    dequeued = launcher_of(request).cancel_queued(book_id)
    try:
        running = request_pause(settings_of(request), books, book_id)
    except UsageError as error:
        if not dequeued:
            raise Conflict(error.message, remedy=error.remedy) from None
        running = False
    message = (
        "Stops after its current model call" if running else "Not running; marked paused"
    ) + f"; continue with POST /api/books/{book_id}/resume"
    return Paused(book_id=book_id, running=running, dequeued=dequeued, message=message)


@router.post("/books/{book_id}/resume", status_code=202, response_model=Started, tags=["control"])
def resume_book(request: Request, book_id: str) -> Started:
    """Continue a paused, interrupted, stopped or failed book where it stopped."""
    books = books_of(request)
    book = books.get(book_id)
    if book.status == "completed":
        raise Conflict(f"Book {book_id!r} is already complete", remedy="Export it")
    check_resume(book)
    run_id = launcher_of(request).start(book_id, "resume")
    return started(book_id, "resume", run_id)


@router.post("/books/{book_id}/approve", status_code=202, response_model=Started, tags=["control"])
def approve_book(
    request: Request, book_id: str, approval: Annotated[Approval | None, Body()] = None
) -> Started:
    """Approve the artifact the book is halted at, optionally replaced by an edited one
    (checked like `bookwright approve --edit`; an invalid edit changes nothing), and go on.
    With `chapters`, keep those failed chapters as they are instead, and go on."""
    books, launcher = books_of(request), launcher_of(request)
    book = books.get(book_id)
    if approval is not None and approval.chapters:
        if approval.artifact is not None:
            raise UsageError(
                "`chapters` and `artifact` do not go together",
                "Approve a review with `artifact`, or keep failed chapters with `chapters`",
            )
        return _keep_chapters(books, launcher, book_id, sorted(set(approval.chapters)))
    check_approve(book, token=True)
    refuse_busy(books, launcher, book_id)
    if approval is not None and approval.artifact is not None:
        _save_edit(books, book_id, approval.artifact)
    run_id = launcher.start(book_id, "approve", book.wait_token)
    return started(book_id, "approve", run_id)


def refuse_busy(books: Books, launcher: Launcher, book_id: str) -> None:
    if launcher.active(book_id) or writer_alive(books.settings.book_dir(book_id)):
        raise BookLocked(f"Book {book_id!r} is already queued or being written", "Wait for it")


def _keep_chapters(books: Books, launcher: Launcher, book_id: str, chapters: list[int]) -> Started:
    refuse_busy(books, launcher, book_id)
    try:
        waiting = books.check_accept(book_id, chapters)
        if not waiting:  # a complete book (a failed chapter retry): marked, nothing to run
            books.accept_chapters(book_id, chapters)
            return started(book_id, "accept", None)
    except ChapterNotFound:
        raise  # 404
    except UsageError as error:  # not stopped on these chapters' failure: 409
        raise Conflict(error.message, remedy=error.remedy) from None
    token = books.get(book_id).wait_token
    run_id = launcher.start(book_id, "accept", token, chapters=chapters)
    return started(book_id, "accept", run_id)


@router.post(
    "/books/{book_id}/chapters/{number}/retry",
    status_code=202,
    response_model=Started,
    tags=["control"],
)
def retry_chapter(
    request: Request,
    book_id: str,
    number: Annotated[int, PathParam(ge=1, le=10_000)],
    retry: Annotated[ChapterRetry | None, Body()] = None,
) -> Started:
    """Write one chapter of a completed book again, as a new version of it (and of the
    manuscript); every other chapter is kept, unless `cascade` also rewrites the chapters
    that depend on it. The same as `bookwright retry BOOK --chapter N --level L`."""
    from bookwright.engine.messages import RetryRequest

    books, launcher = books_of(request), launcher_of(request)
    asked = retry or ChapterRetry()
    book = books.get(book_id)
    refuse_busy(books, launcher, book_id)
    check_retry(book)
    books.check_retry(book_id, number, asked.level)
    run_id = launcher.start(
        book_id,
        "retry",
        book.active_workflow or "",
        retry=RetryRequest(number, asked.level, asked.cascade),
    )
    return started(book_id, "retry", run_id)


@router.get("/books/{book_id}/stats", response_model=dict[str, Any], tags=["books"])
def stats(request: Request, book_id: str) -> dict[str, Any]:
    """The quality loop, as `bookwright stats BOOK --json`: retries by level and their
    tokens, the judge's pass rate, each chapter's attempts and its last verdict's issues."""
    return books_of(request).stats(book_id)


def _save_edit(books: Books, book_id: str, artifact: dict[str, Any]) -> str:
    folder = books.settings.book_dir(book_id)
    private_folder(folder)
    with tempfile.NamedTemporaryFile(
        "w", suffix=".json", dir=folder, delete=False, encoding="utf-8"
    ) as handle:
        json.dump(artifact, handle, ensure_ascii=False)
    path = Path(handle.name)
    try:
        return books.save_edit(book_id, path)
    except BookwrightError as error:  # name the edit, not the temporary file it went through
        error.message = error.message.replace(str(path), "The edited artifact")
        raise
    finally:
        path.unlink(missing_ok=True)


@router.get("/books/{book_id}/artifacts", response_model=list[str], tags=["books"])
def artifact_names(request: Request, book_id: str) -> list[str]:
    """The names of the book's artifacts so far, in the order they were made."""
    books = books_of(request)
    books.get(book_id)
    return books.store.artifact_names(book_id)


@router.get("/books/{book_id}/artifacts/{name}", response_model=dict[str, Any], tags=["books"])
def artifact(
    request: Request,
    book_id: str,
    name: str,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> dict[str, Any]:
    """An artifact, as `bookwright show BOOK NAME --json`: plan, characters, locations,
    outline, scenes, scenes:N, draft:N:S, scene:N:S, chapter:N or manuscript."""
    return books_of(request).artifact(book_id, name, version)


@router.get("/books/{book_id}/errors", response_model=list[FailedCall], tags=["books"])
def failed_calls(request: Request, book_id: str) -> list[FailedCall]:
    """Every failed model call, as `bookwright errors BOOK --json`."""
    books = books_of(request)
    books.get(book_id)
    return [FailedCall(**{k: r[k] for k in ERROR_FIELDS}) for r in books.store.errors(book_id)]


@router.get("/runs", response_model=list[Run], tags=["control"])
def runs(request: Request, book_id: str | None = None) -> list[Run]:
    """The server's writer runs, newest first: queued, writing and finished."""
    return [Run(**vars(r)) for r in launcher_of(request).runs(book_id)]


@router.get(
    "/books/{book_id}/export/{fmt}",
    tags=["books"],
    response_class=Response,
    responses={200: {"description": "The file; `json` is a zip of one document per chapter."}},
)
def export(
    request: Request,
    book_id: str,
    fmt: ExportFormat,
    version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> Response:
    """Download the book (an unfinished one as a marked draft, `X-Bookwright-Draft: true`)."""
    from bookwright.export.document import export_book

    books = books_of(request)
    books.get(book_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        target = folder / "json" if fmt is ExportFormat.json else folder / f"{book_id}.{fmt}"
        result = export_book(books, book_id, fmt.value, target, version)
        if not result.paths:
            raise Conflict(
                f"Book {book_id!r} has nothing to export yet", remedy="Wait for a chapter"
            )
        if fmt is ExportFormat.json:
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in result.paths:
                    archive.write(path, path.name)
            content, name = buffer.getvalue(), f"{book_id}-json.zip"
        else:
            content, name = result.paths[0].read_bytes(), f"{book_id}.{fmt.value}"
    return Response(
        content,
        media_type=MEDIA_TYPES[fmt.value],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Bookwright-Draft": "true" if result.draft else "false",
        },
    )
