"""Which workers are alive, seen from any machine: a Postgres advisory lock per executor id.

A worker holds a session-level advisory lock on its executor id for as long as it
runs. Postgres frees it the moment the worker's connection ends (exit, SIGKILL, a
crashed machine once TCP keepalive gives up), so `pg_locks` is a heartbeat with no
timing to tune. It also refuses a second worker with the same id, which would
recover (and so fight over) the same workflows.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bookwright.errors import UsageError

LEASE_NAMESPACE = 0x776B7273  # pg advisory lock class ("wkrs"); the key is hashtext(executor id)
# Keepalives: a worker whose machine vanished loses its lease within about a minute.
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
             "keepalives_count": 3}  # fmt: skip


class ExecutorLease:
    """Held by a running worker: `acquire()` once at start, `release()` at exit."""

    def __init__(self, url: str, executor_id: str) -> None:
        self.executor_id = executor_id
        driver_url = make_url(url).set(drivername="postgresql+psycopg")
        self._engine = sa.create_engine(driver_url, poolclass=NullPool, connect_args=KEEPALIVE)
        self._conn: sa.Connection | None = None

    def acquire(self) -> None:
        conn = self._engine.connect()
        got = conn.execute(
            sa.select(
                sa.func.pg_try_advisory_lock(LEASE_NAMESPACE, sa.func.hashtext(self.executor_id))
            )
        ).scalar_one()
        conn.commit()  # the lock is the session's, not the transaction's
        if not got:
            conn.close()
            raise UsageError(
                f"A worker with executor id {self.executor_id!r} is already running",
                "Give each worker its own id: `bookwright worker --executor-id NAME`",
            )
        self._conn = conn

    def keep(self) -> None:
        """Called now and then: after a lost connection (a database restart), take the
        lease again, or raise when another worker took this id meanwhile."""
        try:
            assert self._conn is not None
            self._conn.execute(sa.select(1)).scalar_one()
            self._conn.commit()
        except sa.exc.DBAPIError:
            if self._conn is not None:
                self._conn.invalidate()
                self._conn.close()
            self._conn = None
            self.acquire()

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # ends the session, and with it the lock
            self._conn = None
        self._engine.dispose()


def live_executors(engine: sa.Engine, executor_ids: list[str]) -> set[str]:
    """The ids among `executor_ids` whose worker holds its lease now."""
    if engine.dialect.name != "postgresql" or not executor_ids:
        return set()
    query = sa.text(
        "SELECT e.id FROM unnest(CAST(:ids AS text[])) AS e(id) WHERE EXISTS ("
        " SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND l.classid = CAST(:ns AS oid) AND l.objsubid = 2"
        " AND l.objid = CAST((CAST(hashtext(e.id) AS bigint) & 4294967295) AS oid))"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"ids": list(executor_ids), "ns": LEASE_NAMESPACE})
        return {r[0] for r in rows}


def live_worker_count(engine: sa.Engine) -> int:
    """How many workers hold a lease on this database now."""
    if engine.dialect.name != "postgresql":
        return 0
    query = sa.text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = CAST(:ns AS oid) AND objsubid = 2"
    )
    with engine.connect() as conn:
        return int(conn.execute(query, {"ns": LEASE_NAMESPACE}).scalar_one())
