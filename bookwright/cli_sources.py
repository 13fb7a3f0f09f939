"""`bookwright write --sources DIR`: a non-fiction book from a folder of interviews,
transcripts and notes. Reads and checks everything before the book is recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from bookwright.errors import BookwrightError, UsageError
from bookwright.model.text import counted

out = Console(highlight=False)

# The fields of a sources book; `write`'s novel-only flags are refused with one.
FIELDS = {
    "sources", "title", "kind", "chapters", "words_per_chapter", "order", "pause_at",
    "model", "seed", "temperature", "author", "language", "strict", "judge",
}  # fmt: skip


def start_sources(
    books: Any,
    values: dict[str, Any],
    book_id: str | None,
    *,
    budget_usd: float | None = None,
    max_tokens: int | None = None,
) -> tuple[str, str]:
    """(book id, what was read): the folder ingested, the spec checked, the book and its
    sources recorded; nothing is recorded when any of it fails."""
    from pydantic import ValidationError

    from bookwright.errors import first_error
    from bookwright.jobs.sources.ingest import ingest
    from bookwright.model.sources import SourcesSpec

    extra = sorted(k for k in values if k not in FIELDS)
    if extra:
        flag = "--" + extra[0].replace("_", "-")
        raise UsageError(
            f"{flag} is for novels, not for a book from sources",
            "Drop it; a book from sources takes --chapters, --words-per-chapter, --order, "
            "--kind and --pause-at storyline",
        )
    if not values.get("title"):
        raise UsageError("No title given", "Pass --title TEXT (or title in the spec file)")
    folder = Path(str(values["sources"])).expanduser()
    try:
        spec = SourcesSpec.model_validate({**values, "sources": str(folder)})
    except ValidationError as exc:
        first = first_error(exc)
        raise UsageError(
            f"Invalid {first.where}: {first.msg}", "Fix the value and run again"
        ) from None
    index = ingest(folder)
    new_id = books.record(
        spec.model_dump(mode="json"),
        spec.title,
        spec.model,
        book_id,
        name=spec.title,
        budget_usd=budget_usd,
        max_tokens=max_tokens,
    )
    books.store.put_artifact(new_id, "sources", index.model_dump(mode="json"), "imported")
    skipped = [f for f in index.files if f.error]
    summary = f"Read {len(index.files) - len(skipped)} sources, {len(index.chunks)} passages"
    if skipped:
        summary += "; not read: " + "; ".join(f"{f.name} ({f.error})" for f in skipped)
    return new_id, summary + "."


def record_answers(books: Any, book_id: str, path: Path) -> tuple[str, str]:
    """Add the author's answers to a finished book from sources: the new source, the
    chapters it touches marked for rewriting, and a new run of the book's workflow set
    up (the caller runs it). (workflow id, what will happen); nothing is stored when
    the book or the file is refused."""
    import time

    from bookwright.engine.books import BookLock
    from bookwright.errors import Conflict, Next
    from bookwright.jobs.sources.answers import add_answers
    from bookwright.model.sources import Answers, Questions, SourceIndex, Storyline

    book = books.get(book_id)
    if book.spec.get("job") != "sources":
        raise UsageError(
            f"Book {book_id!r} is not a book from sources; only those have questions to answer",
            "Write one with `bookwright write --sources DIR --title TEXT`",
        )
    with BookLock(books.settings.book_dir(book_id), book_id):
        book = books.get(book_id)
        if book.status != "completed":
            raise Conflict(
                f"Book {book_id!r} is {book.status}; its questions are answered once it is "
                "complete",
                (Next("resume", book_id),),
            )
        store = books.store
        index = SourceIndex.model_validate(store.get_artifact(book_id, "sources")[1])
        storyline = Storyline.model_validate(store.get_artifact(book_id, "storyline")[1])
        found = store.get_artifact(book_id, "questions")
        questions = Questions.model_validate(found[1] if found else {}).questions
        earlier = store.get_artifact(book_id, "answers")
        answers = Answers.model_validate(earlier[1] if earlier else {})
        author = str(book.spec.get("author") or "Author")
        added = add_answers(path.expanduser(), index, storyline, questions, answers, author)
        store.put_artifact(book_id, "sources", added.index.model_dump(mode="json"), "answers")
        store.put_artifact(book_id, "storyline", added.storyline.model_dump(mode="json"), "answers")
        store.put_artifact(book_id, "answers", added.answers.model_dump(mode="json"), "answers")
        workflow_id = f"answers-{book_id}-{time.time_ns()}"
        store.update_book(
            book_id, status="processing", active_workflow=workflow_id, error=None, error_class=None
        )
    done = added.round
    lines = [f"Added {done.file} ({counted(len(done.chunks), 'passage')})."]
    if done.questions:
        lines.append(f"It answers {counted(len(done.questions), 'question')}.")
    if done.chapters:
        lines += [f"Rewriting chapter {n}: {why}." for n, why in done.chapters.items()]
        kept = [c.number for c in added.storyline.chapters if c.number not in done.chapters]
        if kept:
            lines.append(
                f"Chapters {', '.join(map(str, kept))} keep their versions."
                if len(kept) > 1
                else f"Chapter {kept[0]} keeps its version."
            )
    else:
        lines.append(
            "It names no chapter's subject: no chapter is rewritten; it is listed among "
            "the sources."
        )
    if added.unanswered:
        lines.append(f"Still open: question {', '.join(map(str, added.unanswered))}.")
    return workflow_id, " ".join(lines)


def answer(
    book: Annotated[str, typer.Argument(help="The id of a finished book from sources.")],
    file: Annotated[
        Path, typer.Argument(help="Your answers (.md, .txt, .docx, ...), numbered as asked.")
    ],
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="TOML settings file.")
    ] = None,
) -> None:
    """Answer a book's questions: the answers become a source, and only the chapters they
    touch are written again (see the questions with `bookwright show BOOK questions`)."""
    from bookwright.cli_face import face

    try:
        settings = face().settings(settings_file)
        _, summary = record_answers(face().books(settings), book, file)
    except BookwrightError as error:
        face().fail(error)
    out.print(escape(summary), soft_wrap=True)
    face().run(settings, book)


def register(app: typer.Typer) -> None:
    app.command()(answer)
