"""`bookwright serve`: the dashboard and REST API over one workspace."""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from bookwright.errors import EXIT_USAGE, BookwrightError, UsageError
from bookwright.settings import load_settings

err = Console(stderr=True)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="BOOKWRIGHT_TOKEN",
            help="Every request must carry it (Authorization: Bearer TOKEN). "
            "Required when HOST is not loopback.",
            show_envvar=True,
        ),
    ] = None,
    settings_file: Annotated[
        Path | None, typer.Option("--settings", help="TOML settings file.")
    ] = None,
) -> None:
    """Serve the web dashboard and REST API (books are written in background processes)."""
    from bookwright.web.guards import allowed_hosts, check_token

    try:
        if token is not None:
            try:
                token = check_token(token)
            except ValueError as exc:
                raise UsageError(
                    str(exc), "Pass a longer --token (e.g. `openssl rand -hex 16`)"
                ) from None
        if not is_loopback(host) and not token:
            raise UsageError(
                f"Refusing to serve on {host} without a token: anyone who can reach it could "
                "start books and spend your API credits",
                "Pass --token TOKEN (or set BOOKWRIGHT_TOKEN), or serve on 127.0.0.1",
            )
        settings = load_settings(settings_file)
    except BookwrightError as error:
        err.print(
            f"[bold red]error:[/] {escape(error.one_line())}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(error.exit_code) from None

    import uvicorn

    from bookwright.web.app import create_app

    app = create_app(
        settings, token=token or None, settings_file=settings_file, hosts=allowed_hosts(host)
    )
    err.print(
        f"bookwright dashboard on http://{escape(host)}:{port}/ (API description at /openapi.json)",
        highlight=False,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again with
    # the handlers it found: these make that second delivery a no-op, so the exit is 0.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    except SystemExit as exc:  # uvicorn exits 1 when it cannot bind
        code = exc.code if isinstance(exc.code, int) else 1
        sys.exit(EXIT_USAGE if code else 0)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # DBOS threads are done; don't wait on interpreter teardown
