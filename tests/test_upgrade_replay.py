"""Upgrades keep books resumable: a book halted mid-chapter by bookwright 4b21b94 (the
workspace in tests/fixtures/halted-4b21b94, recorded by its record.py) resumes and
completes with the code of today, and ends as a book written by today's code alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dbos import DBOS

from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.model import BookSpec
from bookwright.settings import Settings
from bookwright.stages.answers import accept
from bookwright.stages.asks import Ask
from tests.conftest import SCRIPTED_SPEC, SMALL, Workspace
from tests.scripted_model import scripted_model
from tests.scripted_server import ScriptedServer, answer

FIXTURE = Path(__file__).parent / "fixtures" / "halted-4b21b94" / "home"


def test_a_book_halted_by_older_code_resumes_and_completes(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "old")
    with ScriptedServer() as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        old = Workspace(tmp_path / "old", settings)
        before = old.run("status", "halted", "--json").json()
        assert before["status"] == "halted"
        assert [c["status"] for c in before["chapters"]] == ["generated", "in_progress"]
        paid_before = before["llm"]["requests_sent"]

        resumed = old.run("resume", "halted")
        assert resumed.code == 0, resumed.err
        after = old.run("status", "halted", "--json").json()
        assert [c["status"] for c in after["chapters"]] == ["completed", "completed"]

        new = Workspace(tmp_path / "new", settings)
        clean = new.run("write", *SMALL, "--model", "scripted:m", "--book-id", "halted")
        assert clean.code == 0, clean.err
        assert text(old, tmp_path / "old.md") == text(new, tmp_path / "new.md")
    clean_paid = new.run("status", "halted", "--json").json()["llm"]["requests_sent"]
    # The failed request is sent again; nothing that was answered is.
    assert after["llm"]["requests_sent"] - paid_before <= clean_paid - (paid_before - 1)


def text(ws: Workspace, path: Path) -> str:
    done = ws.run("export", "halted", "-o", str(path))
    assert done.code == 0, done.err
    return path.read_text(encoding="utf-8")


def test_a_check_changed_under_a_halted_book_does_not_change_its_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks' verdicts are recorded: a book halted under one version of the checks
    resumes under a stricter one (here, every name refused) with the answers it got."""
    settings = Settings(home=tmp_path / "home")
    spec = {**SCRIPTED_SPEC, "model": "fn:x", "judge": False, "pause_at": ["outline"]}
    with scripted_model(answer):
        Books(settings).create(BookSpec.model_validate(spec), "b")
        try:
            assert run_book(settings, "b").status.value == "halted"
        finally:
            DBOS.destroy(workflow_completion_timeout_sec=0)
        cast = Books(settings).store.get_artifact("b", "characters")
        assert cast is not None

        def no_names(question: Ask, text: str, finish: str | None) -> tuple[str | None, str | None]:
            if question.kind == "name":
                return None, "No name passes today."
            return accept(question, text, finish)

        monkeypatch.setattr("bookwright.engine.steps.accept", no_names)
        monkeypatch.setattr("bookwright.engine.asking.accept", no_names)
        try:
            report = run_book(settings, "b", approve=True)
        finally:
            DBOS.destroy(workflow_completion_timeout_sec=0)
    assert report.status.value == "completed", report.error
    assert report.warnings == []  # no name was asked again, none became a stand-in
    assert Books(settings).store.get_artifact("b", "characters") == cast
