"""Request and response bodies of the REST API that the domain model does not already define."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bookwright.model import BookSpec
from bookwright.model.spec import BOOK_ID_PATTERN


class NewBook(BookSpec):
    """`POST /api/books`: the fields of `bookwright write`, plus the optional id."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(  # type: ignore[assignment]
        default=None, description="`local` or PROVIDER:MODEL; default: the default_model setting."
    )
    book_id: str | None = Field(
        default=None,
        pattern=BOOK_ID_PATTERN.pattern,
        description="Book id (lowercase letters, digits, dashes); default: from the title.",
    )


class Approval(BaseModel):
    """`POST /api/books/{id}/approve`: optionally the edited artifact to use instead."""

    model_config = ConfigDict(extra="forbid")

    artifact: dict[str, Any] | None = Field(
        default=None,
        description="The edited artifact (as `GET .../artifacts/{name}` returns it); "
        "validated like `bookwright approve --edit`.",
    )
    chapters: list[Annotated[int, Field(ge=1, le=10_000)]] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Instead of a review: chapters that failed their quality checks, to "
        "keep as they are (their last attempt stands); the book goes on without writing "
        "them again. As `bookwright approve BOOK --chapter N`.",
    )


class ChapterRetry(BaseModel):
    """`POST /api/books/{id}/chapters/{n}/retry`: what to redo, as `bookwright retry`."""

    model_config = ConfigDict(extra="forbid")

    level: Literal["edit", "write", "full"] = Field(
        default="full",
        description="edit: redo the edits, keep the drafts; write: redo drafts and edits, "
        "keep the scene list; full: redo the chapter.",
    )
    cascade: bool = Field(
        default=False, description="Also rewrite the chapters that depend on this one."
    )


class Started(BaseModel):
    """A writer was queued for the book; follow it on `events_url`."""

    book_id: str
    action: str
    run_id: str | None = Field(
        description="The writer run; null when nothing needed to run (chapters kept in a "
        "complete book)."
    )
    status_url: str
    events_url: str
    summary: str | None = Field(
        default=None, description="What was read, for a job that starts from material."
    )


class Paused(BaseModel):
    book_id: str
    running: bool = Field(description="A writer was running and stops at its next step.")
    dequeued: bool = Field(description="A queued writer was taken off the queue.")
    message: str


class FailedCall(BaseModel):
    """One failed model call, as `bookwright errors --json` lists it."""

    started_at: str
    stage: str
    chapter: int | None
    scene: int | None
    field: str | None
    provider: str
    model: str
    error_class: str
    error_message: str | None


class Run(BaseModel):
    """One writer run of the server's queue."""

    run_id: str
    book_id: str
    action: str
    status: str = Field(description="ENQUEUED, PENDING (writing), SUCCESS, ERROR or CANCELLED.")
    exit_code: int | None = Field(description="The writer's exit code, as the CLI documents.")
    created_at: int | None = Field(description="Milliseconds since the epoch.")
