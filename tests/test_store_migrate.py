"""A content store made by an older bookwright gets the tables and columns a newer one adds."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa

from bookwright.store import Store
from bookwright.store.migrate import pending


def test_an_older_sqlite_store_is_upgraded_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "bookwright.sqlite"
    with sqlite3.connect(path) as conn:  # `books` before `active_workflow` and the limits
        conn.execute(
            "CREATE TABLE books (id VARCHAR(64) PRIMARY KEY, title TEXT NOT NULL,"
            " spec JSON NOT NULL, status VARCHAR(20) NOT NULL, current_stage VARCHAR(40),"
            " halted_at VARCHAR(40), error TEXT, created_at VARCHAR(40) NOT NULL,"
            " updated_at VARCHAR(40) NOT NULL)"
        )
        conn.execute(
            "INSERT INTO books (id, title, spec, status, created_at, updated_at)"
            " VALUES ('old', 'Old', '{}', 'completed', 'then', 'then')"
        )
    engine = sa.create_engine(f"sqlite:///{path}")
    assert "books.active_workflow" in pending(engine)
    assert "rate_slots" in pending(engine)

    store = Store(f"sqlite:///{path}")
    try:
        book = store.get_book("old")
        assert book is not None
        assert book.pause_requested is False  # a NOT NULL column added with its default
        assert book.active_workflow is None
        assert pending(engine) == []
    finally:
        store.close()
        engine.dispose()


def test_a_new_store_opened_by_several_processes_at_once(tmp_path: Path) -> None:
    """A `write` and a `status` opening a new workspace together: each gets a working
    store. Each thread's Store has its own connections, which is what SQLite locks between
    processes; before the schema was created under the write lock about one opening in
    five failed here ("table ... already exists", "database is locked")."""
    errors: list[str] = []
    for attempt in range(30):
        url = f"sqlite:///{tmp_path / str(attempt) / 'bookwright.sqlite'}"
        together = threading.Barrier(4)

        def open_store(url: str = url, together: threading.Barrier = together) -> None:
            together.wait()
            try:
                store = Store(url)
                store.list_books()
                store.close()
            except Exception as exc:  # collected, asserted below
                errors.append(f"{url}: {str(exc).splitlines()[0]}")

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        engine = sa.create_engine(url)
        assert not pending(engine)
        engine.dispose()
    assert errors == []
