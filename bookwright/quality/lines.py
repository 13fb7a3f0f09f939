"""Line-format answers (`a | b | c`, one item a line) for the judge and the story bible.

A small model cannot write JSON reliably, but it can write short lines. Each line is
parsed on its own; a bad line is dropped with the reason and the good ones are kept.
`quality.readers.accept_lines` checks an answer to a lines ask; stages.answers.accept
dispatches `kind="lines"` to it, so lines asks go through the same ask_until_valid loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from bookwright.stages.asks import Ask

_BULLET = re.compile(r"^\s*(?:[-*•>#]+|\(?\d{1,2}[.):]|[a-z][.)])\s+")
_NONE = re.compile(
    r"^(?:none|nothing|no (?:problems?|issues?|facts?)(?: found)?|pass(?:ed)?|n/a)\b\.?", re.I
)
QUOTE = re.compile(r"[\"“”«»]([^\"“”«»]{2,})[\"“”«»]")
# Single quotes, but not apostrophes: a quote mark that no letter touches from outside.
SINGLE_QUOTE = re.compile(r"(?<!\w)['‘]([^'‘’]{2,}?)['’](?!\w)")


def clean_line(line: str) -> str:
    """The line without bullets, numbering, markdown emphasis and surrounding spaces."""
    line = line.replace("**", "").replace("__", "").strip().strip("`")
    return _BULLET.sub("", line).strip()


def is_none(line: str) -> bool:
    """True for an explicit 'nothing to report' answer line."""
    return bool(_NONE.match(line.strip(" .*")))


def fields(line: str) -> list[str]:
    """The `|`-separated fields of a line, each stripped; tabs count as separators."""
    return [f.strip() for f in re.split(r"\s*[|\t¦]\s*", line)]


T = TypeVar("T")


@dataclass
class LinesRead(Generic[T]):
    """The items an answer's lines gave, in order, once each; an explicit NONE; and each
    refused line with the reason."""

    items: list[T] = field(default_factory=list)
    said_none: bool = False
    dropped: list[str] = field(default_factory=list)


def read_lines(
    answer: str,
    parse: Callable[[str], T | str],
    key: Callable[[T], Hashable],
    header: Callable[[str], bool] = lambda line: False,
) -> LinesRead[T]:
    """Read an answer line by line; never raises. Each cleaned line is, in this order: a
    header the caller takes (`header` returns True: a score, a verdict), NONE, or an item
    (`parse` returns the item, or the reason it is refused). An item whose `key` came
    before is left out."""
    read: LinesRead[T] = LinesRead()
    seen: set[Hashable] = set()
    for raw in answer.splitlines():
        line = clean_line(raw)
        if not line or header(line):
            continue
        if is_none(line):
            read.said_none = True
            continue
        found = parse(line)
        if isinstance(found, str):
            read.dropped.append(f"{found}: {line[:80]}")
        elif key(found) not in seen:
            seen.add(key(found))
            read.items.append(found)
    return read


def lines_ask(**kwargs: Any) -> Ask:
    """An Ask whose answer is lines (`a | b | c`), checked by readers.accept_lines."""
    return Ask(kind="lines", **kwargs)
