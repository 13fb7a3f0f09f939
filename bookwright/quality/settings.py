"""Settings of the quality loop, mounted in Settings as `quality` (`[quality]` in the TOML)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bookwright.model.quality import Category, RetryLevel, Severity

DEFAULT_LEVELS: dict[Category, RetryLevel] = {
    Category.prose: RetryLevel.EDIT_ONLY,
    Category.pacing: RetryLevel.EDIT_ONLY,
    Category.style: RetryLevel.EDIT_ONLY,
    Category.repetition: RetryLevel.EDIT_ONLY,
    # A misspelt or drifting name is a textual fix an edit can make.
    Category.names: RetryLevel.EDIT_ONLY,
    Category.motivation: RetryLevel.WRITE_ONLY,
    Category.hook: RetryLevel.WRITE_ONLY,
    Category.clue_fairness: RetryLevel.WRITE_ONLY,
    Category.dialogue: RetryLevel.WRITE_ONLY,
    # An edit cannot add or remove a third of a scene; a new draft to the budget can.
    Category.length: RetryLevel.WRITE_ONLY,
    Category.structure: RetryLevel.FULL_RETRY,
    Category.continuity: RetryLevel.FULL_RETRY,
    Category.safety: RetryLevel.FULL_RETRY,
}


class QualitySettings(BaseModel):
    """The judge, selective retry, the story bible and the scene context budget."""

    model_config = ConfigDict(extra="forbid")

    levels: dict[Category, RetryLevel] = Field(
        default_factory=lambda: dict(DEFAULT_LEVELS),
        description="Retry level (edit, write, full) of each issue category.",
    )
    unexplained_level: RetryLevel = Field(
        default=RetryLevel.FULL_RETRY,
        description="Retry level of a failed verdict that names no issue.",
    )
    selective: bool = Field(
        default=True, description="Redo only the failed phase; false: always redo the chapter."
    )
    escalate_after: int = Field(
        default=2, ge=1, description="Failed attempts after which a retry redoes the chapter."
    )
    max_attempts: int = Field(
        default=3, ge=1, le=20, description="Attempts per chapter before it is marked failed."
    )
    on_exhausted: Literal["stop", "keep_best"] = Field(
        default="keep_best",
        description="When a chapter fails every attempt: keep its best-scoring attempt and "
        "go on (the book finishes), or stop the book and wait (`resume` or `approve "
        "--chapter`).",
    )
    strict: bool = Field(
        default=False,
        description="A field or scene with no acceptable answer after its attempts stops the "
        "book (as before); false: the book keeps the best answer, with a warning.",
    )
    pass_score: float = Field(
        default=6.0, ge=0, le=10, description="Lowest judge score (0-10) that passes."
    )
    fail_severity: Severity = Field(
        default=Severity.major, description="An issue this severe or worse fails the chapter."
    )
    min_length_score: float = Field(
        default=60.0, ge=0, le=100, description="Lowest LongBench-Write length score that passes."
    )
    ngram_size: int = Field(default=4, ge=2, le=8, description="Words per repeated n-gram.")
    ngram_repeats: int = Field(
        default=3, ge=2, description="Occurrences that make an n-gram a repetition issue."
    )
    phrase_repeats: int = Field(
        default=2, ge=1, description="Occurrences that make a stock phrase overused."
    )
    prompt_tokens: int = Field(
        default=1200, ge=200, description="Token budget of a scene prompt's context."
    )
    retrieved_facts: int = Field(default=12, ge=0, description="Bible facts per scene prompt.")
    retrieved_passages: int = Field(default=4, ge=0, description="Passages per scene prompt.")

    @model_validator(mode="after")
    def _every_category_mapped(self) -> QualitySettings:
        # A partial [quality.levels] table overrides the defaults it names, keeps the rest.
        self.levels = {**DEFAULT_LEVELS, **self.levels}
        return self

    def level_for(self, category: Category) -> RetryLevel:
        return self.levels.get(category, self.unexplained_level)
