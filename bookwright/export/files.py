"""Export files are written atomically: a temporary file next to the target, then a rename."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bookwright.errors import UsageError


@contextmanager
def atomic_target(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on failure it vanishes.

    The temporary file sits in the target's folder, so the final rename never crosses a
    file system and a reader sees either the old file or the complete new one.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(path.parent, exc) from None
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        tmp.replace(path)
    except OSError as exc:
        raise _unwritable(path, exc) from None
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_target(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_text(path: Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def _unwritable(path: Path, exc: OSError) -> UsageError:
    return UsageError(f"Cannot write {path}: {exc.strerror or exc}", "Choose another path with -o")
