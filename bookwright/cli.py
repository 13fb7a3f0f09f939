"""The `bookwright` command: parse, call the library, translate errors once.

Exit codes: 0 complete, 1 failed, 2 bad input or usage, 3 halted or paused (resumable).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import tomllib
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn
from rich.table import Table

from bookwright.engine.states import STOPPED, Waiting
from bookwright.errors import (
    EXIT_FAILED,
    EXIT_HALTED,
    EXIT_OK,
    EXIT_USAGE,
    BookwrightError,
    UsageError,
    first_error,
)
from bookwright.model import BookSpec
from bookwright.model.status import Cost, Retries, StatusReport
from bookwright.model.text import counted, printable
from bookwright.settings import Settings, load_settings

app = typer.Typer(
    help="Write whole books with LLMs through long, durable workflows.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# No emoji codes: "openai:gpt-4o:mini" must not print as an emoji. Text that comes from
# models, providers or users goes through escape() so "[redacted]" is not markup.
out = Console(emoji=False)
err = Console(stderr=True, emoji=False)

SettingsOpt = Annotated[Path | None, typer.Option("--settings", help="TOML settings file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
BudgetOpt = Annotated[
    float | None,
    typer.Option("--budget-usd", help="Halt (resumable) before a call would pass this spend."),
]
StrictOpt = Annotated[
    bool | None,
    typer.Option(
        "--strict/--no-strict",
        help="Stop when a field or scene has no acceptable answer after its attempts "
        "(default: keep the best answer with a warning; setting quality.strict).",
    ),
]
MaxTokensOpt = Annotated[
    int | None,
    typer.Option(
        "--max-tokens", help="Halt (resumable) before a call would pass this many tokens."
    ),
]


def _settings(path: Path | None) -> Settings:
    return load_settings(path)


def _fail(error: BookwrightError) -> NoReturn:
    _say_error(error)
    raise typer.Exit(error.exit_code)


def _say_error(error: BookwrightError) -> None:
    err.print(f"[bold red]error:[/] {escape(error.one_line())}", highlight=False, soft_wrap=True)


def _books(settings: Settings):  # type: ignore[no-untyped-def]
    from bookwright.engine.books import Books

    return Books(settings)


@app.command()
def write(
    spec_file: Annotated[Path | None, typer.Argument(help="Book spec (TOML).")] = None,
    title: Annotated[str | None, typer.Option(help="Book title.")] = None,
    premise: Annotated[str | None, typer.Option(help="What the story is about.")] = None,
    genre: Annotated[str | None, typer.Option()] = None,
    chapters: Annotated[int | None, typer.Option(help="Number of chapters.")] = None,
    scenes_per_chapter: Annotated[int | None, typer.Option()] = None,
    words_per_scene: Annotated[int | None, typer.Option()] = None,
    characters: Annotated[int | None, typer.Option(help="Number of characters.")] = None,
    locations: Annotated[int | None, typer.Option(help="Number of locations.")] = None,
    model: Annotated[str | None, typer.Option(help="`local` or PROVIDER:MODEL.")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    temperature: Annotated[float | None, typer.Option()] = None,
    pause_at: Annotated[
        list[str] | None,
        typer.Option(
            help="Halt at this stage for review: plan, characters, locations, outline, scenes, "
            "harmonize, export (with --sources: storyline). Repeatable."
        ),
    ] = None,
    book_id: Annotated[str | None, typer.Option(help="Book id (default: from the title).")] = None,
    judge: Annotated[
        bool | None,
        typer.Option("--judge/--no-judge", help="Judge each chapter and redo what fails."),
    ] = None,
    parallel_chapters: Annotated[
        int | None, typer.Option(help="Chapters drafted at once (default 1: in order).")
    ] = None,
    strict: StrictOpt = None,
    sources: Annotated[
        Path | None,
        typer.Option(help="A folder of interviews, transcripts and notes: a book from sources."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option(help="With --sources: memoir, oral-history, biography, history, report."),
    ] = None,
    words_per_chapter: Annotated[
        int | None, typer.Option(help="With --sources: words per chapter.")
    ] = None,
    order: Annotated[
        str | None, typer.Option(help="With --sources: chronology or centrality.")
    ] = None,
    budget_usd: BudgetOpt = None,
    max_tokens: MaxTokensOpt = None,
    detach: Annotated[
        bool,
        typer.Option(help="Queue the book for `bookwright worker` processes (PostgreSQL)."),
    ] = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Write a new book."""
    try:
        settings = _settings(settings_file)
        if detach:
            from bookwright.cli_workers import check_detach

            check_detach(settings)
        values: dict[str, Any] = _read_spec(spec_file) if spec_file else {}
        flags = {
            "title": title,
            "premise": premise,
            "genre": genre,
            "chapters": chapters,
            "scenes_per_chapter": scenes_per_chapter,
            "words_per_scene": words_per_scene,
            "characters": characters,
            "locations": locations,
            "model": model,
            "seed": seed,
            "temperature": temperature,
            "pause_at": pause_at or None,
            "judge": judge,
            "parallel_chapters": parallel_chapters,
            "strict": strict,
        }
        values.update({k: v for k, v in flags.items() if v is not None})
        values.setdefault("model", settings.default_model)
        more = {"sources": sources, "kind": kind, "words_per_chapter": words_per_chapter}
        values.update({k: str(v) if k == "sources" else v for k, v in more.items() if v})
        if order:
            values["order"] = order
        if values.get("sources"):  # a book from sources: another job, the same engine
            from bookwright.cli_sources import start_sources

            new_id, summary = start_sources(
                _books(settings), values, book_id, budget_usd=budget_usd, max_tokens=max_tokens
            )
            out.print(f"Book id: [bold]{new_id}[/]", highlight=False)
            out.print(escape(summary), highlight=False, soft_wrap=True)
            _run(settings, new_id)
        if "premise" not in values:
            raise UsageError("No premise given", "Pass --premise TEXT or a spec file with premise")
        spec = _validate_spec(values)
        books = _books(settings)
        new_id = books.create(spec, book_id, budget_usd=budget_usd, max_tokens=max_tokens)
    except BookwrightError as error:
        _fail(error)
    out.print(f"Book id: [bold]{new_id}[/]", highlight=False)
    if "judge" not in spec.model_fields_set and not books.judge_by_default(spec.model):
        out.print(
            "The judge is off on the built-in 135M model (its verdicts are noise); the checks "
            "that need no model still run. Pass --judge to turn it on.",
            highlight=False,
        )
    if detach:
        from bookwright.cli_workers import detach_book

        detach_book(settings, new_id)
    _run(settings, new_id)


