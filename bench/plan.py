"""A plan's sentences on the embedded model: how many first answers the checks accept,
sampled plain and with the loop and copy penalties prose gets (DRY, repeat penalty).

The asks are the ones a book sends for its story plan (logline, setting, conflict,
ending; the plan template and variables), for the length bench's premises with the titles
the model gave them, plus the demo, at two seeds. Each answer goes through the check a
book applies (`accept`); the next field sees the answers before it, as in a book.

    .venv/bin/python bench/plan.py [--seeds 3 7]

The last line of stdout is one JSON object. Run nothing else meanwhile.
"""

from __future__ import annotations

import time
from collections import Counter

from names import books, compare  # bench/ is the script's folder: the same books as the names bench

from bookwright.jobs.novel.plan import PLAN_FIELDS
from bookwright.llm.client import CompletionRequest, LLMClient
from bookwright.settings import Settings
from bookwright.stages.answers import accept
from bookwright.stages.asks import Ask

TEMPERATURE = 0.7  # a book's default


def run(penalties: bool, seeds: list[int]) -> dict[str, object]:
    client = LLMClient(Settings())
    asked, accepted, refusals = 0, 0, Counter[str]()
    started = time.monotonic()
    for title, premise, genre in books():
        for seed in seeds:
            known: dict[str, str] = {}
            for field in PLAN_FIELDS:
                variables = {"genre": genre, "premise": premise, "title": title}
                question = Ask(
                    f"plan.{field}",
                    "planner",
                    "plan_field.j2",
                    {**variables, "field": field, "known": dict(known)},
                    "sentences",
                    80,
                    avoid=tuple(known.values()),
                )
                system, user = question.messages()
                request = CompletionRequest(
                    system, user, 80, TEMPERATURE, seed, penalties=penalties
                )
                done = client.complete("local", request, {"role": "planner"})
                value, reason = accept(question, done.text, done.finish_reason)
                asked += 1
                accepted += value is not None
                if reason:
                    refusals[reason] += 1
                known[field] = value or done.text.strip()[:200]
    return {
        "penalties": penalties,
        "asked": asked,
        "accepted": accepted,
        "accepted_share": round(accepted / asked, 3),
        "seconds": round(time.monotonic() - started, 1),
        "refusals": dict(refusals.most_common()),
    }


def main() -> None:
    compare("plan", run, (__doc__ or "").splitlines()[0])


if __name__ == "__main__":
    main()
