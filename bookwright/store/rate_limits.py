"""Per-provider rate limits shared by every process that writes books.

A sliding window kept in the content database (`rate_slots`): before each request to a
limited provider, a process reserves a slot in one transaction, or learns how long to
wait until the oldest slot of the window expires. On Postgres a transaction-scoped
advisory lock per provider serializes the count-and-reserve across workers on any
machine; on SQLite the insert takes the file's single write lock first, which does the
same. Times come from the database's clock, so workers with skewed clocks still agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa

from bookwright.settings import RateLimit
from bookwright.store import schema as t

LOCK_NAMESPACE = 0x72617465  # pg advisory lock class ("rate"); the key is hashtext(provider)
KEEP_S = 3600.0  # slots are kept an hour, so the last hour's rate can be audited
SLICE_S = 0.25  # a pause request interrupts a wait for a slot this quickly


class _WindowFull(Exception):
    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s


def take_slot(
    engine: sa.Engine,
    provider: str,
    limit: RateLimit | None,
    *,
    stopping: Callable[[], Exception | None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Block until `provider` may be sent one more request; return the seconds waited.

    `stopping()` may return an exception (a pause request), raised during the wait.
    """
    if limit is None:
        return 0.0
    waited = 0.0
    while True:
        wait = try_slot(engine, provider, limit)
        if wait is None:
            return waited
        while wait > 0:
            if (stop := stopping()) is not None:
                raise stop
            step = min(SLICE_S, wait)
            sleep(step)
            wait -= step
            waited += step


def try_slot(engine: sa.Engine, provider: str, limit: RateLimit) -> float | None:
    """Reserve a slot now (None), or return the seconds until one frees up."""
    slots = t.rate_slots.c
    try:
        with engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(
                    sa.select(
                        sa.func.pg_advisory_xact_lock(LOCK_NAMESPACE, sa.func.hashtext(provider))
                    )
                )
                now = float(
                    conn.execute(
                        sa.select(sa.extract("epoch", sa.func.clock_timestamp()))
                    ).scalar_one()
                )
            else:
                now = time.time()
            conn.execute(t.rate_slots.insert().values(provider=provider, sent_at=now))
            conn.execute(
                t.rate_slots.delete().where(
                    slots.provider == provider,
                    slots.sent_at <= now - max(KEEP_S, limit.period_s),
                )
            )
            used, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(slots.sent_at)).where(
                    slots.provider == provider, slots.sent_at > now - limit.period_s
                )
            ).one()
            if used > limit.requests:
                raise _WindowFull(max(0.01, float(oldest) + limit.period_s - now))
    except _WindowFull as full:  # rolled back: the slot reserved above is not kept
        return full.wait_s
    return None