@app.command()
def resume(
    book: str,
    budget_usd: BudgetOpt = None,
    max_tokens: MaxTokensOpt = None,
    strict: StrictOpt = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Continue a book exactly where it stopped (crash, Ctrl+C, failure, outage)."""
    try:
        settings = _settings(settings_file)
        books = _books(settings)
        books.set_limits(book, budget_usd, max_tokens)
        if strict is not None:
            books.set_strict(book, strict)
        report = books.status(book)
        books.check_models(report.model)  # a fallback added since must resolve too
    except BookwrightError as error:
        _fail(error)
    if report.status.value == "completed":
        out.print(f"Book {book} is already complete.")
        raise typer.Exit(EXIT_OK)
    summary = _resume_summary(
        report,
        books.store.requests(book),
        set(books.store.artifact_names(book)),
        books.get(book).waiting_for,
    )
    out.print(escape(summary), highlight=False, soft_wrap=True)
    _run(settings, book, resume=True)


def _resume_summary(
    report: StatusReport,
    requests: list[dict[str, Any]],
    names: set[str],
    waiting_for: str | None,
) -> str:
    """What a resume skips (already paid for) and where it goes on."""
    from bookwright.engine.status import PLANNING

    planned = [s for s in PLANNING if s in names]
    done = [c.number for c in report.chapters if c.status.value != "pending"]
    complete = [
        c.number
        for c in report.chapters
        if c.status.value in ("generated", "harmonized", "completed")
    ]
    answered = sum(1 for r in requests if r["outcome"] == "ok")
    parts = [f"Resuming {report.book_id} ({report.progress_percentage:.0f}% done)."]
    skipped = []
    if planned:
        skipped.append(", ".join(planned))
    if complete:
        skipped.append("chapter" + ("s " if len(complete) > 1 else " ") + _ranges(complete))
    if report.scenes_written:
        skipped.append(f"{report.scenes_written} scene drafts, {report.scenes_edited} edits")
    if skipped:
        parts.append(
            f"Kept, not redone: {'; '.join(skipped)} ({answered} answers already paid for "
            "are replayed from the checkpoints, not sent again)."
        )
    where = report.current_stage or "the start"
    last = requests[-1] if requests else None
    if where == "chapters" and last and last["chapter"]:
        where = f"chapter {last['chapter']}" + (f", scene {last['scene']}" if last["scene"] else "")
    elif where == "chapters" and done:
        where = f"chapter {done[-1]}"
    if Waiting.parse(waiting_for).review:
        where += " (after your approval)"
    parts.append(f"Continuing at {where}.")
    return " ".join(parts)


def _ranges(numbers: list[int]) -> str:
    spans: list[str] = []
    for n in sorted(numbers):
        if spans and spans[-1].split("-")[-1] == str(n - 1):
            spans[-1] = f"{spans[-1].split('-')[0]}-{n}"
        else:
            spans.append(str(n))
    return ", ".join(spans)


@app.command()
def retry(
    book: str,
    chapter: Annotated[int, typer.Option(help="The chapter to write again.")],
    level: Annotated[
        str, typer.Option(help="edit (keep drafts), write (keep scene list) or full.")
    ] = "full",
    cascade: Annotated[
        bool, typer.Option(help="Also rewrite the chapters that depend on it.")
    ] = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Write one chapter of a finished book again, as a new version; the rest is kept."""
    from bookwright.engine.messages import RetryRequest

    try:
        settings = _settings(settings_file)
        _books(settings).check_retry(book, chapter, level)
    except BookwrightError as error:
        _fail(error)
    out.print(
        f"Retrying chapter {chapter} of {book} ({level})"
        + (", then the chapters that depend on it" if cascade else "")
        + "; every other chapter is kept as it is.",
        highlight=False,
    )
    _run(settings, book, retry=RetryRequest(chapter, level, cascade))


@app.command()
def stats(book: str, json_: JsonOpt = False, settings_file: SettingsOpt = None) -> None:
    """The quality loop's figures: retries by level, their tokens, the judge's pass rate."""
    try:
        data = _books(_settings(settings_file)).stats(book)
    except BookwrightError as error:
        _fail(error)
    if json_:
        print(json.dumps(data, indent=2))
        return
    r = Retries.model_validate(data["retries"])
    chapters = data["chapters"]
    rate = "n/a" if r.judge_pass_rate is None else f"{100 * r.judge_pass_rate:.0f}%"
    out.print(
        f"judge: {r.passed}/{r.verdicts} verdicts passed ({rate}); retries: "
        f"{r.edit_only} edit, {r.write_only} write, {r.full_retry} full",
        highlight=False,
    )
    tokens = ", ".join(f"{k} {v}" for k, v in r.tokens_by_level.items())
    out.print(f"chapter tokens by level: {tokens or 'none yet'}", highlight=False)
    _print_cost(Cost.model_validate(data["cost"]))
    table = Table("#", "status", "words", "attempts", "score")
    for c in chapters:
        levels = " → ".join(a.get("level") or "first" for a in c["attempts"]) or "-"
        score = "" if c["score"] is None else f"{c['score']:g}"
        status = c["status"] + (" (kept as it is)" if c.get("accepted") else "")
        table.add_row(str(c["chapter"]), status, f"{c['words']}/{c['target_words']}", levels, score)
    out.print(table)


@app.command()
def approve(
    book: str,
    edit: Annotated[
        Path | None, typer.Option(help="Edited artifact (JSON) to use instead.")
    ] = None,
    chapter: Annotated[
        list[int] | None,
        typer.Option(
            help="Keep this chapter as it is though it failed its quality checks, and "
            "continue (repeat for several)."
        ),
    ] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Approve the artifact a book is halted at (optionally replaced by an edit) and continue.

    With --chapter N, keep a chapter that failed its quality checks as it is instead."""
    try:
        settings = _settings(settings_file)
        books = _books(settings)
        if chapter and edit is not None:
            raise UsageError(
                "--chapter and --edit do not go together",
                "Approve a review with --edit, or keep failed chapters with --chapter",
            )
        if chapter:
            books.check_accept(book, chapter)
            out.print(
                f"Keeping chapter(s) {', '.join(map(str, chapter))} of {book} as they are.",
                highlight=False,
            )
            _run(settings, book, accept=sorted(set(chapter)))
        edited = None
        if edit is not None:  # checked now, stored with the approval once the book is ours
            edited = books.read_edit(book, edit)
            out.print(f"Approving with your edit of {edited[0]}.")
        else:
            report = books.status(book)
            if report.status.value != "halted" or not report.halted_at:
                raise UsageError(
                    f"Book {book!r} is not waiting for approval (status {report.status.value})",
                    f"See `bookwright status {book}`",
                )
    except BookwrightError as error:
        _fail(error)
    _run(settings, book, approve=True, edit=edited)


def _run(
    settings: Settings,
    book_id: str,
    *,
    approve: bool = False,
    resume: bool = False,
    retry: Any = None,
    accept: list[int] | None = None,
    edit: tuple[str, dict[str, Any]] | None = None,
) -> NoReturn:
    from bookwright.cli_workers import worker_notice
    from bookwright.engine.runner import run_book
    from bookwright.engine.status import live_position

    if notice := worker_notice(settings, book_id):  # Postgres: workers write the book
        err.print(f"[yellow]note:[/] {escape(notice)}", highlight=False, soft_wrap=True)
    code = EXIT_FAILED
    # SIGTERM (systemd, docker stop, kill) stops as gracefully as a first Ctrl+C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        with _progress() as progress:
            task = progress.add_task("starting", total=100, rate="", eta="")
            books = _books(settings)

            def tick(report: StatusReport) -> None:
                pos = live_position(books.store, book_id)
                where = report.current_stage or report.status.value
                if pos["chapter"]:
                    where += f" · chapter {pos['chapter']}"
                if pos["scene"]:
                    where += f" · scene {pos['scene']}"
                eta = ""
                if report.estimated_completion:
                    from datetime import datetime

                    left = datetime.fromisoformat(report.estimated_completion).timestamp()
                    eta = f"ETA {max(0, int(left - time.time()))}s"
                progress.update(
                    task,
                    completed=report.progress_percentage,
                    description=where,
                    rate=f"{pos['tokens_per_s']:.0f} tok/s",
                    eta=eta,
                )

            def interrupted() -> None:
                progress.console.print(
                    "Pausing after the current call; Ctrl+C again to stop at once "
                    "(nothing is lost either way).",
                    style="yellow",
                )

            report = run_book(
                settings,
                book_id,
                approve=approve,
                resume=resume,
                on_tick=tick,
                on_interrupt=interrupted,
                retry=retry,
                accept=accept,
                edit=edit,
            )
        code = _report_outcome(report, settings.book_dir(book_id))
    except KeyboardInterrupt:
        err.print(f"Interrupted; nothing is lost. Continue with: bookwright resume {book_id}")
        code = EXIT_HALTED
    except BookwrightError as error:
        err.print(
            f"[bold red]error:[/] {escape(error.one_line())}", highlight=False, soft_wrap=True
        )
        code = error.exit_code
    except Exception as error:  # a bug: still one line, and still a clean exit
        from bookwright.llm.errors import redact

        first = redact(str(error).splitlines()[0] if str(error) else "")
        err.print(
            f"error: internal error {type(error).__name__}: {first}. Nothing written so "
            f"far is lost; see `bookwright status {book_id}`",
            highlight=False,
            soft_wrap=True,
        )
        code = EXIT_FAILED
    global _ENGINE_RAN
    _ENGINE_RAN = True
    raise typer.Exit(code)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("{task.fields[eta]}"),
        console=out,
        transient=False,
    )


def _print_warnings(report: StatusReport) -> None:
    """Answers the book kept without passing their checks, one line each."""
    # The same field kept the same way by a later run (a chapter written again): once.
    shown = list({(w.artifact, w.field, w.check, w.value): w for w in report.warnings}.values())
    if not shown:
        return
    err.print(
        f"[yellow]{len(shown)} answer(s) kept without passing their checks[/] "
        f"(`bookwright status {report.book_id} --json` lists them as `warnings`):",
        highlight=False,
        soft_wrap=True,
    )
    for w in shown:
        where = ", ".join(
            part
            for part in (
                w.stage,
                f"chapter {w.chapter}" if w.chapter else "",
                f"scene {w.scene}" if w.scene else "",
            )
            if part
        )
        kept = "a stand-in" if w.kept == "stand_in" else "the best answer"
        err.print(
            f"  {escape(w.artifact)} ({where}) {escape(w.field)}: kept {kept} "
            f"{escape(w.value[:60])!r}; {escape(w.check)}",
            highlight=False,
            soft_wrap=True,
        )


def _report_outcome(report: StatusReport, folder: Path | None = None) -> int:
    _print_warnings(report)
    book = report.book_id
    why = escape(report.error or "")
    status = report.status.value
    if status == "completed" and report.job == "review":
        out.print(
            f"Review {book} is complete. Read it with `bookwright show {book} report`, "
            f"or the files review.md, review.json and review-*.svg in {folder or 'its folder'}; "
            f"the findings alone: `bookwright show {book} findings`.",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_OK
    if status == "completed" and report.job == "adapt":
        out.print(
            f"Adaptation {book} is complete: screenplay.fountain, .pdf, .fdx and .html, "
            f"storyboard.html, .pdf and .json in {folder or 'its folder'}; its running time: "
            f"`bookwright show {book} running_time`.",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_OK
    if status == "completed":
        words = sum(c.word_count for c in report.chapters)
        out.print(
            f"Book {book} is complete: {counted(len(report.chapters), 'chapter')}, {words} words, "
            f"{report.llm.requests_sent} requests"
            + (
                f" ({report.cost.tokens_per_1k_words:g} tokens per 1,000 words)"
                if report.cost.tokens_per_1k_words is not None
                else ""
            )
            + ". Export it with: "
            f"bookwright export {book} --format md -o {book}.md",
            highlight=False,
        )
        return EXIT_OK
    if status == "halted" and report.halted_at:
        name = "manuscript" if report.halted_at in ("harmonize", "export") else report.halted_at
        err.print(
            f"Book {book} halted at {report.halted_at} for review. Review it with "
            f"`bookwright show {book} {name} --json > {name}.json`, then "
            f"`bookwright approve {book}` (add `--edit {name}.json` to use your edit).",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_HALTED
    if status == "halted":
        err.print(
            f"Book {book} stopped: {why}. When fixed: bookwright resume {book}",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_USAGE if _error_class(report) in ("auth", "config") else EXIT_HALTED
    if status == "paused":
        err.print(f"Book {book} is paused. Continue with: bookwright resume {book}")
        return EXIT_HALTED
    if report.error_class == "internal":
        err.print(
            f"Book {book} stopped on an internal error: {why}. Its artifacts are "
            f"kept: `bookwright export {book}` writes what exists.",
            highlight=False,
            soft_wrap=True,
        )
        return EXIT_FAILED
    err.print(
        f"Book {book} failed: {why}. Try again with: bookwright resume {book}",
        highlight=False,
        soft_wrap=True,
    )
    return EXIT_FAILED


def _error_class(report: StatusReport) -> str | None:
    return report.error_class


@app.command()
def status(
    book: str,
    json_: JsonOpt = False,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh until the book stops.")] = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Show where a book stands; works from any terminal while it is being written."""
    try:
        books = _books(_settings(settings_file))
        while True:
            report = books.status(book)
            if json_:
                print(report.model_dump_json(indent=2), flush=True)
            else:
                _print_status(report)
            if not watch or report.status.value in STOPPED:
                break
            time.sleep(2)
    except BookwrightError as error:
        _fail(error)


def _print_status(report: StatusReport) -> None:
    out.print(
        f"[bold]{escape(printable(report.title))}[/] ({report.book_id}) — {report.status.value}, "
        f"{report.progress_percentage:.0f}%",
        highlight=False,
    )
    if report.current_stage:
        out.print(f"stage: {report.current_stage}")
    if report.status.value in ("processing", "harmonizing") and not report.running:
        out.print(
            f"not running (interrupted): continue with `bookwright resume {report.book_id}`",
            highlight=False,
        )
    if report.halted_at:
        out.print(f"halted at: {report.halted_at}")
    if report.error:
        out.print(f"error: {escape(report.error or '')}", highlight=False)
    if report.provider_wait:
        wait = report.provider_wait
        out.print(
            f"waiting for the provider: probe {wait.probes + 1} at {wait.next_probe_at}; "
            f"it resumes by itself (stop with `bookwright pause {report.book_id}`)",
            highlight=False,
        )
    _print_warnings(report)
    for notice in report.notices:
        out.print(f"note: {escape(notice)}", highlight=False, soft_wrap=True)
    table = Table("#", "title", "status", "words", "retries")
    for c in report.chapters:
        table.add_row(
            str(c.number),
            escape(printable(c.title)),
            c.status.value,
            f"{c.word_count}/{c.target_words}",
            str(c.retry_count),
        )
    if report.chapters:
        out.print(table)
    llm = report.llm
    if report.job == "novel":
        work = (
            f"scenes {report.scenes_written}/{report.scenes_total} written, "
            f"{report.scenes_edited} edited"
        )
    elif report.chapters:
        work = f"{report.job}: {counted(len(report.chapters), 'chapter')}"
    else:  # an adaptation: scenes of a screenplay, not chapters
        work = report.job
    out.print(
        f"{escape(work)} · {llm.requests_sent} requests, "
        f"{llm.prompt_tokens}+{llm.completion_tokens} tokens, ${llm.cost_usd:.4f}"
        + (f" of ${llm.budget_usd:.2f}" if llm.budget_usd is not None else "")
        + (f" · limit {llm.max_tokens} tokens" if llm.max_tokens is not None else ""),
        highlight=False,
    )
    if len(llm.by_provider) > 1 or llm.errors_by_class:
        for name, use in llm.by_provider.items():
            out.print(
                f"  {escape(name)}: {use['answered']:.0f} answered, {use['errors']:.0f} failed, "
                f"{use['prompt_tokens'] + use['completion_tokens']:.0f} tokens, "
                f"${use['cost_usd']:.4f}",
                highlight=False,
            )
    if llm.errors_by_class:
        classes = ", ".join(f"{k} {v}" for k, v in sorted(llm.errors_by_class.items()))
        out.print(f"errors: {classes} ({llm.errors_recovered} recovered)", highlight=False)
    _print_cost(report.cost)


def _print_cost(cost: Cost) -> None:
    if cost.tokens_per_1k_words is None:
        return
    roles = ", ".join(f"{role} {100 * part:.0f}%" for role, part in cost.role_share.items())
    out.print(
        f"per 1,000 words: {cost.requests_per_1k_words:g} requests, "
        f"{cost.tokens_per_1k_words:g} tokens ({cost.prompt_tokens_per_1k_words:g} prompt, "
        f"{cost.completion_tokens_per_1k_words:g} completion) · refused: "
        f"{100 * cost.refused_requests_share:.0f}% of the requests · of the tokens: refused "
        f"answers {100 * cost.refused_share:.0f}%, retries {100 * cost.retry_share:.0f}%, "
        f"{roles}",
        highlight=False,
    )


@app.command()
def pause(book: str, settings_file: SettingsOpt = None) -> None:
    """Stop a running book at its next step boundary (from any terminal)."""
    from bookwright.engine.runner import request_pause

    try:
        settings = _settings(settings_file)
        running = request_pause(settings, _books(settings), book)
    except BookwrightError as error:
        _fail(error)
    if running:
        out.print(
            f"Pause requested: {book} stops after its current model call. "
            f"Continue later with: bookwright resume {book}",
            highlight=False,
        )
    else:
        out.print(
            f"{book} was not running; it is marked paused. Continue with: bookwright resume {book}",
            highlight=False,
        )


@app.command()
def errors(book: str, json_: JsonOpt = False, settings_file: SettingsOpt = None) -> None:
    """Every failed model call of a book: when, where, which provider, which error class."""
    try:
        books = _books(_settings(settings_file))
        books.get(book)
        rows = books.store.errors(book)
    except BookwrightError as error:
        _fail(error)
    fields = (
        "started_at",
        "book_id",
        "stage",
        "chapter",
        "scene",
        "field",
        "role",
        "provider",
        "model",
        "error_class",
        "error_message",
    )
    if json_:
        print(json.dumps([{k: r[k] for k in fields} for r in rows], indent=2))
        return
    if not rows:
        out.print(f"No failed model calls for {book}.")
        return
    table = Table("time", "stage", "ch", "sc", "model", "class", "message")
    for r in rows:
        table.add_row(
            r["started_at"][11:19],
            r["stage"],
            str(r["chapter"] or ""),
            str(r["scene"] or ""),
            escape(f"{r['provider']}:{r['model']}"),
            r["error_class"],
            escape(printable(r["error_message"] or "")),
        )
    out.print(table)


@app.command("list")
def list_books(json_: JsonOpt = False, settings_file: SettingsOpt = None) -> None:
    """List every book in the workspace."""
    try:
        reports = _books(_settings(settings_file)).all()
    except BookwrightError as error:
        _fail(error)
    if json_:
        print(json.dumps([r.model_dump(mode="json") for r in reports], indent=2))
        return
    table = Table("book", "title", "status", "progress", "requests", "updated")
    for r in reports:
        table.add_row(
            r.book_id,
            escape(printable(r.title)),
            r.status.value,
            f"{r.progress_percentage:.0f}%",
            str(r.llm.requests_sent),
            r.updated_at[:19],
        )
    out.print(table)


@app.command()
def show(
    book: str,
    artifact: Annotated[
        str,
        typer.Argument(
            help="plan, characters, locations, outline, scenes, scenes:N, chapter:N, "
            "draft:N:S, scene:N:S, manuscript"
        ),
    ],
    json_: JsonOpt = False,
    version: Annotated[int | None, typer.Option(help="Version (default: latest).")] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Show an artifact of a book."""
    try:
        books = _books(_settings(settings_file))
        data = books.artifact(book, _alias(artifact), version)
    except BookwrightError as error:
        _fail(error)
    if json_:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_artifact(_alias(artifact), data, book)


def _alias(name: str) -> str:
    return {"cast": "characters", "places": "locations", "book": "manuscript"}.get(name, name)


def _print_artifact(name: str, data: dict[str, Any], book: str) -> None:
    data = printable(data)  # stored before control characters were dropped, perhaps
    if name.startswith("chapter:"):
        out.print(f"Chapter {data['number']}: {data['title']}\n", style="bold", markup=False)
        out.print("\n\n* * *\n\n".join(data["scenes"]), markup=False, highlight=False)
    elif "text" in data:
        out.print(data["text"], markup=False, highlight=False)
    elif name == "questions":
        from bookwright.model.sources import Questions

        asked = Questions.model_validate(data)
        out.print(asked.numbered() or "No open questions.", markup=False, highlight=False)
        if asked.questions:
            out.print(
                "\nAnswer them in a file (each answer after its number, `1.`, or its "
                f"question), then: bookwright answer {book} FILE",
                markup=False,
                highlight=False,
            )
    else:  # JSON, as `--json` gives it and as `approve --edit` reads it back
        print(json.dumps(data, ensure_ascii=False, indent=2))


@app.command()
def export(
    book: str,
    format_: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="md, epub, docx, yw7, json or all (of an adaptation: its screenplay and "
            "storyboard files).",
        ),
    ] = "md",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Output file; a folder for json and all."),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", help="Version of the manuscript to export.")
    ] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Export a book (an unfinished book is exported as a marked draft)."""
    from bookwright.export.document import export_book

    try:
        settings = _settings(settings_file)
        result = export_book(_books(settings), book, format_, output, version)
    except BookwrightError as error:
        _fail(error)
    note = " (DRAFT: the book is not finished)" if result.draft else ""
    for path in result.paths:
        out.print(f"Wrote {escape(str(path))}{note}", highlight=False, soft_wrap=True)
    if not result.paths:
        out.print(f"Nothing to write yet: no chapter is written{note}", highlight=False)


@app.command("import")
def import_(
    book: str,
    file: Annotated[Path, typer.Argument(help="The edited yWriter 7 project (.yw7).")],
    settings_file: SettingsOpt = None,
) -> None:
    """Record an edited yWriter 7 project as a new version of a book's manuscript."""
    from bookwright.export.yw7_import import import_yw7

    try:
        result = import_yw7(_books(_settings(settings_file)), book, file)
    except BookwrightError as error:
        _fail(error)
    changed, retitled = len(result.changed), len(result.retitled)
    out.print(
        f"Imported {escape(file.name)} as manuscript version {result.version} of {book}: "
        f"{changed} scene{'' if changed == 1 else 's'} changed, "
        f"{retitled} chapter{'' if retitled == 1 else 's'} retitled, {result.deleted} deleted. "
        f"Export it with: bookwright export {book}",
        highlight=False,
        soft_wrap=True,
    )
    if result.reextract:
        out.print(
            f"Changed scenes whose facts a story bible must re-extract: "
            f"{', '.join(result.reextract)} (recorded in `bookwright show {book} import`)",
            highlight=False,
            soft_wrap=True,
        )


def _read_spec(path: Path) -> dict[str, Any]:
    """The spec file's fields; a relative `sources` folder is read from the file's own
    folder, as a path written in a file means."""
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
        folder = values.get("sources")
        if isinstance(folder, str) and not Path(folder).expanduser().is_absolute():
            values["sources"] = str(path.parent / folder)
        return values
    except OSError as exc:
        raise UsageError(
            f"Cannot read spec file {path}: {exc.strerror or exc}", "Check the path"
        ) from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"Spec file {path} is not UTF-8 text (byte {exc.start})", "Save it as UTF-8"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Spec file {path} is not valid TOML: {exc}", "Fix the file") from None


def _validate_spec(values: dict[str, Any]) -> BookSpec:
    try:
        return BookSpec.model_validate(values)
    except ValidationError as exc:
        first = first_error(exc)
        flag = "--" + first.top.replace("_", "-") if first.top else "the spec"
        raise UsageError(
            f"Invalid {first.where or 'spec'} ({first.given!r}): {first.msg}",
            f"Fix {flag} and run again",
        ) from None


from bookwright.web.cli import serve  # noqa: E402  (the web face's one command)

app.command()(serve)
from bookwright.cli_workers import db_app, worker  # noqa: E402  (scaling out on Postgres)

app.command()(worker)
app.add_typer(db_app, name="db")
from bookwright.cli_safety import register  # noqa: E402  (backup, restore, doctor, gc)

register(app)
from bookwright.cli_face import Face, set_face  # noqa: E402  (what the job commands use)

set_face(Face(settings=_settings, books=_books, fail=_fail, run=_run))
from bookwright.cli_review import register as register_review  # noqa: E402  (the review job)

register_review(app)
from bookwright.cli_adapt import register as register_adapt  # noqa: E402  (the adapt job)

register_adapt(app)
from bookwright.cli_sources import register as register_sources  # noqa: E402  (`answer`)

register_sources(app)


def _plugin_commands() -> None:
    """Jobs from other packages (the entry-point group `bookwright.jobs`) add their own
    commands. Nothing is imported when none is installed: the command stays quick."""
    from importlib.metadata import entry_points

    if not entry_points(group="bookwright.jobs"):
        return
    from bookwright.jobs import JOBS  # importing it loads (and registers) them

    for job in JOBS.values():
        if job.commands is not None:
            job.commands(app)


_plugin_commands()


# Set once a book ran here: a halted workflow keeps a DBOS thread waiting (the database,
# not the thread, remembers where the book stands), so the process ends without waiting.
_ENGINE_RAN = False


def run(argv: list[str] | None = None) -> int:
    """The command line in this process; its exit code. `main` is this and the exit; the
    tests call it directly, in process."""
    try:
        app(args=argv, prog_name="bookwright")
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except (BookwrightError, RecursionError) as error:  # the one edge for what no
        if isinstance(error, RecursionError):  # command translated itself
            error = UsageError("The input is nested too deeply to read", "Simplify the file")
        _say_error(error)
        return error.exit_code
    return EXIT_OK


def main() -> None:
    code = EXIT_FAILED
    try:
        code = run()
    finally:
        if _ENGINE_RAN:  # whatever happens on the way out (a closed pipe, a late Ctrl+C)
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    sys.exit(code)
