"""Moving a book between machines: a SQLite home's book restored into PostgreSQL and
finished by a worker, a PostgreSQL book restored into a SQLite home and resumed there;
each exactly as an undisturbed run writes it, nothing answered before paid again. And
what cannot move is refused, writing nothing.

Real PostgreSQL (tests/pg_cluster.py), real writer and worker processes, the scripted
model. Each book: 38 requests undisturbed; a book killed at 26 is mid-chapter 1 (its
chapter workflow pending), one halted at its outline waits in its workflow for approval.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sqlite3
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbos import DBOS
from typer.testing import CliRunner

from bookwright.cli import app
from bookwright.engine.runner import run_book
from bookwright.settings import Settings
from tests.conftest import SMALL, Workspace, scripted_settings, write_in_process
from tests.fleet import Fleet, new_fleet
from tests.pg_cluster import PgCluster
from tests.scripted_server import ScriptedServer

BOOK = [*SMALL, "--model", "scripted:m"]
MID_CHAPTER = 26  # requests: chapter 1 drafted, being edited
HALT = ["--pause-at", "outline"]
HALTED = 18  # requests of a book halted at its outline
HELD = HALTED + MID_CHAPTER  # the halted book first, then the other one mid-chapter
WAIT_S = 120.0


def cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"BOOKWRIGHT_HOME": str(home)})


@dataclass
class Reference:
    """The book written once, undisturbed, in a SQLite home: what a moved one must equal."""

    home: Path
    manuscripts: dict[str, bytes]
    requests: int


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("reference")
    manuscripts = {}
    requests = 0
    with ScriptedServer() as server:
        for book in ("busy", "halted"):  # the ids the moved books have
            report = write_in_process(scripted_settings(root / "home", server), book)
            assert report.status.value == "completed"
            requests = report.llm.requests_sent
            manuscripts[book] = export(root / "home", book)
    return Reference(root / "home", manuscripts, requests)


def export(home: Path, book: str) -> bytes:
    path = home.parent / f"{book}.md"
    done = cli(home, "export", book, "--format", "md", "-o", str(path))
    assert done.exit_code == 0, done.output
    return path.read_bytes()


def requests_in(home: Path, book: str) -> int:
    with sqlite3.connect(home / "bookwright.sqlite") as db:
        found = db.execute("SELECT count(*) FROM llm_requests WHERE book_id = ?", (book,))
        return int(found.fetchone()[0])


@pytest.fixture
def laptop(tmp_path: Path) -> Iterator[tuple[Workspace, ScriptedServer]]:
    """A SQLite home whose scripted server holds the request after `HELD` (mid-chapter
    of the second book written), so a backup and a kill land there."""
    with ScriptedServer(hold_after=HELD) as server:
        settings = tmp_path / "laptop.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        yield Workspace(tmp_path / "laptop", settings), server
        server.release()


def pg_cli(fleet: Fleet, *args: str):  # type: ignore[no-untyped-def]
    """The CLI in this process, against the fleet's database (commands that launch no
    DBOS: backup, restore, export)."""
    env = {k: v for k, v in fleet.env("cli").items() if k.startswith("BOOKWRIGHT_")}
    return CliRunner().invoke(app, list(args), env=env)


def pg_export(fleet: Fleet, book: str) -> bytes:
    path = fleet.root / f"{book}.md"
    done = pg_cli(fleet, "export", book, "--format", "md", "-o", str(path))
    assert done.exit_code == 0, done.output
    return path.read_bytes()


def states(fleet: Fleet) -> dict[str, str]:
    """Each book's status, read from the database (a CLI start-up costs a second)."""
    with fleet.store.connect() as conn:
        return dict(conn.execute(sa.text("SELECT id, status FROM books")).all())  # type: ignore[arg-type]


def wait_for(done: Callable[[], bool], died: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + WAIT_S
    while not done():
        assert time.monotonic() < deadline and died() is None
        time.sleep(0.02)


def manifest_of(archive: Path) -> dict:  # type: ignore[type-arg]
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr,no-any-return]


