"""Many workers on one PostgreSQL database: shared queues and limits, and a worker
killed with SIGKILL mid-run that loses nothing once it restarts with its executor id.

Real PostgreSQL (a throwaway cluster on 127.0.0.1), real worker processes, each with a
home of its own as if on its own machine; status and exports are read by a CLI with
yet another home.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import EMBEDDED_BOOK, ROOT, SMALL, EmbeddedReference
from tests.fleet import WAIT_S, Fleet, new_fleet
from tests.pg_cluster import PgCluster
from tests.scripted_server import ScriptedServer

SCRIPTED_BOOK = [*SMALL, "--no-judge", "--model", "scripted:m"]


def write_detached(fleet: Fleet, book: str, args: list[str]) -> None:
    run = fleet.cli("write", *args, "--book-id", book, "--detach")
    assert run.code == 0, run.err
    assert f"bookwright status {book} --watch" in run.out


def test_limits_hold_across_workers(cluster: PgCluster, tmp_path: Path) -> None:
    """Three workers, at most two books at once in all, 12 requests per 2 s in all."""
    with ScriptedServer(delay_s=0.02) as server:
        settings = (
            f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
            "[workers]\nmax_books = 2\n"
            "[rate_limits.scripted]\nrequests = 12\nperiod_s = 2.0\n"
        )
        fleet = new_fleet(cluster, tmp_path, "limits", settings)
        try:
            for executor in ("a", "b", "c"):
                fleet.start_worker(executor)
            books = [f"lim{i}" for i in range(4)]
            for book in books:
                write_detached(fleet, book, SCRIPTED_BOOK)
            second = subprocess.run(  # the same executor id twice would fight over recovery
                [sys.executable, "-m", "bookwright", "worker", "--executor-id", "a"],
                capture_output=True, text=True, timeout=120, env=fleet.env("twin"), cwd=ROOT,
            )  # fmt: skip
            assert second.returncode == 2
            assert "already running" in second.stderr
            final = fleet.wait_stopped(books)
            assert {b: final[b]["status"] for b in books} == dict.fromkeys(books, "completed")

            with fleet.store.connect() as conn:
                spans = conn.execute(
                    sa.text(
                        "SELECT book_id, min(started_at), max(finished_at) FROM llm_requests"
                        " GROUP BY book_id"
                    )
                ).all()
                slots = [r[0] for r in conn.execute(sa.text(
                    "SELECT sent_at FROM rate_slots WHERE provider = 'scripted' ORDER BY sent_at"
                ))]  # fmt: skip
            # Never more than two books with requests in flight at once (max_books = 2).
            events = sorted(
                [(start, 1) for _, start, _ in spans] + [(end, -1) for _, _, end in spans]
            )
            running = peak = 0
            for _, delta in events:
                running += delta
                peak = max(peak, running)
            assert peak <= 2
            # Every request took a slot, and no 2 s window holds more than 12 of them.
            sent = sum(final[b]["llm"]["requests_sent"] for b in books)
            assert len(slots) == sent == server.requests
            for i, at in enumerate(slots):
                assert sum(1 for other in slots[: i + 1] if other > at - 2.0) <= 12
        finally:
            fleet.stop()


def test_the_dashboard_on_postgres_queues_books_for_the_workers(
    cluster: PgCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` on Postgres writes nothing itself: a book and a chapter retry started
    through the API are queued, and a worker (another process, another home) writes them."""
    from fastapi.testclient import TestClient

    from bookwright.settings import load_settings
    from bookwright.web.app import create_app

    with ScriptedServer() as server:
        fleet = new_fleet(
            cluster, tmp_path, "web", f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
        )
        try:
            for key, value in fleet.env("web").items():
                if key.startswith("BOOKWRIGHT_"):
                    monkeypatch.setenv(key, value)
            settings = load_settings(tmp_path / "web" / "bookwright.toml")
            with TestClient(create_app(settings), base_url="http://localhost") as client:
                book = {
                    "premise": "A lighthouse keeper finds a message in a bottle.",
                    **{"chapters": 2, "scenes_per_chapter": 2, "words_per_scene": 60},
                    **{"characters": 2, "locations": 2, "seed": 5, "model": "scripted:m"},
                    "book_id": "web",
                }
                assert client.post("/api/books", json=book).status_code == 202
                queued = client.get("/api/runs", params={"book_id": "web"}).json()
                assert [(r["action"], r["status"]) for r in queued] == [("book", "ENQUEUED")]
                # No writer queue of its own (server.sqlite) and no book DBOS on this machine.
                assert not (tmp_path / "web" / "server.sqlite").exists()
                assert not (tmp_path / "web" / "books" / "web" / "dbos.sqlite").exists()
                fleet.start_worker("w", concurrency=1)
                assert fleet.wait_stopped(["web"])["web"]["status"] == "completed"

                retried = client.post("/api/books/web/chapters/2/retry", json={"level": "edit"})
                assert retried.status_code == 202, retried.text
                assert fleet.wait_stopped(["web"])["web"]["status"] == "completed"
                runs = client.get("/api/runs", params={"book_id": "web"}).json()
                assert [(r["action"], r["status"]) for r in runs] == [
                    ("retry", "SUCCESS"),
                    ("book", "SUCCESS"),
                ]
                second = {"version": 2}
                assert client.get("/api/books/web/artifacts/chapter:2", params=second).is_success
                kept = client.get("/api/books/web/artifacts/chapter:1", params=second)
                assert kept.status_code == 400  # chapter 1 was not written again
        finally:
            fleet.stop()
    # The worker reports each run it takes, however quickly it ends (a scripted book can
    # start and finish between two of its polls).
    said = (tmp_path / "w.log").read_text().splitlines()
    assert [line for line in said if " web" in line] == [
        "worker w: writing web",
        "worker w: done with web (SUCCESS)",
        "worker w: retrying a chapter of web",
        "worker w: done with web (SUCCESS)",
    ]


