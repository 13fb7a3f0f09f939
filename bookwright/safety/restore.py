"""`bookwright restore`: check a backup file whole, then put its books into a home.

Everything is checked before anything is written: the manifest, every file's sha256,
the schema against this bookwright's, and that no book of the backup exists in the
target home (unless `force`). The store's rows go in one transaction; the book folders
are then moved into place from a temporary folder on the same disk.

A backup restores into a SQLite home or a PostgreSQL database, whichever it came from
(its format is the same): on PostgreSQL the rows and the book's workflows go into the
shared database in one transaction, and the workers go on with an unfinished book from
its checkpoints. A book being written when it was backed up does not move between the
two (it would be written in two places), nor an unfinished one whose checkpoints this
bookwright cannot replay.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from dbos._migration import sqlite_migrations
from pydantic import ValidationError

from bookwright.engine.books import BookLock
from bookwright.engine.ids import WORKFLOW_VERSION
from bookwright.engine.leases import live_executors
from bookwright.engine.runner import executor_id
from bookwright.errors import BookLocked, ConfigError, Conflict, Next, UsageError
from bookwright.safety.backup import dbos_version, sqlite_path
from bookwright.safety.manifest import (
    BOOK_TABLES,
    DBOS_FILE,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    STORE,
    Manifest,
    schema_columns,
)
from bookwright.safety.systemdb import (
    SystemDb,
    copy_queue,
    copy_workflows,
    for_workers,
    for_writer,
    rewrite_workflows,
)
from bookwright.settings import Settings
from bookwright.store import Store, disk
from bookwright.store import schema as t
from bookwright.store.repo import make_engine


class BadBackup(UsageError):
    """The file is not a bookwright backup, or it was changed or cut since it was made."""


@dataclass
class RestoreResult:
    home: Path
    manifest: Manifest
    replaced: list[str]  # books that existed and were overwritten (`force`)
    on_postgres: bool = False  # restored into a PostgreSQL database: workers go on with them


def read_manifest(tar: tarfile.TarFile, file: Path) -> Manifest:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        assert handle is not None
        manifest = Manifest.model_validate_json(handle.read())
    except (KeyError, AssertionError, ValidationError) as error:
        raise BadBackup(
            f"{file} is not a bookwright backup (no valid {MANIFEST}: "
            f"{str(error).splitlines()[0]})",
            "Pass a file written by `bookwright backup`",
        ) from None
    if manifest.format != FORMAT or manifest.format_version > FORMAT_VERSION:
        raise BadBackup(
            f"{file} is a {manifest.format} file of version {manifest.format_version}",
            f"Restore it with bookwright {manifest.bookwright_version} or later",
        )
    unknown = sorted(set(manifest.schema_columns) - set(schema_columns()))
    if unknown:
        raise BadBackup(
            f"{file} was made by bookwright {manifest.bookwright_version}, whose store has "
            f"{', '.join(unknown[:3])} that this bookwright lacks",
            f"Restore it with bookwright {manifest.bookwright_version} or later",
        )
    return manifest


def restore_backup(file: Path, settings: Settings, *, force: bool = False) -> RestoreResult:
    """Restore every book of the backup at `file` into `settings.home` (and, on
    PostgreSQL, into the database its workers share)."""
    with _open_archive(file) as tar:
        try:
            manifest = read_manifest(tar, file)
            _check_members(tar, manifest, file)
        except (tarfile.TarError, EOFError, zlib.error) as error:
            raise BadBackup(
                f"{file} is damaged or cut short ({error})",
                "Use another copy of the backup; nothing was restored",
            ) from None
        _check_movable(settings, manifest, file)
        if settings.on_postgres:
            replaced = _check_postgres_target(settings, manifest, force)
        else:
            replaced = _check_target(settings, manifest, force)
        settings.home.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryDirectory(dir=settings.home, prefix=".restore-") as work_dir:
                work = Path(work_dir)
                _extract(tar, manifest, work, file)
                workflows = {
                    b.id: work / "books" / b.id / DBOS_FILE
                    for b in manifest.books
                    if (work / "books" / b.id / DBOS_FILE).exists()
                }
                versions = {b: dbos_version(path) for b, path in workflows.items()}
                _check_dbos_versions(versions, file)
                if settings.on_postgres:
                    _put_postgres(settings, work, manifest, workflows, versions, force)
                    for path in workflows.values():  # now in the database, not a file
                        path.unlink()
                else:
                    for book_id, path in workflows.items():
                        _for_writer(path, book_id)
                    _put_rows(settings, work / STORE, [b.id for b in manifest.books], force)
                for entry in manifest.books:
                    target = settings.book_dir(entry.id)
                    if target.exists():
                        shutil.rmtree(target)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = work / "books" / entry.id
                    if source.exists():
                        source.replace(target)
                    else:
                        target.mkdir()
        except (OSError, sqlite3.OperationalError) as error:
            if disk.is_full(error):
                raise disk.disk_full(settings.home) from None
            raise
    return RestoreResult(settings.home, manifest, replaced, settings.on_postgres)


def _check_movable(settings: Settings, manifest: Manifest, file: Path) -> None:
    """What cannot move between a SQLite home and PostgreSQL: a book that was being
    written when it was backed up (its writer or worker goes on with it there), and a
    book whose checkpoints this bookwright's workflows cannot replay."""
    backend = "postgresql" if settings.on_postgres else "sqlite"
    if manifest.backend != backend:
        running = [b.id for b in manifest.books if b.running]
        if running:
            where = "a worker" if manifest.backend == "postgresql" else "its writer"
            raise Conflict(
                f"Book {running[0]} was being written by {where} when {file} was made; a "
                f"book moves between SQLite and PostgreSQL only when stopped, or it would "
                f"be written in two places; nothing was restored",
                (Next("pause", running[0]),),
                f"Pause it first with `bookwright pause {running[0]}` where it is written, "
                "back it up again and restore that backup",
            )
    unfinished = [b.id for b in manifest.books if b.status != "completed"]
    if manifest.workflow_version != WORKFLOW_VERSION and unfinished:
        raise BadBackup(
            f"Book {unfinished[0]} of {file} is unfinished, and its checkpoints were written "
            f"by workflows of version {manifest.workflow_version}, which this bookwright "
            f"({WORKFLOW_VERSION}) cannot replay; nothing was restored",
            f"Restore it with bookwright {manifest.bookwright_version}, finish it there, "
            "then back it up again",
        )


