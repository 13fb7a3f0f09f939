"""Cost per word on the embedded model: the same fixed books every run (one per premise of
the length bench, plus the lighthouse demo), and what each cost per 1,000 final words.

The sixth book is the one issue 12 was filed on: "The Keeper", two chapters of two scenes
of 120 words, seed 7, temperature 0 (greedy: the same draws every run), 64% of its
requests refused then.

Per book and overall: completed (all must), requests and tokens per 1,000 words, the share
of tokens spent on refused answers, wall seconds per 1,000 words, and the length score S_l.
Figures come from `bookwright status --json` (its `cost` block), so they are what a user
sees.

    .venv/bin/python bench/cost.py [--premises 4] [--words-per-scene 100]

The last line of stdout is one JSON object. Run nothing else meanwhile: two embedded
models on two cores halve each other's speed.
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
from typing import Any

from length import PREMISES  # bench/ is the script's folder: one list for both benches

from bookwright.quality.checks import length_score

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "lighthouse.toml"
# The book issue 12 was filed on, word for word.
KEEPER = [
    "--title",
    "The Keeper",
    "--premise",
    "A lighthouse keeper on a storm-bound island finds a stranger's diary that predicts each "
    "night's shipwreck before it happens.",
    "--genre",
    "mystery",
    "--chapters",
    "2",
    "--scenes-per-chapter",
    "2",
    "--words-per-scene",
    "120",
    "--seed",
    "7",
    "--temperature",
    "0",
    "--no-judge",
]


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bookwright", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "BOOKWRIGHT_HOME": str(home)},
    )


def measure(home: Path, book: str, write_args: list[str]) -> dict[str, Any]:
    started = time.monotonic()
    proc = cli(home, "write", *write_args, "--book-id", book)
    seconds = time.monotonic() - started
    report = json.loads(cli(home, "status", book, "--json").stdout)
    cost = report["cost"]
    words = cost["words"]
    targets = sum(c["target_words"] for c in report["chapters"])
    return {
        "book": book,
        "exit": proc.returncode,
        "words": words,
        "target_words": targets,
        "length_score": round(length_score(targets, words), 1) if targets else None,
        # the bar is per chapter: none under 80
        "chapter_length_scores": [
            round(length_score(c["target_words"], c["word_count"]), 1)
            for c in report["chapters"]
            if c["target_words"]
        ],
        "requests": report["llm"]["requests_sent"],
        "tokens": report["llm"]["prompt_tokens"] + report["llm"]["completion_tokens"],
        "requests_per_1k_words": cost["requests_per_1k_words"],
        "tokens_per_1k_words": cost["tokens_per_1k_words"],
        "refused_share": cost["refused_share"],
        "refused_requests_share": cost["refused_requests_share"],
        "seconds_per_1k_words": round(1000 * seconds / words, 1) if words else None,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=len(PREMISES))
    parser.add_argument("--words-per-scene", type=int, default=100)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--home", type=Path, help="keep the books here (default: a temp dir)")
    parser.add_argument("--no-keeper", action="store_true", help="leave out issue 12's book")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "home"
        books = [
            (
                f"cost-{i}",
                [
                    "--premise",
                    premise,
                    "--chapters",
                    "1",
                    "--scenes-per-chapter",
                    "2",
                    "--words-per-scene",
                    str(args.words_per_scene),
                    "--characters",
                    "2",
                    "--locations",
                    "1",
                    "--no-judge",
                    "--seed",
                    str(args.seed),
                ],
            )
            for i, premise in enumerate(PREMISES[: args.premises])
        ]
        books.append(("cost-demo", [str(DEMO)]))
        if not args.no_keeper:
            books.append(("cost-keeper", KEEPER))
        for book, write_args in books:
            row = measure(home, book, write_args)
            print(row, flush=True)
            rows.append(row)
    done = [r for r in rows if r["exit"] == 0]
    words = sum(r["words"] for r in rows)
    tokens = sum(r["tokens"] for r in rows)
    print(
        json.dumps(
            {
                "bench": "cost",
                "model": "embedded SmolLM2-135M",
                "books": len(rows),
                "completed": len(done),
                "words": words,
                "tokens_per_1k_words": round(1000 * tokens / words, 1) if words else None,
                "requests_per_1k_words": (
                    round(1000 * sum(r["requests"] for r in rows) / words, 1) if words else None
                ),
                "mean_refused_share": round(statistics.mean(r["refused_share"] for r in rows), 3),
                "mean_refused_requests_share": round(
                    statistics.mean(r["refused_requests_share"] for r in rows), 3
                ),
                # the goal is per book: the worst one
                "max_refused_requests_share": max(r["refused_requests_share"] for r in rows),
                "mean_length_score": (
                    round(statistics.mean(r["length_score"] for r in done), 1) if done else None
                ),
                "min_chapter_length_score": min(
                    (s for r in done for s in r["chapter_length_scores"]), default=None
                ),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
