"""Who writes the books the server starts: a durable queue of `bookwright` subprocesses.

The server never runs a book's workflow itself: on SQLite each book has its own DBOS
system database, and one process runs one book's DBOS. Instead the server has a small
DBOS of its own (`server.sqlite` in the home) with one queue; starting, resuming or
approving a book enqueues a `supervise` workflow whose one step runs
`bookwright resume|approve|retry BOOK` as a subprocess and waits for its exit code. The
queue's concurrency is the `web.max_running_books` setting. If the server dies, DBOS
recovers the supervise workflow on the next start; the book's own lock makes a second
writer harmless, and the step waits for a writer that outlived the server.

`Launcher` is the seam a later deployment (remote workers on Postgres) replaces.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Literal, Protocol

from dbos import DBOS, DBOSConfig, Queue, SetEnqueueOptions, SetWorkflowID
from dbos._error import DBOSQueueDeduplicatedError

from bookwright.engine.books import Books, writer_alive
from bookwright.engine.dispatch import RunInfo
from bookwright.engine.engine import enable_wal
from bookwright.engine.messages import RetryRequest
from bookwright.engine.states import Waiting
from bookwright.errors import EXIT_HALTED, EXIT_OK, BookLocked
from bookwright.settings import Settings
from bookwright.store import BookRecord
from bookwright.store.private import private_folder

Action = Literal["resume", "approve", "retry", "accept"]
QUEUE = "books"
APP_NAME = "bookwright-web"
APP_VERSION = "bookwright-web-1"  # pinned, like the engine's: recovery survives code edits
EXECUTOR_ID = "web"
RUN_LOG = "server-run.log"
STOP_GRACE_S = 120.0  # a paused writer finishes the model call in flight first


class Launcher(Protocol):
    """Starts writers for books and says which books have one queued or running."""

    def launch(self) -> None: ...

    def shutdown(self) -> None: ...

    def start(
        self,
        book_id: str,
        action: Action,
        token: str | None = None,
        retry: RetryRequest | None = None,
        chapters: list[int] | None = None,
    ) -> str: ...

    def active(self, book_id: str) -> bool: ...

    def cancel_queued(self, book_id: str) -> bool: ...

    def runs(self, book_id: str | None = None, limit: int = 50) -> list[RunInfo]: ...


def next_command(book: BookRecord, action: str, token: str | None) -> str | None:
    """The CLI command that continues `book` now, or None when there is nothing to run.

    An approval carries the token of the wait it approves: replayed after a crash, when
    the book has already moved on (maybe to the next review), it approves nothing. A
    chapter retry carries the book's active workflow when it was asked for: replayed
    once the retry has begun (a new active workflow), it continues it instead of
    starting another.
    """
    review = Waiting.of(book).review
    if action == "accept":  # keep failed chapters: only while the book waits on them
        if book.status == "failed" and token is not None and book.wait_token == token:
            return "approve"
        return None if book.status == "completed" or review else "resume"
    if action == "retry":
        if (book.active_workflow or "") == (token or ""):  # not begun yet
            return "retry" if book.status == "completed" else None
        return None if book.status == "completed" or review else "resume"
    if action == "approve" and review and token is not None and book.wait_token == token:
        return "approve"
    if book.status == "completed" or review:
        return None
    return "resume"


_current: QueueLauncher | None = None


@DBOS.workflow(name="supervise", max_recovery_attempts=None)
def supervise_workflow(
    book_id: str, action: str, token: str | None, retry_args: list[str] | None = None
) -> int:
    return run_writer_step(book_id, action, token, retry_args)


@DBOS.step(name="run_writer")
def run_writer_step(
    book_id: str, action: str, token: str | None, retry_args: list[str] | None = None
) -> int:
    if _current is None:
        raise RuntimeError("the web launcher is not running")
    return _current.run_writer(book_id, action, token, retry_args)


class QueueLauncher:
    """The `Launcher` of a single server on one machine: DBOS queue + CLI subprocesses."""

    def __init__(self, settings: Settings, settings_file: Path | None = None) -> None:
        self.settings = settings
        self.settings_file = settings_file
        self.books = Books(settings)
        self.system_database_url = f"sqlite:///{settings.home / 'server.sqlite'}"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._launched = False
        self._queue: Queue | None = None

    def launch(self) -> None:
        global _current
        if _current is not None:
            raise RuntimeError("one launcher per process: DBOS is a process-wide singleton")
        private_folder(self.settings.home)
        enable_wal(self.system_database_url)
        _current = self
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": self.system_database_url,
            "application_version": APP_VERSION,
            "executor_id": EXECUTOR_ID,
            "log_level": "ERROR",
        }
        DBOS(config=config)
        DBOS.launch()
        for name in ("dbos", "dbos._logger"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self._queue = DBOS.register_queue(
            QUEUE,
            global_concurrency=self.settings.web.max_running_books,
            polling_interval_sec=0.5,
            on_conflict="always_update",  # the setting may have changed since the last start
        )
        self._launched = True

    def shutdown(self) -> None:
        """Pause the books being written (they stop at their next step boundary), then stop."""
        global _current
        self._stopping.set()
        with self._lock:
            procs = list(self._procs.values())
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # the CLI's graceful stop, as `docker stop`
        for proc in procs:
            try:
                proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._launched:
            # Give the supervise workflows a moment to record the writers' exit codes.
            DBOS.destroy(workflow_completion_timeout_sec=2 if procs else 0)
            self._launched = False
        _current = None
        self.books.store.close()

    def start(
        self,
        book_id: str,
        action: Action,
        token: str | None = None,
        retry: RetryRequest | None = None,
        chapters: list[int] | None = None,
    ) -> str:
        """Queue a writer for `book_id`; BookLocked when one is already queued or running."""
        self._refuse_busy(book_id)
        if self._queue is None:
            raise RuntimeError("the launcher is not launched")
        run_id = f"supervise:{book_id}:{action}:{uuid.uuid4().hex[:12]}"
        retry_args = retry.cli_args() if retry is not None else None
        if chapters:  # `approve BOOK --chapter N ...`
            retry_args = [arg for n in chapters for arg in ("--chapter", str(n))]
        try:
            with SetWorkflowID(run_id), SetEnqueueOptions(deduplication_id=book_id):
                self._queue.enqueue(supervise_workflow, book_id, action, token, retry_args)
        except DBOSQueueDeduplicatedError:
            raise _busy(book_id) from None
        return run_id

    def _refuse_busy(self, book_id: str) -> None:
        if self.active(book_id) or writer_alive(self.settings.book_dir(book_id)):
            raise _busy(book_id)

    def active(self, book_id: str) -> bool:
        return bool(
            DBOS.list_workflows(
                workflow_id_prefix=f"supervise:{book_id}:",
                status=["ENQUEUED", "PENDING"],
                limit=1,
                load_input=False,
                load_output=False,
            )
        )

    def cancel_queued(self, book_id: str) -> bool:
        """Take a book's run off the queue if it has not started; True when one was."""
        queued = DBOS.list_workflows(
            workflow_id_prefix=f"supervise:{book_id}:",
            status="ENQUEUED",
            load_input=False,
            load_output=False,
        )
        for run in queued:
            DBOS.cancel_workflow(run.workflow_id)
        return bool(queued)

    def runs(self, book_id: str | None = None, limit: int = 50) -> list[RunInfo]:
        prefix = f"supervise:{book_id}:" if book_id else "supervise:"
        found = DBOS.list_workflows(
            workflow_id_prefix=prefix, sort_desc=True, limit=limit, load_input=False
        )
        out = []
        for run in found:
            _, book, action, _ = run.workflow_id.split(":", 3)
            code = run.output if isinstance(run.output, int) else None
            out.append(RunInfo(run.workflow_id, book, action, run.status, code, run.created_at))
        return out

    def run_writer(
        self, book_id: str, action: str, token: str | None, retry_args: list[str] | None = None
    ) -> int:
        """The supervise step: run the CLI for this book and return its exit code."""
        folder = self.settings.book_dir(book_id)
        # A writer that outlived a crashed server still holds the book: let it finish.
        while writer_alive(folder):
            if self._stopping.wait(1.0):
                return EXIT_HALTED
        book = self.books.get(book_id)
        command = next_command(book, action, token)
        if command is None or self._stopping.is_set():
            return EXIT_OK if book.status == "completed" else EXIT_HALTED
        args = [sys.executable, "-m", "bookwright", command, book_id]
        if command == "retry" or (action == "accept" and command == "approve"):
            args += retry_args or []
        if self.settings_file is not None:
            args += ["--settings", str(self.settings_file)]
        env = {**os.environ, "BOOKWRIGHT_HOME": str(self.settings.home)}
        private_folder(folder)
        with (folder / RUN_LOG).open("ab") as log:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl+C on the server is not the writer's Ctrl+C
            )
        with self._lock:
            self._procs[book_id] = proc
        try:
            return proc.wait()
        finally:
            with self._lock:
                self._procs.pop(book_id, None)


def _busy(book_id: str) -> BookLocked:
    return BookLocked(
        f"Book {book_id!r} is already queued or being written",
        f"Watch it with GET /api/books/{book_id}/events, or pause it first",
    )