def _check_dbos_versions(versions: dict[str, int], file: Path) -> None:
    """A book's workflow database of a newer DBOS schema than this bookwright's."""
    newer = {b: v for b, v in versions.items() if v > len(sqlite_migrations)}
    if newer:
        book_id, version = next(iter(newer.items()))
        raise BadBackup(
            f"{file} holds the workflows of book {book_id} in DBOS schema version {version}, "
            f"newer than this bookwright's ({len(sqlite_migrations)}); nothing was restored",
            "Upgrade bookwright here (and run `bookwright db migrate` on PostgreSQL), then "
            "restore again",
        )


def _open_archive(file: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(file, "r:*")
    except tarfile.TarError:
        raise BadBackup(
            f"{file} is not a bookwright backup (not a tar.gz archive)",
            "Pass a file written by `bookwright backup`",
        ) from None
    except OSError as error:
        raise BadBackup(
            f"Cannot read {file}: {error.strerror or error}",
            "Pass a file written by `bookwright backup`",
        ) from None


def _check_members(tar: tarfile.TarFile, manifest: Manifest, file: Path) -> None:
    """Every file listed, none more, each with its checksum; no path leaves the folder."""
    books = {b.id for b in manifest.books}
    seen: set[str] = set()
    for member in tar.getmembers():
        if member.name == MANIFEST:
            continue
        path = PurePosixPath(member.name)
        inside = (
            path.parts[:1] == ("books",) and len(path.parts) > 2 and path.parts[1] in books
        ) or (member.name == STORE)
        if not member.isfile() or path.is_absolute() or ".." in path.parts or not inside:
            raise BadBackup(
                f"{file} holds an unexpected entry {member.name!r}",
                "It was not written by `bookwright backup`",
            )
        entry = manifest.files.get(member.name)
        handle = tar.extractfile(member)
        digest = hashlib.sha256()
        while handle is not None and (chunk := handle.read(1 << 20)):
            digest.update(chunk)
        if entry is None or digest.hexdigest() != entry.sha256:
            raise BadBackup(
                f"{file} is damaged: {member.name} does not match its checksum",
                "Use another copy of the backup; nothing was restored",
            )
        seen.add(member.name)
    missing = sorted(set(manifest.files) - seen)
    if missing or STORE not in seen:
        raise BadBackup(
            f"{file} is incomplete: {', '.join(missing[:3]) or STORE} missing",
            "Use another copy of the backup; nothing was restored",
        )


def _check_target(settings: Settings, manifest: Manifest, force: bool) -> list[str]:
    """The books of the backup that already exist in the target home; refused unless
    `force`, and refused even then while one is being written."""
    store_file = sqlite_path(settings.store_url)
    known: set[str] = set()
    if store_file.exists():
        store = Store(settings.store_url)
        try:
            known = {b.id for b in store.list_books()}
        finally:
            store.close()
    existing = [b.id for b in manifest.books if b.id in known or settings.book_dir(b.id).exists()]
    if existing and not force:
        raise UsageError(
            f"Book{'s' if len(existing) > 1 else ''} {', '.join(existing)} already exist"
            f"{'' if len(existing) > 1 else 's'} in {settings.home}; nothing was restored",
            "Add --force to replace them, or restore into another home with --into HOME",
        )
    for book_id in existing:
        folder = settings.book_dir(book_id)
        if folder.exists():
            try:
                with BookLock(folder, book_id):
                    pass
            except BookLocked:
                raise BookLocked(
                    f"Book {book_id!r} is being written in {settings.home}; nothing was restored",
                    f"Pause it first with `bookwright pause {book_id}`",
                ) from None
    return existing


def _extract(tar: tarfile.TarFile, manifest: Manifest, work: Path, file: Path) -> None:
    for name in manifest.files:
        handle = tar.extractfile(name)
        assert handle is not None
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        with target.open("wb") as out:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != manifest.files[name].sha256:  # read again: check again
            raise BadBackup(f"{file} changed while it was restored", "Run the restore again")


def _put_rows(settings: Settings, backup_store: Path, book_ids: list[str], force: bool) -> None:
    """Copy the books' rows into the target store in one transaction. Row ids are kept
    when free (DBOS checkpoints may name a request by its id); taken ones get new ids."""
    Store(settings.store_url).close()  # creates or upgrades the target's tables
    db = sqlite3.connect(sqlite_path(settings.store_url), timeout=30)
    try:
        db.execute("ATTACH DATABASE ? AS bk", (str(backup_store),))
        marks = ",".join("?" for _ in book_ids)
        with db:
            if force:
                for table, key in reversed(BOOK_TABLES.items()):
                    db.execute(f'DELETE FROM main."{table}" WHERE "{key}" IN ({marks})', book_ids)
            for table, key in BOOK_TABLES.items():
                have = {r[1] for r in db.execute(f'PRAGMA bk.table_info("{table}")')}
                if not have:
                    continue  # a table of a later bookwright than the backup's
                mine = {r[1] for r in db.execute(f'PRAGMA main.table_info("{table}")')}
                columns = [c for c in mine if c in have]
                if "id" in columns and table != "books":
                    taken = db.execute(
                        f'SELECT count(*) FROM main."{table}" WHERE id IN '
                        f'(SELECT id FROM bk."{table}" WHERE "{key}" IN ({marks}))',
                        book_ids,
                    ).fetchone()[0]
                    if taken:
                        columns.remove("id")
                names = ", ".join(f'"{c}"' for c in columns)
                db.execute(
                    f'INSERT INTO main."{table}" ({names}) SELECT {names} FROM bk."{table}" '
                    f'WHERE "{key}" IN ({marks}) ORDER BY rowid',
                    book_ids,
                )
        db.execute("DETACH DATABASE bk")
    finally:
        db.close()


def _for_writer(path: Path, book_id: str) -> None:
    """The restored workflow database of a book, made its SQLite writer's: the unfinished
    workflows (a worker's, when the backup came from PostgreSQL) are recovered by
    `bookwright resume` (executor `book-BOOK`)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            system = SystemDb.reflect(conn)
            if system.present:
                rewrite_workflows(system, for_writer(executor_id(book_id)))
    finally:
        engine.dispose()


def _check_postgres_target(settings: Settings, manifest: Manifest, force: bool) -> list[str]:
    """`_check_target` for a PostgreSQL database: the books of the backup it has (rows
    or workflows), refused unless `force`, and refused even then while a live worker
    holds one of their workflows (writing it, or waiting in it for a review)."""
    store = Store(settings.store_url)  # refuses a database `bookwright db migrate` missed
    try:
        known = {b.id: b for b in store.list_books()}
        with store.engine.connect() as conn:
            system = SystemDb.reflect(conn)
            if not system.present:
                raise ConfigError(
                    "The database has no DBOS schema yet",
                    "Create it with `bookwright db migrate`, then restore again",
                )
            held: dict[str, tuple[str, str]] = {}
            existing = []
            for entry in manifest.books:
                record = known.get(entry.id)
                ids = system.book_workflows(entry.id, record.active_workflow if record else None)
                if record or ids or settings.book_dir(entry.id).exists():
                    existing.append(entry.id)
                for workflow, (status, executor) in system.states(ids).items():
                    if status == "PENDING" and executor:
                        held[workflow] = (entry.id, executor)
        alive = live_executors(store.engine, sorted({e for _, e in held.values()}))
    finally:
        store.close()
    if existing and not force:
        raise UsageError(
            f"Book{'s' if len(existing) > 1 else ''} {', '.join(existing)} already exist"
            f"{'' if len(existing) > 1 else 's'} in this database; nothing was restored",
            "Add --force to replace them, or restore into a SQLite home with --into HOME",
        )
    for book_id, executor in held.values():
        if executor in alive:
            raise BookLocked(
                f"Book {book_id!r} is held by worker {executor}, which is writing it or "
                "keeps it waiting for a review or a resume; nothing was restored",
                f"Pause it first with `bookwright pause {book_id}`, stop worker {executor} "
                "(its other books go on when it starts again), then restore with --force",
            )
    return existing


def _put_postgres(
    settings: Settings,
    work: Path,
    manifest: Manifest,
    workflows: dict[str, Path],
    versions: dict[str, int],
    force: bool,
) -> None:
    """The books' store rows and workflows into the shared database, in one transaction:
    a worker sees all of a book or nothing. Their unfinished workflows go on the workers'
    queue (`for_workers`), so the first free worker continues each from its checkpoints."""
    book_ids = [b.id for b in manifest.books]
    engine = make_engine(settings.store_url)
    try:
        with engine.begin() as conn:
            # Row ids are kept where free (a checkpoint may name a request by its id):
            # no worker may take one of them from a sequence until the commit.
            names = ", ".join(
                f'"{n}"' for n in BOOK_TABLES if n != "books" and "id" in t.metadata.tables[n].c
            )
            conn.execute(sa.text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
            system = SystemDb.reflect(conn)
            have = system.version()
            newer = {b: v for b, v in versions.items() if v > have}
            if newer:
                book_id, version = next(iter(newer.items()))
                raise ConfigError(
                    f"Book {book_id}'s workflows are in DBOS schema version {version}; this "
                    f"database has version {have}; nothing was restored",
                    "Upgrade its schema with `bookwright db migrate`, then restore again",
                )
            if force:
                for book_id in book_ids:
                    active = conn.execute(
                        sa.select(t.books.c.active_workflow).where(t.books.c.id == book_id)
                    ).scalar()
                    system.delete(system.book_workflows(book_id, active))
                    for name, key in reversed(BOOK_TABLES.items()):
                        table = t.metadata.tables[name]
                        conn.execute(table.delete().where(table.c[key] == book_id))
            _import_store_rows(conn, work / STORE, book_ids)
            for book_id, path in workflows.items():
                source_engine = sa.create_engine(f"sqlite:///{path}")
                try:
                    with source_engine.connect() as source_conn:
                        source = SystemDb.reflect(source_conn)
                        if not source.present:
                            continue
                        ids = source.all_workflows()
                        if force:
                            system.delete(ids)
                        copy_workflows(source, system, ids, for_workers)
                        copy_queue(source, system, f"chapters-{book_id}")
                finally:
                    source_engine.dispose()
            _advance_sequences(conn)
    finally:
        engine.dispose()


def _import_store_rows(conn: sa.Connection, backup_store: Path, book_ids: list[str]) -> None:
    """The books' rows of the backup's store into the database on `conn`, by the columns
    both have; an id already taken there is left to the database to choose."""
    source = sa.create_engine(f"sqlite:///{backup_store}")
    try:
        with source.connect() as src:
            inspector = sa.inspect(src)
            present = set(inspector.get_table_names())
            for name, key in BOOK_TABLES.items():
                if name not in present:
                    continue  # a table of a later bookwright than the backup's
                table = t.metadata.tables[name]
                have = {c["name"] for c in inspector.get_columns(name)}
                columns = [c for c in table.c if c.name in have]
                query = sa.select(*columns).where(table.c[key].in_(book_ids))
                if "id" in have and name != "books":
                    query = query.order_by(table.c.id)
                rows = [dict(r) for r in src.execute(query).mappings()]
                if not rows:
                    continue
                if "id" in have and name != "books":
                    taken: set[int] = set()
                    ids = [r["id"] for r in rows]
                    for start in range(0, len(ids), 500):
                        chunk = ids[start : start + 500]
                        taken.update(
                            conn.execute(sa.select(table.c.id).where(table.c.id.in_(chunk)))
                            .scalars()
                            .all()
                        )
                    kept = [r for r in rows if r["id"] not in taken]
                    moved = [
                        {k: v for k, v in r.items() if k != "id"} for r in rows if r["id"] in taken
                    ]
                    for part in (kept, moved):
                        if part:
                            conn.execute(table.insert(), part)
                else:
                    conn.execute(table.insert(), rows)
    finally:
        source.dispose()


def _advance_sequences(conn: sa.Connection) -> None:
    """Each id sequence past the ids inserted as they were, so the next row gets a new one."""
    for name in BOOK_TABLES:
        if "id" not in t.metadata.tables[name].c or name == "books":
            continue
        sequence = conn.execute(sa.select(sa.func.pg_get_serial_sequence(name, "id"))).scalar()
        if not sequence:
            continue
        conn.execute(
            sa.text(
                f'SELECT setval(:seq, GREATEST((SELECT max(id) FROM "{name}"), '
                f"(SELECT last_value FROM {sequence}), 1))"
            ),
            {"seq": sequence},
        )
