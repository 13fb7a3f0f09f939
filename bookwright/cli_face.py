"""What the job commands (review, adapt) need of the `bookwright` command: reading the
settings, the book service, the one error line, and running a book with its progress.
`bookwright.cli` fills it in before it registers them, so they never import it back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn


@dataclass(frozen=True)
class Face:
    settings: Callable[[Any], Any]  # (settings file or None) -> Settings
    books: Callable[[Any], Any]  # (Settings) -> Books
    fail: Callable[[Any], NoReturn]  # (BookwrightError) -> exits
    run: Callable[[Any, str], NoReturn]  # (Settings, book id) -> runs it, then exits


_face: list[Face] = []


def set_face(face: Face) -> None:
    _face[:] = [face]


def face() -> Face:
    return _face[0]
