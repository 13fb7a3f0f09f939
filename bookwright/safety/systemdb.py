"""A book's DBOS workflow state, copied between system databases: SQLite <-> PostgreSQL.

DBOS keeps the same tables on both (PostgreSQL in its `dbos` schema), with a few column
types that differ (JSONB, BOOLEAN, BIGINT against SQLite's TEXT and INTEGER). Nothing
here names DBOS's columns one by one: both sides are reflected, a table belongs to a
workflow when it has a `workflow_uuid` (or, for messages, a `destination_uuid`) column,
and each row is copied by the column names both sides have.

Where a workflow left unfinished goes on differs: a SQLite home's writer (`bookwright
resume`) recovers the PENDING workflows of its executor `book-BOOK`; on PostgreSQL the
workers take them from a queue. `for_workers` and `for_writer` turn a copied workflow
row into what the target's machinery expects; the checkpoints themselves are untouched.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from dbos._utils import INTERNAL_QUEUE_NAME

from bookwright.engine.dispatch import BOOKS_QUEUE
from bookwright.engine.ids import book_workflow_id

STATUS = "workflow_status"
QUEUES = "queues"
UNFINISHED = ("PENDING", "ENQUEUED")
CHUNK = 500  # ids per IN (...): far under SQLite's and libpq's bind limits

Row = dict[str, Any]


@dataclass
class SystemDb:
    """One DBOS system database, reflected on an open connection (in its transaction)."""

    conn: sa.Connection
    tables: dict[str, sa.Table]

    @classmethod
    def reflect(cls, conn: sa.Connection) -> SystemDb:
        schema = "dbos" if conn.dialect.name == "postgresql" else None
        metadata = sa.MetaData()
        metadata.reflect(conn, schema=schema)
        return cls(conn, {table.name: table for table in metadata.tables.values()})

    @property
    def present(self) -> bool:
        return STATUS in self.tables

    def version(self) -> int:
        """DBOS's schema migration version (0: no DBOS schema at all)."""
        table = self.tables.get("dbos_migrations")
        if table is None:
            return 0
        return int(self.conn.execute(sa.select(sa.func.max(table.c.version))).scalar() or 0)

    def workflow_tables(self) -> list[tuple[sa.Table, str]]:
        """(table, the column naming its workflow), `workflow_status` first: the others
        refer to it."""
        found = []
        for table in self.tables.values():
            for key in ("workflow_uuid", "destination_uuid"):
                if key in table.c:
                    found.append((table, key))
                    break
        return sorted(found, key=lambda item: item[0].name != STATUS)

    def all_workflows(self) -> list[str]:
        status = self.tables[STATUS]
        return list(self.conn.execute(sa.select(status.c.workflow_uuid)).scalars())

    def book_workflows(self, book_id: str, active: str | None = None) -> list[str]:
        """The book's workflows in a database shared by many books: its own, its chapter
        retries (`retry-BOOK-N-TIME`), `active`, and every workflow they started."""
        if not self.present:
            return []
        status = self.tables[STATUS]
        ids = status.c.workflow_uuid
        roots = {book_workflow_id(book_id), *([active] if active else [])}
        retry = re.compile(rf"retry-{re.escape(book_id)}-\d+-\d+")
        found = set(
            self.conn.execute(
                sa.select(ids).where(sa.or_(ids.in_(roots), ids.like(f"retry-{book_id}-%")))
            ).scalars()
        )
        found = {wf for wf in found if wf in roots or retry.fullmatch(wf)}
        frontier = set(found)
        while frontier and "parent_workflow_id" in status.c:
            children: set[str] = set()
            for chunk in _chunks(sorted(frontier)):
                children.update(
                    self.conn.execute(
                        sa.select(ids).where(status.c.parent_workflow_id.in_(chunk))
                    ).scalars()
                )
            frontier = children - found
            found |= children
        return sorted(found)

    def states(self, workflow_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """Workflow id -> (status, executor id)."""
        status = self.tables[STATUS]
        found: dict[str, tuple[str, str | None]] = {}
        for chunk in _chunks(workflow_ids):
            rows = self.conn.execute(
                sa.select(status.c.workflow_uuid, status.c.status, status.c.executor_id).where(
                    status.c.workflow_uuid.in_(chunk)
                )
            )
            found.update((r[0], (r[1], r[2])) for r in rows)
        return found

    def delete(self, workflow_ids: list[str]) -> None:
        """The workflows' rows in every table, `workflow_status` last."""
        for table, key in reversed(self.workflow_tables()):
            for chunk in _chunks(workflow_ids):
                self.conn.execute(table.delete().where(table.c[key].in_(chunk)))


def copy_workflows(
    source: SystemDb,
    target: SystemDb,
    workflow_ids: list[str],
    adjust: Callable[[Row], Row] | None = None,
) -> int:
    """Copy the workflows' rows of every workflow table from `source` into `target`, by
    the column names both have; `adjust` rewrites each `workflow_status` row. Returns the
    number of rows copied."""
    copied = 0
    for table, key in source.workflow_tables():
        into = target.tables.get(table.name)
        if into is None:
            continue  # a table the target's DBOS does not keep
        columns = [c for c in table.c if c.name in into.c]
        for chunk in _chunks(workflow_ids):
            query = sa.select(*columns).where(table.c[key].in_(chunk))
            rows = [_convert(dict(r), table, into) for r in source.conn.execute(query).mappings()]
            if table.name == STATUS and adjust is not None:
                rows = [adjust(row) for row in rows]
            if rows:
                target.conn.execute(into.insert(), rows)
                copied += len(rows)
    return copied


def copy_queue(source: SystemDb, target: SystemDb, name: str) -> None:
    """A queue registered by a workflow step (the book's chapter queue): a replayed step
    does not register it again, so its row moves with the book (unless the target has it)."""
    table, into = source.tables.get(QUEUES), target.tables.get(QUEUES)
    if table is None or into is None or "name" not in table.c:
        return
    if target.conn.execute(sa.select(into.c.name).where(into.c.name == name)).first():
        return
    columns = [c for c in table.c if c.name in into.c]
    rows = [
        _convert(dict(r), table, into)
        for r in source.conn.execute(sa.select(*columns).where(table.c.name == name)).mappings()
    ]
    if rows:
        target.conn.execute(into.insert(), rows)


def for_workers(row: Row) -> Row:
    """An unfinished workflow, put where PostgreSQL's workers take it: the book's own (or
    a chapter retry) on the `books` queue, under its limits; a workflow it started on its
    queue, or on DBOS's internal queue as recovery does. Any worker may take it."""
    if row.get("status") not in UNFINISHED:
        return row
    root = not row.get("parent_workflow_id")
    queue = BOOKS_QUEUE if root else (row.get("queue_name") or INTERNAL_QUEUE_NAME)
    changes: Row = {"status": "ENQUEUED", "queue_name": queue}
    if "owner_xid" in row:
        changes["owner_xid"] = None
    if "started_at_epoch_ms" in row:
        changes["started_at_epoch_ms"] = None
    if queue != row.get("queue_name") and "deduplication_id" in row:
        changes["deduplication_id"] = None
    return {**row, **changes}


def for_writer(executor: str) -> Callable[[Row], Row]:
    """An unfinished workflow, made the one-book writer's of a SQLite home (executor
    `executor`), which recovers it on `resume`: one on the workers' `books` queue (which
    a writer does not serve) is taken off it; one on a chapter queue stays there."""

    def adjust(row: Row) -> Row:
        if row.get("status") not in UNFINISHED:
            return row
        changes: Row = {}
        if row.get("queue_name") == BOOKS_QUEUE:
            changes.update(status="PENDING", queue_name=None, executor_id=executor)
            if "deduplication_id" in row:
                changes["deduplication_id"] = None
        elif row.get("status") == "PENDING":
            changes["executor_id"] = executor
        if "owner_xid" in row:
            changes["owner_xid"] = None
        return {**row, **changes}

    return adjust


def rewrite_workflows(db: SystemDb, adjust: Callable[[Row], Row]) -> None:
    """Apply `adjust` to every unfinished workflow of `db` in place."""
    status = db.tables[STATUS]
    rows = db.conn.execute(sa.select(status).where(status.c.status.in_(UNFINISHED))).mappings()
    for row in [dict(r) for r in rows]:
        changed = {k: v for k, v in adjust(row).items() if row.get(k) != v}
        if changed:
            db.conn.execute(
                status.update()
                .where(status.c.workflow_uuid == row["workflow_uuid"])
                .values(**changed)
            )


def _convert(row: Row, source: sa.Table, target: sa.Table) -> Row:
    """Values as the target's column types take them (JSONB <-> TEXT, BOOLEAN <-> 0/1)."""
    for name, value in row.items():
        if value is None:
            continue
        was_json = isinstance(source.c[name].type, sa.JSON)
        is_json = isinstance(target.c[name].type, sa.JSON)
        if was_json and not is_json:
            row[name] = json.dumps(value)
        elif is_json and not was_json and isinstance(value, str):
            row[name] = json.loads(value)
        elif isinstance(target.c[name].type, sa.Boolean) and isinstance(value, int):
            row[name] = bool(value)
    return row


def _chunks(items: Iterable[str]) -> Iterable[list[str]]:
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
