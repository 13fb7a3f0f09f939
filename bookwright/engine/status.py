"""The status contract, computed from the content store alone.

Readable from any process while a book is being written: no DBOS launch needed.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bookwright.model.spec import Stage
from bookwright.model.status import (
    AnswerWarning,
    BookState,
    ChapterState,
    ChapterStatus,
    Cost,
    LLMUsage,
    ProviderWait,
    Retries,
    StatusReport,
)
from bookwright.store import BookRecord, Store

PLANNING = ("plan", "characters", "locations", "outline", "scenes")
UNITS_PLANNING = 1.0  # each planning stage
UNITS_SCENE = 2.0  # write and edit, each
UNITS_FINISH = 1.0  # harmonize, export


def usage_of(requests: list[dict[str, Any]]) -> LLMUsage:
    """Requests, tokens, cost and errors: in all, per provider and per stage."""
    errors = Counter(r["error_class"] for r in requests if r["error_class"])

    def tally(key: str) -> dict[str, dict[str, float]]:
        groups: dict[str, dict[str, float]] = {}
        for r in requests:
            entry = groups.setdefault(
                r[key] or "?",
                {
                    "requests": 0,
                    "answered": 0,
                    "errors": 0,
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "cost_usd": 0.0,
                },
            )
            entry["requests"] += 1
            entry["answered"] += 1 if r["outcome"] == "ok" else 0
            entry["errors"] += 1 if r["error_class"] else 0
            entry["prompt_tokens"] += r["prompt_tokens"] or 0
            entry["completion_tokens"] += r["completion_tokens"] or 0
            entry["cost_usd"] = round(entry["cost_usd"] + (r["cost_usd"] or 0.0), 6)
        return groups

    # Recovered: followed by an answer; errors after the last answer are still open.
    last_ok = max((r["id"] for r in requests if r["outcome"] == "ok"), default=0)
    recovered = sum(1 for r in requests if r["error_class"] and r["id"] < last_ok)
    return LLMUsage(
        requests_sent=len(requests),
        prompt_tokens=sum(r["prompt_tokens"] or 0 for r in requests),
        completion_tokens=sum(r["completion_tokens"] or 0 for r in requests),
        cost_usd=round(sum(r["cost_usd"] or 0.0 for r in requests), 6),
        errors_recovered=recovered,
        errors_by_class=dict(errors),
        by_provider=tally("provider"),
        by_stage=tally("stage"),
    )


REFUSED = ("invalid_output", "empty")  # an answer arrived, and was asked for again


def cost_of(requests: list[dict[str, Any]], words: int) -> Cost:
    """Requests and tokens per 1,000 words of the book, and the shares of the tokens spent
    on refused answers, on retries and on each role."""

    def tokens(r: dict[str, Any]) -> int:
        return (r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0)

    total = sum(tokens(r) for r in requests)
    roles: Counter[str] = Counter()
    for r in requests:
        roles[r.get("role") or "other"] += tokens(r)

    def share(part: int) -> float:
        return round(part / total, 3) if total else 0.0

    def per_1k(amount: int) -> float | None:
        return round(1000 * amount / words, 1) if words else None

    return Cost(
        words=words,
        requests_per_1k_words=per_1k(len(requests)),
        prompt_tokens_per_1k_words=per_1k(sum(r["prompt_tokens"] or 0 for r in requests)),
        completion_tokens_per_1k_words=per_1k(sum(r["completion_tokens"] or 0 for r in requests)),
        tokens_per_1k_words=per_1k(total),
        refused_share=share(sum(tokens(r) for r in requests if r["error_class"] in REFUSED)),
        refused_requests_share=(
            round(sum(r["error_class"] in REFUSED for r in requests) / len(requests), 3)
            if requests
            else 0.0
        ),
        retry_share=share(sum(tokens(r) for r in requests if r.get("retry_level"))),
        role_share={role: share(n) for role, n in sorted(roles.items())},
    )


def quality_metrics(store: Store, book_id: str, requests: list[dict[str, Any]]) -> Retries:
    """Retries by level, the tokens each level cost, and the judge's pass rate."""
    retries = Retries()
    counts: Counter[str] = Counter()
    for chapter in store.chapters(book_id):
        found = store.get_artifact(book_id, f"verdict:{chapter['number']}")
        if found is None:
            continue
        for attempt in found[1].get("attempts", []):
            if attempt.get("level"):
                counts[attempt["level"]] += 1
            if "passed" in attempt:
                retries.verdicts += 1
                retries.passed += 1 if attempt["passed"] else 0
        if chapter["status"] == "failed":
            retries.failed_chapters.append(chapter["number"])
        if found[1].get("accepted"):
            retries.accepted_chapters.append(chapter["number"])
    retries.edit_only, retries.write_only, retries.full_retry = (
        counts["edit"],
        counts["write"],
        counts["full"],
    )
    tokens: Counter[str] = Counter()
    for r in requests:
        if r["stage"] == "chapters":
            level = r.get("retry_level") or "first"
            tokens[level] += (r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0)
    retries.tokens_by_level = dict(tokens)
    if retries.verdicts:
        retries.judge_pass_rate = round(retries.passed / retries.verdicts, 3)
    return retries


