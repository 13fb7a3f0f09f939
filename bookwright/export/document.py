"""Export a book (finished or not) in one format, or in all of them at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bookwright.engine.books import Books
from bookwright.errors import UsageError
from bookwright.export import files
from bookwright.export.adaptation import is_adaptation, write_adaptation
from bookwright.export.json_docs import chapter_documents, file_name
from bookwright.export.markdown import to_markdown
from bookwright.export.pandoc import write_pandoc
from bookwright.export.sources import BookData, gather, manuscript_of
from bookwright.export.yw7 import project_of, to_yw7

FILE_FORMATS = ("md", "epub", "docx", "yw7")
FORMATS = (*FILE_FORMATS, "json", "all")
JSON_FOLDER = "json"  # where `all` puts the chapter documents, next to the other files

__all__ = ["FORMATS", "Exported", "export_book", "manuscript_of"]


@dataclass
class Exported:
    """What an export wrote, and whether the book was still a draft."""

    paths: list[Path] = field(default_factory=list)
    draft: bool = False


def export_book(
    books: Books,
    book_id: str,
    fmt: str,
    output: Path | None = None,
    version: int | None = None,
) -> Exported:
    """Write `fmt` to `output` (a file; a folder for `json` and `all`), or to the book's folder.

    `version` picks a version of the `manuscript` artifact; by default the latest one, or,
    before there is one, a draft of the chapters written so far. `all` of an adaptation
    writes its screenplay and storyboard files (export/adaptation.py), not the book it
    adapts (export that book itself).
    """
    fmt = fmt.strip().lower()
    if fmt not in FORMATS:
        raise UsageError(f"Unknown export format {fmt!r}", f"Use one of: {', '.join(FORMATS)}")
    data = gather(books, book_id, version, scenes=fmt in ("yw7", "json", "all"))
    result = Exported(draft=data.manuscript.draft)
    if fmt in FILE_FORMATS:
        folder = books.settings.book_dir(book_id)
        result.paths.append(_write(fmt, data, _file_target(output, folder, book_id, fmt)))
        return result
    folder = _folder_target(output, books.settings.book_dir(book_id))
    if fmt == "json":
        result.paths += _write_json(data, folder)
        return result
    if is_adaptation(books, book_id):  # its own files: its manuscript is the book adapted
        result.paths += write_adaptation(books, book_id, folder)
        return result
    for each in FILE_FORMATS:
        result.paths.append(_write(each, data, folder / f"{book_id}.{each}"))
    result.paths += _write_json(data, folder / JSON_FOLDER)
    return result


def _write(fmt: str, data: BookData, path: Path) -> Path:
    writers: dict[str, Callable[[], Path]] = {
        "md": lambda: files.write_text(path, to_markdown(data.manuscript)),
        "epub": lambda: write_pandoc(data.manuscript, "epub", path, _date(data)),
        "docx": lambda: write_pandoc(data.manuscript, "docx", path, _date(data)),
        "yw7": lambda: files.write_text(path, to_yw7(project_of(data))),
    }
    return writers[fmt]()


def _write_json(data: BookData, folder: Path) -> list[Path]:
    return [
        files.write_text(
            folder / file_name(doc["metadata"]["chapter_number"]),
            json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
        )
        for doc in chapter_documents(data)
    ]


def _date(data: BookData) -> str:
    """The day the book was last written to: the same book exports the same date."""
    return data.book.updated_at[:10]


def _file_target(output: Path | None, folder: Path, book_id: str, fmt: str) -> Path:
    if output is None:
        return folder / f"{book_id}.{fmt}"
    if output.is_dir():
        return output / f"{book_id}.{fmt}"
    return output


def _folder_target(output: Path | None, folder: Path) -> Path:
    if output is None:
        return folder
    if output.exists() and not output.is_dir():
        raise UsageError(
            f"{output} is a file; `json` and `all` write several files into a folder",
            "Give a folder with -o (it is created if missing)",
        )
    return output
