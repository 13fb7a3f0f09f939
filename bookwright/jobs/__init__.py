"""The jobs bookwright runs on its engine, each a durable workflow over a book record.

A book's spec says its job (`"job"`; a spec without one is a novel). Everything else,
status, pause, resume, approve, show, export, the API and the workers, reads the book
record and the artifacts, and serves every job alike. Importing this module registers
every job's workflows with DBOS, which must happen before DBOS is launched.

A job from another package registers itself with `register` when its module is imported,
and is found in every process (the CLI, `serve`, the workers) through the entry-point
group `bookwright.jobs` (README: "Adding a job").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bookwright.engine.workflows import book_workflow
from bookwright.errors import UsageError
from bookwright.jobs.adapt.workflow import adapt_workflow
from bookwright.jobs.review.workflow import review_workflow
from bookwright.jobs.sources.workflow import sources_workflow
from bookwright.stages.prompts import add_prompt_folder


@dataclass(frozen=True)
class Job:
    name: str
    workflow: Callable[[str], str]  # takes the book id
    workflow_name: str  # its DBOS name, for queueing by name (workers)
    retries_chapters: bool  # `bookwright retry --chapter` applies


JOBS: dict[str, Job] = {
    "novel": Job("novel", book_workflow, "book", True),
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


def job_of(spec: dict[str, Any]) -> Job:
    """The job a stored spec belongs to."""
    name = str(spec.get("job") or "novel")
    if name not in JOBS:
        raise UsageError(
            f"This book belongs to the job {name!r}, which this installation does not have",
            f"Install the package that provides the {name!r} job, then run the command again",
        )
    return JOBS[name]


def _load_plugins() -> None:
    """Import the jobs other packages declare; one that fails to load is logged, not fatal
    (the other jobs, and every book of theirs, keep working)."""
    for entry in entry_points(group=ENTRY_POINTS):
        try:
            entry.load()
        except Exception as exc:
            logging.getLogger(__name__).error("the job %s failed to load: %s", entry.name, exc)


_load_plugins()
