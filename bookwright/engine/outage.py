"""A book halted by a provider outage probes the provider and resumes by itself.

The workflow halts as it always has (it waits for a `resume` message), so books halted
by older code resume the same way. What is new lives outside the workflow, in the
process that watches the book: it sends one tiny request at a growing interval to the
models the failed step would use, and when one answers it sends the `resume` message
itself. `bookwright pause` (or Ctrl+C) stops the probing; `llm.auto_resume = false`
turns it off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bookwright.engine.asking import RESUME_TOPIC
from bookwright.errors import ConfigError, ProviderError
from bookwright.llm.client import CompletionRequest, LLMClient
from bookwright.llm.errors import TRANSIENT
from bookwright.settings import Settings
from bookwright.store import BookRecord, Store

PROBE = CompletionRequest(
    system="You answer in one word.", prompt="Say OK.", max_tokens=4, temperature=0.0, seed=0
)
SLICE_S = 0.25  # a pause stops a probe wait this quickly


def waits_for_provider(settings: Settings, book: BookRecord | None) -> bool:
    """The book halted because its provider stayed down past the retry budget, and it
    may resume by itself."""
    return (
        book is not None
        and settings.llm.auto_resume
        and book.status == "halted"
        and not book.halted_at
        and book.error_class in TRANSIENT
        and book.waiting_for == RESUME_TOPIC
        and not book.pause_requested
    )


def probe(settings: Settings, store: Store, client: LLMClient, book: BookRecord) -> bool:
    """One tiny request to each model the failed step would use; True when one answers.
    Probes are recorded like any request, so `errors` lists the faults they met."""
    requests = store.requests(book.id)
    last = requests[-1] if requests else {}
    role = last.get("role")
    chain = settings.llm.chain(role, str(book.spec.get("model", settings.default_model)))
    tags = {"book_id": book.id, "stage": last.get("stage"), "role": role, "field": "probe"}
    for spec in chain:
        try:
            client.complete(spec, PROBE, tags, timeout_s=settings.llm.timeout_for(role))
            return True
        except ProviderError:
            continue
    return False


def wait_for_provider(
    settings: Settings,
    store: Store,
    client: LLMClient,
    book_id: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Probe at a growing interval until a model answers (True), or until the book is
    paused, resumed elsewhere or meets a fault no wait cures (False)."""
    interval = settings.llm.probe_s
    probes = 0
    while True:
        next_at = datetime.now(UTC) + timedelta(seconds=interval)
        store.update_book(
            book_id, next_probe_at=next_at.isoformat(timespec="seconds"), probes=probes
        )
        left = interval
        while left > 0:
            book = store.get_book(book_id)
            if not waits_for_provider(settings, book):
                if book is not None and book.status == "halted" and book.pause_requested:
                    store.update_book(book_id, status="paused")  # `pause` or Ctrl+C
                store.update_book(book_id, next_probe_at=None)
                return False
            sleep(min(SLICE_S, left))
            left -= SLICE_S
        probes += 1
        book = store.get_book(book_id)
        assert book is not None
        try:
            answered = probe(settings, store, client, book)
        except ConfigError as error:  # the key was revoked meanwhile: for a person to fix
            store.update_book(
                book_id,
                next_probe_at=None,
                probes=probes,
                error=error.one_line(),
                error_class="auth",
            )
            return False
        if answered:
            store.update_book(book_id, next_probe_at=None, probes=probes)
            return True
        interval = min(settings.llm.probe_max_s, interval * settings.llm.backoff_factor)