def test_a_sqlite_book_moves_to_postgres_and_a_worker_finishes_it(  # type: ignore[no-untyped-def]
    cluster: PgCluster,
    tmp_path: Path,
    laptop,
    reference: Reference,
) -> None:
    ws, server = laptop
    halted = ws.run("write", *BOOK, *HALT, "--book-id", "halted")
    assert halted.code == 3, halted.err
    assert server.requests == HALTED
    writer = ws.start("write", *BOOK, "--book-id", "busy")
    try:
        wait_for(lambda: server.requests > HELD, writer.poll)
        while_written = tmp_path / "while-written.tar.gz"
        made = cli(ws.home, "backup", "busy", "-o", str(while_written))
        assert made.exit_code == 0, made.output
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    answered = {b: requests_in(ws.home, b) for b in ("busy", "halted")}
    assert MID_CHAPTER <= answered["busy"] < reference.requests
    archive = tmp_path / "laptop.tar.gz"
    made = cli(ws.home, "backup", "busy", "halted", "-o", str(archive))
    assert made.exit_code == 0, made.output
    assert manifest_of(archive)["backend"] == "sqlite"

    with ScriptedServer() as fresh:
        settings = f'[providers.scripted]\nbase_url = "{fresh.base_url}"\n'
        fleet = new_fleet(cluster, tmp_path, "moved_in", settings)
        try:
            # A book copied while its writer was at it does not move: it would be written twice.
            refused = pg_cli(fleet, "restore", str(while_written))
            assert refused.exit_code == 2, refused.output
            assert "was being written by its writer" in refused.output
            assert "bookwright pause busy" in refused.output
            assert states(fleet) == {}

            restored = pg_cli(fleet, "restore", str(archive))
            assert restored.exit_code == 0, restored.output
            assert "busy (processing)" in restored.output
            assert "a worker continues it" in restored.output
            fleet.start_worker("w", concurrency=2)
            wait_for(lambda: states(fleet)["busy"] == "completed")
            assert states(fleet)["halted"] == "halted"
            approved = fleet.cli("approve", "halted")  # waits for the worker to finish it
            assert approved.code == 0, approved.err
            assert states(fleet) == {"busy": "completed", "halted": "completed"}
            for book in ("busy", "halted"):
                assert pg_export(fleet, book) == reference.manuscripts[book]
            # Only what was not answered before the move was asked (the kill may cost the
            # request in flight), and the moved rows are all there.
            assert fresh.requests <= 2 * reference.requests - sum(answered.values()) + 1
            assert fleet.requests("halted") == reference.requests
            assert reference.requests <= fleet.requests("busy") <= reference.requests + 1
            with fleet.store.connect() as conn:
                workflows = dict(
                    conn.execute(
                        sa.text(
                            "SELECT workflow_uuid, status FROM dbos.workflow_status"
                            " WHERE workflow_uuid IN ('book-busy', 'book-halted')"
                        )
                    ).all()
                )
            assert workflows == {"book-busy": "SUCCESS", "book-halted": "SUCCESS"}
        finally:
            fleet.stop()


