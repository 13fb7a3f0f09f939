"""Build the manuscript of any book (finished or not) and write it in a format."""

from __future__ import annotations

from pathlib import Path

from bookwright.engine.books import Books
from bookwright.errors import UsageError
from bookwright.export.markdown import to_markdown
from bookwright.model import Chapter, Manuscript

FORMATS = ("md",)


def manuscript_of(books: Books, book_id: str) -> Manuscript:
    """The final manuscript when there is one, else a draft of the chapters written so far."""
    book = books.get(book_id)
    found = books.store.get_artifact(book_id, "manuscript")
    if found is not None and book.status == "completed":
        return Manuscript.model_validate(found[1])
    chapters = []
    for row in books.store.chapters(book_id):
        data = books.store.get_artifact(book_id, f"chapter:{row['number']}")
        if data is not None:
            chapters.append(Chapter.model_validate(data[1]))
    spec = book.spec
    return Manuscript(
        title=book.title,
        author=spec.get("author", "bookwright"),
        language=spec.get("language", "en"),
        genre=spec.get("genre", ""),
        chapters=chapters,
        draft=True,
    )


def export_book(books: Books, book_id: str, fmt: str, output: Path | None) -> tuple[Path, bool]:
    if fmt not in FORMATS:
        raise UsageError(f"Unknown export format {fmt!r}", f"Use one of: {', '.join(FORMATS)}")
    manuscript = manuscript_of(books, book_id)
    path = output or books.settings.book_dir(book_id) / f"{book_id}.{fmt}"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(to_markdown(manuscript), encoding="utf-8")
    tmp.replace(path)
    return path, manuscript.draft
