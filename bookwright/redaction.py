"""Secrets never leave the process: anything that looks like a key, and the value of every
variable that holds one, is replaced before text is stored, logged, printed or served.

The variables are the hosted providers' and every `[providers.NAME] api_key_env` of the
settings this process loaded (`watch` is called when settings load).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_-]{6,}|gsk_[A-Za-z0-9]{6,}|AIza[A-Za-z0-9_-]{10,}|xai-[A-Za-z0-9]{6,}|"
    r"Bearer\s+\S+|api[_-]?key[=:]\s*\S+)",
    re.I,
)
KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "BOOKWRIGHT_TOKEN",
)
MIN_SECRET_LENGTH = 6  # shorter values would blank ordinary words; no real key is this short
_watched: set[str] = set()


def watch(variables: Iterable[str]) -> None:
    """Also redact the values of these environment variables, from now on."""
    _watched.update(v for v in variables if v)


def redact(text: str, extra_variables: Iterable[str] = ()) -> str:
    """Remove anything that looks like a key, and the value of every key variable."""
    text = _SECRET.sub(REDACTED, text)
    for name in {*KEY_VARIABLES, *_watched, *extra_variables}:
        value = os.environ.get(name, "").strip()
        if len(value) >= MIN_SECRET_LENGTH and value in text:
            text = text.replace(value, REDACTED)
    return text
