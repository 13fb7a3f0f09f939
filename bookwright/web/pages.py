"""The dashboard: server-rendered pages, each with its JSON twin in the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bookwright.engine.books import Books
from bookwright.model.spec import PAUSABLE_STAGES, Stage
from bookwright.model.status import StatusReport
from bookwright.web.api import ExportFormat, books_of, launcher_of
from bookwright.web.errors import ERROR_RESPONSES
from bookwright.web.jobs import output_files

router = APIRouter(include_in_schema=False, responses=ERROR_RESPONSES)  # type: ignore[arg-type]
templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
STAGES = [s.value for s in Stage]


def timeline(report: StatusReport) -> list[tuple[str, str]]:
    """Each stage with its state: done, current, halted or todo (app.js computes the same)."""
    if report.status.value == "completed":
        return [(s, "done") for s in STAGES]
    current = STAGES.index(report.current_stage) if report.current_stage in STAGES else -1
    out = []
    for i, stage in enumerate(STAGES):
        if i < current:
            state = "done"
        elif i == current:
            state = "halted" if report.status.value in ("halted", "paused", "failed") else "current"
        else:
            state = "todo"
        out.append((stage, state))
    return out


def review_artifact(stage: str | None) -> str | None:
    if not stage:
        return None
    return "manuscript" if stage in ("harmonize", "export") else stage


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    books = books_of(request)
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "reports": books.all(),
            "stages": [s.value for s in PAUSABLE_STAGES],
            "default_model": books.settings.default_model,
            "finished": [r.book_id for r in books.all() if r.status.value == "completed"],
        },
    )


@router.get("/books/{book_id}", response_class=HTMLResponse)
def book_page(request: Request, book_id: str) -> HTMLResponse:
    books = books_of(request)
    report = books.status(book_id)
    launcher = launcher_of(request)
    return templates.TemplateResponse(
        request,
        "book.html",
        {
            "report": report,
            "stats": books.stats(book_id),
            "timeline": timeline(report),
            "queued": launcher.active(book_id),
            "failed_calls": books.store.errors(book_id)[-50:],
            "runs": launcher.runs(book_id, limit=10),
            "formats": [f.value for f in ExportFormat],
            "review": review_artifact(report.halted_at),
            "artifacts": _artifact_names(books, book_id),
            "files": output_files(request, book_id),
            "questions": _questions(books, book_id, report.job),
            **_review_report(books, book_id, report.job),
        },
    )


def _questions(books: Books, book_id: str, job: str) -> list[dict[str, Any]] | None:
    """A book from sources: its open questions, numbered as the answers are read."""
    if job != "sources":
        return None
    found = books.store.get_artifact(book_id, "questions")
    return list(found[1].get("questions", [])) if found else []


def _review_report(books: Books, book_id: str, job: str) -> dict[str, Any]:
    """A finished review's report and its charts (SVG drawn by the browser, inline)."""
    if job != "review":
        return {}
    found = books.store.get_artifact(book_id, "report")
    if found is None:
        return {}
    from markupsafe import Markup

    from bookwright.jobs.review.report import svg_charts

    report = found[1]
    # The charts are built from numbers and html-escaped names (jobs/review/report.py).
    charts = {name: Markup(svg) for name, svg in svg_charts(report).items()}
    return {"review_report": report, "review_charts": charts}


@router.get("/books/{book_id}/review", response_class=HTMLResponse)
def review_page(request: Request, book_id: str) -> HTMLResponse:
    books = books_of(request)
    report = books.status(book_id)
    name = review_artifact(report.halted_at)
    data: dict[str, Any] | None = books.artifact(book_id, name) if name else None
    return templates.TemplateResponse(
        request, "review.html", {"report": report, "name": name, "artifact": data}
    )


def _artifact_names(books: Books, book_id: str) -> list[str]:
    names = books.store.artifact_names(book_id)
    return [n for n in names if not n.startswith(("draft:", "scene:"))]
