"""On Postgres, `bookwright worker` processes write the books; every other process (the
CLI, the web server) hands them work through the shared queues and watches.

Nothing here launches DBOS: `DBOSClient` talks to the system database only. A process
that launched DBOS would take work from the shared queues (DBOS always serves its
internal queue, where recovery puts the child workflows of a dead worker), so on
Postgres only workers launch it, each with its own executor id.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dbos import DBOSClient, EnqueueOptions

from bookwright.engine.asking import RESUME_TOPIC
from bookwright.engine.ids import WORKFLOW_VERSION, book_workflow_id
from bookwright.engine.leases import live_executors, live_worker_count
from bookwright.engine.messages import RetryRequest, attempts_so_far, resume_message
from bookwright.engine.states import STOPPED, Waiting, stopped
from bookwright.errors import BookLocked, BookNotFound
from bookwright.jobs import JOBS, check_retries, job_of
from bookwright.settings import Settings
from bookwright.store import BookRecord, Store

BOOKS_QUEUE = "books"
APP_NAME = "bookwright"  # the Engine's DBOS name: queues and workflows are owned by it
FINISHED = {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}


class Dispatcher:
    """A DBOS client on the shared system database."""

    def __init__(self, settings: Settings) -> None:
        assert settings.database_url is not None
        self.client = DBOSClient(
            system_database_url=settings.database_url,
            application_name=APP_NAME,
            system_database_pool_size=2,
        )

    def close(self) -> None:
        self.client.destroy()

    def enqueue(self, workflow_id: str, workflow_name: str, *args: Any) -> None:
        """Queue a workflow for the workers; one that already exists is left as it is."""
        options: EnqueueOptions = {
            "workflow_name": workflow_name,
            "queue_name": BOOKS_QUEUE,
            "workflow_id": workflow_id,
            "app_version": WORKFLOW_VERSION,
        }
        self.client.enqueue(options, *args)

    def state(self, workflow_id: str) -> tuple[str, str | None, str | None] | None:
        """(status, executor id, error) of a workflow, or None when there is none."""
        found = self.client.list_workflows(
            workflow_ids=[workflow_id], load_input=False, load_output=False
        )
        if not found:
            return None
        wf = found[0]
        return wf.status, wf.executor_id, (str(wf.error) if wf.error else None)

    def writers(self, workflow_ids: list[str]) -> dict[str, str]:
        """Workflow id -> executor id, for those of `workflow_ids` that a worker has taken."""
        if not workflow_ids:
            return {}
        found = self.client.list_workflows(
            workflow_ids=workflow_ids, status="PENDING", load_input=False, load_output=False
        )
        return {wf.workflow_id: wf.executor_id for wf in found if wf.executor_id}

    def send(self, book: BookRecord, accept: list[int] | None = None) -> None:
        """End the wait the book's workflow is in, with the token of that wait (and the
        failed chapters to keep as they are)."""
        assert book.waiting_workflow and book.waiting_for and book.wait_token
        self.client.send(
            book.waiting_workflow,
            resume_message(book.wait_token, accept),
            topic=book.waiting_for,
            idempotency_key=book.wait_token,
        )


def running_books(dispatcher: Dispatcher, store: Store, books: list[BookRecord]) -> set[str]:
    """The books a live worker is writing now, seen from any machine."""
    ids = {b.active_workflow or book_workflow_id(b.id): b.id for b in books if not stopped(b)}
    writers = dispatcher.writers(list(ids))
    alive = live_executors(store.engine, sorted(set(writers.values())))
    return {ids[wf] for wf, executor in writers.items() if executor in alive}


def workers_alive(store: Store) -> int:
    return live_worker_count(store.engine)


def worker_warning(settings: Settings, store: Store, book_id: str) -> str | None:
    """Why nobody may be writing the book: no worker at all, or its worker is dead."""
    if live_worker_count(store.engine) == 0:
        return "No worker is running: start one with `bookwright worker`"
    book = store.get_book(book_id)
    if book is None:
        return None
    dispatcher = Dispatcher(settings)
    try:
        state = dispatcher.state(book.active_workflow or book_workflow_id(book_id))
    finally:
        dispatcher.close()
    if state is None or state[0] != "PENDING" or not state[1]:
        return None
    if live_executors(store.engine, [state[1]]):
        return None
    return (
        f"Book {book_id} is held by worker {state[1]}, which is not running: restart it "
        f"with `bookwright worker --executor-id {state[1]}` and it continues the book"
    )


def hand_to_workers(
    settings: Settings,
    store: Store,
    book: BookRecord,
    *,
    approve: bool,
    retry: RetryRequest | None = None,
    dispatcher: Dispatcher | None = None,
    accept: list[int] | None = None,
) -> Callable[[], bool]:
    """Queue the book's workflow (or message the waiting one) and return `finished()`.
    Without `dispatcher`, a client of its own that lives as long as `finished`."""
    job_of(book.spec)  # a book whose job is not installed here: refused, nothing queued
    dispatcher = dispatcher or Dispatcher(settings)
    if retry is not None:  # a new workflow of its own; `resume` continues it
        workflow_id = f"retry-{book.id}-{retry.chapter}-{time.time_ns()}"
        store.update_book(book.id, active_workflow=workflow_id)
        dispatcher.enqueue(
            workflow_id,
            str(check_retries(book.spec).retry_name),
            book.id,
            retry.chapter,
            retry.level,
            retry.cascade,
            attempts_so_far(store, book.id),
        )
    else:
        workflow_id = book.active_workflow or book_workflow_id(book.id)
        state = dispatcher.state(workflow_id)
        if state is None:
            dispatcher.enqueue(workflow_id, job_of(book.spec).workflow_name, book.id)
        elif state[0] == "CANCELLED":  # taken off the queue earlier: back on it
            dispatcher.client.resume_workflow(workflow_id, queue_name=BOOKS_QUEUE)
    if (
        book.waiting_for
        and book.wait_token
        and book.waiting_workflow
        and (approve or book.waiting_for == RESUME_TOPIC)
    ):
        dispatcher.send(book, accept)

    def finished() -> bool:
        state = dispatcher.state(workflow_id)
        return state is not None and state[0] in FINISHED

    return finished


def workflow_error(settings: Settings, book: BookRecord) -> str | None:
    dispatcher = Dispatcher(settings)
    try:
        state = dispatcher.state(book.active_workflow or book_workflow_id(book.id))
    finally:
        dispatcher.close()
    return state[2] if state else None


@dataclass
class RunInfo:
    """One writer run, as the dashboard lists it: a book workflow on the workers' queue,
    or a supervised writer process of `bookwright serve` on one machine."""

    run_id: str
    book_id: str
    action: str
    status: str  # ENQUEUED, PENDING (a worker has it), SUCCESS, ERROR, CANCELLED
    exit_code: int | None
    created_at: int | None


class WorkerLauncher:
    """The web app's `Launcher` on Postgres: books go to the workers' queue; the server
    runs no writer itself and needs no DBOS of its own."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.store_url)
        self._dispatcher: Dispatcher | None = None

    @property
    def dispatcher(self) -> Dispatcher:
        if self._dispatcher is None:
            raise RuntimeError("the launcher is not launched")
        return self._dispatcher

    def launch(self) -> None:
        self._dispatcher = Dispatcher(self.settings)

    def shutdown(self) -> None:
        """The books keep being written by the workers."""
        if self._dispatcher is not None:
            self._dispatcher.close()
            self._dispatcher = None
        self.store.close()

    def start(
        self,
        book_id: str,
        action: str,
        token: str | None = None,
        retry: RetryRequest | None = None,
        chapters: list[int] | None = None,
    ) -> str:
        """Queue the book (or end the wait it is in, or queue a chapter retry); return its
        workflow id. `chapters` (action `accept`): failed chapters to keep as they are."""
        book = self.store.get_book(book_id)
        if book is None:
            raise BookNotFound(f"No book {book_id!r}", "List books with GET /api/books")
        if self.active(book_id):
            raise BookLocked(
                f"Book {book_id!r} is already queued or being written",
                f"Watch it with GET /api/books/{book_id}/events, or pause it first",
            )
        if action in ("approve", "accept") and token is not None and book.wait_token != token:
            return book.active_workflow or book_workflow_id(book_id)  # approved already
        self.store.update_book(book_id, pause_requested=False)
        if retry is not None:
            if book.status != "completed":  # only a finished book's chapters are retried
                return book.active_workflow or book_workflow_id(book_id)
            self.store.update_book(book_id, status="processing")
            hand_to_workers(
                self.settings,
                self.store,
                book,
                approve=False,
                retry=retry,
                dispatcher=self.dispatcher,
            )
            return self.store.get_book(book_id).active_workflow or ""  # type: ignore[union-attr]
        if book.status != "completed" and not Waiting.of(book).review:
            self.store.update_book(book_id, status="processing")
        hand_to_workers(
            self.settings,
            self.store,
            book,
            approve=action == "approve",
            dispatcher=self.dispatcher,
            accept=chapters if action == "accept" else None,
        )
        return book.active_workflow or book_workflow_id(book_id)

    def active(self, book_id: str) -> bool:
        """Queued, or taken by a worker and not stopped (a book waiting for review or a
        resume is not active: it waits for `start`)."""
        book = self.store.get_book(book_id)
        if book is None or book.status in STOPPED:
            return False
        state = self.dispatcher.state(book.active_workflow or book_workflow_id(book_id))
        return state is not None and state[0] in ("ENQUEUED", "PENDING")

    def cancel_queued(self, book_id: str) -> bool:
        """Take a book off the queue if no worker has taken it yet."""
        workflow_id = book_workflow_id(book_id)
        state = self.dispatcher.state(workflow_id)
        if state is None or state[0] != "ENQUEUED":
            return False
        self.dispatcher.client.cancel_workflow(workflow_id)
        return True

    def runs(self, book_id: str | None = None, limit: int = 50) -> list[RunInfo]:
        lookups: list[dict[str, Any]] = [{}]
        if book_id:  # the book's workflow, and its chapter retries (`retry-BOOK-N-...`)
            lookups = [
                {"workflow_ids": [book_workflow_id(book_id)]},
                {"workflow_id_prefix": f"retry-{book_id}-"},
            ]
        found = [
            wf
            for lookup in lookups
            for wf in self.dispatcher.client.list_workflows(
                name=[*(job.workflow_name for job in JOBS.values()), "retry"],
                sort_desc=True,
                limit=limit,
                load_input=True,
                load_output=False,
                **lookup,
            )
            if book_id is None or (wf.input and wf.input.get("args", [None])[0] == book_id)
        ]
        found.sort(key=lambda wf: wf.created_at or 0, reverse=True)
        return [
            RunInfo(
                wf.workflow_id,
                str(wf.input["args"][0]) if wf.input and wf.input.get("args") else "?",
                wf.name,
                wf.status,
                None,
                wf.created_at,
            )
            for wf in found[:limit]
        ]
