"""Names on the embedded model: how many of a book's first name asks the checks accept,
asked freely and picked from seeded name lists (`embedded.name_lists`, a grammar).

The asks are the ones a book sends (the cast's template and variables: genre, premise,
title), for the hero and the villain of the length bench's premises plus the demo, at
two seeds. Each answer goes through the same check a book applies (`accept`).

    .venv/bin/python bench/names.py [--seeds 3 7]

The last line of stdout is one JSON object. Run nothing else meanwhile.
"""

from __future__ import annotations

import argparse
import json
import time
import tomllib
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from length import PREMISES  # bench/ is the script's folder: one list for both benches

from bookwright.jobs.novel.cast import ROLES
from bookwright.llm.client import CompletionRequest, LLMClient
from bookwright.model import BookSpec
from bookwright.settings import EmbeddedSettings, Settings
from bookwright.stages.answers import NOT_NAME_WORDS, accept
from bookwright.stages.asks import Ask
from bookwright.stages.stand_ins import name_grammar

ROOT = Path(__file__).resolve().parent.parent
# Titles the embedded model gave these premises in the cost bench (the demo has its own).
TITLES = ["The Unseen Light", "The Baker's Tale", "The Sands of Time", "The Cat's Last Whisperer"]


def books() -> list[tuple[str, str, str]]:
    demo = BookSpec.model_validate(tomllib.loads((ROOT / "examples/lighthouse.toml").read_text()))
    default_genre = BookSpec(premise="x" * 20).genre
    found = [(t, p, default_genre) for t, p in zip(TITLES, PREMISES, strict=True)]
    return [*found, (demo.title or "", demo.premise, demo.genre)]


def run(lists: bool, seeds: list[int]) -> dict[str, object]:
    settings = Settings(embedded=EmbeddedSettings(name_lists=lists))
    client = LLMClient(settings)
    accepted, answers, started = 0, Counter[str](), time.monotonic()
    asked = 0
    for title, premise, genre in books():
        for role, role_desc in ROLES[:2]:
            for seed in seeds:
                question = Ask(
                    f"characters.{role}.name",
                    "planner",
                    "character_name.j2",
                    {"genre": genre, "premise": premise, "title": title, "role_desc": role_desc},
                    "name",
                    40,
                )
                system, user = question.messages()
                grammar = name_grammar(question, seed, NOT_NAME_WORDS)
                request = CompletionRequest(system, user, 40, 0.7, seed, grammar=grammar)
                done = client.complete("local", request, {"role": "planner"})
                value, _ = accept(question, done.text, done.finish_reason)
                asked += 1
                accepted += value is not None
                answers[value or f"(refused) {done.text[:60]}"] += 1
    return {
        "name_lists": lists,
        "asked": asked,
        "accepted": accepted,
        "accepted_share": round(accepted / asked, 3),
        "seconds": round(time.monotonic() - started, 1),
        "answers": dict(answers.most_common()),
    }


def compare(
    bench: str, run: Callable[[bool, list[int]], dict[str, object]], description: str
) -> None:
    """Run `run` off and on at the seeds of the command line; print a row for each and
    the bench's JSON last. `bench/plan.py` compares the same way."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 7])
    args = parser.parse_args()
    rows = [run(False, args.seeds), run(True, args.seeds)]
    for row in rows:
        print({k: v for k, v in row.items() if k not in ("answers", "refusals")}, flush=True)
    print(json.dumps({"bench": bench, "model": "embedded SmolLM2-135M", "rows": rows}))


def main() -> None:
    compare("names", run, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    main()
