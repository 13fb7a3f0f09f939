"""One step's model call, made to survive: retries with backoff, then the next model.

Sized for unattended runs of hours: each model of the chain is retried for a fault
that may pass (rate limit, network, timeout, 5xx, malformed body) with exponential
backoff and jitter, or longer when the provider sent `Retry-After`, until the call's
time budget (`retry_budget_s`) or `attempts` runs out. An empty answer is sent again
`empty_retries` times, then handed back for the caller to re-ask. A fault that another
try cannot cure (a refusal, a wrong model name) moves straight to the next model. An
auth failure stops everything: a rejected key is for the author to fix, not for a
fallback to hide. When every model has failed, the error names each one and its
last error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from bookwright.errors import PauseRequested, ProviderError
from bookwright.llm.client import Completion, CompletionRequest, LLMClient
from bookwright.llm.errors import RETRYABLE
from bookwright.settings import LLMSettings

SLEEP_SLICE_S = 0.25  # a pause request interrupts a backoff wait this quickly


def backoff_delay(
    policy: LLMSettings,
    retry: int,
    retry_after: float | None = None,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before retry number `retry` (0 = the first retry)."""
    base = min(policy.backoff_max_s, policy.backoff_s * policy.backoff_factor**retry)
    delay = base * (1.0 + policy.jitter * (2.0 * rng() - 1.0))
    if retry_after is not None:
        delay = max(delay, retry_after)  # the provider knows when its window reopens
    return max(0.0, delay)


def call_with_fallback(
    client: LLMClient,
    chain: list[str],
    request: CompletionRequest,
    tags: dict[str, Any],
    policy: LLMSettings,
    *,
    timeout_s: float | None = None,
    stopping: Callable[[], PauseRequested | None] = lambda: None,
    before_send: Callable[[str], None] = lambda _spec: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Completion:
    """Send `request` to the first model of `chain` that answers.

    `stopping()` returns a PauseRequested when the author asked to stop: checked
    before every attempt and during every wait. `before_send(model)` may raise (the
    budget check) before anything is paid. `clock` measures the retry budget.
    """
    last: dict[str, ProviderError] = {}
    for spec in chain:
        started = clock()
        empties = 0
        for attempt in range(policy.attempts):
            if (pause := stopping()) is not None:
                raise pause
            before_send(spec)
            try:
                completion = client.complete(spec, request, tags, timeout_s=timeout_s)
            except ProviderError as error:
                last[spec] = error
                if error.error_class not in RETRYABLE:
                    break
                delay = backoff_delay(policy, attempt, error.retry_after)
                if not _may_retry(policy, attempt, clock() - started, delay):
                    break
            else:
                if completion.text.strip() or empties >= policy.empty_retries:
                    return completion
                empties += 1  # a busy server's empty body: it may answer the same request
                delay = backoff_delay(policy, attempt)
                if not _may_retry(policy, attempt, clock() - started, delay):
                    return completion
            _wait(delay, stopping, sleep)
    raise _all_failed(chain, last)


def _may_retry(policy: LLMSettings, attempt: int, elapsed: float, delay: float) -> bool:
    """Another try fits in the attempts and in the call's time budget."""
    return attempt + 1 < policy.attempts and elapsed + delay <= policy.retry_budget_s


def _wait(
    seconds: float,
    stopping: Callable[[], PauseRequested | None],
    sleep: Callable[[float], None],
) -> None:
    left = seconds
    while left > 0:
        if (pause := stopping()) is not None:
            raise pause
        sleep(min(SLEEP_SLICE_S, left))
        left -= SLEEP_SLICE_S


def _all_failed(chain: list[str], last: dict[str, ProviderError]) -> ProviderError:
    final = last[chain[-1]] if chain[-1] in last else next(reversed(last.values()))
    if len(chain) == 1:
        return ProviderError(
            final.message,
            "Check the server or provider",
            provider=final.provider,
            error_class=final.error_class,
        )
    each = "; ".join(f"{spec}: {last[spec].error_class} ({_reason(last[spec])})" for spec in last)
    return ProviderError(
        f"Every model of the chain failed: {each}",
        "Check those servers or providers",
        provider=final.provider,
        error_class=final.error_class,
    )


def _reason(error: ProviderError) -> str:
    # "spec failed (class): reason" -> "reason"
    return error.message.split("): ", 1)[-1][:200]
