"""DBOS steps: every side effect of a workflow (model calls, store writes, file writes).

Step outputs are plain JSON-able data; a step may run twice after a crash, so every
write here is idempotent (keyed by workflow id and step id) or harmless to repeat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbos import DBOS

from bookwright.engine.runtime import runtime
from bookwright.errors import BudgetExceeded, PauseRequested
from bookwright.llm import CompletionRequest
from bookwright.llm.registry import parse_model
from bookwright.llm.resilient import call_with_fallback
from bookwright.llm.usage import cost_usd, estimate_tokens
from bookwright.stages.answers import accept
from bookwright.stages.asks import Ask
from bookwright.store import disk
from bookwright.store.rate_limits import take_slot


@DBOS.step(name="llm")
def llm_step(book_id: str, model: str, request: dict[str, Any], tags: dict[str, Any]) -> dict:
    """One model request: the unit that is paid for, and so checkpointed on its own.

    Retries, backoff and the fallback chain happen inside (llm/resilient.py), so the
    settings in force when the step runs decide them: a fallback added before a
    `resume` is used. A pause request stops the book here, at a step boundary or
    during a backoff wait, before anything more is sent; so does the budget.
    """
    rt = runtime()
    role = tags.get("role")
    completion = call_with_fallback(
        rt.llm,
        rt.settings.llm.chain(role, model),
        CompletionRequest(**request),
        {"book_id": book_id, **tags},
        rt.settings.llm,
        timeout_s=rt.settings.llm.timeout_for(role),
        stopping=lambda: _pause_requested(book_id),
        before_send=lambda spec: _before_send(book_id, spec, request),
    )
    return completion.as_dict()


def _pause_requested(book_id: str) -> PauseRequested | None:
    rt = runtime()
    if rt.store.pause_requested(book_id) or (rt.settings.book_dir(book_id) / "PAUSE").exists():
        return PauseRequested(
            f"Book {book_id} paused", f"Continue with `bookwright resume {book_id}`"
        )
    return None


def _before_send(book_id: str, model: str, request: dict[str, Any]) -> None:
    """The budget first (a refused call takes no slot), then the provider's rate limit,
    shared by every worker through the database (store/rate_limits.py)."""
    _check_budget(book_id, model, request)
    rt = runtime()
    provider = parse_model(model, rt.settings).provider
    take_slot(
        rt.store.engine,
        provider,
        rt.settings.rate_limits.get(provider),
        stopping=lambda: _pause_requested(book_id),
    )


def _check_budget(book_id: str, model: str, request: dict[str, Any]) -> None:
    """Refuse a call that could take the book past its token or dollar limit."""
    rt = runtime()
    book = rt.store.get_book(book_id)
    if book is None or (book.budget_usd is None and book.max_tokens is None):
        return
    spent_tokens, spent_usd = rt.store.spend(book_id)
    prompt = estimate_tokens(request["system"] + request["prompt"] + request.get("partial", ""))
    most = prompt + int(request["max_tokens"])
    if book.max_tokens is not None and spent_tokens + most > book.max_tokens:
        raise BudgetExceeded(
            f"Book {book_id} has used {spent_tokens} of its {book.max_tokens} tokens; the next "
            f"call may need {most}",
            f"Raise the limit: `bookwright resume {book_id} --max-tokens N`",
        )
    if book.budget_usd is not None:
        cost = cost_usd(parse_model(model, rt.settings), prompt, int(request["max_tokens"]))
        if spent_usd + cost > book.budget_usd:
            raise BudgetExceeded(
                f"Book {book_id} has spent ${spent_usd:.4f} of its ${book.budget_usd:.2f} "
                f"budget; the next call to {model} may cost ${cost:.4f}",
                f"Raise the budget: `bookwright resume {book_id} --budget-usd N`",
            )


@DBOS.step(name="verdict")
def verdict_step(question: Ask, text: str, finish_reason: str | None) -> dict[str, str | None]:
    """The answer's value, or why the checks refused it. Recorded: a book written before a
    check changed replays the verdicts it got, so the change cannot alter its steps."""
    value, reason = accept(question, text, finish_reason)
    return {"value": value, "reason": reason}


@DBOS.step(name="mark_request")
def mark_request_step(request_id: int | None, error_class: str, message: str) -> None:
    """An answer that arrived but failed (invalid, truncated) goes into the error log."""
    if request_id is not None:
        runtime().store.mark_request(request_id, error_class, message)


@DBOS.step(name="load_spec")
def load_spec_step(book_id: str) -> dict[str, Any]:
    book = runtime().store.get_book(book_id)
    assert book is not None, book_id
    return book.spec


@DBOS.step(name="save_artifact")
def save_artifact_step(
    book_id: str, name: str, data: dict[str, Any], source: str = "generated"
) -> int:
    key = f"{DBOS.workflow_id}:{DBOS.step_id}"
    return runtime().store.put_artifact(book_id, name, data, source, idem_key=key)


@DBOS.step(name="load_artifact")
def load_artifact_step(book_id: str, name: str) -> dict[str, Any] | None:
    found = runtime().store.get_artifact(book_id, name)
    return found[1] if found else None


@DBOS.step(name="book_state")
def book_state_step(book_id: str, **fields: Any) -> None:
    runtime().store.update_book(book_id, **fields)


@DBOS.step(name="await")
def await_step(book_id: str, topic: str, **state: Any) -> str:
    """Record that the book waits for `topic` (and in which workflow); return the token
    a message must carry to end this wait."""
    token = f"{DBOS.workflow_id}:{DBOS.step_id}"
    runtime().store.update_book(
        book_id, waiting_for=topic, waiting_workflow=DBOS.workflow_id, wait_token=token, **state
    )
    return token


@DBOS.step(name="init_chapters")
def init_chapters_step(book_id: str, rows: list[dict[str, Any]]) -> None:
    runtime().store.init_chapters(book_id, rows)


@DBOS.step(name="chapter_state")
def chapter_state_step(book_id: str, number: int, **fields: Any) -> None:
    runtime().store.update_chapter(book_id, number, **fields)


@DBOS.step(name="write_file")
def write_file_step(relative_path: str, book_id: str, content: str) -> str:
    """Write a file in the book's folder atomically (temp file, then rename)."""
    folder = runtime().settings.book_dir(book_id)
    path = folder / relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(f"{path}.tmp")
    try:
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
    except OSError as error:
        if disk.is_full(error):
            disk.report_full(path)  # stops this step unrecorded (store/disk.py)
        raise
    return str(path)


