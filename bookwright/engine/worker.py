"""`bookwright worker`: a long-lived process that writes the books queued on Postgres.

Each worker has its own executor id, stable across restarts. On launch DBOS recovers
the workflows left PENDING under that id (the books the worker was writing when it
died) and puts them back on their queues; any live worker may then take them. A
worker listens to every queue of the bookwright application: `books` and the
per-book chapter queues. Limits live in the database, so they hold across machines:
`books` allows `workers.concurrency` books per worker and `workers.max_books` in all;
`[rate_limits]` caps the requests sent to each provider (store/rate_limits.py).
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import FrameType

from dbos import DBOS, WorkflowStatus

from bookwright.engine.dispatch import BOOKS_QUEUE
from bookwright.engine.engine import Engine
from bookwright.engine.leases import ExecutorLease
from bookwright.errors import ConfigError
from bookwright.safety.retention import DailyCleanup
from bookwright.settings import Settings

POLL_S = 2.0


def default_executor_id(settings: Settings) -> str:
    """Stable across restarts on one machine, so a restarted worker recovers its books."""
    return settings.workers.executor_id or f"worker-{socket.gethostname()}"


def register_books_queue(concurrency: int, max_books: int | None) -> None:
    """The queue's limits are rows in the system database, read by every worker."""
    DBOS.register_queue(
        BOOKS_QUEUE,
        # DBOS refuses a per-worker limit above the global one.
        worker_concurrency=min(concurrency, max_books) if max_books else concurrency,
        global_concurrency=max_books,
        on_conflict="always_update",
    )


def run_worker(
    settings: Settings,
    executor_id: str,
    concurrency: int,
    on_event: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> None:
    """Write queued books until SIGTERM or SIGINT (or `stop` is set)."""
    if not settings.on_postgres:
        raise ConfigError(
            "Workers need a shared PostgreSQL database",
            "Set BOOKWRIGHT_DATABASE_URL=postgresql://USER@HOST/DB (or database_url in "
            "bookwright.toml) and run `bookwright db migrate` once",
        )
    stop = stop or threading.Event()
    lease = ExecutorLease(settings.database_url or "", executor_id)
    lease.acquire()  # refuses a second worker with this id
    engine = Engine(settings, executor_id=executor_id)
    try:
        engine.launch()  # re-enqueues this executor's pending workflows
        register_books_queue(concurrency, settings.workers.max_books)

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            stop.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        on_event(
            f"worker {executor_id}: writing up to {concurrency} books at once from queue "
            f"{BOOKS_QUEUE!r}"
        )
        log = _TakenLog(executor_id)
        cleanup = DailyCleanup(settings, on_event=on_event)
        cleanup.start()
        while not stop.wait(POLL_S):
            lease.keep()
            for line in log.poll():
                on_event(line)
        cleanup.stop()
        on_event(
            f"worker {executor_id}: stopping; {len(log.in_hand)} book(s) in hand continue "
            "when a worker with this executor id starts again"
        )
    finally:
        engine.shutdown()
        lease.release()


class _TakenLog:
    """What the worker says about the books it takes and finishes. It asks DBOS for the
    runs dequeued by this executor since the last poll, so a book that starts and ends
    between two polls is still reported, and for the ones it holds (a book waiting for
    review, or one recovered at launch, is held though not dequeued lately)."""

    def __init__(self, executor_id: str) -> None:
        self.executor_id = executor_id
        self.since = datetime.now(UTC) - timedelta(seconds=1)
        self.in_hand: dict[str, str] = {}  # workflow id -> book id
        self.done: set[str] = set()

    def poll(self) -> list[str]:
        polled_at = datetime.now(UTC) - timedelta(seconds=1)  # clock steps between rows
        found = {wf.workflow_id: wf for wf in self._runs(dequeued_after=self.since.isoformat())}
        found.update((wf.workflow_id, wf) for wf in self._runs(status="PENDING"))
        if self.in_hand:  # how the ones it had at the last poll are now (they may have ended)
            held = {wf.workflow_id: wf for wf in self._runs(workflow_ids=list(self.in_hand))}
            for gone in set(self.in_hand) - set(held):  # taken over by another executor
                del self.in_hand[gone]
            found.update(held)
        self.since = polled_at
        lines = []
        done: set[str] = set()  # ended runs this poll saw: the next one's overlap repeats them
        for workflow_id, wf in sorted(found.items(), key=lambda item: item[1].created_at or 0):
            ended = wf.status != "PENDING"  # a run resumed under the same id is new again
            if ended and workflow_id in self.done:
                done.add(workflow_id)
                continue
            book_id = _book_of(wf)
            if workflow_id not in self.in_hand:
                self.in_hand[workflow_id] = book_id
                what = "writing" if wf.name == "book" else "retrying a chapter of"
                lines.append(f"worker {self.executor_id}: {what} {book_id}")
            if ended:
                del self.in_hand[workflow_id]
                done.add(workflow_id)
                lines.append(f"worker {self.executor_id}: done with {book_id} ({wf.status})")
        self.done = done
        return lines

    def _runs(self, **where: str | list[str]) -> list[WorkflowStatus]:
        return DBOS.list_workflows(
            executor_id=self.executor_id,
            name=["book", "retry"],
            load_input=True,
            load_output=False,
            **where,  # type: ignore[arg-type]
        )


def _book_of(wf: WorkflowStatus) -> str:
    args = wf.input.get("args") if wf.input else None
    return str(args[0]) if args else wf.workflow_id
