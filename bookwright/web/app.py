"""The FastAPI application: REST API, dashboard pages, token check, error shape."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from bookwright import __version__
from bookwright.engine.books import Books
from bookwright.safety.retention import DailyCleanup
from bookwright.settings import Settings
from bookwright.web import api, errors, guards, jobs, pages
from bookwright.web.launcher import Launcher, QueueLauncher

HERE = Path(__file__).resolve().parent
log = logging.getLogger("bookwright.web")
TOKEN_COOKIE = "bookwright_token"


def create_app(
    settings: Settings,
    *,
    token: str | None = None,
    launcher: Launcher | None = None,
    settings_file: Path | None = None,
    hosts: Sequence[str] = guards.LOOPBACK_HOSTS,
) -> FastAPI:
    """The app for one workspace, answering only for `hosts`. With `token` (at least
    16 characters), every request must carry it."""
    if token is not None:
        token = guards.check_token(token)
    books = Books(settings)
    if launcher is None and settings.on_postgres:  # the workers write; the server queues
        from bookwright.engine.dispatch import WorkerLauncher

        launcher = WorkerLauncher(settings)
    runner = launcher or QueueLauncher(settings, settings_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # DBOS's calls are synchronous and refuse to run on the event loop's thread.
        await anyio.to_thread.run_sync(runner.launch)  # recovers runs a crash left behind
        cleanup = DailyCleanup(settings, on_event=log.warning)
        cleanup.start()
        try:
            yield
        finally:
            cleanup.stop()
            await anyio.to_thread.run_sync(runner.shutdown)
            books.store.close()

    app = FastAPI(
        title="bookwright",
        version=__version__,
        description="Start, watch, review and export books written by LLMs. Every failure "
        "is an `ErrorBody`. With a token, send `Authorization: Bearer TOKEN`.",
        lifespan=lifespan,
        # Swagger UI and ReDoc load scripts from a CDN into the dashboard's origin; the
        # description they show is /openapi.json, for any OpenAPI viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.books = books
    app.state.launcher = runner
    errors.install(app)
    app.include_router(api.router)
    app.include_router(jobs.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    if token:
        _require_token(app, token)
    guards.install(app, hosts)  # last added, so the host and origin checks run first
    return app


def _require_token(app: FastAPI, token: str) -> None:
    """Bearer header, or the cookie set by opening any page once with `?token=`."""

    @app.middleware("http")
    async def check_token(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        header = request.headers.get("authorization", "")
        given = [
            header[7:] if header.lower().startswith("bearer ") else "",
            request.cookies.get(TOKEN_COOKIE, ""),
            request.query_params.get("token", ""),
        ]
        if not any(_same(g, token) for g in given):
            return errors.error_response(
                401,
                "unauthorized",
                "Missing or wrong token",
                "Send `Authorization: Bearer TOKEN`, or open /?token=TOKEN once in a browser",
                headers={"WWW-Authenticate": "Bearer"},
            )
        response = await call_next(request)
        if _same(given[2], token):
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response


def _same(given: str, token: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), token.encode())
