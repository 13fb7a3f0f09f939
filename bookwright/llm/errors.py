"""Classify a failed model call into one of bookwright's error classes."""

from __future__ import annotations

from bookwright.redaction import redact as redact  # re-exported: classify() uses it

TRANSIENT = {"rate_limit", "network", "timeout", "server"}
# Worth sending again, unchanged, to the same model: a malformed response body is a
# transport fault like a 5xx, not something the prompt can fix.
RETRYABLE = TRANSIENT | {"invalid_output"}
ERROR_CLASSES = (
    "rate_limit",
    "network",
    "timeout",
    "server",
    "empty",
    "truncated",
    "invalid_output",
    "auth",
    "config",
    "refusal",
    "budget",
    "unknown",
)


def retry_after(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (`Retry-After`), when it said so."""
    value = getattr(exc, "retry_after", None)
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _undecodable(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc.__context__
    return isinstance(cause, ValueError) or "decode response" in str(exc)


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
    if isinstance(exc, x.ModelRequestRejectedError):  # bad model name, context too long
        return "config", message
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
    if isinstance(exc, x.UnexpectedModelBehavior | ValueError) or _undecodable(exc):
        return "invalid_output", message  # a response body that is not what the API says
    if isinstance(exc, OSError | ConnectionError):
        return "network", message
    return "unknown", f"{type(exc).__name__}: {message}"
