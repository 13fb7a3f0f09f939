"""Reading the answer to a lines ask: the judge's verdict or the story bible's facts.

It sits above `quality.judge` and `quality.bible` (which build the asks and parse each
kind of line) and below `stages.answers` (which dispatches `kind="lines"` here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bookwright.model.text import looks_like_json
from bookwright.quality.bible import parse_facts
from bookwright.quality.judge import parse_judge
from bookwright.stages.asks import Ask

# How each kind of lines ask is read (`extra["lines"]`); a job adds its own kinds here.
# A reading has `usable` and `canonical()`.
READERS: dict[str, Callable[[Ask, str], Any]] = {
    "judge": lambda ask, text: parse_judge(text, ask.variables["text"]),
    "facts": lambda ask, text: parse_facts(
        text, ask.variables["text"], ask.variables.get("names", [])
    ),
}


def parse_answer(ask: Ask, text: str) -> Any:
    """The parsed reading of an answer to a lines ask."""
    kind = ask.extra.get("lines")
    reader = READERS.get(str(kind))
    if reader is None:
        raise ValueError(f"not a lines ask: {ask.label} (extra['lines'] is {kind!r})")
    return reader(ask, text)


def accept_lines(ask: Ask, text: str, finish_reason: str | None) -> tuple[str | None, str | None]:
    """(canonical lines, None) when at least one line is usable or the answer is NONE,
    else (None, reason). The canonical text parses back to the same reading."""
    if not text.strip():
        return None, "The answer was empty."
    if looks_like_json(text.strip()[:200]):
        return None, "Answer in plain lines, not JSON."
    reading = parse_answer(ask, text)
    if reading.usable:
        return reading.canonical(), None
    return None, str(ask.extra.get("format_hint", "Answer in the line format asked for."))
