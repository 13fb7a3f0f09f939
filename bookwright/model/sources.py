"""What the `sources` job records: the material as chunks with stable ids, the storyline
drawn from it, and the questions it leaves for the author. Registered in ARTIFACT_TYPES,
so `show`, `approve --edit` (the storyline) and `doctor` check them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from bookwright.model.artifacts import ARTIFACT_TYPES, Artifact, check_backward, check_numbered

Kind = Literal["memoir", "oral-history", "biography", "history", "report"]


class SourcesSpec(BaseModel):
    """A book from sources, described once: stored as the book's spec (`job = "sources"`)."""

    job: Literal["sources"] = "sources"
    sources: str = Field(description="The folder the material was read from.")
    title: str = Field(min_length=1, max_length=200)
    kind: Kind = "oral-history"
    chapters: int | None = Field(
        default=None, ge=1, le=60, description="At most; None: from the material."
    )
    words_per_chapter: int = Field(default=600, ge=50, le=20000)
    order: Literal["centrality", "chronology"] = "chronology"
    pause_at: list[Literal["storyline"]] = Field(default_factory=list)
    model: str = "local"
    seed: int = 42
    temperature: float = 0.4
    judge: bool = Field(
        default=True,
        description="Check each cited sentence against its passage; drop what it does not "
        "support (each becomes a question), and write a chapter again when too little is left.",
    )
    author: str = ""
    language: str = "en"
    strict: bool | None = None


class Chunk(Artifact):
    """A passage of one source: its id is a hash of the file's name and the text, so it
    stays the same when the folder is read again; `position` is a line range or a time."""

    id: str
    file: str
    position: str
    speaker: str = ""
    text: str


class SourceFile(Artifact):
    name: str
    sha256: str
    chunks: int = 0
    error: str = ""  # why it could not be read; the book goes on without it


class SourceIndex(Artifact):
    """The `sources` artifact: every file read (or not, and why) and every chunk."""

    files: list[SourceFile] = Field(default_factory=list)
    chunks: list[Chunk] = Field(default_factory=list)

    def chunk(self, chunk_id: str) -> Chunk | None:
        return next((c for c in self.chunks if c.id == chunk_id), None)


class StoryNode(Artifact):
    id: str
    kind: Literal["person", "period", "theme", "event"]
    label: str = Field(min_length=1, max_length=200)
    summary: str = ""
    period: str = ""  # a year or a span, where the sources give one
    chunks: list[str] = Field(min_length=1)
    centrality: float = 0.0


class PlannedChapter(Artifact):
    number: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=200)
    node: str
    chunks: list[str] = Field(min_length=1)
    depends_on: list[int] = Field(default_factory=list)


class Storyline(Artifact):
    """The `storyline` artifact: nodes ranked by centrality, and the chapter plan; halt at
    it to merge, drop or reorder (its chapters are checked like an outline's)."""

    nodes: list[StoryNode] = Field(min_length=1)
    chapters: list[PlannedChapter] = Field(min_length=1)

    @model_validator(mode="after")
    def _plan_is_sound(self) -> Storyline:
        check_numbered([c.number for c in self.chapters], "chapters")
        ids = {n.id for n in self.nodes}
        for chapter in self.chapters:
            if chapter.node not in ids:
                raise ValueError(
                    f"chapter {chapter.number} is about node {chapter.node!r}, which is no node"
                )
            check_backward(chapter.number, chapter.depends_on)
        return self


class Question(Artifact):
    text: str
    why: str
    chapters: list[int] = Field(default_factory=list)
    chunks: list[str] = Field(default_factory=list)


class Questions(Artifact):
    questions: list[Question] = Field(default_factory=list)

    def numbered(self) -> str:
        """One line each, numbered as `bookwright answer` reads them."""
        return "\n".join(
            f"{i}. {q.text} ({q.why})"
            + (f" Chapters {', '.join(map(str, q.chapters))}." if q.chapters else "")
            for i, q in enumerate(self.questions, start=1)
        )


class AnswerRound(Artifact):
    """One `bookwright answer`: the file read, the questions it answers, the chapters it
    touches and why, and the passages it added."""

    file: str
    questions: list[str] = Field(default_factory=list)
    chapters: dict[int, str] = Field(default_factory=dict)  # chapter -> why it is rewritten
    chunks: list[str] = Field(default_factory=list)


class Answers(Artifact):
    """The `answers` artifact: every round of the author's answers, and the chapters of
    the last one still to be rewritten (a chapter leaves `rewrite` once it is)."""

    rounds: list[AnswerRound] = Field(default_factory=list)
    rewrite: list[int] = Field(default_factory=list)

    @property
    def answered(self) -> set[str]:
        return {q for r in self.rounds for q in r.questions}


ARTIFACT_TYPES.update(
    sources=SourceIndex, storyline=Storyline, questions=Questions, answers=Answers
)
