"""Text that is safe to store and to print: no control characters but newlines and tabs.

A model (or an edited file) can answer with terminal escape sequences (`ESC ]0;title BEL`
retitles a terminal, others move the cursor or rewrite what was printed). They are not
prose, so they are dropped before anything is stored, and again before anything is printed.
"""

from __future__ import annotations

import re
from typing import Any

# C0 controls but \t \n \r, DEL, and C1 controls (0x80-0x9f, e.g. the 8-bit CSI).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# A whole escape sequence (CSI ... final byte, or OSC ... BEL/ST), so no payload stays behind.
_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")


def printable(value: Any) -> Any:
    """`value` with escape sequences and control characters removed from every string in it
    (dicts and lists are walked; other values are returned as they are)."""
    if isinstance(value, str):
        if not _CONTROL.search(value):
            return value
        return _CONTROL.sub("", _ESCAPE.sub("", value))
    if isinstance(value, dict):
        return {k: printable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [printable(v) for v in value]
    return value


def looks_like_json(text: str) -> bool:
    """True when a text looks like the start of a JSON document rather than plain words."""
    t = text.strip()
    return t[:1] in "{[" or '":' in t or '{"' in t


def counted(n: int, noun: str) -> str:
    """'1 chapter', '2 chapters': a number and a regular noun, in agreement."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
