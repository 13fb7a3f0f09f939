"""What the author's commands tell a waiting book: a resume (and the chapters to keep)
or a retry. Shared by the runner here and the dispatcher that hands books to workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bookwright.store import Store


@dataclass(frozen=True)
class RetryRequest:
    """`bookwright retry BOOK --chapter N --level L [--cascade]`."""

    chapter: int
    level: str = "full"  # edit, write or full
    cascade: bool = False  # also redo the chapters that depend on it

    def cli_args(self) -> list[str]:
        """The options of `bookwright retry BOOK` that ask for this."""
        return [
            "--chapter",
            str(self.chapter),
            "--level",
            self.level,
            *(["--cascade"] if self.cascade else []),
        ]


def attempts_so_far(store: Store, book_id: str) -> dict[str, int]:
    """Attempts each written chapter has had (its retry count + 1), for a retry to go on
    from: it samples with new seeds and counts on from there."""
    return {
        str(c["number"]): int(c["retry_count"] or 0) + 1
        for c in store.chapters(book_id)
        if c["status"] != "pending"
    }


def resume_message(token: str, accept: list[int] | None = None) -> dict[str, Any]:
    """What ends a book's wait: the token of that wait, and the chapters to keep as they
    are (`approve --chapter`), if any."""
    return {"token": token, **({"accept": sorted(set(accept))} if accept else {})}
