"""Replay guard: the names and order of every DBOS step of a scripted book.

A book in progress resumes by replaying its recorded steps in order; a change that
adds, drops, renames or reorders a step breaks that replay for every such book. This
test writes a small book with the scripted model and a fixed seed and compares its
steps with `tests/snapshots/steps_small_book.json`. A change that alters them on
purpose must bump WORKFLOW_VERSION (README: how a change keeps books resumable), then
regenerate the snapshot and commit it:

    BOOKWRIGHT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_replay_steps.py
"""

from __future__ import annotations

import difflib
import json
import os
import sqlite3
from pathlib import Path

from dbos import DBOS

from bookwright.engine.books import Books
from bookwright.engine.ids import WORKFLOW_VERSION
from bookwright.engine.runner import run_book
from bookwright.model import BookSpec
from bookwright.settings import Settings
from tests.conftest import SMALL_BOOK
from tests.scripted_model import scripted_model

SNAPSHOT = Path(__file__).parent / "snapshots" / "steps_small_book.json"
BOOK_ID = "replay"


def recorded_steps(dbos_file: Path) -> dict[str, list[str]]:
    """Each workflow's steps in order, as `ID NAME` (`-> CHILD` for a child workflow),
    from DBOS's `operation_outputs`; the book id is written BOOK."""
    with sqlite3.connect(dbos_file) as conn:
        rows = conn.execute(
            "SELECT workflow_uuid, function_id, function_name, child_workflow_id "
            "FROM operation_outputs ORDER BY workflow_uuid, function_id"
        ).fetchall()
    steps: dict[str, list[str]] = {}
    for workflow, number, name, child in rows:
        line = f"{number} {name}" + (f" -> {child.replace(BOOK_ID, 'BOOK')}" if child else "")
        steps.setdefault(workflow.replace(BOOK_ID, "BOOK"), []).append(line)
    return steps


def test_the_steps_of_a_scripted_book_match_the_snapshot(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    books = Books(settings)
    with scripted_model():
        books.create(BookSpec(**SMALL_BOOK, model="fn:x"), BOOK_ID)
        try:
            assert run_book(settings, BOOK_ID).status.value == "completed"
        finally:
            DBOS.destroy()
    actual = {
        "workflow_version": WORKFLOW_VERSION,
        "workflows": recorded_steps(settings.book_dir(BOOK_ID) / "dbos.sqlite"),
    }
    text = json.dumps(actual, indent=1) + "\n"
    if os.environ.get("BOOKWRIGHT_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    expected = SNAPSHOT.read_text()
    diff = "\n".join(
        difflib.unified_diff(
            expected.splitlines(), text.splitlines(), "snapshot", "this code", lineterm=""
        )
    )
    assert text == expected, (
        "The steps of a book changed, so books in progress would not replay. If that is "
        "meant, bump WORKFLOW_VERSION and regenerate the snapshot with "
        "BOOKWRIGHT_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_replay_steps.py\n" + diff
    )