@DBOS.step(name="done_chapters")
def done_chapters_step(book_id: str) -> list[int]:
    """Chapters already written (a resume after a quality failure keeps them)."""
    done = ("generated", "harmonized", "completed")
    return [c["number"] for c in runtime().store.chapters(book_id) if c["status"] in done]


@DBOS.step(name="chapter_queue")
def chapter_queue_step(book_id: str, concurrency: int) -> str:
    """The book's own DBOS queue for drafting chapters `concurrency` at a time."""
    name = f"chapters-{book_id}"
    DBOS.register_queue(name, global_concurrency=concurrency, on_conflict="always_update")
    return name


@DBOS.step(name="answer_policy")
def answer_policy_step(book_id: str) -> bool:
    """Whether a field with no acceptable answer stops the book (strict), read when it
    happens: `resume --strict` and `quality.strict` count from then on."""
    rt = runtime()
    book = rt.store.get_book(book_id)
    strict = book.spec.get("strict") if book is not None else None
    return rt.settings.quality.strict if strict is None else bool(strict)


@DBOS.step(name="warning")
def warning_step(book_id: str, warning: dict[str, Any]) -> None:
    """A field or scene kept without an acceptable answer, for `status` and the dashboard."""
    key = f"{DBOS.workflow_id}:{DBOS.step_id}"
    runtime().store.add_warning(book_id, key, **warning)
