"""`bookwright backup`: a consistent snapshot of books, taken while they are written.

Each SQLite file is copied with SQLite's online backup API, which reads one consistent
state however busy the writer is. The two databases of a book are copied in an order
that keeps the copy resumable: DBOS's checkpoints first, then the content store. The
store may then hold a write whose checkpoint is missing (a step that runs again on
resume, and every store write is idempotent), never a checkpoint whose write is missing
(a step replayed from its checkpoint whose artifact is gone).

On PostgreSQL the store and DBOS share one database: the named books' rows and their
workflows are read in one REPEATABLE READ transaction and written into the same files a
SQLite home's backup has, so a backup restores into either kind of workspace.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import sqlalchemy as sa

from bookwright.engine.books import writer_alive
from bookwright.engine.ids import WORKFLOW_VERSION, book_workflow_id
from bookwright.engine.leases import live_executors
from bookwright.engine.states import stopped
from bookwright.errors import BookNotFound, UsageError
from bookwright.safety.manifest import (
    BOOK_TABLES,
    DBOS_FILE,
    MANIFEST,
    SKIPPED,
    STORE,
    BookEntry,
    FileEntry,
    Manifest,
    schema_columns,
    schema_version,
)
from bookwright.safety.systemdb import SystemDb, copy_queue, copy_workflows
from bookwright.settings import Settings
from bookwright.store import BookRecord, Store, disk
from bookwright.store import schema as t
from bookwright.store.repo import make_engine, now_iso


@dataclass
class BackupResult:
    path: Path
    manifest: Manifest
    running: list[str]  # books being written when they were copied


def sqlite_path(url: str) -> Path:
    database = sa.engine.make_url(url).database
    assert database, url
    return Path(database)


def snapshot(source: Path, target: Path) -> None:
    """Copy one SQLite file with the online backup API (consistent, WAL included)."""
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def copy_rows(snapshot_file: Path, target: Path, book_ids: list[str]) -> None:
    """A fresh store-schema database holding only `book_ids`' rows of the snapshot."""
    engine = sa.create_engine(f"sqlite:///{target}")
    t.metadata.create_all(engine)
    engine.dispose()
    db = sqlite3.connect(target)
    try:
        db.execute("ATTACH DATABASE ? AS snap", (str(snapshot_file),))
        marks = ",".join("?" for _ in book_ids)
        with db:
            for table, key in BOOK_TABLES.items():
                have = {r[1] for r in db.execute(f'PRAGMA snap.table_info("{table}")')}
                columns = ", ".join(
                    f'"{c.name}"' for c in t.metadata.tables[table].c if c.name in have
                )
                db.execute(
                    f'INSERT INTO main."{table}" ({columns}) SELECT {columns} FROM snap."{table}" '
                    f'WHERE "{key}" IN ({marks}) ORDER BY rowid',
                    book_ids,
                )
        db.execute("DETACH DATABASE snap")
    finally:
        db.close()


def make_backup(
    settings: Settings, output: Path, book_ids: list[str] | None = None
) -> BackupResult:
    """Write every book (or `book_ids`) of the home into one backup file at `output`."""
    if settings.on_postgres and not book_ids:
        raise UsageError(
            "`bookwright backup` on PostgreSQL copies the books you name",
            "Name them (`bookwright backup -o FILE BOOK...`), or back up the whole "
            "database with `pg_dump -Fc` (README: Keeping books safe)",
        )
    store = Store(settings.store_url)
    try:
        records = {b.id: b for b in store.list_books()}
    finally:
        store.close()
    chosen = list(dict.fromkeys(book_ids)) if book_ids else list(records)
    for book_id in chosen:
        if book_id not in records:
            raise BookNotFound(f"No book {book_id!r}", "List books with `bookwright list`")
    output = output.expanduser().resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    write = _write_postgres if settings.on_postgres else _write
    try:
        return write(settings, output, chosen, records)
    except OSError as error:
        if disk.is_full(error):
            raise disk.disk_full(output) from None
        raise
    except sqlite3.OperationalError as error:
        if disk.is_full(error):
            raise disk.disk_full(output) from None
        raise


def _write(
    settings: Settings, output: Path, chosen: list[str], records: dict[str, BookRecord]
) -> BackupResult:
    running = [b for b in chosen if writer_alive(settings.book_dir(b))]
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as work_dir:
        work = Path(work_dir)
        sources: dict[str, Path] = {}
        versions: set[int] = set()
        for book_id in chosen:  # checkpoints first, then the store (module docstring)
            dbos_file = settings.book_dir(book_id) / DBOS_FILE
            if dbos_file.exists():
                copy = work / f"{book_id}.{DBOS_FILE}"
                snapshot(dbos_file, copy)
                sources[f"books/{book_id}/{DBOS_FILE}"] = copy
                versions.add(dbos_version(copy))
        store_snapshot = work / "full-store.sqlite"
        snapshot(sqlite_path(settings.store_url), store_snapshot)
        copy_rows(store_snapshot, work / STORE, chosen)
        store_snapshot.unlink()
        sources[STORE] = work / STORE
        manifest = _pack(
            settings,
            output,
            sources,
            chosen,
            records,
            running,
            "sqlite",
            max(versions, default=None),
        )
    _log(settings.home, output, manifest)
    return BackupResult(output, manifest, running)


