"""The jobs bookwright runs on its engine, each a durable workflow over a book record.

A book's spec says its job (`"job"`; a spec without one is a novel). Everything else,
status, pause, resume, approve, show, export, the API and the workers, reads the book
record and the artifacts, and serves every job alike. Importing this module registers
every job's workflows with DBOS, which must happen before DBOS is launched.

A job from another package registers itself with `register` when its module is imported,
and is found in every process (the CLI, `serve`, the workers) through the entry-point
group `bookwright.jobs`, whose name should be the job's (README: "Adding a job").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bookwright.errors import UsageError
from bookwright.jobs.adapt.workflow import adapt_workflow
from bookwright.jobs.novel.workflow import book_workflow, retry_workflow
from bookwright.jobs.review.workflow import review_workflow
from bookwright.jobs.sources.workflow import sources_workflow
from bookwright.stages.prompts import add_prompt_folder


@dataclass(frozen=True)
class Job:
    name: str
    workflow: Callable[[str], str]  # takes the book id
    workflow_name: str  # its DBOS name, for queueing by name (workers)
    retries_chapters: bool  # `bookwright retry --chapter` applies
    # Adds the job's own commands to the `bookwright` command (a Typer app), for a job
    # from another package; bookwright's own jobs register theirs in bookwright.cli.
    commands: Callable[[Any], None] | None = None
    # The workflow that writes one chapter of a finished book again (`bookwright retry`):
    # (book id, chapter, level, cascade, attempts so far) -> status; and its DBOS name.
    retry: Callable[..., str] | None = None
    retry_name: str | None = None


JOBS: dict[str, Job] = {
    "novel": Job("novel", book_workflow, "book", True, retry=retry_workflow, retry_name="retry"),
    "review": Job("review", review_workflow, "review", False),
    "sources": Job("sources", sources_workflow, "sources", False),
    "adapt": Job("adapt", adapt_workflow, "adapt", False),
}


ENTRY_POINTS = "bookwright.jobs"


def register(job: Job, prompts: Path | None = None) -> None:
    """Add a job: its workflow (a `@DBOS.workflow` taking the book id, defined at import,
    before DBOS launches) and, optionally, a folder of its own prompt templates. Its
    artifact types go into `bookwright.model.artifacts.ARTIFACT_TYPES` the same way."""
    if job.name in JOBS and JOBS[job.name] != job:
        raise ValueError(f"a job named {job.name!r} is already registered")
    JOBS[job.name] = job
    if prompts is not None:
        add_prompt_folder(prompts)


FAILED: dict[str, str] = {}  # entry-point name -> why its module did not load


def job_of(spec: dict[str, Any]) -> Job:
    """The job a stored spec belongs to."""
    name = str(spec.get("job") or "novel")
    if name in JOBS:
        return JOBS[name]
    if name in FAILED:
        raise UsageError(
            f"This book belongs to the job {name!r}, which failed to load: {FAILED[name]}",
            f"Fix or reinstall the package that provides the {name!r} job, then run the "
            "command again",
        )
    raise UsageError(
        f"This book belongs to the job {name!r}, which this installation does not have",
        f"Install the package that provides the {name!r} job, then run the command again",
    )


def check_retries(spec: dict[str, Any]) -> Job:
    """The job of a book whose chapter is to be written again; refused when its job has
    no chapter retry."""
    job = job_of(spec)
    if job.retry is None or job.retry_name is None:
        raise UsageError(
            f"A {job.name} book's chapters are not written again one by one",
            "Start the job again on the book instead",
        )
    return job


def _load_plugins() -> None:
    """Import the jobs other packages declare; one that fails to load is logged and
    remembered, not fatal (the other jobs, and every book of theirs, keep working)."""
    for entry in entry_points(group=ENTRY_POINTS):
        try:
            entry.load()
        except Exception as exc:
            FAILED[entry.name] = f"{type(exc).__name__}: {exc}"[:300]
            logging.getLogger(__name__).error("the job %s failed to load: %s", entry.name, exc)


_load_plugins()
