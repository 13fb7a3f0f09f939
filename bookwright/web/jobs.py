"""Starting the other jobs over the API, as their commands do: a book from sources
(`write --sources`: files uploaded, or a folder on the server), a review (a manuscript
uploaded, a file on the server, or a book of the workspace), an adaptation of a finished
book, and the author's answers to a book's questions (`bookwright answer`).

Uploads are kept in the home's `uploads/` folder (the book's spec names it, so the book
can read its material again); a refused start removes what it saved.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from bookwright.errors import BookwrightError, UsageError
from bookwright.model.spec import BOOK_ID_PATTERN
from bookwright.store.private import private_folder
from bookwright.web.api import books_of, launcher_of, refuse_busy, started
from bookwright.web.errors import ERROR_RESPONSES
from bookwright.web.schemas import Started

router = APIRouter(prefix="/api", responses=ERROR_RESPONSES)  # type: ignore[arg-type]
MAX_UPLOAD_BYTES = 200 * 2**20  # all files of one request together
UPLOADS = "uploads"
# What a job writes in its book's folder, by suffix: served as it is (never its databases)
OUTPUTS = {
    ".md": "text/markdown; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
    ".fdx": "application/xml",
    ".fountain": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
}
# A job's own page (a screenplay, a storyboard, a chart) runs no script and loads nothing
OUTPUT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
BookId = Annotated[str | None, Form(pattern=BOOK_ID_PATTERN.pattern)]
Files = Annotated[list[UploadFile], File(description="The files, as many as there are.")]


def _save(request: Request, files: list[UploadFile]) -> Path:
    """The uploaded files in a new folder of the home's uploads, by their own names
    (never a path: `../x` is `x`); refused when one has no name or all are too large."""
    home = books_of(request).settings.home
    folder = private_folder(home / UPLOADS / uuid.uuid4().hex[:12])
    total = 0
    try:
        for upload in files:
            name = Path((upload.filename or "").replace("\\", "/")).name
            if not name or name.startswith("."):
                raise UsageError(
                    f"An uploaded file has no usable name ({upload.filename!r})",
                    "Give each file a name with its format's suffix (.txt, .md, .docx, ...)",
                )
            target, n = folder / name, 2
            while target.exists():
                target, n = folder / f"{Path(name).stem}-{n}{Path(name).suffix}", n + 1
            data = upload.file.read(MAX_UPLOAD_BYTES - total + 1)
            total += len(data)
            if total > MAX_UPLOAD_BYTES:
                raise UsageError(
                    f"The upload is larger than {MAX_UPLOAD_BYTES // 2**20} MiB",
                    "Send fewer or smaller files, or give a folder on the server instead",
                )
            target.write_bytes(data)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _one_of(first: object, second: object, what: str, names: tuple[str, str]) -> None:
    """Exactly one of two ways to give `what` (two form fields, `names`)."""
    if bool(first) == bool(second):
        raise UsageError(
            f"Give {what} as `{names[0]}` or as `{names[1]}`"
            + (", not both" if first else ": neither was sent"),
            f"Send the form field `{names[0]}` or `{names[1]}` (multipart/form-data)",
        )


@router.post("/sources", status_code=202, response_model=Started, tags=["jobs"])
def start_sources_book(
    request: Request,
    title: Annotated[str, Form(min_length=1, max_length=200)],
    files: Annotated[list[UploadFile] | None, File(description="The material.")] = None,
    path: Annotated[str | None, Form(description="Or a folder on the server.")] = None,
    kind: Annotated[str, Form()] = "oral-history",
    chapters: Annotated[int | None, Form(ge=1, le=60)] = None,
    words_per_chapter: Annotated[int, Form(ge=50, le=20000)] = 600,
    order: Annotated[str, Form()] = "chronology",
    pause_at: Annotated[list[str] | None, Form()] = None,
    model: Annotated[str | None, Form()] = None,
    seed: Annotated[int, Form()] = 42,
    author: Annotated[str, Form(max_length=200)] = "",
    book_id: BookId = None,
) -> Started:
    """A non-fiction book from interviews, transcripts and notes (`bookwright write
    --sources`): upload the files (multipart `files`), or name a folder on the server
    (`path`). Everything is read and checked before the book is recorded."""
    from bookwright.cli_sources import start_sources

    _one_of(files, path, "the material", ("files", "path"))
    books = books_of(request)
    folder = _save(request, files) if files else Path(str(path)).expanduser()
    values = {
        "sources": str(folder),
        "title": title,
        "kind": kind,
        "chapters": chapters,
        "words_per_chapter": words_per_chapter,
        "order": order,
        "pause_at": pause_at or [],
        "model": model or books.settings.default_model,
        "seed": seed,
        "author": author,
    }
    try:
        new_id, summary = start_sources(books, values, book_id)
    except BookwrightError:
        if files:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return started(new_id, "sources", launcher_of(request).start(new_id, "resume"), summary)


@router.post("/reviews", status_code=202, response_model=Started, tags=["jobs"])
def start_review_book(
    request: Request,
    file: Annotated[UploadFile | None, File(description="The manuscript.")] = None,
    source: Annotated[
        str | None, Form(description="Or a book of the workspace, or a file on the server.")
    ] = None,
    title: Annotated[str | None, Form(max_length=200)] = None,
    genre: Annotated[str, Form(max_length=100)] = "",
    target_words: Annotated[int | None, Form(ge=1)] = None,
    themes: Annotated[str, Form(description="Comma-separated.")] = "",
    audience: Annotated[str, Form(max_length=200)] = "",
    revise: Annotated[bool, Form()] = False,
    max_iterations: Annotated[int, Form(ge=1, le=20)] = 3,
    threshold: Annotated[float, Form(ge=0, le=10)] = 8.5,
    pause_at: Annotated[list[str] | None, Form()] = None,
    model: Annotated[str | None, Form()] = None,
    seed: Annotated[int, Form()] = 42,
    book_id: BookId = None,
) -> Started:
    """Analyse (and with `revise`, revise) a manuscript, as `bookwright review`: upload it
    (`.md`, `.txt`, `.docx`, `.epub`, `.odt`, `.rtf`, `.html`, `.yw7`), or name a book of
    the workspace or a file on the server (`source`)."""
    from bookwright.cli_review import start_review

    _one_of(file, source, "the manuscript", ("file", "source"))
    books = books_of(request)
    folder = _save(request, [file]) if file else None
    where = str(next(folder.iterdir())) if folder else str(source)
    options = {
        "title": title,
        "genre": genre,
        "target_words": target_words,
        "themes": [t.strip() for t in themes.split(",") if t.strip()],
        "audience": audience,
        "model": model or books.settings.default_model,
        "seed": seed,
        "nodes": [],
        "pause_at": pause_at or [],
        "revise": revise,
        "max_iterations": max_iterations,
        "threshold": threshold,
        "time_limit_s": None,
        "max_growth": 0.05,
    }
    try:
        new_id, summary = start_review(books, where, options, book_id)
    except BookwrightError:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return started(new_id, "review", launcher_of(request).start(new_id, "resume"), summary)


class NewAdaptation(BaseModel):
    """`POST /api/adaptations`: the options of `bookwright adapt`."""

    model_config = ConfigDict(extra="forbid")

    book: str = Field(description="The id of a finished book in the workspace.")
    minutes: int = Field(default=90, ge=1, le=300, description="Running time to aim at.")
    form: str = Field(default="feature", description="feature, episode or short.")
    pause_at: list[str] = Field(default_factory=list, max_length=6)
    model: str | None = None
    seed: int = 42
    book_id: str | None = Field(default=None, pattern=BOOK_ID_PATTERN.pattern)


@router.post("/adaptations", status_code=202, response_model=Started, tags=["jobs"])
def start_adaptation(request: Request, new: NewAdaptation) -> Started:
    """A finished book becomes a screenplay and a storyboard, as `bookwright adapt`."""
    from bookwright.cli_adapt import start_adapt

    books = books_of(request)
    options = {
        "minutes": new.minutes,
        "form": new.form,
        "pause_at": new.pause_at,
        "model": new.model or books.settings.default_model,
        "seed": new.seed,
    }
    new_id, summary = start_adapt(books, new.book, options, new.book_id)
    return started(new_id, "adapt", launcher_of(request).start(new_id, "resume"), summary)


@router.post("/books/{book_id}/answers", status_code=202, response_model=Started, tags=["jobs"])
def answer_questions(
    request: Request,
    book_id: str,
    file: Annotated[UploadFile | None, File(description="The answers, as a file.")] = None,
    text: Annotated[str | None, Form(description="Or the answers as text.")] = None,
) -> Started:
    """Answer a finished book's questions, as `bookwright answer`: the answers become a
    source and only the chapters they touch are written again. Each answer follows its
    question's number (`1.`) or the question itself."""
    from bookwright.cli_sources import record_answers

    books, launcher = books_of(request), launcher_of(request)
    _one_of(file, text, "the answers", ("file", "text"))
    refuse_busy(books, launcher, book_id)
    books.get(book_id)  # 404 before anything is saved
    if file:
        folder = _save(request, [file])
        answers = next(folder.iterdir())
    else:
        folder = private_folder(books.settings.home / UPLOADS / uuid.uuid4().hex[:12])
        answers = folder / "answers.md"
        answers.write_text(str(text), encoding="utf-8")
    try:
        _, summary = record_answers(books, book_id, answers)
    except BookwrightError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return started(book_id, "answer", launcher.start(book_id, "resume"), summary)


