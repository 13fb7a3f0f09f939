"""`bookwright write --sources DIR`: a non-fiction book from a folder of interviews,
transcripts and notes. Reads and checks everything before the book is recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bookwright.errors import UsageError

# The fields of a sources book; `write`'s novel-only flags are refused with one.
FIELDS = {
    "sources", "title", "kind", "chapters", "words_per_chapter", "order", "pause_at",
    "model", "seed", "temperature", "author", "language", "strict",
}  # fmt: skip


def start_sources(
    books: Any,
    values: dict[str, Any],
    book_id: str | None,
    *,
    budget_usd: float | None = None,
    max_tokens: int | None = None,
) -> tuple[str, str]:
    """(book id, what was read): the folder ingested, the spec checked, the book and its
    sources recorded; nothing is recorded when any of it fails."""
    from pydantic import ValidationError

    from bookwright.errors import first_error
    from bookwright.jobs.sources.ingest import ingest
    from bookwright.model.sources import SourcesSpec

    extra = sorted(k for k in values if k not in FIELDS)
    if extra:
        flag = "--" + extra[0].replace("_", "-")
        raise UsageError(
            f"{flag} is for novels, not for a book from sources",
            "Drop it; a book from sources takes --chapters, --words-per-chapter, --order, "
            "--kind and --pause-at storyline",
        )
    if not values.get("title"):
        raise UsageError("No title given", "Pass --title TEXT (or title in the spec file)")
    folder = Path(str(values["sources"])).expanduser()
    try:
        spec = SourcesSpec.model_validate({**values, "sources": str(folder)})
    except ValidationError as exc:
        first = first_error(exc)
        raise UsageError(
            f"Invalid {first.where}: {first.msg}", "Fix the value and run again"
        ) from None
    index = ingest(folder)
    new_id = books.record(
        spec.model_dump(mode="json"),
        spec.title,
        spec.model,
        book_id,
        name=spec.title,
        budget_usd=budget_usd,
        max_tokens=max_tokens,
    )
    books.store.put_artifact(new_id, "sources", index.model_dump(mode="json"), "imported")
    skipped = [f for f in index.files if f.error]
    summary = f"Read {len(index.files) - len(skipped)} sources, {len(index.chunks)} passages"
    if skipped:
        summary += "; not read: " + "; ".join(f"{f.name} ({f.error})" for f in skipped)
    return new_id, summary + "."
