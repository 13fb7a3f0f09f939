"""The engine's contract, proved by a job bookwright does not know (tests/toy_job.py),
installed the way another package's job is (an entry point in the `bookwright.jobs`
group): its own command writes it and halts at its pause point, a bad edit is refused,
a good one approved, the run killed with SIGKILL mid-stage and resumed with nothing paid
twice, then read through status, show, errors, stats, list, export and the REST API.
Without the package, its book is refused with what to install, and nothing changes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

import tests.toy_job  # noqa: F401  (the job in this process too: the in-process faces)
from bookwright.cli import app
from bookwright.engine.books import Books
from bookwright.web.app import create_app
from tests.conftest import ROOT, Workspace, interruptible, scripted_settings
from tests.scripted_server import ScriptedServer

REPLIES = {
    "TOY-NOTES": "lantern, harbour, storm",
    "TOY-TEXT": "The lamp swung over the quay. Gulls cried in the dark. Nobody came.",
}
ENTRY_POINTS = "[bookwright.jobs]\ntoy = tests.toy_job\n"


def installed(site: Path) -> Path:
    """A folder that, on PYTHONPATH, makes the toy job an installed package's job."""
    info = site / "bookwright_toy-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bookwright-toy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def cli(ws: Workspace, *args: str, site: Path | None = None) -> subprocess.Popen[str]:
    """`bookwright ARGS` in a process of its own; with `site`, the toy job installed."""
    return subprocess.Popen(
        [sys.executable, "-m", "bookwright", *args, "--settings", str(ws.settings)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ws.env(**({"PYTHONPATH": str(site)} if site else {})),
        cwd=ROOT,
        preexec_fn=interruptible,
    )


def in_process(home: Path, *args: str) -> str:
    run = CliRunner().invoke(app, list(args), env={"BOOKWRIGHT_HOME": str(home)})
    assert run.exit_code == 0, run.output
    return run.output


def test_a_job_from_outside_gets_every_face_of_the_engine(tmp_path: Path) -> None:
    home = tmp_path / "home"
    site = installed(tmp_path / "site")
    # Requests after the third (notes, two texts) wait for release: the kill lands there.
    with ScriptedServer(replies=REPLIES, hold_after=2) as server:
        settings = scripted_settings(home, server)
        (tmp_path / "bookwright.toml").write_text(
            f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
        )
        ws = Workspace(home, tmp_path / "bookwright.toml")
        books = Books(settings)
        started = cli(
            ws, "toy", "--title", "Harbour Light", "--pause-at", "notes", "--book-id", "toy",
            "--model", "scripted:m", site=site,
        )  # fmt: skip
        out, err = started.communicate(timeout=120)
        assert started.returncode == 3, out + err  # halted for review
        report = books.status("toy")
        assert (report.job, report.status.value, report.halted_at) == ("toy", "halted", "notes")
        shown = json.loads(in_process(home, "show", "toy", "notes", "--json"))
        assert shown == {"points": ["lantern", "harbour", "storm"]}

        missing = cli(ws, "approve", "toy")  # the job's package is not on this one's path
        out, err = missing.communicate(timeout=120)
        assert missing.returncode == 2, out + err
        assert "job 'toy', which this installation does not have" in " ".join((out + err).split())
        assert books.status("toy").status.value == "halted"

        bad, good = tmp_path / "bad.json", tmp_path / "good.json"
        bad.write_text(json.dumps({"points": []}))
        refused = cli(ws, "approve", "toy", "--edit", str(bad), site=site)
        out, err = refused.communicate(timeout=120)
        assert refused.returncode == 2, out + err
        assert "points" in out + err
        good.write_text(json.dumps({"points": ["lamp", "quay", "gulls", "tide"]}))

        writing = cli(ws, "approve", "toy", "--edit", str(good), site=site)
        deadline = time.monotonic() + 120
        while server.requests < 3:  # the second text's request is held in flight
            assert writing.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        writing.send_signal(signal.SIGKILL)
        writing.wait()
        server.released.set()
        resumed = cli(ws, "resume", "toy", site=site)
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
