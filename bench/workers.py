"""Workers bench: throughput of 1, 2 and 4 `bookwright worker` processes on PostgreSQL.

What it measures
----------------
For each worker count it makes a fresh database on a throwaway PostgreSQL cluster
(127.0.0.1), queues ``--books`` identical small books (2 chapters x 2 scenes) with
``bookwright write --detach``, starts the workers (``--concurrency`` books each) and
waits until every book is complete. The model is the scripted OpenAI-compatible server
of the tests on 127.0.0.1 with ``--delay`` seconds per answer, so the work is
latency-bound like a hosted API, not CPU-bound like the embedded model.

* ``span_s``: first request sent to last answer received, from the content store
  (worker start-up is left out; ``wall_s`` includes it);
* ``books_per_hour`` and ``tokens_per_s`` (prompt + completion) and
  ``completion_tokens_per_s`` over ``span_s``;
* ``ideal_books_per_hour``: every slot (workers x concurrency) busy all the time, each
  book taking ``requests x delay`` seconds: the latency floor;
  ``ratio_to_ideal`` = measured / ideal;
* ``scaling``: books per hour relative to one worker, divided by the worker count.

Run it from the repository root (PostgreSQL's server binaries must be installed)::

    .venv/bin/python bench/workers.py [--workers 1,2,4] [--books 16] [--concurrency 2]
                                      [--delay 0.5]

Output: progress lines, then ONE JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pg_cluster import PgCluster, missing_reason  # noqa: E402
from tests.scripted_server import ScriptedServer  # noqa: E402

BOOK = [
    "--premise",
    "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
    *("--chapters", "2", "--scenes-per-chapter", "2", "--words-per-scene", "60"),
    *("--characters", "2", "--locations", "2", "--seed", "5", "--no-judge"),
    *("--model", "scripted:m"),
]


def env_for(home: Path, url: str, base_url: str) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "bookwright.toml").write_text(f'[providers.scripted]\nbase_url = "{base_url}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKWRIGHT_")}
    env.update(BOOKWRIGHT_HOME=str(home), BOOKWRIGHT_DATABASE_URL=url)
    return env


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bookwright", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=True,
    )


def start_worker(
    executor_id: str, concurrency: int, env: dict[str, str]
) -> subprocess.Popen[bytes]:
    command = ["worker", "--executor-id", executor_id, "--concurrency", str(concurrency)]
    return subprocess.Popen(
        [sys.executable, "-m", "bookwright", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )


def run_once(
    pg: PgCluster, root: Path, server: ScriptedServer, workers: int, args: argparse.Namespace
) -> dict[str, Any]:
    url = pg.create_database(f"bench_{workers}")
    base = server.base_url
    env = env_for(root / f"cli{workers}", url, base)
    cli(env, "db", "migrate")
    books = [f"w{workers}-b{i}" for i in range(args.books)]
    for book in books:
        cli(env, "write", *BOOK, "--book-id", book, "--detach")
    started = time.monotonic()
    procs = [
        start_worker(f"bench{i}", args.concurrency, env_for(root / f"m{workers}-{i}", url, base))
        for i in range(workers)
    ]
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        while True:
            with engine.connect() as conn:
                done = conn.execute(
                    sa.text("SELECT count(*) FROM books WHERE status IN ('completed', 'failed')")
                ).scalar_one()
            if done == len(books):
                break
            time.sleep(0.5)
        wall = time.monotonic() - started
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT count(*), sum(prompt_tokens), sum(completion_tokens),"
                    " min(started_at), max(finished_at) FROM llm_requests"
                )
            ).one()
            completed = conn.execute(
                sa.text("SELECT count(*) FROM books WHERE status = 'completed'")
            ).scalar_one()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        engine.dispose()
    requests, prompt, completion, first, last = row
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    per_book = requests / len(books)
    slots = workers * args.concurrency
    ideal = slots * 3600.0 / (per_book * args.delay)
    measured = len(books) * 3600.0 / span
    result = {
        "workers": workers,
        "slots": slots,
        "books": len(books),
        "completed": int(completed),
        "requests": int(requests),
        "span_s": round(span, 1),
        "wall_s": round(wall, 1),
        "books_per_hour": round(measured, 1),
        "tokens_per_s": round((prompt + completion) / span, 1),
        "completion_tokens_per_s": round(completion / span, 1),
        "ideal_books_per_hour": round(ideal, 1),
        "ratio_to_ideal": round(measured / ideal, 3),
    }
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--books", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.5)
    args = parser.parse_args()
    reason = missing_reason()
    if reason is not None:
        print(json.dumps({"bench": "workers", "ok": False, "reason": reason}))
        sys.exit(1)
    counts = [int(n) for n in args.workers.split(",")]
    load_before = os.getloadavg()
    results = []
    with (
        tempfile.TemporaryDirectory(prefix="bookwright-bench-") as tmp,
        PgCluster() as pg,
        ScriptedServer(delay_s=args.delay) as server,
    ):
        for workers in counts:
            print(f"{workers} worker(s), {args.books} books ...", flush=True)
            results.append(run_once(pg, Path(tmp), server, workers, args))
    base = results[0]["books_per_hour"] / counts[0]
    for entry in results:
        entry["scaling"] = round(entry["books_per_hour"] / (base * entry["workers"]), 3)
    summary = {
        "bench": "workers",
        "ok": all(r["completed"] == r["books"] for r in results),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}",
        "python": platform.python_version(),
        "delay_s": args.delay,
        "concurrency": args.concurrency,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