def test_a_failed_chapter_kept_through_the_workers(cluster: PgCluster, tmp_path: Path) -> None:
    """`approve --chapter N` on Postgres: the resume message carries the chapter to the
    worker that holds the book, which goes on without writing it again."""
    structure = 'structure | critical | "{quote}" | the scene does not do what the outline says'
    with ScriptedServer(verdicts={1: [structure] * 3}) as server:
        fleet = new_fleet(
            cluster,
            tmp_path,
            "keep",
            f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
            '[quality]\non_exhausted = "stop"\n',
        )
        try:
            judged = [arg for arg in SCRIPTED_BOOK if arg != "--no-judge"]
            write_detached(fleet, "k", judged)
            fleet.start_worker("w", concurrency=1)
            failed = fleet.wait_stopped(["k"])["k"]
            assert failed["status"] == "failed" and failed["retries"]["failed_chapters"] == [1]
            sent = server.requests
            kept = fleet.cli("approve", "k", "--chapter", "1")
            assert kept.code == 0, kept.err
            final = fleet.status("k")
            assert final["status"] == "completed"
            assert final["retries"]["accepted_chapters"] == [1]
            assert server.requests == sent  # chapter 2 was written; 1 is kept: nothing to ask
        finally:
            fleet.stop()


def run_fleet_with_a_kill(
    fleet: Fleet,
    args: list[str],
    reference: str,
    min_requests: int,
    books: int = 6,
    workers: tuple[str, ...] = ("w1", "w2", "w3"),
) -> None:
    """`books` books like `reference` (written undisturbed) on `workers`; the first worker
    seen with a book `min_requests` requests in is killed with SIGKILL, then restarted."""
    for executor in workers:
        fleet.start_worker(executor)
    reference_requests = fleet.status(reference)["llm"]["requests_sent"]
    expected = fleet.manuscript(reference)

    names = [f"book{i}" for i in range(books)]
    for book in names:
        write_detached(fleet, book, args)
    deadline = time.monotonic() + WAIT_S
    victim = None
    while victim is None:  # the first worker found mid-way through a book of its own
        for executor in workers:
            if any(fleet.requests(b) >= min_requests for b in fleet.in_hand(executor)):
                victim = executor
                break
        else:
            assert time.monotonic() < deadline, "no worker was ever seen mid-way in a book"
            time.sleep(0.1)
    fleet.kill(victim)
    orphaned = fleet.in_hand(victim)  # its books, now PENDING under a dead executor
    assert orphaned
    # Seen from another machine: the killed worker's books are no longer being written.
    while any(fleet.status(b)["running"] for b in orphaned):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    fleet.start_worker(victim)  # the same executor id: it recovers them

    final = fleet.wait_stopped(names)
    assert {b: final[b]["status"] for b in names} == dict.fromkeys(names, "completed")
    for book in names:  # each written once, exactly as an undisturbed run writes it
        assert fleet.manuscript(book) == expected
    with fleet.store.connect() as conn:
        twice = conn.execute(
            sa.text(
                "SELECT book_id, name, count(*) FROM artifacts GROUP BY book_id, name"
                " HAVING count(*) > 1"
            )
        ).all()
        states = conn.execute(
            sa.text("SELECT workflow_uuid, status FROM dbos.workflow_status WHERE name = 'book'")
        ).all()
    assert [row for row in twice if row[0] in names] == []
    assert {b: dict(states)[f"book-{b}"] for b in names} == dict.fromkeys(names, "SUCCESS")
    # Each book workflow has at most one request in flight: the kill cost at most that.
    sent = sum(final[b]["llm"]["requests_sent"] for b in names)
    print(f"killed {victim} holding {orphaned}; sent {sent}; undisturbed: {reference_requests}")
    assert sent <= books * reference_requests + len(orphaned)


