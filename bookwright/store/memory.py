"""Retrieval memory of a book: scene summaries, passages and bible facts in SQLite FTS5.

Derived data: everything in it is rebuilt from stored artifacts (`Memory.build`), so it
can live in memory or in a per-book file that may be deleted at any time. Ranking is
BM25 with fixed tie-breaks, so the same content gives the same order, however and in
whatever order it was indexed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bookwright.model.quality import Fact, StoryBible
from bookwright.quality.text import STOPWORDS, words

KINDS = ("summary", "passage", "chapter", "fact")
_SCHEMA = """
CREATE VIRTUAL TABLE IF NOT EXISTS memory USING fts5(
    text, names, kind UNINDEXED, chapter UNINDEXED, scene UNINDEXED, until UNINDEXED,
    tokenize = 'porter unicode61'
)
"""


@dataclass(frozen=True)
class Hit:
    kind: str  # summary, passage, chapter (summary) or fact
    chapter: int
    scene: int  # 0 for a chapter summary or a fact without a scene
    text: str
    rank: float  # BM25, lower is better


def match_query(text: str) -> str:
    """An FTS5 query that matches any content word of `text` (each quoted, so no syntax)."""
    terms = dict.fromkeys(w for w in words(text) if w not in STOPWORDS and len(w) > 1)
    return " OR ".join(f'"{t}"' for t in terms)


class Memory:
    """One book's retrieval index."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.db = sqlite3.connect(str(path))
        self.db.execute(_SCHEMA)

    def __enter__(self) -> Memory:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    @classmethod
    def build(
        cls,
        *,
        summaries: Iterable[tuple[int, int, str]] = (),
        passages: Iterable[tuple[int, int, str]] = (),
        chapters: Iterable[tuple[int, str]] = (),
        bible: StoryBible | None = None,
        path: str | Path = ":memory:",
    ) -> Memory:
        """A fresh index from stored artifacts: (chapter, scene, text) summaries and
        passages, (chapter, summary) chapter summaries, and the bible."""
        memory = cls(path)
        with memory.db:
            memory.db.execute("DELETE FROM memory")
            for chapter, scene, text in summaries:
                memory._insert("summary", chapter, scene, text)
            for chapter, scene, text in passages:
                memory._insert("passage", chapter, scene, text)
            for chapter, text in chapters:
                memory._insert("chapter", chapter, 0, text)
        if bible is not None:
            memory.sync_bible(bible)
        return memory

    def _insert(
        self,
        kind: str,
        chapter: int,
        scene: int,
        text: str,
        names: str = "",
        until: int | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO memory (text, names, kind, chapter, scene, until) VALUES (?,?,?,?,?,?)",
            (text, names, kind, chapter, scene, until),
        )

    def index_scene(self, chapter: int, scene: int, summary: str, passage: str = "") -> None:
        """Index (or re-index, after a retry) one scene's summary and a passage of it."""
        with self.db:
            self.db.execute(
                "DELETE FROM memory WHERE kind IN ('summary', 'passage') "
                "AND chapter = ? AND scene = ?",
                (chapter, scene),
            )
            self._insert("summary", chapter, scene, summary)
            if passage:
                self._insert("passage", chapter, scene, passage)

    def index_chapter(self, chapter: int, summary: str) -> None:
        with self.db:
            self.db.execute("DELETE FROM memory WHERE kind = 'chapter' AND chapter = ?", (chapter,))
            self._insert("chapter", chapter, 0, summary)

    def forget_chapter(self, chapter: int) -> None:
        """Drop a chapter's summaries and passages (its facts follow the bible)."""
        with self.db:
            self.db.execute("DELETE FROM memory WHERE kind != 'fact' AND chapter = ?", (chapter,))

    def sync_bible(self, bible: StoryBible) -> None:
        """Replace the indexed facts with the bible's: a fact's interval may have changed."""
        with self.db:
            self.db.execute("DELETE FROM memory WHERE kind = 'fact'")
            for fact in bible.facts:
                self._insert(
                    "fact",
                    fact.from_chapter,
                    fact.scene or 0,
                    fact_text(fact),
                    names=fact.subject,
                    until=fact.until_chapter,
                )

    def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] = ("summary", "passage", "chapter"),
        before_chapter: int | None = None,
        limit: int = 5,
    ) -> list[Hit]:
        """The best matches for `query` among `kinds`, from chapters before `before_chapter`.

        Order: BM25 (names weigh double), then later chapters and scenes first, then
        kind and text, so ties never depend on the order of indexing.
        """
        expression = match_query(query)
        if not expression or limit <= 0:
            return []
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown kinds {sorted(unknown)}; use {KINDS}")
        marks = ",".join("?" for _ in kinds)
        sql = (
            "SELECT kind, chapter, scene, text, bm25(memory, 1.0, 2.0) AS rank FROM memory "
            f"WHERE memory MATCH ? AND kind IN ({marks})"
        )
        params: list[object] = [expression, *kinds]
        if before_chapter is not None:
            sql += " AND chapter < ?"
            params.append(before_chapter)
        sql += " ORDER BY rank, chapter DESC, scene DESC, kind, text LIMIT ?"
        params.append(limit)
        return [Hit(*row) for row in self.db.execute(sql, params)]

    def facts(self, query: str, chapter: int, limit: int = 12) -> list[Hit]:
        """The best matching bible facts that hold in `chapter`."""
        expression = match_query(query)
        if not expression or limit <= 0:
            return []
        rows = self.db.execute(
            "SELECT kind, chapter, scene, text, bm25(memory, 1.0, 2.0) AS rank FROM memory "
            "WHERE memory MATCH ? AND kind = 'fact' AND chapter <= ? "
            "AND (until IS NULL OR until >= ?) "
            "ORDER BY rank, chapter DESC, scene DESC, text LIMIT ?",
            (expression, chapter, chapter, limit),
        )
        return [Hit(*row) for row in rows]

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return int(self.db.execute("SELECT count(*) FROM memory").fetchone()[0])
        row = self.db.execute("SELECT count(*) FROM memory WHERE kind = ?", (kind,)).fetchone()
        return int(row[0])


def fact_text(fact: Fact) -> str:
    return f"{fact.subject} | {fact.attribute} | {fact.value}"
