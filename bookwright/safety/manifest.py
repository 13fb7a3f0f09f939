"""The backup file: a tar.gz of SQLite snapshots and book folders, with a manifest.

The same format whether the books come from a SQLite home or a PostgreSQL database.

manifest.json            format, versions, the books, a sha256 for every file
store.sqlite             the content store's rows of the backed-up books only
books/BOOK/dbos.sqlite   the book's DBOS system database (its checkpoints); from
                         PostgreSQL, the book's workflows copied into a SQLite one
books/BOOK/...           the rest of the book's folder (manuscript, exports)
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, Field

import bookwright
from bookwright.store import schema as t

FORMAT = "bookwright-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
STORE = "store.sqlite"
DBOS_FILE = "dbos.sqlite"
# Rebuilt or meaningless elsewhere: the lock, DBOS's files (snapshotted apart), temp files.
SKIPPED = {".lock", DBOS_FILE, f"{DBOS_FILE}-wal", f"{DBOS_FILE}-shm", "PAUSE"}
BOOK_TABLES = {
    "books": "id",
    "artifacts": "book_id",
    "chapters": "book_id",
    "llm_requests": "book_id",
    "answer_warnings": "book_id",
}


def schema_columns() -> list[str]:
    """The content store's schema as this bookwright knows it: `table.column`, sorted."""
    return sorted(f"{table.name}.{c.name}" for table in t.metadata.sorted_tables for c in table.c)


def schema_version(columns: list[str] | None = None) -> str:
    """A short fingerprint of a schema; two stores with the same one hold the same tables."""
    text = "\n".join(schema_columns() if columns is None else sorted(columns))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class FileEntry(BaseModel):
    sha256: str
    size: int


class BookEntry(BaseModel):
    id: str
    title: str
    status: str
    running: bool = Field(description="Being written when backed up: resumes from there.")


class Manifest(BaseModel):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    bookwright_version: str = bookwright.__version__
    workflow_version: str
    schema_version: str
    schema_columns: list[str]
    created_at: str
    source_home: str
    books: list[BookEntry]
    files: dict[str, FileEntry]
    # Where the books came from: a SQLite home, or a PostgreSQL database of workers.
    backend: Literal["sqlite", "postgresql"] = "sqlite"
    # DBOS's schema migration version of the workflow databases (None: not recorded).
    dbos_version: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "books": [b.id for b in self.books],
            "files": len(self.files),
            "bytes": sum(f.size for f in self.files.values()),
        }


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
