"""`bookwright review FILE|BOOK`: a manuscript becomes a book of its own, analysed by the
review job's graph of nodes, with a report at the end. Every other command (status,
pause, resume, approve, show, errors, stats, export) works on it as on any book."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from bookwright.errors import BookwrightError, UsageError
from bookwright.model.text import counted

out = Console(highlight=False)


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def review(
    source: Annotated[
        str,
        typer.Argument(
            help="The manuscript (.md, .txt, .docx, .epub, .odt, .rtf, .html, .yw7) or the "
            "id of a book in the workspace."
        ),
    ],
    title: Annotated[str | None, typer.Option(help="Title (default: the file's).")] = None,
    genre: Annotated[str | None, typer.Option(help="Genre it is read against.")] = None,
    target_words: Annotated[
        int | None,
        typer.Option(
            help="Length it should have (default: none; chapters are compared with each other)."
        ),
    ] = None,
    themes: Annotated[str | None, typer.Option(help="Themes, comma-separated.")] = None,
    audience: Annotated[str | None, typer.Option(help="Who it is for.")] = None,
    model: Annotated[str | None, typer.Option(help="`local` or PROVIDER:MODEL.")] = None,
    seed: Annotated[int, typer.Option()] = 42,
    nodes: Annotated[
        str | None,
        typer.Option(
            help="Run only these nodes (comma-separated) and what they need; e.g. "
            "metrics,repetition,names,continuity,pov for the checks that need no model."
        ),
    ] = None,
    pause_at: Annotated[
        list[str] | None,
        typer.Option(
            help="Halt for review: findings (after the analysis: strike what you disagree "
            "with), revision (after each revision)."
        ),
    ] = None,
    revise: Annotated[
        bool,
        typer.Option(
            "--revise",
            help="Revise the passages the top findings point at, analyse again, and repeat "
            "until good enough; the best-scoring version is kept.",
        ),
    ] = False,
    max_iterations: Annotated[int, typer.Option(help="--revise: at most this many.")] = 3,
    threshold: Annotated[
        float, typer.Option(help="--revise: stop at this overall score (0-10).")
    ] = 8.5,
    time_limit: Annotated[
        float | None, typer.Option(help="--revise: stop revising after this many minutes.")
    ] = None,
    max_growth: Annotated[
        float,
        typer.Option(help="--revise: share a revised passage may grow or shrink (0.05: 5%)."),
    ] = 0.05,
    book_id: Annotated[str | None, typer.Option(help="Id of the review (default: title).")] = None,
    budget_usd: Annotated[float | None, typer.Option(help="Stop before spending more.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Stop before more tokens.")] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="TOML settings file.")
    ] = None,
) -> None:
    """Analyse a manuscript: findings with evidence, scores and a report."""
    from bookwright.cli_face import face

    _books, _fail, _run, _settings = face().books, face().fail, face().run, face().settings

    try:
        settings = _settings(settings_file)
        books = _books(settings)
        new_id, summary = start_review(
            books,
            source,
            {
                "title": title,
                "genre": genre or "",
                "target_words": target_words,
                "themes": _csv(themes),
                "audience": audience or "",
                "model": model or settings.default_model,
                "seed": seed,
                "nodes": _csv(nodes),
                "pause_at": pause_at or [],
                "revise": revise,
                "max_iterations": max_iterations,
                "threshold": threshold,
                "time_limit_s": time_limit * 60 if time_limit is not None else None,
                "max_growth": max_growth,
            },
            book_id,
            budget_usd=budget_usd,
            max_tokens=max_tokens,
        )
    except BookwrightError as error:
        _fail(error)
    out.print(f"Review id: [bold]{escape(new_id)}[/]")
    out.print(escape(summary), soft_wrap=True)
    _run(settings, new_id)


def start_review(
    books: Any,
    source: str,
    options: dict[str, Any],
    book_id: str | None,
    *,
    budget_usd: float | None = None,
    max_tokens: int | None = None,
) -> tuple[str, str]:
    """Read the manuscript (a file, or a book's latest manuscript), check the options,
    and record the review with its manuscript; nothing is recorded when any of it fails."""
    from pydantic import ValidationError

    from bookwright.errors import first_error
    from bookwright.jobs.review.analysis import graph
    from bookwright.jobs.review.reader import SUFFIXES, read_manuscript
    from bookwright.model import Manuscript, ReviewSpec

    path = Path(source).expanduser()
    known = graph(books.settings.review)
    unknown = [n for n in options["nodes"] if n not in known]
    if unknown:
        raise UsageError(
            f"No review node named {unknown[0]!r}",
            f"Choose among {', '.join(known)}",
        )
    wrong = [p for p in options["pause_at"] if p not in ("findings", "revision")]
    if wrong:
        raise UsageError(
            f"A review cannot pause at {wrong[0]!r}", "Use --pause-at findings or revision"
        )
    if "revision" in options["pause_at"] and not options.get("revise"):
        raise UsageError("--pause-at revision needs --revise", "Add --revise, or drop the pause")
    if path.exists() or path.suffix.lower() in SUFFIXES:
        read = read_manuscript(path, title=options["title"], genre=options["genre"])
        manuscript, origin = read.manuscript, path.name
        how = f"split by {read.split_by}" + "".join(f"; {n}" for n in read.notes)
    else:
        found = books.store.get_book(source)
        if found is None:
            raise UsageError(
                f"No file or book named {source!r}",
                "Give the path of a manuscript, or a book id from `bookwright list`",
            )
        latest = books.store.get_artifact(source, "manuscript")
        if latest is None:
            raise UsageError(
                f"Book {source!r} has no manuscript yet",
                f"Finish it first (`bookwright resume {source}`), or review a file",
            )
        manuscript = Manuscript.model_validate(latest[1])
        if options["title"]:
            manuscript = manuscript.model_copy(update={"title": options["title"]})
        origin, how = f"book {source}", f"manuscript version {latest[0]}"
    try:
        spec = ReviewSpec(
            source_file=origin,
            title=manuscript.title,
            chapters=len(manuscript.chapters),
            author=manuscript.author,
            language=manuscript.language,
            **{k: v for k, v in options.items() if k != "title"},
        )
    except ValidationError as exc:
        first = first_error(exc)
        raise UsageError(f"Invalid {first.where}: {first.msg}", "Fix the option") from None
    new_id = books.record(
        spec.model_dump(mode="json"),
        manuscript.title,
        spec.model,
        book_id,
        name=f"review {manuscript.title}",
        budget_usd=budget_usd,
        max_tokens=max_tokens,
    )
    books.store.put_artifact(new_id, "manuscript", manuscript.model_dump(mode="json"), "imported")
    scenes = sum(len(c.scenes) for c in manuscript.chapters)
    summary = (
        f"Read {counted(len(manuscript.chapters), 'chapter')}, {counted(scenes, 'scene')}, "
        f"{counted(manuscript.word_count, 'word')} from {origin} ({how})."
    )
    from bookwright.jobs.review.analysis import passages

    asking = [n for n in graph(books.settings.review, spec.nodes or None).values() if n.model]
    words = books.settings.review.passage_words
    count = sum(len(passages("\n\n".join(c.scenes), words)) for c in manuscript.chapters)
    if asking:
        summary += (
            f" {count * len(asking)} model asks planned ({count} passages x "
            f"{len(asking)} model nodes: {', '.join(n.name for n in asking)})."
        )
        if spec.model == "local" and count * len(asking) > 100:
            summary += (
                " On the embedded model that takes a while; "
                "`--nodes metrics,repetition,names,pov,continuity` runs the checks that "
                "need no model in seconds."
            )
    if spec.revise:
        summary += (
            f" Then up to {spec.max_iterations} revisions of "
            f"{books.settings.review.passages_per_iteration} passages each, until the overall "
            f"score reaches {spec.threshold:g}; the best version is kept."
        )
    return new_id, summary


def register(app: typer.Typer) -> None:
    app.command()(review)
