"""The Store: one object over the content database, used by steps and by readers."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bookwright.errors import ConfigError
from bookwright.model.text import printable
from bookwright.redaction import redact
from bookwright.store import disk
from bookwright.store import schema as t
from bookwright.store.migrate import pending, upgrade
from bookwright.store.private import private_file


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class BookRecord:
    id: str
    title: str
    spec: dict[str, Any]
    status: str
    current_stage: str | None
    halted_at: str | None
    error: str | None
    error_class: str | None
    waiting_for: str | None
    waiting_workflow: str | None
    wait_token: str | None
    pause_requested: bool
    active_workflow: str | None
    budget_usd: float | None
    max_tokens: int | None
    created_at: str
    updated_at: str
    next_probe_at: str | None = None
    probes: int | None = None


def make_engine(url: str) -> sa.Engine:
    """An engine for `url`; SQLite files get WAL and a busy timeout for concurrent readers."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        # psycopg 3 (what DBOS uses too); a bare postgresql:// would ask for psycopg2.
        return sa.create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        private_file(Path(parsed.database))
    engine = sa.create_engine(url, connect_args={"timeout": 30})

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        use_wal(cur)
        # FULL like DBOS: a power cut must not keep a checkpoint whose artifact was lost.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    return engine


def use_wal(cursor: sqlite3.Cursor, wait_s: float = 30.0) -> None:
    """Put the file in WAL mode (a no-op once it is). On a new file, a connection that
    switches while another one does gets "database is locked" at once, without the busy
    timeout: a `write` and a `status` opening a new workspace together did, and the
    `write` died before sending anything. So wait for the other switch here."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Store:
    def __init__(self, url: str) -> None:
        disk.install()  # a full disk or a damaged file: one clear error, not a traceback
        self.engine = make_engine(url)
        try:
            self._open(url)
        except sa.exc.OperationalError as exc:
            self.engine.dispose()
            reason = (str(exc.orig or exc).strip().splitlines() or [""])[0]
            where = make_url(url).render_as_string(hide_password=True)
            raise ConfigError(
                f"Cannot open the database at {where}: {reason[:300]}",
                "Check that the server is running and `database_url` is right (unset it to "
                "use SQLite in the home)",
            ) from None

    def _open(self, url: str) -> None:
        if self.engine.dialect.name == "sqlite":
            upgrade(self.engine)  # a new file's tables, or what a newer bookwright added
        elif missing := pending(self.engine):
            self.engine.dispose()
            raise ConfigError(
                f"The database at {make_url(url).render_as_string(hide_password=True)} lacks "
                f"{', '.join(missing[:4])}{' ...' if len(missing) > 4 else ''}",
                "Create or upgrade it with `bookwright db migrate`",
            )

    def close(self) -> None:
        self.engine.dispose()

    # books

    def create_book(self, book_id: str, title: str, spec: dict[str, Any], **limits: Any) -> None:
        stamp = now_iso()
        with self.engine.begin() as conn:
            conn.execute(
                t.books.insert().values(
                    id=book_id,
                    title=title,
                    spec=spec,
                    status="initialized",
                    **limits,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )

    def get_book(self, book_id: str) -> BookRecord | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t.books).where(t.books.c.id == book_id)).mappings().first()
        return BookRecord(**row) if row else None

    def list_books(self) -> list[BookRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t.books).order_by(t.books.c.created_at)).mappings()
            return [BookRecord(**r) for r in rows]

    def update_book(self, book_id: str, **fields: Any) -> None:
        if fields.get("error"):
            fields["error"] = redact(fields["error"])
        fields["updated_at"] = now_iso()
        with self.engine.begin() as conn:
            conn.execute(t.books.update().where(t.books.c.id == book_id).values(**fields))

    def pause_requested(self, book_id: str) -> bool:
        with self.engine.connect() as conn:
            flag = conn.execute(
                sa.select(t.books.c.pause_requested).where(t.books.c.id == book_id)
            ).scalar()
        return bool(flag)

    # artifacts

    def put_artifact(
        self,
        book_id: str,
        name: str,
        data: dict[str, Any],
        source: str = "generated",
        idem_key: str | None = None,
    ) -> int:
        """Store a new version of an artifact and return its version number. Control
        characters (terminal escapes a model or a file may carry) are dropped from its text."""
        data = printable(data)
        with self.engine.begin() as conn:
            if idem_key is not None:
                existing = conn.execute(
                    sa.select(t.artifacts.c.version).where(t.artifacts.c.idem_key == idem_key)
                ).scalar()
                if existing is not None:
                    return int(existing)
            latest = conn.execute(
                sa.select(sa.func.max(t.artifacts.c.version)).where(
                    t.artifacts.c.book_id == book_id, t.artifacts.c.name == name
                )
            ).scalar()
            version = (latest or 0) + 1
            conn.execute(
                t.artifacts.insert().values(
                    book_id=book_id,
                    name=name,
                    version=version,
                    data=data,
                    source=source,
                    idem_key=idem_key,
                    created_at=now_iso(),
                )
            )
            conn.execute(
                t.books.update().where(t.books.c.id == book_id).values(updated_at=now_iso())
            )
        return version

    def get_artifact(
        self, book_id: str, name: str, version: int | None = None
    ) -> tuple[int, dict[str, Any]] | None:
        query = sa.select(t.artifacts.c.version, t.artifacts.c.data).where(
            t.artifacts.c.book_id == book_id, t.artifacts.c.name == name
        )
        if version is not None:
            query = query.where(t.artifacts.c.version == version)
        query = query.order_by(t.artifacts.c.version.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        data = row.data if isinstance(row.data, dict) else json.loads(row.data)
        return int(row.version), data

    def artifact_source(self, book_id: str, name: str) -> str | None:
        """Who made the latest version of an artifact: generated, edited, imported, ..."""
        query = (
            sa.select(t.artifacts.c.source)
            .where(t.artifacts.c.book_id == book_id, t.artifacts.c.name == name)
            .order_by(t.artifacts.c.version.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def artifact_names(self, book_id: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.artifacts.c.name)
                .where(t.artifacts.c.book_id == book_id)
                .group_by(t.artifacts.c.name)
                .order_by(sa.func.min(t.artifacts.c.id))
            )
            return [r.name for r in rows]

    # chapters

    def init_chapters(self, book_id: str, rows: list[dict[str, Any]]) -> None:
        """Create or refresh chapter rows from the outline, keeping progress already made."""
        stamp = now_iso()
        with self.engine.begin() as conn:
            for row in rows:
                exists = conn.execute(
                    sa.select(t.chapters.c.number).where(
                        t.chapters.c.book_id == book_id, t.chapters.c.number == row["number"]
                    )
                ).first()
                if exists:
                    conn.execute(
                        t.chapters.update()
                        .where(
                            t.chapters.c.book_id == book_id, t.chapters.c.number == row["number"]
                        )
                        .values(
                            title=row["title"],
                            depends_on=row["depends_on"],
                            target_words=row["target_words"],
                            updated_at=stamp,
                        )
                    )
                else:
                    conn.execute(
                        t.chapters.insert().values(
                            book_id=book_id,
                            status="pending",
                            retry_count=0,
                            word_count=0,
                            updated_at=stamp,
                            **row,
                        )
                    )

    def update_chapter(self, book_id: str, number: int, **fields: Any) -> None:
        fields["updated_at"] = now_iso()
        with self.engine.begin() as conn:
            conn.execute(
                t.chapters.update()
                .where(t.chapters.c.book_id == book_id, t.chapters.c.number == number)
                .values(**fields)
            )
            conn.execute(
                t.books.update().where(t.books.c.id == book_id).values(updated_at=now_iso())
            )

    def chapters(self, book_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.chapters)
                .where(t.chapters.c.book_id == book_id)
                .order_by(t.chapters.c.number)
            ).mappings()
            return [dict(r) for r in rows]

    # model requests

    def request_started(self, **fields: Any) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(t.llm_requests.insert().values(started_at=now_iso(), **fields))
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def request_finished(self, request_id: int, **fields: Any) -> None:
        if fields.get("error_message"):
            fields["error_message"] = redact(fields["error_message"])
        with self.engine.begin() as conn:
            conn.execute(
                t.llm_requests.update()
                .where(t.llm_requests.c.id == request_id)
                .values(finished_at=now_iso(), **fields)
            )

    def mark_request(self, request_id: int, error_class: str, message: str) -> None:
        """Record that an answer that arrived was still a failure (invalid, truncated)."""
        self.request_finished(request_id, error_class=error_class, error_message=message[:2000])

    def spend(self, book_id: str) -> tuple[int, float]:
        """Tokens and dollars the book's requests have cost so far."""
        r = t.llm_requests.c
        with self.engine.connect() as conn:
            tokens, usd = conn.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(r.prompt_tokens + r.completion_tokens), 0),
                    sa.func.coalesce(sa.func.sum(r.cost_usd), 0.0),
                ).where(r.book_id == book_id)
            ).one()
        return int(tokens), float(usd)

    # answers kept with a warning

    def add_warning(self, book_id: str, idem_key: str, **fields: Any) -> None:
        """Record a warning once, however often the step that records it runs."""
        with self.engine.begin() as conn:
            found = conn.execute(
                sa.select(t.answer_warnings.c.id).where(t.answer_warnings.c.idem_key == idem_key)
            ).first()
            if found is None:
                conn.execute(
                    t.answer_warnings.insert().values(
                        book_id=book_id, idem_key=idem_key, created_at=now_iso(), **fields
                    )
                )

    def warnings(self, book_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.answer_warnings)
                .where(t.answer_warnings.c.book_id == book_id)
                .order_by(t.answer_warnings.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    def errors(self, book_id: str) -> list[dict[str, Any]]:
        """Every failed attempt, oldest first."""
        return [r for r in self.requests(book_id) if r["error_class"]]

    def requests(self, book_id: str, field_prefix: str | None = None) -> list[dict[str, Any]]:
        """The book's model requests, oldest first; with `field_prefix`, only those whose
        field starts with it ("bible.")."""
        query = sa.select(t.llm_requests).where(t.llm_requests.c.book_id == book_id)
        if field_prefix is not None:
            query = query.where(t.llm_requests.c.field.startswith(field_prefix, autoescape=True))
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(t.llm_requests.c.id)).mappings()
            return [dict(r) for r in rows]
