"""The review job's mechanical nodes on the committed fixture manuscript (11 chapters
with six planted defects): what is recalled and what is found that was not planted,
and the graph's wall time against its critical path. No model is called: these nodes
find the mechanical defects with any model or none.

    .venv/bin/python bench/review.py [--repeat 40]

`--repeat N` also times them on the fixture's text repeated N times (chapters
renumbered), a manuscript of novel length. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from dbos import DBOS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bookwright.cli_review import start_review  # noqa: E402
from bookwright.engine.books import Books  # noqa: E402
from bookwright.engine.runner import run_book  # noqa: E402
from bookwright.settings import Settings  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "review" / "salt_lantern.md"
PLANTED = {("metrics", 5), ("repetition", 6), ("repetition", 8), ("names", 4),
           ("continuity", 7), ("pov", 9)}  # fmt: skip
NODES = ["metrics", "repetition", "names", "pov", "continuity"]


def review(path: Path, home: Path, book_id: str) -> tuple[dict, float]:
    settings = Settings(home=home)
    options = {
        "title": None, "genre": "", "target_words": None, "themes": [], "audience": "",
        "model": "local", "seed": 1, "nodes": NODES, "pause_at": [],
    }  # fmt: skip
    books = Books(settings)
    start = time.perf_counter()
    start_review(books, str(path), options, book_id)
    assert run_book(settings, book_id).status.value == "completed"
    seconds = time.perf_counter() - start
    DBOS.destroy()
    return books.store.get_artifact(book_id, "report")[1], seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report, seconds = review(FIXTURE, Path(folder) / "home", "fixture")
        found = {(f["nodes"][0], f["chapter"]) for f in report["findings"]}
        result = {
            "planted": len(PLANTED),
            "recalled": len(PLANTED & found),
            "false_findings": len(found - PLANTED),
            "words": report["words"],
            "run_seconds": round(seconds, 2),
            "graph_seconds": report["wall_seconds"],
            "critical_path_seconds": report["critical_path"]["seconds"],
        }
        if args.repeat:
            body = FIXTURE.read_text(encoding="utf-8").split("\n", 2)[2]
            counter = iter(range(1, 10_000))
            parts = [
                re.sub(r"## Chapter \d+:", lambda _m: f"## Chapter {next(counter)}:", body)
                for _ in range(args.repeat)
            ]
            big = Path(folder) / "long.md"
            big.write_text("# Long\n\n" + "\n\n".join(parts), encoding="utf-8")
            long_report, long_seconds = review(big, Path(folder) / "home2", "long")
            result.update(
                long_words=long_report["words"],
                long_chapters=long_report["chapters"],
                long_run_seconds=round(long_seconds, 2),
                long_graph_seconds=long_report["wall_seconds"],
            )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
