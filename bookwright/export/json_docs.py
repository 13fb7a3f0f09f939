"""One JSON document per chapter, for pipelines that index, review or publish chapters."""

from __future__ import annotations

from typing import Any

from bookwright import __version__
from bookwright.export.markdown import chapter_markdown
from bookwright.export.sources import BookData
from bookwright.model import Chapter, ScenePlan

SCHEMA_VERSION = 1
HARMONIZED = {"harmonized", "completed"}


def chapter_documents(data: BookData) -> list[dict[str, Any]]:
    """A document for every chapter with prose; planned chapters have nothing to publish yet."""
    rows = {row["number"]: row for row in data.chapter_rows}
    return [
        chapter_document(data, chapter, rows.get(chapter.number, {}))
        for chapter in data.manuscript.chapters
    ]


def chapter_document(data: BookData, chapter: Chapter, row: dict[str, Any]) -> dict[str, Any]:
    plans = _scene_plans(data, chapter.number)
    participants = list(dict.fromkeys(name for plan in plans for name in plan.characters))
    places = list(dict.fromkeys(plan.location for plan in plans if plan.location))
    status = row.get("status", "generated")
    kept = [s for (c, _), s in data.scenes.items() if c == chapter.number and s.kept_draft]
    target = int(row.get("target_words") or 0)
    return {
        "schema_version": SCHEMA_VERSION,
        "metadata": {
            "book_id": data.book.id,
            "book_version": data.manuscript_version,
            "book_title": data.manuscript.title,
            "chapter_number": chapter.number,
            "title": chapter.title,
            "word_count": chapter.word_count,
            "status": status,
            "draft": data.manuscript.draft,
            "quality_score": None,  # no judge scores chapters yet
            # When the chapter reached its current status; the store keeps no separate date.
            "created_at": row.get("updated_at") or data.book.updated_at,
            "generation_agent": f"bookwright/{__version__}",
        },
        "content": {
            "markdown_text": chapter_markdown(chapter),
            "themes": list(data.plan.themes) if data.plan else [],
            "participants": participants,
            "tags": [t for t in (data.manuscript.genre, *places) if t],
        },
        # A novel cites no sources; a book from sources, the passages each chapter cites.
        "source_references": data.source_references.get(chapter.number, []),
        "generation_metadata": {
            "processing_session": f"book-{data.book.id}",  # the book's workflow id
            "model": data.book.spec.get("model", ""),
            "retry_level": None,  # which retry redid the chapter, once a judge decides
            "retry_count": int(row.get("retry_count") or 0),
            "harmonization_applied": status in HARMONIZED,
            "quality_metrics": {
                "scenes": len(chapter.scenes),
                "scenes_kept_draft": len(kept),
                "target_words": target,
                "words_to_target": round(chapter.word_count / target, 3) if target else None,
            },
        },
    }


def file_name(chapter_number: int) -> str:
    return f"chapter-{chapter_number:03d}.json"


def _scene_plans(data: BookData, number: int) -> list[ScenePlan]:
    if data.scene_lists is None:
        return []
    return next((s.scenes for s in data.scene_lists.chapters if s.chapter == number), [])
