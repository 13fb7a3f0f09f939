"""Workers and a CLI against one PostgreSQL database, each process with a home of its
own as if on its own machine: the helpers the worker and move tests share."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from tests.conftest import ROOT, Run
from tests.pg_cluster import PgCluster

WAIT_S = 1800.0  # a deadline for the slowest machine, not a measurement


class Fleet:
    """Workers and a CLI against one database; each process has its own home."""

    def __init__(self, root: Path, url: str, settings: str) -> None:
        self.root = root
        self.url = url
        self.settings = settings
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.store = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def env(self, home: str, **extra: str) -> dict[str, str]:
        folder = self.root / home
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bookwright.toml").write_text(self.settings)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BOOKWRIGHT_") and not k.endswith("_API_KEY")
        }
        env.update(
            BOOKWRIGHT_HOME=str(folder),
            BOOKWRIGHT_DATABASE_URL=self.url,
            BOOKWRIGHT_EMBEDDED__THREADS="1",
            **extra,
        )
        return env

    def cli(self, *args: str, timeout: float = 300) -> Run:
        proc = subprocess.run(
            [sys.executable, "-m", "bookwright", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env("cli"),
            cwd=ROOT,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def start_worker(self, executor_id: str, concurrency: int = 2) -> None:
        log = (self.root / f"{executor_id}.log").open("ab")
        self.workers[executor_id] = subprocess.Popen(
            [sys.executable, "-m", "bookwright", "worker", "--executor-id", executor_id,
             "--concurrency", str(concurrency)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(f"machine-{executor_id}"),
            cwd=ROOT,
        )  # fmt: skip

    def kill(self, executor_id: str) -> None:
        self.workers[executor_id].send_signal(signal.SIGKILL)
        self.workers[executor_id].wait()

    def stop(self) -> None:
        for proc in self.workers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.workers.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.store.dispose()

    def status(self, book: str) -> dict:  # type: ignore[type-arg]
        run = self.cli("status", book, "--json")
        assert run.code == 0, run.err
        return run.json()  # type: ignore[no-any-return]

    def books(self) -> list[dict]:  # type: ignore[type-arg]
        run = self.cli("list", "--json")
        assert run.code == 0, run.err
        return json.loads(run.out)  # type: ignore[no-any-return]

    def wait_stopped(self, books: list[str]) -> dict[str, dict]:  # type: ignore[type-arg]
        """Poll the store (a CLI start-up a second would take a core from the model),
        then read the books' status through the CLI once."""
        deadline = time.monotonic() + WAIT_S
        while True:
            with self.store.connect() as conn:
                rows = conn.execute(sa.text("SELECT id, status FROM books")).all()
            states = {r[0]: r[1] for r in rows if r[0] in books}
            if len(states) == len(books) and set(states.values()) <= {"completed", "failed"}:
                break
            assert time.monotonic() < deadline, f"books still running: {states}"
            time.sleep(2.0)
        return {b["book_id"]: b for b in self.books() if b["book_id"] in books}

    def in_hand(self, executor_id: str) -> list[str]:
        """Book workflows this executor runs now, from DBOS's own records."""
        with self.store.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT workflow_uuid FROM dbos.workflow_status WHERE executor_id = :e"
                    " AND status = 'PENDING' AND name = 'book'"
                ),
                {"e": executor_id},
            )
            return sorted(r[0].removeprefix("book-") for r in rows)

    def requests(self, book: str) -> int:
        with self.store.connect() as conn:
            found = conn.execute(
                sa.text("SELECT count(*) FROM llm_requests WHERE book_id = :b"), {"b": book}
            )
            return int(found.scalar_one())

    def manuscript(self, book: str) -> bytes:
        path = self.root / f"{book}.md"
        run = self.cli("export", book, "--format", "md", "-o", str(path))
        assert run.code == 0, run.err
        return path.read_bytes()


def new_fleet(cluster: PgCluster, tmp_path: Path, name: str, settings: str = "") -> Fleet:
    fleet = Fleet(tmp_path, cluster.create_database(name), settings)
    migrate = fleet.cli("db", "migrate")
    assert migrate.code == 0, migrate.err
    added = migrate.out.split("Content store: added ", 1)[-1].split("DBOS", 1)[0]
    assert {"books", "artifacts", "chapters"} <= set(re.findall(r"\w+", added)), migrate.out
    return fleet
