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
        list[str] | None, typer.Argument(help="Books to back up (default all).")
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
        else:
            hint = f"continue it with `bookwright resume {entry.id}`"
        out.print(
            f"Restored {entry.id}{again} ({entry.status}) into {result.home}: {hint}",
            soft_wrap=True,
        )


def register(app: typer.Typer) -> None:
    """Add these commands to the `bookwright` app."""
    for command in (backup, restore):
        app.command()(command)


def _dump(data: object) -> None:
    print(json.dumps(data, indent=2))
