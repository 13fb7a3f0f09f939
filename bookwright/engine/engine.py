"""Engine: the one object that owns DBOS, the store and the model client in a process."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from dbos import DBOS, DBOSConfig
from sqlalchemy.engine import make_url

import bookwright.jobs  # noqa: F401  (registers every job's workflows)
from bookwright.engine.ids import WORKFLOW_VERSION
from bookwright.engine.runtime import Runtime, set_runtime
from bookwright.llm import LLMClient
from bookwright.settings import Settings
from bookwright.store import Store
from bookwright.store.private import private_file


def enable_wal(url: str) -> None:
    """WAL on the SQLite file once: a checkpoint costs ~2 ms instead of ~20 ms (benchmarks.md)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return
    private_file(Path(parsed.database))
    with sqlite3.connect(parsed.database) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


class Engine:
    """Launch once per process; `executor_id` decides which pending workflows it recovers."""

    def __init__(
        self, settings: Settings, executor_id: str = "local", book_id: str | None = None
    ) -> None:
        self.settings = settings
        self.executor_id = executor_id
        self.system_database_url = settings.system_database_url(book_id)
        self.store = Store(settings.store_url)
        self.llm = LLMClient(settings, recorder=self.store)
        self.launched = False

    def launch(self) -> None:
        enable_wal(self.system_database_url)
        set_runtime(Runtime(self.settings, self.store, self.llm))
        config: DBOSConfig = {
            "name": "bookwright",
            "system_database_url": self.system_database_url,
            # Pinned: DBOS would otherwise hash the source, and recovery would skip
            # every run started before any code edit.
            "application_version": WORKFLOW_VERSION,
            "executor_id": self.executor_id,
            "log_level": "ERROR",
            # A shared Postgres is migrated once, by `bookwright db migrate`, not by
            # every worker at start: workers may lack DDL rights and would race.
            "run_migrations": not self.settings.on_postgres,
        }
        DBOS(config=config)
        DBOS.launch()
        # Step retries are ours to report (status, errors); DBOS would print tracebacks.
        for name in ("dbos", "dbos._logger"):
            logging.getLogger(name).setLevel(logging.ERROR)
        self.launched = True

    def shutdown(self) -> None:
        if self.launched:
            DBOS.destroy(workflow_completion_timeout_sec=0)
            self.launched = False
        set_runtime(None)
        self.store.close()
