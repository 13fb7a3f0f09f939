"""`bookwright worker` and `bookwright db migrate`: scaling out on PostgreSQL."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bookwright.errors import EXIT_OK, BookwrightError, ConfigError
from bookwright.settings import Settings, load_settings

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

SettingsOpt = Annotated[Path | None, typer.Option("--settings", help="TOML settings file.")]

db_app = typer.Typer(help="The database: create or upgrade its schema.", no_args_is_help=True)


def _fail(error: BookwrightError) -> None:
    err.print(f"[bold red]error:[/] {escape(error.one_line())}", soft_wrap=True)
    raise typer.Exit(error.exit_code)


def _postgres(settings: Settings) -> str:
    if not settings.on_postgres or not settings.database_url:
        raise ConfigError(
            "No PostgreSQL database is configured",
            "Set BOOKWRIGHT_DATABASE_URL=postgresql://USER@HOST/DB or database_url in "
            "bookwright.toml (SQLite workspaces upgrade themselves)",
        )
    return settings.database_url


@db_app.command()
def migrate(settings_file: SettingsOpt = None) -> None:
    """Create or upgrade the content store's tables and DBOS's system schema."""
    import sqlalchemy as sa
    from dbos import DBOS

    from bookwright.store.migrate import upgrade
    from bookwright.store.repo import make_engine

    try:
        url = _postgres(load_settings(settings_file))
        engine = make_engine(url)
        try:
            changed = upgrade(engine)
        except sa.exc.OperationalError as exc:
            raise ConfigError(
                f"Cannot reach the database: {str(exc.orig).splitlines()[0]}",
                "Check BOOKWRIGHT_DATABASE_URL and that PostgreSQL is running",
            ) from None
        finally:
            engine.dispose()
        DBOS.migrate(url)
    except BookwrightError as error:
        _fail(error)
    if changed:
        out.print(f"Content store: added {', '.join(changed)}")
    else:
        out.print("Content store: up to date")
    out.print("DBOS system schema: up to date")


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Books each worker writes at once (default: workers.concurrency)."
        ),
    ] = None,
    executor_id: Annotated[
        str | None,
        typer.Option(
            help="Stable id of this worker; restart it with the same id to recover its "
            "books (default: workers.executor_id, else worker-HOSTNAME)."
        ),
    ] = None,
    settings_file: SettingsOpt = None,
) -> None:
    """Write books queued on PostgreSQL (by `write --detach`, the web app, other workers)."""
    from bookwright.engine.worker import default_executor_id, run_worker

    code = EXIT_OK
    try:
        settings = load_settings(settings_file)
        _postgres(settings)
        run_worker(
            settings,
            executor_id or default_executor_id(settings),
            concurrency or settings.workers.concurrency,
            on_event=lambda line: out.print(escape(line), soft_wrap=True),
        )
    except BookwrightError as error:
        err.print(f"[bold red]error:[/] {escape(error.one_line())}", soft_wrap=True)
        code = error.exit_code
    sys.stdout.flush()
    sys.stderr.flush()
    # Workflow threads may still wait in DBOS.recv; the database remembers where they are.
    os._exit(code)


def worker_notice(settings: Settings, book_id: str) -> str | None:
    """On Postgres, a warning when no live worker can write the book; else None."""
    if not settings.on_postgres:
        return None
    from bookwright.engine.dispatch import worker_warning
    from bookwright.store import Store

    store = Store(settings.store_url)
    try:
        return worker_warning(settings, store, book_id)
    finally:
        store.close()


def detach_notice(settings: Settings, book_id: str) -> str:
    """What `write --detach` prints: where the book went and how to follow it."""
    lines = [
        f"Queued {book_id} for the workers.",
        f"Watch it with `bookwright status {book_id} --watch`; "
        f"list every book with `bookwright list`.",
    ]
    warning = worker_notice(settings, book_id)
    return "\n".join([*lines, warning] if warning else lines)


def check_detach(settings: Settings) -> None:
    if not settings.on_postgres:
        raise ConfigError(
            "--detach hands the book to workers, which need PostgreSQL",
            "Set BOOKWRIGHT_DATABASE_URL=postgresql://... and run `bookwright worker`, "
            "or leave out --detach to write the book here",
        )


def detach_book(settings: Settings, book_id: str) -> None:
    """Queue a new book for the workers, say how to follow it, and exit 0."""
    from bookwright.engine.runner import run_book

    try:
        run_book(settings, book_id, detach=True)
        notice = detach_notice(settings, book_id)
    except BookwrightError as error:
        _fail(error)
    out.print(notice, soft_wrap=True)
    raise typer.Exit(EXIT_OK)
