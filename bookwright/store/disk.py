"""A full disk and a damaged database file, told apart from bugs and turned into one clear
error with what to do.

One SQLAlchemy hook on every engine (the content store's and DBOS's) sees each database
error. A damaged file raises `DamagedDatabase` naming the latest backup. A full disk
raises `DiskFull`, except inside a book run (`armed`): there the thread that hit it stops
where it is, so DBOS records neither the step's result nor its failure (a recorded
failure would be replayed on every resume), and the run's main thread ends the process
with exit 3, exactly like a kill at that step. `resume` then redoes that step only.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bookwright.errors import DamagedDatabase, DiskFull

BACKUP_LOG = "backups.jsonl"  # in the home: one line per backup written, for the remedies
_FULL = ("database or disk is full",)
_DAMAGED = ("database disk image is malformed", "file is not a database")


class _Latch:
    def __init__(self) -> None:
        self.armed = False
        self.error: DiskFull | None = None
        self.hit = threading.Event()


_latch = _Latch()
_installed = False


def install() -> None:
    """Watch every SQLAlchemy engine of this process (idempotent)."""
    global _installed
    if not _installed:
        sa.event.listen(sa.Engine, "handle_error", _on_error)
        _installed = True


def arm() -> None:
    """This process runs a book: a full disk stops the thread that meets it (see above)."""
    install()
    _latch.armed = True


def stopped(book_id: str) -> DiskFull | None:
    """The error to end a book run with, once a thread met a full disk."""
    if not _latch.hit.is_set() or _latch.error is None:
        return None
    found = _latch.error
    return DiskFull(
        f"Book {book_id} stopped: {found.message}",
        f"{found.remedy}, then `bookwright resume {book_id}`; nothing written so far is lost",
    )


def is_full(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) is a full disk or quota."""
    seen = 0
    while error is not None and seen < 8:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(error, sqlite3.OperationalError | sa.exc.OperationalError) and any(
            text in str(error) for text in _FULL
        ):
            return True
        error = getattr(error, "orig", None) or error.__cause__ or error.__context__
        seen += 1
    return False


def disk_full(path: Path | str) -> DiskFull:
    """The error for a full disk under `path`, with how much is free there."""
    where = Path(path)
    probe = where if where.exists() else where.parent
    try:
        free = f"{shutil.disk_usage(probe).free / 1e6:.1f} MB free"
    except OSError:
        free = "free space unknown"
    return DiskFull(
        f"No space left on the disk that holds {where} ({free})",
        "Free space there: `bookwright gc` drops what finished books no longer need; "
        "old exports and backups can go too",
    )


def report_full(path: Path | str) -> None:
    """Meet a full disk: in a book run's worker thread, stop here; otherwise raise."""
    found = disk_full(path)
    if _latch.armed and threading.current_thread() is not threading.main_thread():
        if not _latch.hit.is_set():
            _latch.error = found
            _latch.hit.set()
        threading.Event().wait()  # until the process exits; nothing is recorded
    raise found from None


def damaged(path: Path | str, error: BaseException | str) -> DamagedDatabase:
    """The error for a database file that SQLite cannot read, naming the backup to use."""
    reason = str(getattr(error, "orig", None) or error).splitlines()[0]
    return DamagedDatabase(f"The database {path} is damaged ({reason})", restore_remedy(path))


def restore_remedy(path: Path | str) -> str:
    """What to do about a damaged file: restore the latest backup that holds it."""
    latest = latest_backup(Path(path))
    if latest is None:
        return (
            "Restore it from a backup with `bookwright restore FILE --force`; without one, "
            "`sqlite3 FILE .recover` may save part of it. `bookwright doctor` lists the rest"
        )
    return (
        f"Restore the latest backup: `bookwright restore {latest['file']} --force` (made "
        f"{latest['created_at'][:19]}); `bookwright doctor` lists the rest"
    )


def latest_backup(path: Path) -> dict[str, Any] | None:
    """The last backup recorded in the home that holds the file at `path`."""
    for home in (path.parent, *path.parents):
        log = home / BACKUP_LOG
        if log.exists():
            break
    else:
        return None
    found = None
    for line in log.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if Path(entry.get("file", "")).exists():
            found = entry
    return found


def _on_error(context: sa.engine.ExceptionContext) -> None:
    original = context.original_exception
    engine = context.engine
    path = engine.url.database if engine is not None and engine.url.database else "?"
    if engine is not None and engine.dialect.name != "sqlite":
        return
    if is_full(original):
        report_full(path)
    if any(text in str(original) for text in _DAMAGED):
        raise damaged(path, original) from None