def test_killed_worker_recovers_its_books(cluster: PgCluster, tmp_path: Path) -> None:
    with ScriptedServer(delay_s=0.2) as server:
        settings = f'[providers.scripted]\nbase_url = "{server.base_url}"\n'
        fleet = new_fleet(cluster, tmp_path, "kill_scripted", settings)
        try:
            write_detached(fleet, "reference", SCRIPTED_BOOK)
            fleet.start_worker("w0", concurrency=1)
            assert fleet.wait_stopped(["reference"])["reference"]["status"] == "completed"
            fleet.kill("w0")
            run_fleet_with_a_kill(fleet, SCRIPTED_BOOK, "reference", min_requests=8)
        finally:
            fleet.stop()


@pytest.mark.embedded
@pytest.mark.timeout(1800)
def test_killed_worker_recovers_an_embedded_book(
    cluster: PgCluster, tmp_path: Path, embedded_reference: EmbeddedReference
) -> None:
    """The same on the embedded model, the worker with its own llama.cpp server: killed
    mid-book, restarted, it finishes the book exactly as the undisturbed SQLite run did."""
    fleet = new_fleet(cluster, tmp_path, "kill_embedded")
    try:
        fleet.start_worker("w1", concurrency=1)
        write_detached(fleet, "book", [*EMBEDDED_BOOK, "--model", "local"])
        halfway = max(2, embedded_reference.requests // 2)
        deadline = time.monotonic() + WAIT_S
        while fleet.requests("book") < halfway:  # killed mid-book, not before nor after it
            assert fleet.workers["w1"].poll() is None, "the worker died on its own"
            assert time.monotonic() < deadline, f"no {halfway} requests into the book"
            time.sleep(0.1)
        fleet.kill("w1")
        assert fleet.in_hand("w1") == ["book"]  # PENDING under a dead executor
        fleet.start_worker("w1", concurrency=1)  # the same executor id: it recovers it
        final = fleet.wait_stopped(["book"])["book"]
        assert final["status"] == "completed", final
        assert fleet.manuscript("book") == embedded_reference.manuscript
        assert final["llm"]["requests_sent"] <= embedded_reference.requests + 1
    finally:
        fleet.stop()
