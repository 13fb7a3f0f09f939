"""Quality-loop types: story bible facts, judge issues and verdicts, retry levels.

Plain pydantic models that dump to JSON, so DBOS steps can return them as model dumps.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Category(StrEnum):
    """What kind of problem an issue is; settings map each one to a retry level."""

    prose = "prose"
    pacing = "pacing"
    style = "style"
    repetition = "repetition"
    names = "names"
    motivation = "motivation"
    hook = "hook"
    clue_fairness = "clue_fairness"
    dialogue = "dialogue"
    length = "length"
    structure = "structure"
    continuity = "continuity"
    safety = "safety"


class Severity(StrEnum):
    minor = "minor"
    major = "major"
    critical = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.minor: 0, Severity.major: 1, Severity.critical: 2}


class RetryLevel(StrEnum):
    """How much of a chapter a retry redoes; the value is the CLI's `--level` word."""

    EDIT_ONLY = "edit"  # redo the edits, keep the drafts
    WRITE_ONLY = "write"  # redo write and edit, keep the scene list
    FULL_RETRY = "full"  # redo the chapter's scene list, writes and edits

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    @property
    def redoes(self) -> tuple[str, ...]:
        """The chapter phases this level runs again, in order."""
        return _LEVEL_REDOES[self]


_LEVEL_RANK = {RetryLevel.EDIT_ONLY: 0, RetryLevel.WRITE_ONLY: 1, RetryLevel.FULL_RETRY: 2}
_LEVEL_REDOES = {
    RetryLevel.EDIT_ONLY: ("edit",),
    RetryLevel.WRITE_ONLY: ("write", "edit"),
    RetryLevel.FULL_RETRY: ("scenes", "write", "edit"),
}


class QualityModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Fact(QualityModel):
    """One typed fact of the story bible, from the scene that states it.

    It holds from `from_chapter` through `until_chapter` (inclusive; None: still holds).
    """

    subject: str = Field(min_length=1, max_length=120)
    attribute: str = Field(min_length=1, max_length=60)
    value: str = Field(min_length=1, max_length=200)
    from_chapter: int = Field(ge=1)
    scene: int | None = Field(default=None, ge=1)
    until_chapter: int | None = None

    @field_validator("subject", "attribute", "value")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("must not be empty")
        return value

    @property
    def key(self) -> tuple[str, str]:
        """What the fact is about: (subject, attribute), case-insensitive."""
        return self.subject.casefold(), self.attribute.casefold()

    @property
    def ref(self) -> str:
        """A stable reference to this fact, used by Issue.contradicts."""
        where = f"{self.from_chapter}.{self.scene}" if self.scene else str(self.from_chapter)
        return f"{self.subject} | {self.attribute} | {self.value} @{where}"

    def holds_at(self, chapter: int) -> bool:
        return self.from_chapter <= chapter and (
            self.until_chapter is None or chapter <= self.until_chapter
        )

    def same_value(self, other: Fact) -> bool:
        return self.value.casefold() == other.value.casefold()


class StoryBible(QualityModel):
    """Every fact with the chapters it holds for; a changed value closes the old fact."""

    facts: list[Fact] = Field(default_factory=list)

    @classmethod
    def build(cls, chapters: Iterable[Iterable[Fact]]) -> StoryBible:
        """The bible from each chapter's extracted facts: derived data, rebuilt at will.

        A retried chapter's new facts replace its old ones by rebuilding from the
        stored per-chapter lists, so no stale value survives a retry.
        """
        bible = cls()
        for facts in chapters:
            bible = bible.with_facts(facts)
        return bible

    def with_facts(self, facts: Iterable[Fact]) -> StoryBible:
        """A new bible with `facts` merged in, in story order.

        A fact with the same value as the one holding is already known (kept once, from
        its first chapter); a new value closes the holding fact the chapter before.
        """
        # Intervals are derived: recomputed from every fact, so the order of merges is free.
        ordered = [f.model_copy(update={"until_chapter": None}) for f in [*self.facts, *facts]]
        ordered.sort(key=lambda f: (f.from_chapter, f.scene or 0))
        merged: list[Fact] = []
        holding: dict[tuple[str, str], int] = {}  # key -> index in merged of the open fact
        for fact in ordered:
            index = holding.get(fact.key)
            if index is not None:
                current = merged[index]
                if current.same_value(fact):
                    continue
                merged[index] = current.model_copy(update={"until_chapter": fact.from_chapter - 1})
            holding[fact.key] = len(merged)
            merged.append(fact)
        return StoryBible(facts=merged)

    def valid_at(self, chapter: int) -> list[Fact]:
        """The facts that hold in `chapter` (a fact changed within its own chapter never holds)."""
        return [f for f in self.facts if f.holds_at(chapter)]

    def about(self, subjects: Iterable[str], chapter: int) -> list[Fact]:
        """The facts holding in `chapter` whose subject is one of `subjects`."""
        wanted = {s.casefold() for s in subjects}
        return [f for f in self.valid_at(chapter) if f.subject.casefold() in wanted]

    def current(self, subject: str, attribute: str, chapter: int) -> Fact | None:
        key = (subject.casefold(), attribute.casefold())
        return next((f for f in self.valid_at(chapter) if f.key == key), None)

    def from_chapter(self, chapter: int) -> list[Fact]:
        return [f for f in self.facts if f.from_chapter == chapter]


class Issue(QualityModel):
    """One problem in a chapter, with its evidence: a quote that occurs in the text."""

    category: Category
    severity: Severity = Severity.minor
    evidence: str = ""
    note: str = ""
    contradicts: list[str] = Field(default_factory=list)  # Fact.ref of each fact it breaks
    scene: int | None = None
    source: str = "judge"  # "judge" or the name of the deterministic check


class Checks(QualityModel):
    """What the deterministic checks measured; shown to the judge and kept in the verdict."""

    target_words: int = 0
    words: int = 0
    length_score: float = 100.0  # LongBench-Write S_l, 0-100
    repeated_ngrams: dict[str, int] = Field(default_factory=dict)
    overused_phrases: dict[str, int] = Field(default_factory=dict)
    contradictions: int = 0
    unknown_names: dict[str, str] = Field(default_factory=dict)  # found -> known name


class Verdict(QualityModel):
    """The judge's verdict on one chapter attempt."""

    passed: bool
    score: float = Field(ge=0, le=10)
    issues: list[Issue] = Field(default_factory=list)
    checks: Checks = Field(default_factory=Checks)
    dropped: list[str] = Field(default_factory=list)  # judge lines refused, with the reason


class PromptBreakdown(QualityModel):
    """Approximate tokens per section of an assembled prompt, and what had to give way."""

    budget: int
    sections: dict[str, int] = Field(default_factory=dict)
    trimmed: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.sections.values())
