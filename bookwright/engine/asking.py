"""How a job's workflow asks the model and waits for the author.

`make_ask` is the `ask` every stage calls: each request one DBOS step, a failure a wait
for `bookwright resume`, an answer that never passes its checks the best one kept (or a
wait, on a strict book). `wait_for_message` is the one way a workflow waits for a
person: a resume, an approval. Nothing here knows which job (novel, sources, ...) asks.
"""

from __future__ import annotations

from typing import Any, Protocol

from dbos import DBOS

from bookwright.engine.steps import (
    answer_policy_step,
    await_step,
    book_state_step,
    llm_step,
    mark_request_step,
    verdict_step,
    warning_step,
)
from bookwright.errors import (
    BookwrightError,
    ConfigError,
    InvalidOutputError,
    PauseRequested,
    ProviderError,
)
from bookwright.model import Stage
from bookwright.stages import Ask, AskFn
from bookwright.stages.answers import accept, ask_until_valid
from bookwright.stages.stand_ins import STAND_IN_KINDS, stand_in


class Sampling(Protocol):
    """What asking reads of a job's spec (a novel's BookSpec, a review's ReviewSpec)."""

    @property
    def model(self) -> str: ...
    @property
    def seed(self) -> int: ...
    @property
    def temperature(self) -> float: ...


RESUME_TOPIC = "resume"
NOT_WAITING: dict[str, Any] = {"waiting_for": None, "waiting_workflow": None, "wait_token": None}
WAIT_S = 3600.0
KEEP_GOING_PATCH = "keep-best-answer"  # DBOS.patch: runs before it halted here instead
# DBOS.patch: runs before it checked answers in workflow code, so a change to a check
# changed what their replay did (a refusal turned into an answer skips the steps after).
VERDICT_PATCH = "recorded-verdicts"
MAX_CONTINUATIONS = 2  # a constant, not a setting: the step sequence must replay identically


def wait_for_message(book_id: str, topic: str, **state: Any) -> dict[str, Any]:
    """Record what the book waits for, then block until the matching message arrives.

    The token ties a message to this one wait: a stale or repeated `resume` left from an
    earlier wait is ignored instead of skipping this one. Survives any number of restarts.
    Returns the message: besides the token it may say what to do (`accept`: chapters to
    keep as they are). A message is recorded, so a replay gets the same one back.
    """
    token = await_step(book_id, topic, **state)
    while True:
        message = DBOS.recv(topic, timeout_seconds=WAIT_S)
        if isinstance(message, dict) and message.get("token") == token:
            return message


def stop_and_wait(book_id: str, error: BookwrightError) -> dict[str, Any]:
    """A failure that a retry may cure, or a pause: record it, wait for `bookwright resume`
    (or `approve --chapter`), and return its message."""
    if isinstance(error, PauseRequested):
        message = wait_for_message(book_id, RESUME_TOPIC, status="paused")
        book_state_step(book_id, status="processing", **NOT_WAITING)
        return message
    error_class = getattr(error, "error_class", "") or (
        "config"
        if isinstance(error, ConfigError)
        else "invalid_output"
        if isinstance(error, InvalidOutputError)
        else "unknown"
    )
    status = "failed" if error_class in ("invalid_output", "unknown", "quality") else "halted"
    message = wait_for_message(
        book_id, RESUME_TOPIC, status=status, error=error.one_line(), error_class=error_class
    )
    book_state_step(book_id, status="processing", error=None, error_class=None, **NOT_WAITING)
    return message


