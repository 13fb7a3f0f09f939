"""Read back a yWriter 7 project the author edited, as a new version of the book's manuscript.

Scenes are matched by their yw7 ID to what `project_of` writes for the book now, so a scene
the author did not touch keeps its exact Markdown, and only changed scenes take the file's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bookwright.engine.books import BookLock, Books
from bookwright.errors import InvalidArtifact, UsageError, first_error
from bookwright.export.sources import BookData, gather
from bookwright.export.yw7 import (
    Yw7Error,
    YwProject,
    YwScene,
    from_yw7,
    md_paragraphs,
    project_of,
    yw_paragraphs,
)
from bookwright.model import BookSpec, Chapter, Manuscript

# The writer titles chapters "Chapter N: title"; N is the position, not part of the title.
_HEADING = re.compile(r"\A\s*Chapter\s+\d+\s*:\s*")


@dataclass
class Imported:
    """What an import stored; `reextract` names the scenes whose facts a bible must re-read."""

    version: int
    changed: list[str] = field(default_factory=list)
    retitled: list[int] = field(default_factory=list)
    deleted: int = 0

    @property
    def reextract(self) -> list[str]:
        return self.changed


@dataclass
class _Source:
    """One scene as the writer exports it now: where it sits and its Markdown text."""

    chapter: int
    text: str
    yw_text: str


def import_yw7(books: Books, book_id: str, path: Path) -> Imported:
    """Store the edited project at `path` as a new `manuscript` version of `book_id`.

    Nothing is stored unless the whole file is read and validated first.
    """
    books.get(book_id)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or exc}", "Check the path") from None
    try:
        edited = from_yw7(raw)
    except Yw7Error as exc:
        raise InvalidArtifact(
            f"{path.name} line {exc.line}: {exc.reason}", "Fix the file and import again"
        ) from None
    with BookLock(books.settings.book_dir(book_id), book_id):
        data = gather(books, book_id, scenes=True)
        manuscript, scenes, result = _manuscript(data, edited, path)
        for name, scene in scenes.items():
            books.store.put_artifact(book_id, name, scene, source="imported")
        _carry_into_chapters(books, data, manuscript)
        record = manuscript.model_dump(mode="json")
        result.version = books.store.put_artifact(book_id, "manuscript", record, "imported")
        books.store.put_artifact(
            book_id,
            "import",
            {
                "file": path.name,
                "manuscript_version": result.version,
                "changed": result.changed,
                "retitled": result.retitled,
                "deleted": result.deleted,
                "reextract": result.reextract,
            },
            source="imported",
        )
    return result


def _carry_into_chapters(books: Books, data: BookData, manuscript: Manuscript) -> None:
    """Store the imported text where a later chapter retry rebuilds the book from (each
    `chapter:N`, the plan's title, the spec's author), so that no later operation drops it.
    A project whose chapters no longer match the outline's cannot be carried: then
    `Books.unmerged_manuscript` says so and a chapter retry is refused."""
    store, book_id = books.store, data.book.id
    outline = [c.number for c in data.outline.chapters] if data.outline else []
    if [c.number for c in manuscript.chapters] != outline:
        return
    for chapter in manuscript.chapters:
        found = store.get_artifact(book_id, f"chapter:{chapter.number}")
        record = chapter.model_dump(mode="json")
        if found is None or {k: found[1].get(k) for k in record} != record:
            merged = {**(found[1] if found else {}), **record}
            store.put_artifact(book_id, f"chapter:{chapter.number}", merged, source="imported")
    if data.plan is not None and data.plan.title != manuscript.title:
        plan = data.plan.model_copy(update={"title": manuscript.title})
        store.put_artifact(book_id, "plan", plan.model_dump(mode="json"), source="imported")
    spec = dict(data.book.spec)
    if spec.get("author") != manuscript.author:
        try:
            updated = BookSpec.model_validate({**spec, "author": manuscript.author})
        except ValidationError:
            return  # e.g. an author name over the spec's limit: the retry check refuses
        store.update_book(book_id, spec=updated.model_dump(mode="json"))


def _manuscript(
    data: BookData, edited: YwProject, path: Path
) -> tuple[Manuscript, dict[str, dict[str, Any]], Imported]:
    current = project_of(data)
    sources = _sources(data, current)
    titles = {c.id: _title(c.title) for c in current.chapters}
    titles.update({c.number: c.title for c in data.manuscript.chapters})
    by_id = {s.id: s for s in edited.scenes}
    result = Imported(version=0)
    chapters: list[Chapter] = []
    scenes: dict[str, dict[str, Any]] = {}
    kept: set[int] = set()
    for yw_chapter in edited.chapters:
        number = len(chapters) + 1
        texts: list[str] = []
        for scene_id in yw_chapter.scene_ids:
            scene = by_id[scene_id]
            text, changed = _text(scene, sources.get(scene_id))
            if not text:
                continue  # a planned scene nobody has written yet
            kept.add(scene_id)
            texts.append(text)
            if changed:
                name = f"scene:{number}:{len(texts)}"
                result.changed.append(name)
                scenes[name] = {
                    "chapter": number,
                    "scene": len(texts),
                    "text": text,
                    "kept_draft": False,
                    "reextract": True,
                }
        if not texts:
            continue
        title = _title(yw_chapter.title)
        if title != titles.get(yw_chapter.id, title):
            result.retitled.append(number)
        chapters.append(_chapter(number, title, texts, yw_chapter.line, path))
    result.deleted = sum(1 for i, s in sources.items() if s.text and i not in kept)
    manuscript = data.manuscript.model_copy(
        update={
            "title": edited.title.strip() or data.manuscript.title,
            "author": edited.author.strip(),
            "chapters": chapters,
        }
    )
    return manuscript, scenes, result


def _sources(data: BookData, project: YwProject) -> dict[int, _Source]:
    """Each exported scene's ID -> its Markdown, chosen exactly as `project_of` chooses it."""
    sources: dict[int, _Source] = {}
    for chapter in project.chapters:
        written = data.chapter(chapter.id)
        for index, scene_id in enumerate(chapter.scene_ids, start=1):
            state = data.scenes.get((chapter.id, index))
            if state is not None:
                text = state.text
            elif written is not None and index <= len(written.scenes):
                text = written.scenes[index - 1]
            else:
                text = ""
            sources[scene_id] = _Source(chapter.id, text, yw_paragraphs(text))
    return sources


def _text(scene: YwScene, source: _Source | None) -> tuple[str, bool]:
    """The scene's Markdown: the book's own text when unchanged (byte for byte), else the file's."""
    markdown = md_paragraphs(scene.content)
    if source is not None and yw_paragraphs(markdown) == source.yw_text:
        return source.text.strip(), False
    return markdown, True


def _title(heading: str) -> str:
    return _HEADING.sub("", heading, count=1).strip()


def _chapter(number: int, title: str, scenes: list[str], line: int, path: Path) -> Chapter:
    try:
        return Chapter(number=number, title=title, scenes=scenes)
    except ValidationError as exc:
        first = first_error(exc)
        raise InvalidArtifact(
            f"{path.name} line {line}: chapter {first.where}: {first.msg}",
            "Fix the file and import again",
        ) from None
