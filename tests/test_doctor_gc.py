"""`bookwright doctor` finds (and repairs what is safe) and `bookwright gc` reclaims space
without touching what a book still needs."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS
from typer.testing import CliRunner

from bookwright.cli import app
from bookwright.engine.books import Books
from bookwright.engine.messages import RetryRequest
from bookwright.engine.runner import run_book
from bookwright.model import BookSpec
from tests.conftest import SCRIPTED_SPEC, scripted_settings
from tests.fleet import new_fleet
from tests.pg_cluster import PgCluster
from tests.scripted_server import ScriptedServer

BOOK = "kept"


def cli(home: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"BOOKWRIGHT_HOME": str(home)})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A completed book with an imported and an edited scene that a chapter retry then
    superseded, so it has versions gc must keep and versions it may drop."""
    root = tmp_path_factory.mktemp("gc")
    with ScriptedServer() as server:
        settings = scripted_settings(root / "home", server)
        books = Books(settings)
        books.create(BookSpec.model_validate(SCRIPTED_SPEC), BOOK)
        try:
            assert run_book(settings, BOOK).status.value == "completed"
            for name, source in (("scene:1:1", "imported"), ("scene:1:2", "edited")):
                found = books.store.get_artifact(BOOK, name)
                assert found is not None
                books.store.put_artifact(BOOK, name, found[1], source=source)
            report = run_book(settings, BOOK, retry=RetryRequest(chapter=1, level="edit"))
            assert report.status.value == "completed"
        finally:
            DBOS.destroy(workflow_completion_timeout_sec=0)
    yield root / "home"


@pytest.fixture
def home(tmp_path: Path, built: Path) -> Path:
    shutil.copytree(built, tmp_path / "home")
    return tmp_path / "home"


def versions(home: Path) -> dict[str, list[tuple[int, str]]]:
    db = sqlite3.connect(home / "bookwright.sqlite")
    found: dict[str, list[tuple[int, str]]] = {}
    for name, version, source in db.execute(
        "SELECT name, version, source FROM artifacts ORDER BY name, version"
    ):
        found.setdefault(name, []).append((version, source))
    db.close()
    return found


def test_doctor_finds_a_stale_lock_an_orphan_and_a_corrupt_artifact_and_repairs_what_is_safe(
    home: Path, tmp_path: Path
) -> None:
    healthy = cli(home, "doctor")
    assert healthy.exit_code == 0, healthy.output
    assert "Healthy." in healthy.output

    (home / "books" / BOOK / ".lock").write_text("999999")  # a writer that died
    (home / "books" / "ghost").mkdir()
    (home / "books" / "ghost" / "notes.md").write_text("left behind")
    db = sqlite3.connect(home / "bookwright.sqlite")
    with db:
        db.execute(
            "UPDATE artifacts SET data = '{\"title\": \"cut' WHERE name = 'outline' AND "
            "version = (SELECT max(version) FROM artifacts WHERE name = 'outline')"
        )
    db.close()

    found = cli(home, "doctor", "--json")
    assert found.exit_code == 1
    findings = {f["kind"]: f for f in json.loads(found.output)["findings"]}
    assert set(findings) == {"stale_lock", "orphan", "artifact"}
    assert "999999" in findings["stale_lock"]["message"]
    assert "belongs to no book" in findings["orphan"]["message"]
    assert (
        "outline" in findings["artifact"]["message"]
        and "not valid JSON" in findings["artifact"]["message"]
    )
    assert all(f["remedy"] for f in findings.values())

    repaired = cli(home, "doctor", "--repair")
    assert repaired.exit_code == 1  # the artifact is left: only a backup can bring it back
    assert "repaired:" in repaired.output and "1 finding(s) left." in repaired.output
    assert (home / "books" / BOOK / ".lock").read_text() == ""
    assert not (home / "books" / "ghost").exists()
    assert [p.read_text() for p in (home / "orphans").rglob("notes.md")] == ["left behind"]

    # A damaged checkpoint file is named with the backup that holds it.
    archive = tmp_path / "kept.tar.gz"
    assert cli(home, "backup", BOOK, "-o", str(archive)).exit_code == 0
    dbos_file = home / "books" / BOOK / "dbos.sqlite"
    data = bytearray(dbos_file.read_bytes())
    data[4096 : 4096 * 3] = b"\xff" * 8192
    dbos_file.write_bytes(bytes(data))
    damaged = cli(home, "doctor", BOOK, "--json")
    assert damaged.exit_code == 1
    kinds = [f for f in json.loads(damaged.output)["findings"] if f["kind"] == "damaged"]
    assert kinds and f"bookwright restore {archive} --force" in kinds[0]["remedy"]


def test_gc_drops_old_history_and_versions_but_keeps_what_the_book_needs(
    home: Path, tmp_path: Path
) -> None:
    before = versions(home)
    assert cli(home, "export", BOOK, "-o", str(tmp_path / "before.md")).exit_code == 0

    young = cli(home, "gc")  # the default keeps books touched in the last 30 days
    assert young.exit_code == 0 and "Nothing to remove" in young.output
    dry = cli(home, "gc", "--older-than", "0", "--keep-versions", "1", "--dry-run")
    assert dry.exit_code == 0 and "Would remove" in dry.output
    assert versions(home) == before

    done = cli(home, "gc", "--older-than", "0d", "--keep-versions", "1", "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.output)
    assert result["books"] == [BOOK] and result["workflows"] >= 2 and result["steps"] > 50
    assert result["versions"] > 0 and result["freed"] > 0
    after = versions(home)
    assert set(after) == set(before)  # every artifact keeps its latest version
    for name, kept in after.items():
        assert kept[-1] == before[name][-1]
        assert [v for v in before[name] if v[1] in ("imported", "edited")] == [
            v for v in kept if v[1] in ("imported", "edited")
        ]
    assert ("imported" in dict(before["scene:1:1"]).values()) and len(after["scene:1:1"]) == 2
    assert after["verdict:1"] == before["verdict:1"]
    db = sqlite3.connect(home / "books" / BOOK / "dbos.sqlite")
    assert db.execute("SELECT count(*) FROM operation_outputs").fetchone()[0] == 0
    db.close()

    assert cli(home, "export", BOOK, "-o", str(tmp_path / "after.md")).exit_code == 0
    assert (tmp_path / "after.md").read_text() == (tmp_path / "before.md").read_text()
    assert cli(home, "doctor").exit_code == 0
    stats = cli(home, "stats", BOOK, "--json")
    assert stats.exit_code == 0 and json.loads(stats.output)["chapters"][0]["attempts"]


def test_doctor_reads_every_table_and_checks_every_index_of_a_postgres_store(
    cluster: PgCluster, tmp_path: Path
) -> None:
    """PostgreSQL's counterpart of `PRAGMA integrity_check`: each table of the store and
    of DBOS read through, each B-tree index checked by amcheck."""
    import sqlalchemy as sa

    fleet = new_fleet(cluster, tmp_path, "doctorpg")
    with fleet.store.begin() as conn:
        conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    run = fleet.cli("doctor", "--json")
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["healthy"] and report["checked"]["databases"] == 1, report