def _notices(store: Store, book_id: str, job: str) -> list[str]:
    """A book from sources: the files it could not read (and why), its open questions."""
    if job != "sources":
        return []
    out = []
    found = store.get_artifact(book_id, "sources")
    for file in found[1].get("files", []) if found else []:
        if file.get("error"):
            out.append(f"{file['name']} not read: {file['error']}")
    asked = store.get_artifact(book_id, "questions")
    count = len(asked[1].get("questions", [])) if asked else 0
    if count:
        out.append(f"{count} questions for the author: `bookwright show {book_id} questions`")
    return out


def book_status(store: Store, book: BookRecord) -> StatusReport:
    spec = book.spec
    names = set(store.artifact_names(book.id))
    chapters = store.chapters(book.id)
    requests = store.requests(book.id)
    n_chapters = int(spec.get("chapters", len(chapters)) or 1)
    per = int(spec.get("scenes_per_chapter", 1))
    scenes_total = n_chapters * per
    written = sum(1 for n in names if n.startswith("draft:"))
    edited = sum(1 for n in names if n.startswith("scene:"))
    state = BookState(book.status)

    total = len(PLANNING) * UNITS_PLANNING + scenes_total * 2 * UNITS_SCENE + 2 * UNITS_FINISH
    done = sum(UNITS_PLANNING for s in PLANNING if s in names)
    done += (written + edited) * UNITS_SCENE
    if "manuscript" in names:
        done += UNITS_FINISH
    if state is BookState.completed:
        done = total
    progress = round(100.0 * done / total, 1)

    estimated = None
    llm_seconds = sum(r["duration_s"] or 0.0 for r in requests)
    if state in (BookState.processing, BookState.harmonizing) and 0 < done < total and llm_seconds:
        remaining = llm_seconds / done * (total - done)
        estimated = (datetime.now(UTC) + timedelta(seconds=remaining)).isoformat(timespec="seconds")
    return StatusReport(
        book_id=book.id,
        title=book.title,
        status=state,
        progress_percentage=progress,
        current_stage=book.current_stage,
        halted_at=book.halted_at,
        chapters=[
            ChapterStatus(
                number=c["number"],
                title=c["title"],
                status=ChapterState(c["status"]),
                retry_count=c["retry_count"],
                word_count=c["word_count"],
                target_words=c["target_words"],
                depends_on=list(c["depends_on"] or []),
            )
            for c in chapters
        ],
        scenes_total=scenes_total,
        scenes_written=written,
        scenes_edited=edited,
        llm=usage_of(requests).model_copy(
            update={"budget_usd": book.budget_usd, "max_tokens": book.max_tokens}
        ),
        cost=cost_of(requests, sum(int(c["word_count"] or 0) for c in chapters)),
        retries=quality_metrics(store, book.id, requests),
        model=str(spec.get("model", "local")),
        job=str(spec.get("job") or "novel"),
        notices=_notices(store, book.id, str(spec.get("job") or "novel")),
        error=book.error,
        error_class=book.error_class,
        created_at=book.created_at,
        updated_at=book.updated_at,
        estimated_completion=estimated,
        warnings=[
            AnswerWarning.model_validate({k: w[k] for k in AnswerWarning.model_fields if k in w})
            for w in store.warnings(book.id)
        ],
        provider_wait=(
            ProviderWait(next_probe_at=book.next_probe_at, probes=book.probes or 0)
            if book.next_probe_at and state is BookState.halted
            else None
        ),
    )


def live_position(store: Store, book_id: str) -> dict[str, Any]:
    """What the last request was about and the recent speed, for progress displays."""
    requests = store.requests(book_id)
    if not requests:
        return {"stage": None, "chapter": None, "scene": None, "tokens_per_s": 0.0}
    last = requests[-1]
    recent = [r for r in requests[-20:] if r["duration_s"]]
    tokens = sum(r["completion_tokens"] or 0 for r in recent)
    seconds = sum(r["duration_s"] for r in recent)
    return {
        "stage": last["stage"],
        "chapter": last["chapter"],
        "scene": last["scene"],
        "field": last["field"],
        "tokens_per_s": round(tokens / seconds, 1) if seconds else 0.0,
    }


STAGE_ORDER = [s.value for s in Stage]
