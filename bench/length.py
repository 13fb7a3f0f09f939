"""Length control on the embedded model: the LongBench-Write length score S_l of each
chapter against its word target, over a set of premises and targets.

Each book is one chapter of two scenes written by the embedded SmolLM2-135M (no API
key, no network); scenes that come out short are continued, long ones trimmed at a
paragraph. S_l (0-100) is 100 at the target, falls slowly above it and faster below.

    .venv/bin/python bench/length.py [--targets 100 250] [--premises 3]

The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bookwright.quality.checks import length_score

ROOT = Path(__file__).resolve().parent.parent
PREMISES = [
    "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
    "A baker in a mountain village discovers that her bread makes people tell the truth.",
    "Two rival cartographers must cross a desert together to map a vanishing oasis.",
    "A retired detective is asked by her granddaughter to find a missing cat.",
]


def write(home: Path, book: str, premise: str, words: int, seed: int) -> dict[str, object]:
    args = [
        sys.executable,
        "-m",
        "bookwright",
        "write",
        "--premise",
        premise,
        "--chapters",
        "1",
        "--scenes-per-chapter",
        "2",
        "--words-per-scene",
        str(words),
        "--characters",
        "2",
        "--locations",
        "1",
        "--no-judge",
        "--seed",
        str(seed),
        "--book-id",
        book,
    ]
    started = time.monotonic()
    proc = subprocess.run(
        args,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BOOKWRIGHT_HOME": str(home)},
    )
    seconds = time.monotonic() - started
    status = subprocess.run(
        [sys.executable, "-m", "bookwright", "status", book, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BOOKWRIGHT_HOME": str(home)},
    )
    report = json.loads(status.stdout)
    chapter = report["chapters"][0] if report["chapters"] else {"word_count": 0}
    target = 2 * words
    return {
        "book": book,
        "exit": proc.returncode,
        "target_words": target,
        "words": chapter["word_count"],
        "length_score": round(length_score(target, chapter["word_count"]), 1),
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[100, 250])
    parser.add_argument("--premises", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        for i, premise in enumerate(PREMISES[: args.premises]):
            for words in args.targets:
                row = write(home, f"len-{i}-{words}", premise, words, args.seed)
                print(row, flush=True)
                rows.append(row)
    done = [r for r in rows if r["exit"] == 0]
    scores = [float(r["length_score"]) for r in done]  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "bench": "length",
                "model": "embedded SmolLM2-135M",
                "books": len(rows),
                "completed": len(done),
                "mean_length_score": round(statistics.mean(scores), 1) if scores else None,
                "min_length_score": min(scores) if scores else None,
                "by_target": {
                    str(w): round(
                        statistics.mean(
                            float(r["length_score"])  # type: ignore[arg-type]
                            for r in done
                            if r["target_words"] == 2 * w
                        ),
                        1,
                    )
                    for w in args.targets
                    if any(r["target_words"] == 2 * w for r in done)
                },
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