def test_a_postgres_book_moves_to_sqlite_and_resumes_there(  # type: ignore[no-untyped-def]
    cluster: PgCluster,
    tmp_path: Path,
    reference: Reference,
) -> None:
    with ScriptedServer(hold_after=HELD) as server:
        settings = f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
        fleet = new_fleet(cluster, tmp_path, "moved_out", settings)
        try:
            fleet.start_worker("w", concurrency=2)
            run = fleet.cli("write", *BOOK, *HALT, "--book-id", "halted", "--detach")
            assert run.code == 0, run.err
            wait_for(lambda: states(fleet).get("halted") == "halted")
            assert server.requests == HALTED
            run = fleet.cli("write", *BOOK, "--book-id", "busy", "--detach")
            assert run.code == 0, run.err
            wait_for(lambda: server.requests > HELD)
            assert states(fleet)["halted"] == "halted"
            held = tmp_path / "held.tar.gz"
            made = pg_cli(fleet, "backup", "busy", "halted", "-o", str(held))
            assert made.exit_code == 0, made.output
            assert "busy was being written" in made.output
            # Over the books a live worker holds: refused, however forced.
            forced = pg_cli(fleet, "restore", str(held), "--force")
            assert forced.exit_code == 2, forced.output
            assert "held by worker w" in forced.output
            assert "nothing was restored" in forced.output
            fleet.kill("w")  # `busy` mid-chapter, `halted` waiting: both left PENDING
            answered = {b: fleet.requests(b) for b in ("busy", "halted")}

            archive = tmp_path / "database.tar.gz"
            made = pg_cli(fleet, "backup", "busy", "halted", "-o", str(archive))
            assert made.exit_code == 0, made.output
            assert "was being written" not in made.output
            whole = pg_cli(fleet, "backup", "-o", str(tmp_path / "all.tar.gz"))
            assert whole.exit_code == 2 and "pg_dump" in whole.output
        finally:
            server.release()
            fleet.stop()

    manifest = manifest_of(archive)
    assert manifest["backend"] == "postgresql" and manifest["dbos_version"]
    assert [(b["id"], b["running"]) for b in manifest["books"]] == [
        ("busy", False),
        ("halted", False),
    ]
    assert {"store.sqlite", "books/busy/dbos.sqlite", "books/halted/dbos.sqlite"} <= set(
        manifest["files"]
    )
    refused = cli(tmp_path / "laptop", "restore", str(held), "--into", str(tmp_path / "laptop"))
    assert refused.exit_code == 2 and "was being written by a worker" in refused.output

    laptop = tmp_path / "laptop"
    restored = cli(laptop, "restore", str(archive), "--into", str(laptop))
    assert restored.exit_code == 0, restored.output
    assert "continue it with `bookwright resume busy`" in restored.output
    with ScriptedServer() as server:
        settings = scripted_settings(laptop, server)
        assert resume(settings, "busy").status.value == "completed"
        assert resume(settings, "halted", approve=True).status.value == "completed"
        for book in ("busy", "halted"):
            assert export(laptop, book) == reference.manuscripts[book]
        assert server.requests <= 2 * reference.requests - sum(answered.values()) + 1
    assert requests_in(laptop, "halted") == reference.requests
    assert reference.requests <= requests_in(laptop, "busy") <= reference.requests + 1


def resume(settings: Settings, book: str, *, approve: bool = False):  # type: ignore[no-untyped-def]
    try:
        return run_book(settings, book, resume=not approve, approve=approve)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)


def test_a_backup_of_a_newer_dbos_schema_is_refused_writing_nothing(  # type: ignore[no-untyped-def]
    cluster: PgCluster,
    tmp_path: Path,
    reference: Reference,
) -> None:
    """A book's workflow database from a newer DBOS: refused before anything is written,
    into PostgreSQL and into a SQLite home alike."""
    archive = tmp_path / "book.tar.gz"
    assert cli(reference.home, "backup", "busy", "-o", str(archive)).exit_code == 0
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(newer, "w:gz") as dst:
        work = tmp_path / "x"
        src.extractall(work, filter="data")
        db = sqlite3.connect(work / "books" / "busy" / "dbos.sqlite")
        with db:
            db.execute("UPDATE dbos_migrations SET version = version + 100")
        db.close()
        manifest = json.loads((work / "manifest.json").read_text())
        data = (work / "books" / "busy" / "dbos.sqlite").read_bytes()
        manifest["files"]["books/busy/dbos.sqlite"] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
        (work / "manifest.json").write_text(json.dumps(manifest))
        for member in src.getmembers():
            dst.add(work / member.name, arcname=member.name)
    fleet = Fleet(tmp_path, cluster.create_database("newer"), "")
    try:
        assert fleet.cli("db", "migrate").code == 0
        refused = pg_cli(fleet, "restore", str(newer))
        assert refused.exit_code == 2, refused.output
        assert "newer than this bookwright's" in refused.output
        assert states(fleet) == {}
    finally:
        fleet.stop()
    other = tmp_path / "other"
    refused_here = cli(other, "restore", str(newer), "--into", str(other))
    assert refused_here.exit_code == 2 and "newer than this bookwright's" in refused_here.output
    assert not (other / "books").exists()
