"""DBOS steps: every side effect of a workflow (model calls, store writes, file writes).

Step outputs are plain JSON-able data; a step may run twice after a crash, so every
write here is idempotent (keyed by workflow id and step id) or harmless to repeat.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbos import DBOS

from bookwright.engine.runtime import runtime
from bookwright.errors import PauseRequested, ProviderError
from bookwright.llm import CompletionRequest
from bookwright.llm.errors import TRANSIENT


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, ProviderError) and exc.error_class in TRANSIENT


@DBOS.step(
    name="llm",
    retries_allowed=True,
    max_attempts=3,
    interval_seconds=3.0,
    backoff_rate=2.0,
    should_retry=_transient,
)
def llm_step(book_id: str, model: str, request: dict[str, Any], tags: dict[str, Any]) -> dict:
    """One model request: the unit that is paid for, and so checkpointed on its own.

    A pause request stops the book here, at a step boundary, before anything is sent.
    """
    rt = runtime()
    if rt.store.pause_requested(book_id) or (rt.settings.book_dir(book_id) / "PAUSE").exists():
        raise PauseRequested(
            f"Book {book_id} paused", f"Continue with `bookwright resume {book_id}`"
        )
    completion = rt.llm.complete(model, CompletionRequest(**request), {"book_id": book_id, **tags})
    return completion.as_dict()


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
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
    return str(path)
