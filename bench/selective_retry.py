"""Selective retry against full retries: tokens spent on retries for the same book and
the same sequence of (scripted) judge verdicts.

The scripted server answers every prompt deterministically and plays the judge from a
script, each verdict about one scene, as judges report them: chapter 1 fails once on
the prose of scene 2 (an edit fixes it), chapter 2 once on the dialogue of scene 1 (a
new draft), chapter 3 twice on the pacing of scene 3 (an edit, then the escalation to a
full retry), chapter 4 passes. Selective retry redoes the failed phase of the failed
scene; full retry redoes the chapter. The book is written twice, with `quality.selective`
true and false;
tokens of requests made by retries (`retry_level` set) are summed from the store.

    .venv/bin/python bench/selective_retry.py [--scenes 3] [--words 120] [--whole-chapter]

Goal: ratio (selective / full) <= 0.5. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

from _scripted import ScriptedServer, run_cli, settings_for

from bookwright.store import Store

PROSE = 'S2: prose | major | "{quote}" | the prose is flat'
DIALOGUE = 'S1: dialogue | major | "{quote}" | the dialogue is stiff'
PACING = 'S3: pacing | major | "{quote}" | the scene drags'
VERDICTS = {1: [PROSE], 2: [DIALOGUE], 3: [PACING, PACING]}


def write(
    folder: Path, selective: bool, scenes: int, words: int, verdicts: dict[int, list[str]]
) -> dict[str, object]:
    home = folder / "home"
    with ScriptedServer(verdicts=verdicts) as server:
        settings = settings_for(
            folder, server, f"[quality]\nselective = {str(selective).lower()}\n"
        )
        started = time.monotonic()
        run_cli(
            home,
            settings,
            "write",
            "--premise",
            "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
            "--chapters",
            "4",
            "--scenes-per-chapter",
            str(scenes),
            "--words-per-scene",
            str(words),
            "--model",
            "scripted:m",
            "--book-id",
            "s",
        )
        seconds = time.monotonic() - started
    rows = Store(f"sqlite:///{home / 'bookwright.sqlite'}").requests("s")
    by_level: Counter[str] = Counter()
    for r in rows:
        if r["retry_level"]:
            by_level[r["retry_level"]] += r["prompt_tokens"] + r["completion_tokens"]
    return {
        "retry_tokens": sum(by_level.values()),
        "by_level": dict(by_level),
        "requests": len(rows),
        "all_tokens": sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows),
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=3)
    parser.add_argument("--words", type=int, default=120)
    parser.add_argument(
        "--whole-chapter",
        action="store_true",
        help="every verdict blames every scene (the worst case for selective retry)",
    )
    args = parser.parse_args()
    verdicts = VERDICTS
    if args.whole_chapter:
        verdicts = {k: [v.split(": ", 1)[1] for v in vs] for k, vs in VERDICTS.items()}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        selective = write(Path(tmp) / "a", True, args.scenes, args.words, verdicts)
        full = write(Path(tmp) / "b", False, args.scenes, args.words, verdicts)
    ratio = round(selective["retry_tokens"] / full["retry_tokens"], 3)  # type: ignore[operator]
    print(f"selective: {selective}")
    print(f"full:      {full}")
    print(
        json.dumps(
            {
                "bench": "selective_retry",
                "ratio": ratio,
                "goal": 0.5,
                "selective": selective,
                "full": full,
            }
        )
    )


if __name__ == "__main__":
    main()
