"""`bookwright doctor`: what is wrong in a home, each finding with what to do about it.

Checks database integrity (`PRAGMA integrity_check` on every SQLite file), the store's
schema against this bookwright's, every book's workflow against its state in the store,
every latest artifact against its schema, lock files left by dead processes, and files
under the home that belong to no book. `repair` fixes what is safe to fix: it frees
stale locks and moves orphans aside to `orphans/` (never deletes them).
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from bookwright.engine.books import BookLock
from bookwright.engine.ids import book_workflow_id
from bookwright.errors import BookLocked, BookNotFound, BookwrightError
from bookwright.model.artifacts import ARTIFACT_TYPES, Artifact, Chapter
from bookwright.safety.backup import sqlite_path
from bookwright.safety.manifest import DBOS_FILE, schema_columns
from bookwright.settings import Settings
from bookwright.store import BookRecord, Store, disk
from bookwright.store.migrate import pending

ORPHANS = "orphans"
FINISHED = {"SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED"}


@dataclass
class Finding:
    kind: str  # damaged, schema, workflow, artifact, stale_lock, orphan
    subject: str  # a file, or BOOK, or BOOK artifact
    message: str
    remedy: str
    book: str | None = None
    repairable: bool = False
    repaired: str | None = None  # what --repair did


@dataclass
class Report:
    home: str
    checked: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    @property
    def left(self) -> list[Finding]:
        return [f for f in self.findings if f.repaired is None]

    @property
    def healthy(self) -> bool:
        return not self.left

    def as_dict(self) -> dict[str, Any]:
        return {
            "home": self.home,
            "healthy": self.healthy,
            "checked": self.checked,
            "findings": [asdict(f) for f in self.findings],
        }


def examine(settings: Settings, book_id: str | None = None, *, repair: bool = False) -> Report:
    """Check the home (or one book), and with `repair` fix stale locks and orphans."""
    report = Report(str(settings.home))
    count = report.checked
    store_ok = True
    if not settings.on_postgres:
        store_file = sqlite_path(settings.store_url)
        store_ok = _integrity(report, store_file) if store_file.exists() else True
        count["databases"] = 1
    if not store_ok:
        return report  # nothing else can be read; restoring the store comes first
    try:
        store = Store(settings.store_url)
    except BookwrightError as error:  # an unmigrated Postgres, a damaged file
        report.findings.append(Finding("schema", settings.store_url, error.message, error.remedy))
        return report
    if settings.on_postgres:
        _pg_integrity(report, store)
        count["databases"] = 1
    try:
        records = store.list_books()
        if book_id is not None:
            records = [b for b in records if b.id == book_id]
            if not records:
                raise BookNotFound(f"No book {book_id!r}", "List books with `bookwright list`")
        _schema(report, store)
        for book in records:
            _book(report, settings, store, book)
        count["books"] = len(records)
    finally:
        store.close()
    if not settings.on_postgres:
        server = settings.home / "server.sqlite"
        if book_id is None and server.exists():
            _integrity(report, server)
            count["databases"] += 1
        known = {b.id for b in records}
        _locks(report, settings, known, repair)
        if book_id is None:
            _orphans(report, settings, known, repair)
    return report


def _integrity(report: Report, path: Path, book: str | None = None) -> bool:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = [r[0] for r in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()
    except sqlite3.DatabaseError as error:
        rows = [str(error)]
    if rows == ["ok"]:
        return True
    report.findings.append(
        Finding(
            "damaged", str(path), f"{path} is damaged: {rows[0]}", disk.restore_remedy(path), book
        )
    )
    return False


def _pg_integrity(report: Report, store: Store) -> None:
    """PostgreSQL's counterpart of `PRAGMA integrity_check`: every table of the store and
    of DBOS read through (a damaged page fails the read), and every B-tree index checked
    with amcheck's `bt_index_check` where that extension is installed (it ships with
    PostgreSQL; `CREATE EXTENSION amcheck` as a superuser enables it)."""
    remedy = "Restore the database from your last pg_dump, or the book from `bookwright backup`"
    with store.engine.connect() as conn:
        tables = conn.execute(
            sa.text(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables"
                " WHERE schemaname IN (current_schema(), 'dbos')"
            )
        ).scalars()
        for table in list(tables):
            try:
                conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # a quoted name
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                first = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                report.findings.append(
                    Finding("damaged", table, f"{table} cannot be read: {first}", remedy)
                )
        has_amcheck = conn.execute(
            sa.text("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")
        ).first()
        if not has_amcheck:
            return
        indexes = conn.execute(
            sa.text(
                "SELECT c.oid::regclass::text FROM pg_index i"
                " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE a.amname = 'btree' AND n.nspname IN (current_schema(), 'dbos')"
            )
        ).scalars()
        for index in list(indexes):
            try:
                conn.execute(sa.text("SELECT bt_index_check(CAST(:i AS regclass))"), {"i": index})
            except sa.exc.DBAPIError as exc:
                conn.rollback()
                first = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
                report.findings.append(
                    Finding(
                        "damaged",
                        index,
                        f"the index {index} is damaged: {first}",
                        f"Rebuild it: REINDEX INDEX {index};",
                    )
                )


def _schema(report: Report, store: Store) -> None:
    if store.engine.dialect.name == "postgresql":
        missing = pending(store.engine)
        if missing:
            report.findings.append(
                Finding(
                    "schema",
                    "store",
                    f"The database lacks {', '.join(missing[:4])}",
                    "Upgrade it with `bookwright db migrate`",
                )
            )
    inspector = sa.inspect(store.engine)
    mine = set(schema_columns())
    live = {
        f"{table}.{c['name']}"
        for table in inspector.get_table_names()
        if any(name.startswith(f"{table}.") for name in mine)
        for c in inspector.get_columns(table)
    }
    newer = sorted(live - mine)
    if newer:
        report.findings.append(
            Finding(
                "schema",
                "store",
                f"The store has {', '.join(newer[:3])}, which this bookwright does not know: "
                "a newer bookwright wrote it",
                "Upgrade bookwright before writing these books again",
            )
        )


def _book(report: Report, settings: Settings, store: Store, book: BookRecord) -> None:
    folder = settings.book_dir(book.id)
    if not settings.on_postgres:
        dbos_file = folder / DBOS_FILE
        if dbos_file.exists():
            report.checked["databases"] = report.checked.get("databases", 0) + 1
            if _integrity(report, dbos_file, book.id):
                _workflows(report, book, _workflow_states(dbos_file))
        elif book.status != "initialized":
            report.findings.append(
                Finding(
                    "workflow",
                    book.id,
                    f"Book {book.id} is {book.status} but its checkpoints ({dbos_file}) are gone",
                    disk.restore_remedy(dbos_file),
                    book.id,
                )
            )
    _artifacts(report, store, book.id)


def _workflow_states(path: Path) -> dict[str, str]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return {r[0]: r[1] for r in db.execute("SELECT workflow_uuid, status FROM workflow_status")}
    except sqlite3.OperationalError:  # no DBOS tables yet: never launched
        return {}
    finally:
        db.close()


def _workflows(report: Report, book: BookRecord, states: dict[str, str]) -> None:
    """The store's state of the book against its workflows' in DBOS."""
    workflow = book.active_workflow or book_workflow_id(book.id)
    state = states.get(workflow)

    def add(message: str, remedy: str) -> None:
        report.findings.append(Finding("workflow", book.id, message, remedy, book.id))

    if book.status == "initialized":
        return
    if book.status == "completed":
        if state is not None and state not in FINISHED:
            add(
                f"Book {book.id} is completed in the store, but its workflow {workflow} is {state}",
                f"Let it finish with `bookwright resume {book.id}`",
            )
        return
    if state is None:
        add(
            f"Book {book.id} is {book.status}, but its workflow {workflow} is missing, so it "
            "cannot resume",
            disk.restore_remedy(Path(report.home) / "books" / book.id / DBOS_FILE),
        )
    elif state in FINISHED:
        add(
            f"Book {book.id} is {book.status} in the store, but its workflow {workflow} "
            f"ended ({state})",
            f"See `bookwright status {book.id}`; a retry of a chapter or a restore from a "
            "backup continues it",
        )
    if book.waiting_workflow and book.waiting_workflow not in states:
        add(
            f"Book {book.id} waits in workflow {book.waiting_workflow}, which is missing",
            disk.restore_remedy(Path(report.home) / "books" / book.id / DBOS_FILE),
        )


def artifact_type(name: str) -> type[Artifact] | None:
    """The schema of an artifact, by its name; None for those without one."""
    if re.fullmatch(r"chapter:\d+", name):
        return Chapter
    return ARTIFACT_TYPES.get(name)


def _artifacts(report: Report, store: Store, book_id: str) -> None:
    query = sa.text(
        "SELECT a.name, a.version, a.data FROM artifacts a WHERE a.book_id = :book AND "
        "a.version = (SELECT max(b.version) FROM artifacts b WHERE b.book_id = a.book_id "
        "AND b.name = a.name) ORDER BY a.id"
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query, {"book": book_id}).all()
    report.checked["artifacts"] = report.checked.get("artifacts", 0) + len(rows)
    for name, version, data in rows:
        problem = None
        try:
            value = json.loads(data) if isinstance(data, str | bytes) else data
            kind = artifact_type(name)
            if kind is not None:
                kind.model_validate(value)
            elif not isinstance(value, dict):
                problem = "not a JSON object"
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg} at {error.pos})"
        except ValidationError as error:
            first = error.errors()[0]
            problem = f"{'.'.join(str(p) for p in first['loc']) or name}: {first['msg']}"
        if problem:
            report.findings.append(
                Finding(
                    "artifact",
                    f"{book_id} {name}",
                    f"Artifact {name} (version {version}) of {book_id} is unreadable: {problem}",
                    f"Restore {book_id} from a backup; or export an earlier version with "
                    f"`bookwright show {book_id} {name} --version {version - 1}`"
                    if version > 1
                    else f"Restore {book_id} from a backup",
                    book_id,
                )
            )


def _locks(report: Report, settings: Settings, known: set[str], repair: bool) -> None:
    """A lock file naming a process while nobody holds its lock: that process died."""
    for lock in sorted((settings.home / "books").glob("*/.lock")):
        pid = lock.read_text().strip() if lock.is_file() else ""
        if not pid or _held(lock):
            continue
        book_id = lock.parent.name
        finding = Finding(
            "stale_lock",
            str(lock),
            f"{lock} names process {pid}, which no longer holds it (it died mid-run)",
            f"`bookwright doctor --repair` clears it; then `bookwright resume {book_id}`",
            book_id if book_id in known else None,
            repairable=True,
        )
        if repair:
            try:
                with BookLock(lock.parent, book_id):
                    pass  # taken and released: the file is empty again
                finding.repaired = "cleared"
            except BookLocked:
                finding.repaired = None
        report.findings.append(finding)


def _held(lock: Path) -> bool:
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _orphans(report: Report, settings: Settings, known: set[str], repair: bool) -> None:
    """Book folders with no book, and leftovers of interrupted writes and restores."""
    home = settings.home
    found: list[tuple[Path, str]] = []
    books = home / "books"
    if books.is_dir():
        for entry in sorted(books.iterdir()):
            if entry.name not in known:
                found.append((entry, "belongs to no book in the store"))
            elif entry.is_dir():
                found += [
                    (tmp, "is left from an interrupted write") for tmp in entry.rglob("*.tmp")
                ]
    found += [(p, "is left from an interrupted restore") for p in sorted(home.glob(".restore-*"))]
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for path, why in found:
        finding = Finding(
            "orphan",
            str(path),
            f"{path} {why}",
            f"`bookwright doctor --repair` moves it to {home / ORPHANS / stamp}; look, then "
            "delete it or restore its book from a backup",
            repairable=True,
        )
        if repair:
            target = home / ORPHANS / stamp / path.relative_to(home)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target)
            finding.repaired = f"moved to {target}"
        report.findings.append(finding)
