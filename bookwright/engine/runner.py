"""Run a book in this process until it completes, fails or halts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dbos import DBOS, SetWorkflowID

from bookwright.engine.asking import RESUME_TOPIC
from bookwright.engine.books import BookLock, Books, wait_until_stopped
from bookwright.engine.engine import Engine
from bookwright.engine.ids import book_workflow_id
from bookwright.engine.messages import RetryRequest, attempts_so_far, resume_message
from bookwright.engine.states import STOPPED, check_approve, check_resume, check_retry
from bookwright.errors import UsageError
from bookwright.jobs import check_retries, job_of
from bookwright.llm.errors import redact
from bookwright.model.status import StatusReport
from bookwright.settings import Settings
from bookwright.store import disk

FINISHED = {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}


def executor_id(book_id: str) -> str:
    """One executor per book, so resuming one book never recovers (and pays for) another."""
    return f"book-{book_id}"


def run_book(
    settings: Settings,
    book_id: str,
    *,
    approve: bool = False,
    resume: bool = False,
    on_tick: Callable[[StatusReport], None] | None = None,
    on_interrupt: Callable[[], None] | None = None,
    retry: RetryRequest | None = None,
    accept: list[int] | None = None,
    detach: bool = False,
    edit: tuple[str, dict[str, Any]] | None = None,
) -> StatusReport:
    """Start, resume or approve-and-continue `book_id`, and return its status once stopped.
    `accept` keeps those failed chapters as they are (`approve --chapter N`), then resumes.
    `edit` (artifact name, data checked by `Books.read_edit`) is stored with the approval,
    under the book's lock: a refused approval changes nothing.

    The caller must end the process soon after (`os._exit`): a halted workflow keeps a
    DBOS thread waiting for its approval, and it is the database, not the thread, that
    remembers where the book stands.
    """
    books = Books(settings)
    book = books.get(book_id)
    job = job_of(book.spec)  # a book whose job is not installed: refused before anything changes
    with BookLock(settings.book_dir(book_id), book_id):
        book = books.get(book_id)  # re-read under the lock
        if accept:
            if not books.accept_chapters(book_id, accept):  # a complete book: nothing to run
                return books.status(book_id)
            books.store.update_book(book_id, status="processing")
        elif approve:
            check_approve(book)
            if edit is not None:
                books.store_edit(book_id, *edit)
            books.store.update_book(book_id, status="processing")
        elif retry is not None:
            check_retry(book)
            check_retries(book.spec)
            books.store.update_book(book_id, status="processing")
        elif book.status == "completed":
            return books.status(book_id)
        else:
            check_resume(book)
            books.store.update_book(book_id, status="processing")
        clear_pause(settings, books, book_id)
        if settings.on_postgres:  # workers write it; this process queues it (and watches)
            from bookwright.engine.dispatch import hand_to_workers, workflow_error

            done = hand_to_workers(
                settings, books.store, book, approve=approve, retry=retry, accept=accept
            )
            if detach:
                return books.status(book_id)

            def resume_on_workers() -> None:
                hand_to_workers(settings, books.store, books.get(book_id), approve=False)

            return _watch(
                books,
                book_id,
                on_tick,
                on_interrupt,
                done,
                lambda: workflow_error(settings, books.get(book_id)),
                resume_on_workers,
            )
        engine = Engine(settings, executor_id=executor_id(book_id), book_id=book_id)
        disk.arm()  # a full disk stops the step that meets it; this thread exits with 3
        engine.launch()  # recovers this book's pending workflows, if any
        if retry is not None:  # a new workflow of its own; `resume` continues it
            workflow_id = f"retry-{book_id}-{retry.chapter}-{time.time_ns()}"
            books.store.update_book(book_id, active_workflow=workflow_id)
            with SetWorkflowID(workflow_id):
                retrying = job.retry
                assert retrying is not None  # check_retries refused a job without one
                handle = DBOS.start_workflow(
                    retrying,
                    book_id,
                    retry.chapter,
                    retry.level,
                    retry.cascade,
                    attempts_so_far(books.store, book_id),
                )
        else:
            workflow_id = book.active_workflow or book_workflow_id(book_id)
            existing = DBOS.get_workflow_status(workflow_id)
            if existing is None:
                with SetWorkflowID(workflow_id):
                    handle = DBOS.start_workflow(job.workflow, book_id)
            else:
                handle = DBOS.retrieve_workflow(workflow_id)
        if (
            book.waiting_for
            and book.wait_token
            and book.waiting_workflow
            and (approve or book.waiting_for == RESUME_TOPIC)
        ):
            # Only a waiting workflow gets a message, with the token of its wait; after
            # Ctrl+C or a kill it simply continues where recovery puts it.
            DBOS.send(
                book.waiting_workflow,
                resume_message(book.wait_token, accept),
                topic=book.waiting_for,
                idempotency_key=book.wait_token,
            )

        def finished() -> bool:
            if (full := disk.stopped(book_id)) is not None:
                raise full
            status = handle.get_status()
            return status is not None and status.status in FINISHED

        def error() -> object:
            status = handle.get_status()
            return getattr(status, "error", None) if status else None

        def resume_here() -> None:
            waiting = books.get(book_id)
            assert waiting.waiting_workflow and waiting.waiting_for and waiting.wait_token
            DBOS.send(
                waiting.waiting_workflow,
                resume_message(waiting.wait_token),
                topic=waiting.waiting_for,
                idempotency_key=waiting.wait_token,
            )

        return _watch(books, book_id, on_tick, on_interrupt, finished, error, resume_here)


def _watch(
    books: Books,
    book_id: str,
    on_tick: Callable[[StatusReport], None] | None,
    on_interrupt: Callable[[], None] | None,
    finished: Callable[[], bool],
    error: Callable[[], object],
    resume: Callable[[], None],
) -> StatusReport:
    """Follow the book until it stops; Ctrl+C asks it to pause at the next step boundary.
    A book halted by a provider outage is resumed here once the provider answers."""
    try:
        report = wait_until_stopped(books, book_id, on_tick, is_done=finished)
        report = _ride_out_outages(books, book_id, on_tick, finished, resume, report)
    except KeyboardInterrupt:
        # First Ctrl+C (or SIGTERM): stop at the next step boundary, keep waiting for it.
        books.store.update_book(book_id, pause_requested=True)
        if on_interrupt is not None:
            on_interrupt()
        try:
            report = wait_until_stopped(books, book_id, on_tick, is_done=finished)
        except KeyboardInterrupt:  # second Ctrl+C: stop now; the database has the rest
            books.store.update_book(book_id, status="paused")
            raise
    if report.status.value in ("processing", "harmonizing") and finished():
        books.store.update_book(
            book_id, status="failed", error=redact(f"{error()}")[:500], error_class="internal"
        )
        report = books.status(book_id)
    return report


def _ride_out_outages(
    books: Books,
    book_id: str,
    on_tick: Callable[[StatusReport], None] | None,
    finished: Callable[[], bool],
    resume: Callable[[], None],
    report: StatusReport,
) -> StatusReport:
    """While the book halts on a provider outage: probe, then resume it when it answers."""
    from bookwright.engine.outage import wait_for_provider, waits_for_provider
    from bookwright.llm import LLMClient

    settings = books.settings
    client: LLMClient | None = None
    while waits_for_provider(settings, books.get(book_id)) and not finished():
        client = client or LLMClient(settings, recorder=books.store)
        if on_tick is not None:
            on_tick(books.status(book_id))
        if not wait_for_provider(settings, books.store, client, book_id):
            return books.status(book_id)
        books.store.update_book(book_id, status="processing")  # before the watch looks
        resume()
        report = wait_until_stopped(books, book_id, on_tick, is_done=finished)
    return report


def clear_pause(settings: Settings, books: Books, book_id: str) -> None:
    books.store.update_book(book_id, pause_requested=False)
    (settings.book_dir(book_id) / "PAUSE").unlink(missing_ok=True)


def request_pause(settings: Settings, books: Books, book_id: str) -> bool:
    """Ask a running book to stop at its next step boundary; True when one is running."""
    from bookwright.engine.outage import waits_for_provider

    book = books.get(book_id)
    if waits_for_provider(settings, book):  # probing its provider: stop that
        books.store.update_book(book_id, pause_requested=True)
        if books.status(book_id).running:
            return True
        books.store.update_book(book_id, status="paused", next_probe_at=None)
        return False
    if book.status in STOPPED:
        raise UsageError(
            f"Book {book_id!r} is not running (status {book.status})",
            f"See `bookwright status {book_id}`",
        )
    books.store.update_book(book_id, pause_requested=True)
    if books.status(book_id).running:  # a writer here, or a live worker on Postgres
        return True
    books.store.update_book(book_id, status="paused")  # interrupted earlier: say so
    return False
