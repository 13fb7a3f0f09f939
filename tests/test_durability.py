"""SIGKILL at random moments, then resume: the same manuscript, nothing paid twice."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import (
    EMBEDDED_BOOK,
    SMALL,
    EmbeddedReference,
    Workspace,
    epubcheck_command,
)
from tests.durability import write_with_kills
from tests.scripted_server import ScriptedServer


def manuscript(ws: Workspace, book_id: str) -> bytes:
    path = ws.home / f"{book_id}.md"
    assert ws.run("export", book_id, "-o", str(path)).code == 0
    return path.read_bytes()


def test_killed_and_resumed_book_matches_an_uninterrupted_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with ScriptedServer(delay_s=0.12) as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        ws = Workspace(tmp_path / "home", settings)
        args = [*SMALL, "--model", "scripted:m"]
        assert ws.run("write", *args, "--book-id", "clean").code == 0
        clean_requests = ws.run("status", "clean", "--json").json()["llm"]["requests_sent"]
        sent_before = server.requests

        kills = write_with_kills(ws, args, "killed", kills=6, seed=11, min_s=0.5, max_s=2.0)
        assert kills >= 3  # the soak must really have interrupted the run

        assert manuscript(ws, "killed") == manuscript(ws, "clean")
        status = ws.run("status", "killed", "--json").json()
        assert status["status"] == "completed"
        assert [c["status"] for c in status["chapters"]] == ["completed"] * 2
        paid = status["llm"]["requests_sent"]
        assert paid <= clean_requests + kills
        assert server.requests - sent_before <= paid  # counted = really sent (or fewer sent)


def test_a_book_from_sources_killed_and_resumed_matches_an_uninterrupted_one(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL during the storyline and the chapters of a book from sources (its reading
    happens before the book is recorded: a kill there leaves nothing to resume)."""
    import shutil

    corpus = tmp_path / "interviews"
    shutil.copytree(Path(__file__).parent / "fixtures" / "sources", corpus)
    with ScriptedServer(delay_s=0.12) as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        ws = Workspace(tmp_path / "home", settings)
        args = [
            "--sources", str(corpus), "--title", "The Mill", "--chapters", "3",
            "--words-per-chapter", "60", "--model", "scripted:m",
        ]  # fmt: skip
        assert ws.run("write", *args, "--book-id", "clean").code == 0
        clean = ws.run("status", "clean", "--json").json()
        assert clean["status"] == "completed", clean
        kills = write_with_kills(ws, args, "killed", kills=4, seed=5, min_s=0.3, max_s=1.2)
        assert kills >= 2
        status = ws.run("status", "killed", "--json").json()
        assert status["status"] == "completed"
        assert manuscript(ws, "killed") == manuscript(ws, "clean")
        assert status["llm"]["requests_sent"] <= clean["llm"]["requests_sent"] + kills


@pytest.mark.embedded
@pytest.mark.timeout(1800)  # a deadline for a slow machine: the reference, then 3 kills
def test_embedded_model_book_survives_sigkill(embedded_reference: EmbeddedReference) -> None:
    ws = embedded_reference.ws
    kills = write_with_kills(ws, EMBEDDED_BOOK, "killed", kills=3, seed=5, min_s=3.0, max_s=9.0)
    assert kills >= 1
    assert manuscript(ws, "killed") == embedded_reference.manuscript
    paid = ws.run("status", "killed", "--json").json()["llm"]["requests_sent"]
    assert paid <= embedded_reference.requests + kills
    export_every_format(ws, embedded_reference.book_id, ws.home.parent / "out")


def export_every_format(ws: Workspace, book: str, out: Path) -> None:
    """The embedded model's finished book in every format authors use."""
    import subprocess
    import xml.etree.ElementTree as ET

    import docx

    run = ws.run("export", book, "--format", "all", "-o", str(out))
    assert run.code == 0, run.err
    titles = [c["title"] for c in ws.run("status", book, "--json").json()["chapters"]]
    document = docx.Document(str(out / f"{book}.docx"))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert all(any(t in h for h in headings) for t in titles)
    project = ET.parse(out / f"{book}.yw7").getroot()
    assert project.tag == "YWRITER7" and len(project.findall("./CHAPTERS/CHAPTER")) == len(titles)
    assert len(list((out / "json").glob("*.json"))) == len(titles)
    # Last, as the other formats were checked: skipped with the reason where it cannot run.
    check = subprocess.run(
        [*epubcheck_command(), str(out / f"{book}.epub")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