def _outputs(request: Request, book_id: str) -> dict[str, Path]:
    books = books_of(request)
    books.get(book_id)  # 404 for an unknown book
    folder = books.settings.book_dir(book_id)
    if not folder.is_dir():
        return {}
    return {
        p.name: p
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and p.suffix in OUTPUTS
    }


@router.get("/books/{book_id}/files", response_model=list[str], tags=["books"])
def output_files(request: Request, book_id: str) -> list[str]:
    """The files the book's job wrote: the manuscript, a review's report and charts, an
    adaptation's screenplay (Fountain, PDF, FDX, HTML) and storyboard."""
    return list(_outputs(request, book_id))


@router.get(
    "/books/{book_id}/files/{name}",
    tags=["books"],
    response_class=Response,
    responses={200: {"description": "The file, as the job wrote it."}},
)
def output_file(request: Request, book_id: str, name: str) -> Response:
    """One of the files `GET /api/books/{id}/files` lists."""
    from bookwright.errors import BookNotFound

    path = _outputs(request, book_id).get(name)
    if path is None:
        raise BookNotFound(
            f"Book {book_id!r} has no file {name[:100]!r}",
            f"See its files with GET /api/books/{book_id}/files",
        )
    headers = {"Content-Disposition": f'inline; filename="{path.name}"'}
    if path.suffix in (".html", ".svg"):
        headers["Content-Security-Policy"] = OUTPUT_CSP
    return Response(path.read_bytes(), media_type=OUTPUTS[path.suffix], headers=headers)
