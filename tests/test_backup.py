"""`bookwright backup` and `restore`: a consistent copy taken while a book is written,
restored elsewhere and finished there without paying again; refusals that write nothing."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import signal
import sqlite3
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS
from typer.testing import CliRunner

from bookwright.cli import app
from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.settings import Settings
from tests.conftest import SMALL, Workspace, scripted_settings, write_in_process
from tests.scripted_server import ScriptedServer


def cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"BOOKWRIGHT_HOME": str(home)})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_while_written_then_restore_elsewhere_finishes_it_unpaid(  # type: ignore[no-untyped-def]
    tmp_path: Path, slow, scripted: ScriptedServer
) -> None:
    ws, _slow_server = slow
    writer = ws.start("write", *SMALL, "--model", "scripted:m", "--book-id", "busy")
    try:
        books = Books(Settings(home=ws.home))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if books.store.get_book("busy") and books.status("busy").llm.requests_sent >= 12:
                break
            time.sleep(0.1)
        archive = tmp_path / "busy.tar.gz"
        made = cli(ws.home, "backup", "busy", "-o", str(archive))
        assert made.exit_code == 0, made.output
        assert "busy was being written" in made.output
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()

    other = tmp_path / "laptop"
    restored = cli(other, "restore", str(archive), "--into", str(other))
    assert restored.exit_code == 0, restored.output
    assert "continue it with `bookwright resume busy`" in restored.output
    copied = Books(scripted_settings(other, scripted)).status("busy")
    assert copied.status.value == "processing" and not copied.running
    answered = copied.llm.requests_sent

    report = write_in_process(scripted_settings(other, scripted), "busy", create=False)
    assert report.status.value == "completed"
    resumed_requests = scripted.requests
    # An undisturbed run of the same book, for comparison.
    clean = write_in_process(scripted_settings(tmp_path / "clean", scripted), "busy")
    assert clean.status.value == "completed"
    ours = (other / "books" / "busy" / "manuscript.md").read_text()
    assert ours == (tmp_path / "clean" / "books" / "busy" / "manuscript.md").read_text()
    # Nothing answered before the backup is paid again (a request in flight may be).
    assert resumed_requests <= clean.llm.requests_sent - answered + 1
    assert report.llm.requests_sent <= clean.llm.requests_sent + 1


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, ScriptedServer]]:
    """A home with a finished book and one halted for review at its outline (written in
    a process of its own: a halted workflow keeps a DBOS thread waiting), built once."""
    root = tmp_path_factory.mktemp("two-books")
    with ScriptedServer() as server:
        settings = scripted_settings(root / "home", server)
        assert write_in_process(settings, "first").status.value == "completed"
        config = root / "bookwright.toml"
        config.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        halted = Workspace(settings.home, config).run(
            "write", *SMALL, "--model", "scripted:m", "--book-id", "second", "--pause-at", "outline"
        )
        assert halted.code == 3, halted.err
        yield root / "home", server


@pytest.fixture
def two_books(tmp_path: Path, built: tuple[Path, ScriptedServer]) -> Settings:
    """A copy of the built home, for one test to change."""
    home, server = built
    shutil.copytree(home, tmp_path / "home")
    return scripted_settings(tmp_path / "home", server)


def test_named_backup_holds_only_that_books_rows_and_restores_resumable(  # type: ignore[no-untyped-def]
    tmp_path: Path, two_books: Settings, built: tuple[Path, ScriptedServer]
) -> None:
    home = two_books.home
    archive = tmp_path / "second.tar.gz"
    assert cli(home, "backup", "second", "-o", str(archive)).exit_code == 0
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        names = tar.getnames()
        tar.extract("store.sqlite", tmp_path / "x", filter="data")
    assert [b["id"] for b in manifest["books"]] == ["second"]
    assert manifest["bookwright_version"] and manifest["schema_version"]
    assert "books/second/dbos.sqlite" in names and not any("first" in n for n in names)
    assert all(len(f["sha256"]) == 64 for f in manifest["files"].values())
    db = sqlite3.connect(tmp_path / "x" / "store.sqlite")
    for table, key in (("books", "id"), ("artifacts", "book_id"), ("llm_requests", "book_id")):
        assert {r[0] for r in db.execute(f"SELECT DISTINCT {key} FROM {table}")} == {"second"}

    other = tmp_path / "other"
    assert cli(other, "restore", str(archive), "--into", str(other)).exit_code == 0
    listed = cli(other, "list", "--json")
    assert [b["book_id"] for b in json.loads(listed.output)] == ["second"]
    assert (other / "backups.jsonl").exists() is False  # the log stays in the source home
    # The restored halt is approved and finished there as in its home.
    settings = scripted_settings(other, built[1])
    try:
        report = run_book(settings, "second", approve=True)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)
    assert report.status.value == "completed"
    exported = cli(other, "export", "second", "-o", str(tmp_path / "second.md"))
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "second.md").read_text().count("## Chapter") == 2


def test_restore_refuses_an_existing_book_and_a_damaged_file_writing_nothing(  # type: ignore[no-untyped-def]
    tmp_path: Path, two_books: Settings
) -> None:
    home = two_books.home
    archive = tmp_path / "all.tar.gz"
    assert cli(home, "backup", "-o", str(archive)).exit_code == 0
    before = digest(home / "bookwright.sqlite")
    folder = sorted(p.name for p in (home / "books" / "first").iterdir())

    refused = cli(home, "restore", str(archive))
    assert refused.exit_code == 2, refused.output
    assert "first, second already exist" in refused.output and "--force" in refused.output
    assert digest(home / "bookwright.sqlite") == before
    assert sorted(p.name for p in (home / "books" / "first").iterdir()) == folder
    assert not list(home.glob(".restore-*"))

    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "books/first/manuscript.md":
                data = data.replace(b"Chapter", b"Chapitre")
                member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    bad = cli(tmp_path / "fresh", "restore", str(tampered), "--into", str(tmp_path / "fresh"))
    assert bad.exit_code == 2
    assert "books/first/manuscript.md does not match its checksum" in bad.output
    assert not (tmp_path / "fresh" / "books").exists()

    forced = cli(home, "restore", str(archive), "--force")
    assert forced.exit_code == 0, forced.output
    assert "Restored first (replaced)" in forced.output
    status = json.loads(cli(home, "status", "first", "--json").output)
    assert status["status"] == "completed"
    assert cli(home, "export", "first", "-o", str(tmp_path / "first.md")).exit_code == 0
