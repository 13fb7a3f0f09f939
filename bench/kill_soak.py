"""Kill soak: SIGKILL one book at random moments, resume it each time, compare.

Writes the same small book twice on the embedded model in a fresh BOOKWRIGHT_HOME: once
undisturbed, once killed with SIGKILL `--kills` times at random moments (each kill
followed by `bookwright resume`). Checks that every resume completes the book, that the
manuscript is byte-identical to the undisturbed one, and counts the requests paid twice
(goal: at most one per kill).

    .venv/bin/python bench/kill_soak.py [--kills 20] [--seed 1] [--min-s 3] [--max-s 10]

The last line of stdout is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BOOK = [
    "--premise",
    "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
    "--genre",
    "mystery",
    "--chapters",
    "2",
    "--scenes-per-chapter",
    "2",
    "--words-per-scene",
    "60",
    "--characters",
    "2",
    "--locations",
    "1",
    "--temperature",
    "0",
    "--no-judge",  # SIGKILL durability is measured; the judge cannot pass the 135M model
]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bookwright", *args]


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "BOOKWRIGHT_HOME": str(home)}


def status(home: Path, book: str) -> dict[str, Any] | None:
    proc = subprocess.run(
        cli("status", book, "--json"), capture_output=True, text=True, env=env(home), cwd=ROOT
    )
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def manuscript(home: Path, book: str) -> bytes:
    out = home / f"{book}.md"
    subprocess.run(
        cli("export", book, "-o", str(out)),
        check=True,
        env=env(home),
        cwd=ROOT,
        capture_output=True,
    )
    return out.read_bytes()


def soak(
    home: Path, book: list[str], kills: int, rng: random.Random, min_s: float, max_s: float
) -> dict[str, Any]:
    started = time.monotonic()
    proc = subprocess.Popen(
        cli("write", *book, "--book-id", "killed"),
        env=env(home),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while status(home, "killed") is None:
        time.sleep(0.2)
    landed, exits = 0, []
    for _ in range(kills):
        time.sleep(rng.uniform(min_s, max_s))
        if proc.poll() is not None:
            exits.append(proc.returncode)
            if proc.returncode == 0:
                break
        else:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            landed += 1
        proc = subprocess.Popen(
            cli("resume", "killed"),
            env=env(home),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    exits.append(proc.wait())
    return {
        "kills": landed,
        "final_exit": exits[-1],
        "early_exits": exits[:-1],
        "wall_s": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--min-s", type=float, default=3.0)
    parser.add_argument("--max-s", type=float, default=10.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bw-soak-"))
    result: dict[str, Any] = {"bench": "kill_soak", "home": str(home)}
    # A 135M model sometimes gives no usable answer for a field: take the first seed whose
    # undisturbed run completes (the same seed then completes when killed and resumed).
    for seed in (3, 4, 5, 6):
        book = [*BOOK, "--seed", str(seed)]
        started = time.monotonic()
        clean = subprocess.run(
            cli("write", *book, "--book-id", f"clean{seed}"),
            env=env(home),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        clean_s = time.monotonic() - started
        if clean.returncode == 0:
            break
    result["seed"] = seed
    if clean.returncode != 0:
        result.update(ok=False, reason=clean.stderr.strip()[-300:])
        print(json.dumps(result))
        return 1
    run = soak(home, book, args.kills, random.Random(args.seed), args.min_s, args.max_s)
    clean_status, killed_status = status(home, f"clean{seed}"), status(home, "killed")
    assert clean_status is not None and killed_status is not None
    clean_requests = clean_status["llm"]["requests_sent"]
    killed_requests = killed_status["llm"]["requests_sent"]
    identical = manuscript(home, f"clean{seed}") == manuscript(home, "killed")
    paid_twice = killed_requests - clean_requests
    result.update(
        ok=identical and killed_status["status"] == "completed",
        kills=run["kills"],
        completed=killed_status["status"] == "completed",
        manuscript_identical=identical,
        clean_requests=clean_requests,
        killed_requests=killed_requests,
        requests_paid_twice=paid_twice,
        paid_twice_per_kill=round(paid_twice / run["kills"], 2) if run["kills"] else None,
        goal_paid_twice_per_kill=1.0,
        clean_wall_s=round(clean_s, 1),
        killed_wall_s=run["wall_s"],
        early_exits=run["early_exits"],
    )
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
