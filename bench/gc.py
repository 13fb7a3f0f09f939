"""Home size after a 10-chapter scripted book, after `bookwright gc`, and the time of
`bookwright backup` and `restore` of that book. Last line: one JSON object.

    .venv/bin/python bench/gc.py [--chapters 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _scripted import ScriptedServer, run_cli, settings_for


def home_bytes(home: Path) -> int:
    return sum(p.stat().st_size for p in home.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chapters", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer() as server:
        root = Path(tmp)
        home = root / "home"
        settings = settings_for(root, server)
        started = time.perf_counter()
        run_cli(
            home, settings, "write", "--premise",
            "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
            "--chapters", str(args.chapters), "--scenes-per-chapter", "3",
            "--words-per-scene", "120", "--seed", "5", "--model", "scripted:m",
            "--book-id", "bench",
        )  # fmt: skip
        write_s = time.perf_counter() - started
        print(f"wrote {args.chapters} chapters in {write_s:.1f} s", file=sys.stderr)
        # A retry of every chapter, so the book has superseded versions, as an edited one would.
        for chapter in range(1, args.chapters + 1):
            run_cli(home, settings, "retry", "bench", "--chapter", str(chapter), "--level", "edit")
        size_written = home_bytes(home)
        archive = root / "bench.tar.gz"
        started = time.perf_counter()
        run_cli(home, settings, "backup", "bench", "-o", str(archive))
        backup_s = time.perf_counter() - started
        started = time.perf_counter()
        run_cli(
            root / "restored", settings, "restore", str(archive), "--into", str(root / "restored")
        )
        restore_s = time.perf_counter() - started
        size_before_gc = home_bytes(home)  # the backup's close folded the WAL files back
        gc = json.loads(
            run_cli(
                home, settings, "gc", "--older-than", "0", "--keep-versions", "1", "--json"
            ).stdout
        )
        size_gc = home_bytes(home)
        print(
            json.dumps(
                {
                    "ok": True,
                    "chapters": args.chapters,
                    "cpus": os.cpu_count(),
                    "write_s": round(write_s, 2),
                    "home_bytes_written": size_written,
                    "home_bytes_before_gc": size_before_gc,
                    "home_bytes_after_gc": size_gc,
                    "gc_removed_steps": gc["steps"],
                    "gc_removed_versions": gc["versions"],
                    "gc_freed_db_bytes": gc["freed"],
                    "backup_bytes": archive.stat().st_size,
                    "backup_s": round(backup_s, 2),
                    "restore_s": round(restore_s, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
