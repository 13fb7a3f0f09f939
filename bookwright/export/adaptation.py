"""An adaptation's files (the `adapt` job): the screenplay as Fountain, PDF, FDX and
HTML, and the storyboard as HTML, PDF and JSON, rendered from the latest version of each
artifact, so an edited screenplay or storyboard exports as edited."""

from __future__ import annotations

from pathlib import Path

from bookwright.engine.books import Books
from bookwright.export import files
from bookwright.jobs.adapt import render
from bookwright.model.adapt import Screenplay, Storyboard


def is_adaptation(books: Books, book_id: str) -> bool:
    return books.get(book_id).spec.get("job") == "adapt"


def write_adaptation(books: Books, book_id: str, folder: Path) -> list[Path]:
    """Every file of the adaptation that its artifacts allow so far, into `folder`."""
    store = books.store
    title = str(books.get(book_id).spec.get("title") or book_id)
    paths: list[Path] = []
    found = store.get_artifact(book_id, "screenplay")
    if found is not None:
        fountain = Screenplay.model_validate(found[1]).fountain
        names = render.FILES
        paths.append(files.write_text(folder / names["fountain"], fountain))
        paths.append(files.write_bytes(folder / names["pdf"], render.pdf_bytes(fountain)[0]))
        paths.append(files.write_text(folder / names["fdx"], render.fdx(fountain)))
        paths.append(files.write_text(folder / names["html"], render.html(fountain)))
    found = store.get_artifact(book_id, "storyboard")
    if found is not None:
        board = Storyboard.model_validate(found[1])
        names = render.FILES
        paths.append(
            files.write_text(folder / names["storyboard"], render.storyboard_html(board, title))
        )
        paths.append(
            files.write_bytes(
                folder / names["storyboard_pdf"], render.storyboard_pdf(board, title)[0]
            )
        )
        paths.append(
            files.write_text(folder / names["storyboard_json"], render.storyboard_json(board))
        )
    return paths
