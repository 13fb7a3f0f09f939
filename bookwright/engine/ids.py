"""The names every job's workflows share with the engine: the version DBOS records with
each run (replay needs the same), and the id of a book's first workflow."""

from __future__ import annotations

WORKFLOW_VERSION = "bookwright-wf-2"  # bump only when a change would break replay of old runs


def book_workflow_id(book_id: str) -> str:
    """The id of a book's workflow, whatever its job; a retry or an answer starts another."""
    return f"book-{book_id}"
