"""Everything an export reads about one book, gathered once from the store.

Formats receive a `BookData` and never touch the store, so each can be tested (and later
parsed back) without a database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

from pydantic import BaseModel

from bookwright.engine.books import Books
from bookwright.errors import UsageError
from bookwright.model import (
    Cast,
    Chapter,
    Locations,
    Manuscript,
    Outline,
    SceneLists,
    StoryPlan,
)
from bookwright.store import BookRecord, Store

M = TypeVar("M", bound=BaseModel)


class SceneStage(IntEnum):
    """How far one scene got; the values are yWriter's scene status codes."""

    planned = 1
    drafted = 2
    edited = 3
    done = 5


@dataclass
class SceneState:
    text: str
    stage: SceneStage
    kept_draft: bool = False


@dataclass
class BookData:
    book: BookRecord
    manuscript: Manuscript
    manuscript_version: int | None
    plan: StoryPlan | None = None
    cast: Cast | None = None
    places: Locations | None = None
    outline: Outline | None = None
    scene_lists: SceneLists | None = None
    scenes: dict[tuple[int, int], SceneState] = field(default_factory=dict)
    chapter_rows: list[dict[str, Any]] = field(default_factory=list)
    # A book from sources: what each chapter cites (chapter number -> references).
    source_references: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.book.status == "completed"

    def chapter(self, number: int) -> Chapter | None:
        return next((c for c in self.manuscript.chapters if c.number == number), None)


def manuscript_of(books: Books, book_id: str, version: int | None = None) -> Manuscript:
    """The manuscript (a chosen version, or the latest), else a draft of the chapters so far."""
    return _manuscript(books, books.get(book_id), version)[0]


def gather(
    books: Books, book_id: str, version: int | None = None, scenes: bool = False
) -> BookData:
    """Read the book's artifacts; `scenes` also reads every scene's text (for yWriter)."""
    book = books.get(book_id)
    manuscript, found_version = _manuscript(books, book, version)
    store = books.store
    data = BookData(
        book=book,
        manuscript=manuscript,
        manuscript_version=found_version,
        plan=_load(store, book_id, "plan", StoryPlan),
        cast=_load(store, book_id, "characters", Cast),
        places=_load(store, book_id, "locations", Locations),
        outline=_load(store, book_id, "outline", Outline),
        scene_lists=_load(store, book_id, "scenes", SceneLists),
        chapter_rows=store.chapters(book_id),
    )
    cited = store.get_artifact(book_id, "source_references")
    if cited is not None:
        data.source_references = {int(k): v for k, v in cited[1].items()}
    if scenes and data.scene_lists is not None:
        data.scenes = _scene_states(store, data)
    return data


def _manuscript(
    books: Books, book: BookRecord, version: int | None
) -> tuple[Manuscript, int | None]:
    store = books.store
    found = store.get_artifact(book.id, "manuscript", version)
    if version is not None and found is None:
        raise _unknown_version(store, book.id, version)
    draft = book.status != "completed"
    if found is not None:
        manuscript = Manuscript.model_validate(found[1])
        return manuscript.model_copy(update={"draft": draft or manuscript.draft}), found[0]
    chapters = []
    for row in store.chapters(book.id):
        chapter = _load(store, book.id, f"chapter:{row['number']}", Chapter)
        if chapter is not None:
            chapters.append(chapter)
    spec = book.spec
    manuscript = Manuscript(
        title=book.title,
        author=spec.get("author", "bookwright"),
        language=spec.get("language", "en"),
        genre=spec.get("genre", ""),
        chapters=chapters,
        draft=True,
    )
    return manuscript, None


def _unknown_version(store: Store, book_id: str, version: int) -> UsageError:
    latest = store.get_artifact(book_id, "manuscript")
    if latest is None:
        return UsageError(
            f"Book {book_id!r} has no manuscript yet, so no version {version}",
            "Export without --version to get a draft of the chapters written so far",
        )
    # put_artifact numbers versions 1, 2, ... with no gaps.
    versions = ", ".join(str(v) for v in range(1, latest[0] + 1))
    return UsageError(
        f"Book {book_id!r} has no manuscript version {version}",
        f"Versions that exist: {versions}",
    )


def _load(store: Store, book_id: str, name: str, kind: type[M]) -> M | None:
    found = store.get_artifact(book_id, name)
    return kind.model_validate(found[1]) if found is not None else None


def _scene_states(store: Store, data: BookData) -> dict[tuple[int, int], SceneState]:
    assert data.scene_lists is not None
    states: dict[tuple[int, int], SceneState] = {}
    for entry in data.scene_lists.chapters:
        chapter = data.chapter(entry.chapter)
        for plan in entry.scenes:
            key = (entry.chapter, plan.number)
            edited = store.get_artifact(data.book.id, f"scene:{key[0]}:{key[1]}")
            kept = bool(edited[1].get("kept_draft")) if edited else False
            if chapter is not None and plan.number <= len(chapter.scenes):
                # The manuscript's text wins: it may have been edited at a review halt.
                stage = SceneStage.done if data.finished else SceneStage.edited
                states[key] = SceneState(chapter.scenes[plan.number - 1], stage, kept)
            elif edited is not None:
                states[key] = SceneState(str(edited[1]["text"]), SceneStage.edited, kept)
            elif draft := store.get_artifact(data.book.id, f"draft:{key[0]}:{key[1]}"):
                states[key] = SceneState(str(draft[1]["text"]), SceneStage.drafted)
            else:
                states[key] = SceneState("", SceneStage.planned)
    return states
