"""`bookwright restore`: check a backup file whole, then put its books into a home.

Everything is checked before anything is written: the manifest, every file's sha256,
the schema against this bookwright's, and that no book of the backup exists in the
target home (unless `force`). The store's rows go in one transaction; the book folders
are then moved into place from a temporary folder on the same disk.
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

from pydantic import ValidationError

from bookwright.engine.books import BookLock
from bookwright.errors import BookLocked, UsageError
from bookwright.safety.backup import sqlite_path
from bookwright.safety.manifest import (
    BOOK_TABLES,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    STORE,
    Manifest,
    schema_columns,
)
from bookwright.settings import Settings
from bookwright.store import Store, disk


class BadBackup(UsageError):
    """The file is not a bookwright backup, or it was changed or cut since it was made."""


@dataclass
class RestoreResult:
    home: Path
    manifest: Manifest
    replaced: list[str]  # books that existed and were overwritten (`force`)


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
    """Restore every book of the backup at `file` into `settings.home`."""
    if settings.on_postgres:
        raise UsageError(
            "Restoring into a PostgreSQL workspace is not supported: a book moves between "
            "SQLite homes only",
            "Restore into a SQLite home with `--into HOME`; restore a whole PostgreSQL "
            "database with `pg_restore` (README: Keeping books safe)",
        )
    with _open_archive(file) as tar:
        try:
            manifest = read_manifest(tar, file)
            _check_members(tar, manifest, file)
        except (tarfile.TarError, EOFError, zlib.error) as error:
            raise BadBackup(
                f"{file} is damaged or cut short ({error})",
                "Use another copy of the backup; nothing was restored",
            ) from None
        replaced = _check_target(settings, manifest, force)
        settings.home.mkdir(parents=True, exist_ok=True)
        try:
            with tempfile.TemporaryDirectory(dir=settings.home, prefix=".restore-") as work_dir:
                work = Path(work_dir)
                _extract(tar, manifest, work, file)
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
    return RestoreResult(settings.home, manifest, replaced)


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
