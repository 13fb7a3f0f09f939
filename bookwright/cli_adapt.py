"""`bookwright adapt BOOK`: a finished book becomes a screenplay and a storyboard."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from bookwright.errors import BookwrightError, UsageError
from bookwright.model.text import counted

out = Console(highlight=False)
_NOTE_MARK = re.compile(r"\[\^\d+\]")


def adapt(
    book: Annotated[str, typer.Argument(help="The id of a finished book in the workspace.")],
    minutes: Annotated[int, typer.Option(help="Running time to aim at.")] = 90,
    form: Annotated[str, typer.Option(help="feature, episode or short.")] = "feature",
    pause_at: Annotated[
        list[str] | None,
        typer.Option(
            help="Halt for review: events, treatment, critique, scenes, screenplay, storyboard."
        ),
    ] = None,
    model: Annotated[str | None, typer.Option(help="`local` or PROVIDER:MODEL.")] = None,
    seed: Annotated[int, typer.Option()] = 42,
    book_id: Annotated[
        str | None, typer.Option(help="Id of the adaptation (default: BOOK-screen).")
    ] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="TOML settings file.")
    ] = None,
) -> None:
    """Adapt a finished book: events, treatment, scenes, a Fountain screenplay (PDF, FDX,
    HTML) and a storyboard."""
    from bookwright.cli_face import face

    _books, _fail, _run, _settings = face().books, face().fail, face().run, face().settings

    try:
        settings = _settings(settings_file)
        new_id, summary = start_adapt(
            _books(settings),
            book,
            {
                "minutes": minutes,
                "form": form,
                "pause_at": pause_at or [],
                "model": model or settings.default_model,
                "seed": seed,
            },
            book_id,
        )
    except BookwrightError as error:
        _fail(error)
    out.print(f"Adaptation id: [bold]{escape(new_id)}[/]")
    out.print(escape(summary), soft_wrap=True)
    _run(settings, new_id)


def start_adapt(
    books: Any, source: str, options: dict[str, Any], book_id: str | None
) -> tuple[str, str]:
    """Check the book is finished and the options sound, then record the adaptation with
    a copy of the book's manuscript, cast, places and scene plans."""
    from pydantic import ValidationError

    from bookwright.errors import first_error
    from bookwright.jobs.review.metrics import cast_of
    from bookwright.model import Manuscript
    from bookwright.model.adapt import ADAPT_STAGES, AdaptSpec

    record = books.store.get_book(source)
    if record is None:
        raise UsageError(f"No book {source!r}", "See the books with `bookwright list`")
    latest = books.store.get_artifact(source, "manuscript")
    if record.status != "completed" or latest is None:
        missing = "its manuscript" if latest is None else "its last stages"
        raise UsageError(
            f"Book {source!r} is not finished ({record.status}; missing {missing})",
            f"Finish it first: `bookwright resume {source}`",
        )
    wrong = [p for p in options["pause_at"] if p not in ADAPT_STAGES]
    if wrong:
        raise UsageError(
            f"An adaptation cannot pause at {wrong[0]!r}", f"Use one of: {', '.join(ADAPT_STAGES)}"
        )
    manuscript = Manuscript.model_validate(latest[1])
    if record.spec.get("job") == "sources":  # its closing chapters are apparatus, not story
        from bookwright.jobs.sources.workflow import CLOSING_CHAPTERS

        kept = [
            c.model_copy(update={"scenes": [_NOTE_MARK.sub("", s) for s in c.scenes]})
            for c in manuscript.chapters
            if c.title not in CLOSING_CHAPTERS
        ]  # its note markers ([^3]) are apparatus too
        manuscript = manuscript.model_copy(update={"chapters": kept})
    try:
        spec = AdaptSpec(book=source, title=manuscript.title, author=manuscript.author, **options)
    except ValidationError as exc:
        first = first_error(exc)
        raise UsageError(f"Invalid {first.where}: {first.msg}", "Fix the option") from None
    characters = books.store.get_artifact(source, "characters")
    material = books.store.get_artifact(source, "sources")
    if characters:  # a novel: its cast
        cast = [c["name"] for c in characters[1]["characters"]]
    elif material:  # a book from sources: the people who speak in them
        from bookwright.jobs.sources.storyline import INTERVIEWERS

        said = {c["speaker"] for c in material[1]["chunks"] if c.get("speaker")}
        cast = sorted(s for s in said if s.casefold() not in INTERVIEWERS)
    else:  # any other manuscript: the names it uses
        cast = [n for n in cast_of(manuscript) if not n.isupper()]
    locations = books.store.get_artifact(source, "locations")
    places = [p["name"] for p in locations[1]["locations"]] if locations else []
    scenes = books.store.get_artifact(source, "scenes")
    plans = (
        {str(c["chapter"]): [s["summary"] for s in c["scenes"]] for c in scenes[1]["chapters"]}
        if scenes
        else {}
    )
    new_id = books.record(
        spec.model_dump(mode="json"),
        f"{manuscript.title} (screenplay)",
        spec.model,
        book_id or f"{source}-screen"[:63],
        name=source,
    )
    books.store.put_artifact(new_id, "manuscript", manuscript.model_dump(mode="json"), "imported")
    books.store.put_artifact(new_id, "source_cast", {"names": cast}, "imported")
    books.store.put_artifact(new_id, "source_places", {"names": places}, "imported")
    books.store.put_artifact(new_id, "source_scenes", plans, "imported")
    scenes_count = sum(len(c.scenes) for c in manuscript.chapters)
    return new_id, (
        f"Adapting {manuscript.title}: {counted(len(manuscript.chapters), 'chapter')}, "
        f"{counted(scenes_count, 'scene')}, cast {', '.join(cast) or '(none found)'}; "
        f"aiming at {spec.minutes} minutes."
    )


def register(app: typer.Typer) -> None:
    app.command()(adapt)
