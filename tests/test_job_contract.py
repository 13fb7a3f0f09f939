"""The engine's contract, proved by a job bookwright does not know (tests/toy_job.py):
registered from outside, it is written, halted at its pause point, approved with an
edit (a bad edit refused), killed with SIGKILL mid-stage and resumed with nothing paid
twice, then read through status, show, errors, stats, list, export and the REST API."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from dbos import DBOS
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bookwright.cli import app
from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.web.app import create_app
from tests.conftest import ROOT, Workspace, interruptible, scripted_settings
from tests.scripted_server import ScriptedServer
from tests.toy_job import ToySpec

REPLIES = {
    "TOY-NOTES": "lantern, harbour, storm",
    "TOY-TEXT": "The lamp swung over the quay. Gulls cried in the dark. Nobody came.",
}
# The CLI in a process of its own, with the toy job imported first, as a job package's
# entry point would be.
CLI = [sys.executable, "-c", "import tests.toy_job; from bookwright.cli import main; main()"]


def cli(ws: Workspace, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, *args, "--settings", str(ws.settings)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ws.env(),
        cwd=ROOT,
        preexec_fn=interruptible,
    )


def in_process(home: Path, *args: str) -> str:
    run = CliRunner().invoke(app, list(args), env={"BOOKWRIGHT_HOME": str(home)})
    assert run.exit_code == 0, run.output
    return run.output


def test_a_job_from_outside_gets_every_face_of_the_engine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    # Requests after the third (notes, two texts) wait for release: the kill lands there.
    with ScriptedServer(replies=REPLIES, hold_after=2) as server:
        settings = scripted_settings(home, server)
        (tmp_path / "bookwright.toml").write_text(
            f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
        )
        ws = Workspace(home, tmp_path / "bookwright.toml")
        books = Books(settings)
        spec = ToySpec(title="Harbour Light", pause_at=["notes"])
        books.record(spec.model_dump(), spec.title, spec.model, "toy", name=spec.title)
        report = run_book(settings, "toy")
        DBOS.destroy()
        assert (report.job, report.status.value, report.halted_at) == ("toy", "halted", "notes")
        shown = json.loads(in_process(home, "show", "toy", "notes", "--json"))
        assert shown == {"points": ["lantern", "harbour", "storm"]}

        bad, good = tmp_path / "bad.json", tmp_path / "good.json"
        bad.write_text(json.dumps({"points": []}))
        refused = cli(ws, "approve", "toy", "--edit", str(bad))
        out, err = refused.communicate(timeout=120)
        assert refused.returncode == 2, out + err
        assert "points" in out + err
        good.write_text(json.dumps({"points": ["lamp", "quay", "gulls", "tide"]}))

        writing = cli(ws, "approve", "toy", "--edit", str(good))
        deadline = time.monotonic() + 120
        while server.requests < 3:  # the second text's request is held in flight
            assert writing.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        writing.send_signal(signal.SIGKILL)
        writing.wait()
        server.released.set()
        resumed = cli(ws, "resume", "toy")
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, out + err

    status = json.loads(in_process(home, "status", "toy", "--json"))
    assert (status["job"], status["status"]) == ("toy", "completed")
    assert [c["status"] for c in status["chapters"]] == ["completed"]
    # Notes, then four texts; the text in flight at the kill is the only one sent twice.
    assert status["llm"]["requests_sent"] == 1 + 4 + 1
    assert books.store.artifact_source("toy", "notes") == "edited"
    assert json.loads(in_process(home, "show", "toy", "notes", "--json"))["points"][0] == "lamp"
    assert "toy" in in_process(home, "list")
    in_process(home, "errors", "toy")
    stats = json.loads(in_process(home, "stats", "toy", "--json"))
    assert [c["words"] for c in stats["chapters"]] == [status["chapters"][0]["word_count"]]
    manuscript = tmp_path / "toy.md"
    in_process(home, "export", "toy", "--format", "md", "-o", str(manuscript))
    text = manuscript.read_text()
    assert "# Harbour Light" in text and text.count("Gulls cried in the dark") == 4

    with TestClient(create_app(settings), base_url="http://localhost") as client:
        api = client.get("/api/books/toy").json()
        assert (api["job"], api["status"]) == ("toy", "completed")
        assert api["llm"] == status["llm"]
        assert client.get("/api/books/toy/artifacts/notes").json()["points"][-1] == "tide"
        assert "notes" in client.get("/api/books/toy/artifacts").json()
        assert client.get("/books/toy").status_code == 200
