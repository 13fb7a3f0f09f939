"""The jobs bookwright runs on its engine, each a durable workflow over a book record.

A book's spec says its job (`"job"`; a spec without one is a novel). Everything else,
status, pause, resume, approve, show, export, the API and the workers, reads the book
record and the artifacts, and serves every job alike. Importing this module registers
every job's workflows with DBOS, which must happen before DBOS is launched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bookwright.engine.workflows import book_workflow
from bookwright.jobs.adapt.workflow import adapt_workflow
from bookwright.jobs.review.workflow import review_workflow
from bookwright.jobs.sources.workflow import sources_workflow


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


def job_of(spec: dict[str, Any]) -> Job:
    """The job a stored spec belongs to."""
    return JOBS[str(spec.get("job") or "novel")]
