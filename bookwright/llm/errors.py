"""Classify a failed model call into one of bookwright's error classes."""

from __future__ import annotations

import re

TRANSIENT = {"rate_limit", "network", "timeout", "server", "empty"}

_SECRET = re.compile(r"(sk-[A-Za-z0-9_-]{6,}|Bearer\s+\S+|api[_-]?key[=:]\s*\S+)", re.I)


def redact(text: str) -> str:
    """Remove anything that looks like a key from a message before it is stored or shown."""
    return _SECRET.sub("[redacted]", text)


def classify(exc: BaseException) -> tuple[str, str]:
    """(error class, redacted one-line message) for an exception raised by a model call."""
    from pydantic_ai import exceptions as x

    message = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if isinstance(exc, x.ModelAuthenticationError):
        return "auth", message
    if isinstance(exc, x.ModelRateLimitError | x.ModelQuotaExceededError):
        return "rate_limit", message
    if isinstance(exc, x.ModelTimeoutError | x.ModelRequestTimeout | TimeoutError):
        return "timeout", message
    if isinstance(exc, x.ModelConnectionError):
        return "network", message
    if isinstance(exc, x.ModelServerError | x.ModelUnavailableError):
        return "server", message
    if isinstance(exc, x.ContentFilterError):
        return "refusal", message
    if isinstance(exc, x.ModelHTTPError):
        status = getattr(exc, "status_code", 0) or 0
        if status in (401, 403):
            return "auth", message
        if status == 429:
            return "rate_limit", message
        if status >= 500:
            return "server", message
        return "config", message
    if isinstance(exc, x.UserError):
        return "config", message
    if isinstance(exc, OSError | ConnectionError):
        return "network", message
    return "unknown", f"{type(exc).__name__}: {message}"
