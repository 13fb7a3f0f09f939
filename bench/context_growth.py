"""Prompt size as a book grows: bounded context against resending the text so far.

Writes a 30-chapter book of short scenes on the scripted local model server (real CLI,
engine and store; deterministic answers) and reads the recorded requests: the mean
prompt tokens of a scene draft in chapters 2-4 and in chapters 28-30, and their ratio.
For comparison it prints what a pipeline that resends the book so far would send.

    .venv/bin/python bench/context_growth.py [--chapters 30] [--words 60]

Goal: ratio <= 1.25. The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _scripted import ScriptedServer, run_cli, settings_for

from bookwright.quality.text import count_tokens
from bookwright.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chapters", type=int, default=30)
    parser.add_argument("--words", type=int, default=60)
    args = parser.parse_args()
    last = args.chapters
    early, late = range(2, 5), range(last - 2, last + 1)
    with tempfile.TemporaryDirectory() as tmp, ScriptedServer() as server:
        folder = Path(tmp)
        settings = settings_for(folder, server)
        started = time.monotonic()
        run_cli(
            folder / "home",
            settings,
            "write",
            "--premise",
            "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
            "--chapters",
            str(last),
            "--scenes-per-chapter",
            "2",
            "--words-per-scene",
            str(args.words),
            "--characters",
            "3",
            "--locations",
            "3",
            "--model",
            "scripted:m",
            "--book-id",
            "long",
        )
        seconds = time.monotonic() - started
        store = Store(f"sqlite:///{folder / 'home' / 'bookwright.sqlite'}")
        writes = [r for r in store.requests("long") if r["field"] == "write"]
        chapters = {
            n: store.get_artifact("long", f"chapter:{n}")[1]["scenes"]  # type: ignore[index]
            for n in range(1, last + 1)
        }

    def mean_prompt(numbers: range) -> float:
        return statistics.mean(r["prompt_tokens"] for r in writes if r["chapter"] in numbers)

    def mean_breakdown(numbers: range) -> float:
        return statistics.mean(
            sum(r["prompt_breakdown"]["sections"].values())
            for r in writes
            if r["chapter"] in numbers
        )

    def resend_all(numbers: range) -> float:  # every earlier scene in the prompt
        sizes = []
        for n in numbers:
            so_far = [s for k in range(1, n) for s in chapters[k]]
            sizes.append(count_tokens("\n\n".join(so_far)))
        return statistics.mean(sizes)

    figures = {
        "bench": "context_growth",
        "chapters": last,
        "scene_prompts": len(writes),
        "early_prompt_tokens": round(mean_prompt(early), 1),
        "late_prompt_tokens": round(mean_prompt(late), 1),
        "ratio": round(mean_prompt(late) / mean_prompt(early), 3),
        "goal": 1.25,
        "early_context_tokens_est": round(mean_breakdown(early), 1),
        "late_context_tokens_est": round(mean_breakdown(late), 1),
        "resend_all_early_tokens_est": round(resend_all(early), 1),
        "resend_all_late_tokens_est": round(resend_all(late), 1),
        "seconds": round(seconds, 1),
    }
    print(
        f"scene prompt tokens: chapters 2-4 {figures['early_prompt_tokens']}, "
        f"{last - 2}-{last} {figures['late_prompt_tokens']} (ratio {figures['ratio']}); "
        f"resending the text so far: {figures['resend_all_early_tokens_est']} -> "
        f"{figures['resend_all_late_tokens_est']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
