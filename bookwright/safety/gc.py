"""`bookwright gc`: drop what finished books no longer need, and reclaim the space.

For each completed book not written now and untouched for `older_than_s`: the step
history of its finished workflows (DBOS's own `delete_workflows`, children included),
and artifact versions beyond the newest `keep_versions` of each name. Never dropped: the
latest version, an edited (approved edit) or imported version, every version of a stage
the book paused at for review (one of them was approved), and the judge's verdicts
(`stats` reports every one). Finished runs of the web server's queue go too. Then each
SQLite file is vacuumed.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from dbos import DBOSClient

from bookwright.engine.books import writer_alive
from bookwright.errors import UsageError
from bookwright.safety.backup import sqlite_path
from bookwright.safety.doctor import FINISHED
from bookwright.settings import Settings
from bookwright.store import Store
from bookwright.store import schema as t

KEPT_SOURCES = {"edited", "imported"}


@dataclass
class Collection:
    dry_run: bool
    books: list[str] = field(default_factory=list)
    workflows: int = 0  # finished workflows whose history is dropped
    steps: int = 0  # their recorded step outputs
    versions: int = 0  # superseded artifact versions
    server_runs: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    lines: list[str] = field(default_factory=list)  # what was (or would be) removed

    @property
    def freed(self) -> int:
        return max(0, self.bytes_before - self.bytes_after)


def parse_age(text: str) -> float:
    """`30d`, `12h`, `90m`, `0` -> seconds."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([dhms]?)\s*", text)
    if not found:
        raise UsageError(f"Invalid age {text!r}", "Use e.g. 30d, 12h, 90m or 0")
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1, "": 86400}[found.group(2)]
    return float(found.group(1)) * unit


def collect(
    settings: Settings, *, older_than_s: float, keep_versions: int, dry_run: bool = False
) -> Collection:
    """Drop (or with `dry_run` count) what finished books no longer need."""
    if keep_versions < 1:
        raise UsageError("--keep-versions must be at least 1", "The latest version is always kept")
    result = Collection(dry_run)
    files = _files(settings)
    result.bytes_before = _size(files)
    cutoff = time.time() - older_than_s
    store = Store(settings.store_url)
    try:
        for book in store.list_books():
            if book.status != "completed" or _epoch(book.updated_at) > cutoff:
                continue
            if writer_alive(settings.book_dir(book.id)):
                continue  # a chapter retry is running
            result.books.append(book.id)
            _history(settings, book.id, result, dry_run)
            pauses = {
                "manuscript" if s in ("harmonize", "export") else s
                for s in book.spec.get("pause_at") or []
            }
            _versions(store, book.id, keep_versions, pauses, result, dry_run)
    finally:
        store.close()
    server = settings.home / "server.sqlite"
    if server.exists() and not settings.on_postgres:
        _server_runs(f"sqlite:///{server}", cutoff, result, dry_run)
    if not dry_run and not settings.on_postgres:
        for path in files:
            _vacuum(path)
    result.bytes_after = _size(files) if not dry_run else result.bytes_before
    return result


def _history(settings: Settings, book_id: str, result: Collection, dry_run: bool) -> None:
    url = settings.system_database_url(book_id)
    if not settings.on_postgres and not sqlite_path(url).exists():
        return
    client = DBOSClient(system_database_url=url)
    try:
        mine = re.compile(rf"^(book-{re.escape(book_id)}|retry-{re.escape(book_id)}-\d+-\d+)$")
        finished = [
            w.workflow_id
            for w in client.list_workflows(
                status=sorted(FINISHED), load_input=False, load_output=False
            )
            if mine.match(w.workflow_id)
        ]
        if not finished:
            return
        steps = sum(len(client.list_workflow_steps(w)) for w in finished)
        result.workflows += len(finished)
        result.steps += steps
        result.lines.append(
            f"{book_id}: step history of {len(finished)} finished workflow(s), {steps} steps"
        )
        if not dry_run:
            client.delete_workflows(finished, delete_children=True)
    finally:
        client.destroy()


def _versions(
    store: Store, book_id: str, keep: int, pauses: set[str], result: Collection, dry_run: bool
) -> None:
    a = t.artifacts.c
    with store.engine.begin() as conn:
        rows = conn.execute(
            sa.select(a.id, a.name, a.version, a.source)
            .where(a.book_id == book_id)
            .order_by(a.name, a.version.desc())
        ).all()
        drop: list[int] = []
        by_name: dict[str, int] = {}
        for row in rows:
            seen = by_name.get(row.name, 0)
            by_name[row.name] = seen + 1
            protected = (
                seen < keep
                or row.source in KEPT_SOURCES
                or row.name.startswith("verdict:")
                or row.name in pauses
            )
            if not protected:
                drop.append(row.id)
        if drop:
            result.versions += len(drop)
            result.lines.append(f"{book_id}: {len(drop)} superseded artifact version(s)")
            if not dry_run:
                conn.execute(t.artifacts.delete().where(a.id.in_(drop)))


def _server_runs(url: str, cutoff: float, result: Collection, dry_run: bool) -> None:
    client = DBOSClient(system_database_url=url)
    try:
        old = [
            w.workflow_id
            for w in client.list_workflows(
                status=sorted(FINISHED), load_input=False, load_output=False
            )
            if (w.updated_at or 0) / 1000 <= cutoff
        ]
        if old:
            result.server_runs += len(old)
            result.lines.append(f"web server: {len(old)} finished run(s)")
            if not dry_run:
                client.delete_workflows(old, delete_children=True)
    finally:
        client.destroy()


def _files(settings: Settings) -> list[Path]:
    """The SQLite files gc may shrink: the store, every book's DBOS file, the server's."""
    if settings.on_postgres:
        return []
    home = settings.home
    found = [sqlite_path(settings.store_url), home / "server.sqlite"]
    found += sorted((home / "books").glob("*/dbos.sqlite"))
    return [p for p in found if p.exists()]


def _size(files: list[Path]) -> int:
    total = 0
    for path in files:
        for suffix in ("", "-wal", "-shm"):
            extra = Path(f"{path}{suffix}")
            if extra.exists():
                total += extra.stat().st_size
    return total


def _vacuum(path: Path) -> None:
    db = sqlite3.connect(path, timeout=30)
    try:
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _epoch(stamp: str) -> float:
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError:
        return time.time()
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
