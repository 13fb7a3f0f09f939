"""The workspace is readable by its owner only: it holds every prompt, every draft and
the provider names a book used. Folders bookwright creates are 0700, database files 0600
(SQLite gives its -wal and -shm files the mode of the database file)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_folder(path: Path) -> Path:
    """Create `path` (and missing parents) for the owner only; an existing folder is left as
    the user made it."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # another process made it a moment ago
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
    return path


def private_file(path: Path) -> Path:
    """Create an empty file at `path` for the owner only, unless it exists."""
    private_folder(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    return path
