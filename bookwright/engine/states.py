"""A book's state machine in one place: what it waits for, and what may be done to it now.

The CLI, the API, the dashboard's launcher and the workers ask here instead of reading
`status` and `waiting_for` themselves. A refusal is a `Conflict` whose remedies are data
(`Next`), which each face words its own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bookwright.errors import Conflict, Next

# A book in one of these states is not being written: nothing runs until someone acts.
STOPPED = frozenset({"completed", "failed", "halted", "paused"})
APPROVE: Literal["approve"] = "approve"
RESUME: Literal["resume"] = "resume"


class BookState(Protocol):
    """What the rules read of a book (a `store.BookRecord`)."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def waiting_for(self) -> str | None: ...
    @property
    def wait_token(self) -> str | None: ...


@dataclass(frozen=True)
class Waiting:
    """What a book's workflow waits for, parsed once from the stored `waiting_for`:
    nothing, a `resume`, or the approval of a stage's artifact (`approve:<stage>`)."""

    kind: Literal["approve", "resume"] | None = None
    stage: str | None = None

    @classmethod
    def parse(cls, stored: str | None) -> Waiting:
        if not stored:
            return cls()
        if stored.startswith(f"{APPROVE}:"):
            return cls(APPROVE, stored.split(":", 1)[1])
        if stored == RESUME:
            return cls(RESUME)
        raise ValueError(f"a book cannot wait for {stored!r}")

    @classmethod
    def of(cls, book: BookState) -> Waiting:
        return cls.parse(book.waiting_for)

    @property
    def review(self) -> bool:
        """Halted at a stage for its author to review and approve."""
        return self.kind == APPROVE

    @property
    def stored(self) -> str | None:
        """The form kept in the store (and the DBOS topic the workflow waits on)."""
        if self.kind == APPROVE:
            return f"{APPROVE}:{self.stage}"
        return self.kind


def approve_topic(stage: str) -> str:
    """The topic (and `waiting_for`) of a wait for the approval of `stage`."""
    return f"{APPROVE}:{stage}"


def review_artifact(stage: str) -> str:
    """The artifact an author reviews when the book halts at `stage`."""
    return "manuscript" if stage in ("harmonize", "export") else stage


def stopped(book: BookState) -> bool:
    return book.status in STOPPED


def check_approve(book: BookState, *, token: bool = False) -> Waiting:
    """The review a book waits for; a `Conflict` when it waits for none (or, with
    `token`, when that wait has no token for an approval to carry)."""
    waiting = Waiting.of(book)
    if not waiting.review or (token and not book.wait_token):
        raise Conflict(
            f"Book {book.id!r} is not waiting for approval (status {book.status})",
            (Next(RESUME, book.id),) if book.status != "completed" else (),
            "" if book.status != "completed" else "It is complete: export it",
        )
    return waiting


def check_resume(book: BookState) -> None:
    """A `Conflict` when a resume would be the wrong thing: the book waits for review.

    A completed book is not refused here: resuming it does nothing (the CLI reports its
    status); the API refuses it on its own terms.
    """
    waiting = Waiting.of(book)
    if waiting.review:
        stage = str(waiting.stage)
        raise Conflict(
            f"Book {book.id!r} is halted at {stage} for review",
            (Next("show", book.id, review_artifact(stage)), Next(APPROVE, book.id)),
        )


def check_retry(book: BookState) -> None:
    """Only a completed book's chapters are retried."""
    if book.status != "completed":
        raise Conflict(
            f"Book {book.id!r} is {book.status}; only a completed book's chapters are retried",
            (Next(RESUME, book.id),),
        )
