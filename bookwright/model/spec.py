"""What the author asks for: the book spec and the stages a run can halt at."""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

BOOK_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Stage(StrEnum):
    """Pipeline stages, in order. Every one of them can be a pause point."""

    plan = "plan"
    characters = "characters"
    locations = "locations"
    outline = "outline"
    scenes = "scenes"
    chapters = "chapters"
    harmonize = "harmonize"
    export = "export"


PAUSABLE_STAGES = [s for s in Stage if s is not Stage.chapters]


class BookSpec(BaseModel):
    """A book described once: the same fields as `bookwright write` flags."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(
        default=None, max_length=200, description="Title; generated when absent."
    )
    premise: str = Field(min_length=10, max_length=4000, description="What the story is about.")
    genre: str = Field(default="literary fiction", min_length=2, max_length=80)
    chapters: int = Field(default=2, ge=1, le=200, description="Number of chapters.")
    scenes_per_chapter: int = Field(default=2, ge=1, le=30)
    words_per_scene: int = Field(default=250, ge=50, le=5000)
    characters: int = Field(default=3, ge=1, le=12, description="Number of characters.")
    locations: int = Field(default=2, ge=1, le=12, description="Number of locations.")
    model: str = Field(default="local", description="`local` or PROVIDER:MODEL.")
    seed: int = Field(default=42, ge=0, le=2**31 - 1)
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    pause_at: list[Stage] = Field(default_factory=list, description="Stages to halt at.")
    judge: bool = Field(
        default=True,
        description="Judge each chapter and redo what fails (the quality loop). Left unset, "
        "off on the built-in 135M embedded model, whose verdicts are noise.",
    )
    strict: bool | None = Field(
        default=None,
        description="Stop when a field or scene has no acceptable answer after its attempts "
        "(true), or keep the best answer with a warning (false); none: `quality.strict`.",
    )
    checks: bool | None = Field(
        default=None,
        description="Without the judge, still run the checks that need no model (repetition, "
        "stock phrases, length, names) and edit the scenes they flag; set for every new book "
        "(none: a book created before, which goes on as it began).",
    )
    parallel_chapters: int = Field(
        default=1, ge=1, le=16, description="Chapters drafted at once (1: in order)."
    )
    author: str = Field(default="bookwright", max_length=200)
    language: str = Field(default="en", max_length=20)

    @field_validator("pause_at")
    @classmethod
    def _no_chapters_pause(cls, value: list[Stage]) -> list[Stage]:
        if Stage.chapters in value:
            raise ValueError("chapters is not a pause point; use outline or scenes")
        return sorted(set(value), key=list(Stage).index)

    @field_validator("title", "premise", "genre", mode="before")
    @classmethod
    def _strip(cls, value: object, info: ValidationInfo) -> object:
        """Before the length checks, so `"  short  "` is as short as `"short"`; a blank
        title is no title (one is generated)."""
        if not isinstance(value, str):
            return value
        value = value.strip()
        return None if info.field_name == "title" and not value else value
