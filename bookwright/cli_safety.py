"""`bookwright backup`, `restore`, `doctor` and `gc`: keeping books safe for years.

Exit codes as everywhere (0 done, 2 bad input or usage, 3 a full disk: free space and run
again); `doctor` exits 1 while findings are left.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bookwright.errors import BookwrightError
from bookwright.settings import Settings, load_settings

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

SettingsOpt = Annotated[Path | None, typer.Option("--settings", help="TOML settings file.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(error: BookwrightError) -> None:
    err.print(f"[bold red]error:[/] {escape(error.one_line())}", soft_wrap=True)
    raise typer.Exit(error.exit_code)


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(count) < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"


def backup(
    books: Annotated[
        list[str] | None,
        typer.Argument(help="Books to back up (default all; on PostgreSQL, name them)."),
    ] = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="The backup file to write.")
    ] = Path("bookwright-backup.tar.gz"),
    settings_file: SettingsOpt = None,
) -> None:
    """Back up books (store rows, checkpoints, folders) into one file, even while written."""
    from bookwright.safety.backup import make_backup

    try:
        result = make_backup(load_settings(settings_file), output, books or None)
    except BookwrightError as error:
        _fail(error)
        return
    summary = result.manifest.summary()
    out.print(
        f"Wrote {result.path}: {len(summary['books'])} book(s) ({', '.join(summary['books'])}), "
        f"{summary['files']} files, {_size(summary['bytes'])} before compression, "
        f"{_size(result.path.stat().st_size)} on disk.",
        soft_wrap=True,
    )
    for book_id in result.running:
        out.print(
            f"{book_id} was being written: copied as of now; a restored copy resumes from "
            "its last checkpoint.",
            soft_wrap=True,
        )


def restore(
    file: Annotated[Path, typer.Argument(help="A file written by `bookwright backup`.")],
    into: Annotated[
        Path | None, typer.Option("--into", help="Home to restore into (default BOOKWRIGHT_HOME).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace books that exist there.")] = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Check a backup (manifest, checksums) and restore its books; refuses to overwrite."""
    from bookwright.safety.restore import restore_backup

    try:
        settings = load_settings(settings_file)
        if into is not None:
            settings = Settings.model_validate(
                {**settings.model_dump(), "home": into.expanduser().resolve(), "database_url": None}
            )
        result = restore_backup(file, settings, force=force)
    except BookwrightError as error:
        _fail(error)
        return
    for entry in result.manifest.books:
        again = " (replaced)" if entry.id in result.replaced else ""
        if entry.status == "completed":
            hint = f"export it with `bookwright export {entry.id}`"
        elif (entry.status or "").startswith("halted"):
            hint = f"see `bookwright status {entry.id}`, then approve or resume it"
        elif result.on_postgres and entry.status in ("paused", "failed"):
            hint = f"continue it with `bookwright resume {entry.id}`; a worker writes it"
        elif result.on_postgres:
            hint = (
                "a worker continues it from its last checkpoint (start one with "
                "`bookwright worker` if none runs)"
            )
        else:
            hint = f"continue it with `bookwright resume {entry.id}`"
        out.print(
            f"Restored {entry.id}{again} ({entry.status}) into {result.home}: {hint}",
            soft_wrap=True,
        )


def doctor(
    book: Annotated[str | None, typer.Argument(help="Check one book (default all).")] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Clear stale locks, move orphans aside.")
    ] = False,
    json_: JsonOpt = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Check databases, workflows, artifacts, locks and stray files; exit 1 if findings remain."""
    from bookwright.safety.doctor import examine

    try:
        report = examine(load_settings(settings_file), book, repair=repair)
    except BookwrightError as error:
        _fail(error)
        return
    if json_:
        print(json.dumps(report.as_dict(), indent=2))
    else:
        checked = ", ".join(f"{n} {what}" for what, n in report.checked.items())
        out.print(f"Checked {report.home}: {checked or 'nothing yet'}.", soft_wrap=True)
        for finding in report.findings:
            if finding.repaired:
                out.print(
                    f"repaired: {escape(finding.message)} ({finding.repaired})", soft_wrap=True
                )
            else:
                out.print(
                    f"[bold]{finding.kind}:[/] {escape(finding.message)}\n  what to do: "
                    f"{escape(finding.remedy)}",
                    soft_wrap=True,
                )
        left = len(report.left)
        out.print("Healthy." if not left else f"{left} finding(s) left.")
    raise typer.Exit(0 if report.healthy else 1)


def gc(
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="Completed books untouched this long (30d, 12h)."),
    ] = None,
    keep_versions: Annotated[
        int | None, typer.Option("--keep-versions", help="Versions kept of each artifact.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would go; change nothing.")
    ] = False,
    json_: JsonOpt = False,
    settings_file: SettingsOpt = None,
) -> None:
    """Drop what finished books no longer need (step history, old versions), then VACUUM."""
    from dataclasses import asdict

    from bookwright.safety.gc import collect, parse_age

    try:
        settings = load_settings(settings_file)
        age = (
            parse_age(older_than)
            if older_than is not None
            else settings.retention.older_than_days * 86400
        )
        keep = keep_versions if keep_versions is not None else settings.retention.keep_versions
        result = collect(settings, older_than_s=age, keep_versions=keep, dry_run=dry_run)
    except BookwrightError as error:
        _fail(error)
        return
    if json_:
        print(json.dumps({**asdict(result), "freed": result.freed}, indent=2))
        return
    verb = "Would remove" if dry_run else "Removed"
    for line in result.lines:
        out.print(f"{verb} {escape(line)}", soft_wrap=True)
    if not result.lines:
        out.print("Nothing to remove: no completed book is old enough.")
    elif dry_run:
        out.print("Dry run: nothing was changed. Run without --dry-run to remove it.")
    else:
        out.print(
            f"Freed {_size(result.freed)} ({_size(result.bytes_before)} -> "
            f"{_size(result.bytes_after)} of databases).",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add these commands to the `bookwright` app."""
    for command in (backup, restore, doctor, gc):
        app.command()(command)