def _write_postgres(
    settings: Settings, output: Path, chosen: list[str], records: dict[str, BookRecord]
) -> BackupResult:
    """The named books of a PostgreSQL database, in the format a SQLite home's backup
    has: their store rows and their workflows (copied into a SQLite DBOS database per
    book), all read in one REPEATABLE READ transaction, so one consistent state of the
    database however busy its workers are."""
    engine = make_engine(settings.store_url)
    try:
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as work_dir:
            work = Path(work_dir)
            sources: dict[str, Path] = {}
            template = work / f"empty.{DBOS_FILE}"
            with (
                engine.connect().execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                ) as conn,
                conn.begin(),
            ):
                records = _records(conn, chosen)
                export_store_rows(conn, work / STORE, chosen)
                sources[STORE] = work / STORE
                system = SystemDb.reflect(conn)
                version = system.version() if system.present else None
                held: dict[str, str] = {}  # book -> the executor of its PENDING workflow
                for book_id in chosen:
                    ids = system.book_workflows(book_id, records[book_id].active_workflow)
                    if not ids:
                        continue
                    if not template.exists():
                        new_system_database(template)
                    copy = work / f"{book_id}.{DBOS_FILE}"
                    snapshot(template, copy)
                    _copy_book_workflows(system, copy, ids, book_id)
                    sources[f"books/{book_id}/{DBOS_FILE}"] = copy
                    active = records[book_id].active_workflow or book_workflow_id(book_id)
                    status, executor = system.states([active]).get(active, ("", None))
                    if status == "PENDING" and executor and not stopped(records[book_id]):
                        held[book_id] = executor
            alive = live_executors(engine, sorted(set(held.values())))
            running = [b for b in chosen if held.get(b) in alive]
            template.unlink(missing_ok=True)
            manifest = _pack(
                settings, output, sources, chosen, records, running, "postgresql", version
            )
    finally:
        engine.dispose()
    _log(settings.home, output, manifest)
    return BackupResult(output, manifest, running)


def _records(conn: sa.Connection, chosen: list[str]) -> dict[str, BookRecord]:
    """The books as the snapshot has them."""
    rows = conn.execute(sa.select(t.books).where(t.books.c.id.in_(chosen))).mappings()
    found = {r["id"]: BookRecord(**r) for r in rows}
    for book_id in chosen:
        if book_id not in found:  # deleted since it was listed
            raise BookNotFound(f"No book {book_id!r}", "List books with `bookwright list`")
    return found


def export_store_rows(conn: sa.Connection, target: Path, book_ids: list[str]) -> None:
    """A fresh store-schema SQLite database holding `book_ids`' rows read on `conn`."""
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        t.metadata.create_all(engine)
        with engine.begin() as out:
            for name, key in BOOK_TABLES.items():
                table = t.metadata.tables[name]
                query = sa.select(table).where(table.c[key].in_(book_ids))
                if "id" in table.c and name != "books":
                    query = query.order_by(table.c.id)
                result = conn.execution_options(yield_per=1000).execute(query)
                for part in result.mappings().partitions():
                    out.execute(table.insert(), [dict(r) for r in part])
    finally:
        engine.dispose()


def new_system_database(path: Path) -> None:
    """An empty DBOS system database on SQLite, of the schema this DBOS writes."""
    from dbos import DBOS

    DBOS.migrate(f"sqlite:///{path}")


def dbos_version(path: Path) -> int:
    """DBOS's schema migration version of a SQLite system database (0: none)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return SystemDb.reflect(conn).version()
    finally:
        engine.dispose()


def _copy_book_workflows(system: SystemDb, path: Path, ids: list[str], book_id: str) -> None:
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            target = SystemDb.reflect(conn)
            copy_workflows(system, target, ids)
            copy_queue(system, target, f"chapters-{book_id}")
    finally:
        engine.dispose()


def _pack(
    settings: Settings,
    output: Path,
    sources: dict[str, Path],
    chosen: list[str],
    records: dict[str, BookRecord],
    running: list[str],
    backend: Literal["sqlite", "postgresql"],
    version: int | None,
) -> Manifest:
    """Write the archive (databases, folders, manifest) beside `output`, then move it
    into place: a backup cut short never takes the name of a good one."""
    files: dict[str, FileEntry] = {}
    partial = output.with_name(f".{output.name}.partial")
    with tarfile.open(partial, "w:gz") as tar:
        for name, path in sources.items():
            files[name] = _add(tar, name, path)
        for book_id in chosen:
            for path, name in _folder_files(settings.book_dir(book_id), book_id):
                files[name] = _add(tar, name, path)
        manifest = Manifest(
            workflow_version=WORKFLOW_VERSION,
            schema_version=schema_version(),
            schema_columns=schema_columns(),
            created_at=now_iso(),
            source_home=str(settings.home),
            books=[
                BookEntry(
                    id=b,
                    title=records[b].title,
                    status=records[b].status,
                    running=b in running,
                )
                for b in chosen
            ],
            files=files,
            backend=backend,
            dbos_version=version,
        )
        data = manifest.model_dump_json(indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(time.time())
        tar.addfile(info, io.BytesIO(data))
    os.replace(partial, output)
    return manifest


def _folder_files(folder: Path, book_id: str) -> Iterator[tuple[Path, str]]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.is_symlink():
            continue
        relative = path.relative_to(folder)
        if str(relative) in SKIPPED or path.name.endswith(".tmp"):
            continue
        yield path, f"books/{book_id}/{relative.as_posix()}"


def _add(tar: tarfile.TarFile, name: str, path: Path) -> FileEntry:
    """Add one file, hashed from the very bytes that go into the archive."""
    with path.open("rb") as handle:
        digest, size = _hash(handle)
        handle.seek(0)
        info = tar.gettarinfo(arcname=name, fileobj=handle)
        info.size = size
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, handle)
    return FileEntry(sha256=digest, size=size)


def _hash(handle: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _log(home: Path, output: Path, manifest: Manifest) -> None:
    """Remember the backup in the home, so a damaged file's message can name it."""
    entry = {"file": str(output), "created_at": manifest.created_at, **manifest.summary()}
    with (home / disk.BACKUP_LOG).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