def make_ask(
    book_id: str, spec: Sampling, stage: Stage | str, extra_tags: dict[str, Any] | None = None
) -> AskFn:
    """The `ask` the stages call: each request one step; failures wait for a resume.

    `extra_tags` (attempt, retry level) are recorded with every request it sends.
    """
    last_request: list[int | None] = [None]

    def call(request: dict[str, Any], question: Ask) -> dict[str, Any]:
        tags = {
            "stage": str(stage),
            "chapter": question.chapter,
            "scene": question.scene,
            "field": question.label,
            "role": question.role,
            **(extra_tags or {}),
        }
        if question.extra.get("breakdown"):
            tags["prompt_breakdown"] = question.extra["breakdown"]
        while True:
            try:
                out = llm_step(book_id, spec.model, request, tags)
                last_request[0] = out.get("request_id")
                return out
            except BookwrightError as error:
                stop_and_wait(book_id, error)
            except Exception as error:
                stop_and_wait(book_id, _unwrap(error))

    def send(request: dict[str, Any], question: Ask) -> tuple[str, str | None]:
        out = call(request, question)
        text, finish = out["text"], out["finish_reason"]
        if question.kind != "prose":
            return text, finish  # short answers are extracted; a cut-off tail is noise
        for _ in range(MAX_CONTINUATIONS):
            # Cut off past its word target, the text is trimmed to the target anyway
            # (quality/length.py): a continuation would be paid for and thrown away.
            if finish != "length" or not text.strip() or _words(text) >= question.target_words:
                break
            mark_request_step(
                out.get("request_id"), "truncated", "finish_reason=length; asked to continue"
            )
            out = call({**request, "partial": text}, question)
            text, finish = join_parts(text, out["text"]), out["finish_reason"]
        return text, finish

    def invalid(text: str, reason: str) -> None:
        if text.strip():  # an empty answer is already in the log as `empty`
            mark_request_step(last_request[0], "invalid_output", reason)

    def ask(question: Ask) -> str:
        # A job that changed an ask's attempts names the old count and a DBOS.patch: a
        # book recorded before the change replays its attempts as they were.
        were = question.extra.get("attempts_were")
        if were is not None and (count := recorded_attempts(were)) is not None:
            question = question.with_attempts(count)
        recorded = DBOS.patch(VERDICT_PATCH)

        def check(asked: Ask, text: str, finish: str | None) -> tuple[str | None, str | None]:
            if not recorded:
                return accept(asked, text, finish)
            verdict = verdict_step(asked, text, finish)
            return verdict["value"], verdict["reason"]

        first = 0
        while True:
            try:
                return ask_until_valid(
                    question,
                    lambda request: send(request, question),
                    temperature=spec.temperature,
                    seed=spec.seed,
                    first_attempt=first,
                    on_invalid=invalid,
                    check=check,
                )
            except InvalidOutputError as error:
                # A run recorded before this existed has its wait at this point, and
                # replays it; a new run marks the point and keeps going unless strict.
                if DBOS.patch(KEEP_GOING_PATCH) and not answer_policy_step(book_id):
                    return keep_going(book_id, stage, question, error, spec.seed)
                stop_and_wait(book_id, error)
                first = error.attempts  # a resume tries new samples, not the same ones again

    return ask


def recorded_attempts(were: Any) -> int | None:
    """The attempts a book recorded before an ask's count changed, or None for the count
    of today. `were` is (old count, DBOS.patch) or, for a count changed more than once,
    those pairs newest first: ((2, "facts-in-one"), (3, "facts-in-two"))."""
    changes = [were] if isinstance(were[0], int) else list(were)
    count = None
    for old, patch in changes:
        if DBOS.patch(str(patch)):
            return count
        count = int(old)
    return count


def keep_going(
    book_id: str, stage: Stage | str, question: Ask, error: InvalidOutputError, seed: int
) -> str:
    """The best answer the model gave (a stand-in for a name, place or title), recorded
    as a warning on the artifact it goes into."""
    if question.kind in STAND_IN_KINDS:
        value, kept = stand_in(question, seed), "stand_in"
    elif error.best:
        value, kept = error.best, "best_answer"
    else:  # every answer was empty: the premise says something true, at least
        value, kept = str(question.variables.get("premise") or "(no answer)")[:400], "stand_in"
    warning_step(
        book_id,
        {
            "stage": str(stage),
            "chapter": question.chapter,
            "scene": question.scene,
            "field": question.label,
            "artifact": artifact_of(stage, question),
            "check": error.reason or error.message,
            "kept": kept,
            "value": value[:200],
            "attempts": error.attempts,
        },
    )
    return value


def artifact_of(stage: Stage | str, question: Ask) -> str:
    """The artifact an answer goes into (what `bookwright show BOOK NAME` shows)."""
    if stage != Stage.chapters:
        return str(question.extra.get("artifact") or stage)
    if question.scene is None or question.label.startswith("scenes."):
        return f"scenelist:{question.chapter}"
    kind = "draft" if question.label in ("write", "continue") else "scene"
    return f"{kind}:{question.chapter}:{question.scene}"


def _words(text: str) -> int:
    return len(text.split())


def join_parts(text: str, more: str) -> str:
    """A truncated answer and its continuation, as one text."""
    if not more.strip():
        return text
    if text[-1:].isspace() or more[:1].isspace() or more[:1] in ",.;:!?)\"'”’":
        return text + more
    return f"{text} {more}"


def _unwrap(error: Exception) -> BookwrightError:
    for inner in reversed(getattr(error, "errors", None) or []):  # the last attempt's error
        if isinstance(inner, BookwrightError):
            return inner
    if isinstance(error, BookwrightError):
        return error
    return ProviderError(str(error).splitlines()[0][:500], error_class="unknown")
