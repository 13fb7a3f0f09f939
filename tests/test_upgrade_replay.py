"""Upgrades keep books resumable: a book halted mid-chapter by bookwright 4b21b94 (the
workspace in tests/fixtures/halted-4b21b94, recorded by its record.py) resumes and
completes with the code of today, and ends as a book written by today's code alone."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import SMALL, Workspace
from tests.scripted_server import ScriptedServer

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
