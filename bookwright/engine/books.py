"""Book operations shared by the CLI and the web app: create, run, approve, show."""

from __future__ import annotations

import fcntl
import json
import os
import re
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from bookwright.engine.states import STOPPED, Waiting, review_artifact
from bookwright.engine.status import book_status
from bookwright.errors import (
    BookLocked,
    BookNotFound,
    ChapterNotFound,
    Conflict,
    InvalidArtifact,
    Next,
    UsageError,
    first_error,
)
from bookwright.llm.registry import parse_model
from bookwright.model import BookSpec, SceneLists
from bookwright.model.artifacts import ARTIFACT_TYPES
from bookwright.model.spec import BOOK_ID_PATTERN
from bookwright.model.status import StatusReport
from bookwright.settings import ROLES, Settings
from bookwright.store import BookRecord, Store
from bookwright.store.private import private_folder

RETRY_LEVELS = ("edit", "write", "full")
ISSUE_FIELDS = ("scene", "category", "severity", "evidence", "note", "source")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "book"


class Books:
    """Everything about books that does not need a running engine."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.store_url)
        self._dispatcher: Any = None  # engine.dispatch.Dispatcher, on Postgres only

    def create(
        self,
        spec: BookSpec,
        book_id: str | None = None,
        *,
        budget_usd: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """Validate everything that can be validated up front, then record the book."""
        if spec.checks is None:  # recorded: a book's steps never change under it
            spec = spec.model_copy(update={"checks": True})
        if "judge" not in spec.model_fields_set and not self.judge_by_default(spec.model):
            spec = spec.model_copy(update={"judge": False})
        return self.record(
            spec.model_dump(mode="json"),
            spec.title or "(untitled)",
            spec.model,
            book_id,
            name=spec.title or spec.premise[:30],
            budget_usd=budget_usd,
            max_tokens=max_tokens,
        )

    def judge_by_default(self, model: str) -> bool:
        """Whether a book on `model` is judged when its spec does not say. Not on the
        built-in SmolLM2-135M: its verdicts are noise (a default book on it: 18 of 21
        judge answers refused, 1 of 4 verdicts passed, a chapter redone twice for nothing,
        0.37 of all requests refused), and the checks that need no model still run. A GGUF
        of the user's own, or any provider, is judged."""
        builtin = not self.settings.embedded.gguf_path
        return not (builtin and parse_model(model, self.settings).is_local)

    def record(
        self,
        spec: dict[str, Any],
        title: str,
        model: str,
        book_id: str | None,
        *,
        name: str,
        budget_usd: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """Record a new book of any job (its spec says which), once its model resolves and
        its id is free; its folder is made private."""
        self.check_models(model)  # unknown provider or missing key: no book
        check_limits(budget_usd, max_tokens)
        if book_id is None:
            book_id = f"{slug(name)}-{secrets.token_hex(3)}"
        elif not BOOK_ID_PATTERN.fullmatch(book_id):
            raise UsageError(
                f"Invalid book id {book_id!r}",
                "Use lowercase letters, digits and dashes (at most 63 characters)",
            )
        if self.store.get_book(book_id) is not None:
            raise UsageError(
                f"Book {book_id!r} already exists",
                f"Continue it with `bookwright resume {book_id}`",
            )
        self.store.create_book(
            book_id,
            title,
            spec,
            budget_usd=budget_usd,
            max_tokens=max_tokens,
        )
        private_folder(self.settings.book_dir(book_id))
        return book_id

    def check_models(self, book_model: str) -> None:
        """Every model any role may call, fallbacks included, must resolve now."""
        for role in ROLES:
            for model in self.settings.llm.chain(role, book_model):
                parse_model(model, self.settings)

    def set_limits(
        self, book_id: str, budget_usd: float | None = None, max_tokens: int | None = None
    ) -> None:
        """Raise (or set) a book's budget; `None` leaves a limit as it is."""
        check_limits(budget_usd, max_tokens)
        self.get(book_id)
        changes = {"budget_usd": budget_usd, "max_tokens": max_tokens}
        self.store.update_book(book_id, **{k: v for k, v in changes.items() if v is not None})

    def set_strict(self, book_id: str, strict: bool) -> None:
        """`resume --strict/--no-strict`: whether a field with no acceptable answer stops
        the book from now on (read when it happens, so a resume may change it)."""
        book = self.get(book_id)
        self.store.update_book(book_id, spec={**book.spec, "strict": strict})

    def get(self, book_id: str) -> BookRecord:
        book = self.store.get_book(book_id)
        if book is None:
            raise BookNotFound(f"No book {book_id!r}", "List books with `bookwright list`")
        return book

    def status(self, book_id: str) -> StatusReport:
        return self._report(self.get(book_id))

    def all(self) -> list[StatusReport]:
        records = self.store.list_books()
        running = self._running(records) if self.settings.on_postgres else None
        return [self._report(b, running) for b in records]

    def bible(self, book_id: str) -> dict[str, Any]:
        """The story bible: every fact with the chapters it holds for."""
        from bookwright.model.quality import Fact, StoryBible

        per_chapter = []
        for chapter in self.store.chapters(book_id):
            found = self.store.get_artifact(book_id, f"facts:{chapter['number']}")
            if found is not None:
                per_chapter.append([Fact.model_validate(f) for f in found[1]["facts"]])
        return StoryBible.build(per_chapter).model_dump(mode="json")

    def check_retry(self, book_id: str, chapter: int, level: str) -> StatusReport:
        """Refuse a chapter retry with an unknown level or chapter; the book's state is
        checked again by the writer, under the book's lock."""
        report = self.status(book_id)
        if report.job != "novel":
            raise UsageError(
                f"Book {book_id!r} is a {report.job}, whose chapters are not retried one by one",
                f"Start a new {report.job} of it instead; this one is kept as it is",
            )
        if level not in RETRY_LEVELS:
            raise UsageError(f"Unknown level {level!r}", "Use level edit, write or full")
        numbers = [c.number for c in report.chapters]
        if chapter not in numbers:
            raise ChapterNotFound(
                f"Book {book_id!r} has no chapter {chapter}",
                f"Its chapters are {', '.join(map(str, numbers)) or 'not planned yet'}",
            )
        if why := self.unmerged_manuscript(book_id):
            raise UsageError(
                f"Book {book_id!r} cannot retry a chapter: {why}, and a retry rebuilds the "
                "manuscript from them, which would drop those edits",
                f"Your edits are kept in the manuscript: export them with `bookwright export "
                f"{book_id}`; to retry, edit or import a version that keeps the outline's chapters",
            )
        return report

    def unmerged_manuscript(self, book_id: str) -> str | None:
        """Why the latest manuscript is not what the book's chapters assemble into (an
        import that removed or added chapters), or None when it is."""
        found = self.store.get_artifact(book_id, "manuscript")
        outline = self.store.get_artifact(book_id, "outline")
        if found is None or outline is None:
            return None
        manuscript = found[1]
        numbers = [c["number"] for c in outline[1]["chapters"]]
        written = [c["number"] for c in manuscript.get("chapters", [])]
        if written != numbers:
            return (
                f"its manuscript (version {found[0]}) has {len(written)} chapters where the "
                f"outline has {len(numbers)}"
            )
        for entry in manuscript["chapters"]:
            chapter = self.store.get_artifact(book_id, f"chapter:{entry['number']}")
            same = chapter is not None and all(
                chapter[1].get(k) == entry.get(k) for k in ("title", "scenes")
            )
            if not same:
                return (
                    f"chapter {entry['number']} of its manuscript (version {found[0]}) differs "
                    "from the chapter it was assembled from"
                )
        plan = self.store.get_artifact(book_id, "plan")
        if plan is not None and manuscript.get("title") != plan[1].get("title"):
            return f"its manuscript's title ({manuscript.get('title')!r}) is not the plan's"
        spec = self.get(book_id).spec
        if manuscript.get("author") != spec.get("author"):
            return f"its manuscript's author ({manuscript.get('author')!r}) is not the book's"
        return None

    def accept_chapters(self, book_id: str, numbers: list[int]) -> bool:
        """Keep failed chapters as they are (`approve --chapter`): their last attempt
        stands. True when the book waits after a quality failure: then nothing is changed
        here, and the resume message carries the chapters to the book's workflow, which
        marks them (so a resume that never starts keeps nothing). False when the book is
        complete already (a chapter retry that failed): then they are marked here, and
        there is nothing to run. The caller holds the book's lock."""
        if self.check_accept(book_id, numbers):
            return True
        for number in numbers:
            found = self.store.get_artifact(book_id, f"verdict:{number}")
            verdict = found[1] if found else {}
            self.store.put_artifact(
                book_id, f"verdict:{number}", {**verdict, "accepted": True}, source="edited"
            )
            self.store.update_chapter(book_id, number, status="completed")
        return False

    def check_accept(self, book_id: str, numbers: list[int]) -> bool:
        """Refuse to keep chapters that do not exist or have not failed, or a book that is
        not stopped on them; True when the book waits for a resume (see accept_chapters)."""
        from bookwright.engine.asking import RESUME_TOPIC

        book = self.get(book_id)
        report = self.status(book_id)
        chapters = {c.number: c for c in report.chapters}
        for number in numbers:
            if number not in chapters:
                raise ChapterNotFound(
                    f"Book {book_id!r} has no chapter {number}",
                    f"Its chapters are {', '.join(map(str, chapters)) or 'not planned yet'}",
                )
        waiting = (
            book.status == "failed"
            and book.error_class == "quality"
            and book.waiting_for == RESUME_TOPIC
            and bool(book.wait_token)
        )
        if not (waiting or book.status == "completed"):
            raise UsageError(
                f"Book {book_id!r} is {book.status}; a chapter is kept as it is only once "
                "the book has stopped on chapters that failed their quality checks",
                f"See `bookwright status {book_id}`",
            )
        failed = [n for n, c in chapters.items() if c.status.value == "failed"]
        listed = (
            f"Chapters that failed: {', '.join(map(str, failed))}"
            if failed
            else "No chapter has failed; retry one with `bookwright retry`"
        )
        for number in numbers:
            chapter = chapters[number]
            if chapter.status.value == "failed":
                continue
            blocked = [d for d in chapter.depends_on if d in failed]
            if chapter.status.value == "pending" and blocked:
                why = f"it is not written yet: it waits on chapter {blocked[0]}, which failed"
            else:
                why = f"it is {chapter.status.value}"
            raise UsageError(f"Chapter {number} of {book_id!r} has not failed ({why})", listed)
        return waiting

    def stats(self, book_id: str) -> dict[str, Any]:
        """The quality loop's figures (`bookwright stats --json`, `GET .../stats`): retries
        by level and their tokens, the judge's pass rate, and per chapter its attempts and
        the issues of each of its verdicts (`verdict`: the version, `attempt_level`: the
        attempt that was judged)."""
        report = self.status(book_id)
        chapters = []
        for c in report.chapters:
            name = f"verdict:{c.number}"
            found = self.store.get_artifact(book_id, name)
            latest, record = found if found else (0, {})
            last = record.get("verdict") or {}
            issues = []  # every verdict's, oldest first: what each retry was for
            earlier = [self.store.get_artifact(book_id, name, v) for v in range(1, latest)]
            verdicts = [e[1] if e else {} for e in earlier] + ([record] if found else [])
            for version, judged in enumerate(verdicts, start=1):
                before = verdicts[version - 2] if version > 1 else {}
                if judged.get("accepted") and judged.get("attempts") == before.get("attempts"):
                    continue  # a verdict judged already, marked kept: not a new judgement
                level = ((judged.get("attempts") or [{}])[-1].get("level")) or "first"
                for issue in (judged.get("verdict") or {}).get("issues", []):
                    fields = {k: issue.get(k) for k in ISSUE_FIELDS}
                    issues.append({"verdict": version, "attempt_level": level, **fields})
            chapters.append(
                {
                    "chapter": c.number,
                    "status": c.status.value,
                    "words": c.word_count,
                    "target_words": c.target_words,
                    "attempts": record.get("attempts", []),
                    "score": last.get("score"),
                    "passed": last.get("passed"),
                    "accepted": bool(record.get("accepted")),  # kept though it failed
                    "issues": issues,
                }
            )
        return {
            "book_id": book_id,
            "retries": report.retries.model_dump(),
            "chapters": chapters,
            "requests_sent": report.llm.requests_sent,
            "tokens": report.llm.prompt_tokens + report.llm.completion_tokens,
            "cost": report.cost.model_dump(),
        }

    def _report(self, book: BookRecord, running: set[str] | None = None) -> StatusReport:
        report = book_status(self.store, book)
        if self.settings.on_postgres:  # a live worker on any machine
            running = self._running([book]) if running is None else running
            report.running = book.id in running
        else:
            report.running = writer_alive(self.settings.book_dir(book.id))
        return report

    def _running(self, records: list[BookRecord]) -> set[str]:
        from bookwright.engine.dispatch import Dispatcher, running_books

        if self._dispatcher is None:  # one DBOS client, reused by `status --watch`
            self._dispatcher = Dispatcher(self.settings)
        return running_books(self._dispatcher, self.store, records)

    def artifact(self, book_id: str, name: str, version: int | None = None) -> dict[str, Any]:
        self.get(book_id)
        if name == "bible":  # derived: each chapter's latest facts, merged in order
            return self.bible(book_id)
        if re.fullmatch(r"scenes:\d+", name):  # one chapter of the `scenes` artifact
            lists = self.artifact(book_id, "scenes", version)
            chapter = int(name.split(":")[1])
            for entry in lists["chapters"]:
                if entry["chapter"] == chapter:
                    return dict(entry)
            raise UsageError(
                f"Book {book_id!r} has no scene list for chapter {chapter}",
                f"See `bookwright show {book_id} scenes`",
            )
        found = self.store.get_artifact(book_id, name.strip(), version)
        if found is None:
            known = ", ".join(self.store.artifact_names(book_id)) or "none yet"
            raise UsageError(
                f"Book {book_id!r} has no artifact {name!r}", f"Artifacts so far: {known}"
            )
        return found[1]

    def _check_scenes_match_outline(self, book_id: str, lists: SceneLists) -> None:
        found = self.store.get_artifact(book_id, "outline")
        expected = [c["number"] for c in found[1]["chapters"]] if found else []
        if _chapter_numbers(lists) != expected:
            raise InvalidArtifact(
                f"The scene lists cover chapters {_chapter_numbers(lists)}, the outline has "
                f"{expected}",
                "Keep one scene list per chapter of the outline; nothing was changed",
            )

    def save_edit(self, book_id: str, edit_file: Path) -> str:
        """Validate an edited artifact for the stage the book is halted at, and store it,
        under the book's lock: a book another process is writing is refused, unchanged."""
        name, data = self.read_edit(book_id, edit_file)
        with BookLock(self.settings.book_dir(book_id), book_id):
            self.store_edit(book_id, name, data)
        return name

    def read_edit(self, book_id: str, edit_file: Path) -> tuple[str, dict[str, Any]]:
        """(artifact name, validated data) of an edit for the stage the book is halted at.
        Nothing is stored: `store_edit` does that once the book's lock is held."""
        name = self._review_artifact(book_id)
        schema = ARTIFACT_TYPES[name]
        try:
            text = edit_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"Cannot read {edit_file}: {exc.strerror or exc}", "Check the path given to --edit"
            ) from None
        except UnicodeDecodeError as exc:
            raise InvalidArtifact(
                f"{edit_file} is not UTF-8 text (byte {exc.start})",
                "Save it as UTF-8 and approve again; nothing was changed",
            ) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidArtifact(
                f"{edit_file} is not valid JSON: {exc}",
                f"Start from `bookwright show {book_id} {name} --json`",
            ) from None
        except RecursionError:
            raise InvalidArtifact(
                f"{edit_file} is nested too deeply to be a {name}",
                f"Start from `bookwright show {book_id} {name} --json`",
            ) from None
        if isinstance(data, dict) and "data" in data and "name" in data:
            data = data["data"]
        try:
            artifact = schema.model_validate(data)
        except RecursionError:
            raise InvalidArtifact(
                f"{edit_file} is nested too deeply to be a {name}",
                "Fix the file and approve again; nothing was changed",
            ) from None
        except ValidationError as exc:
            first = first_error(exc)
            raise InvalidArtifact(
                f"{edit_file} is not a valid {name}: {first.where or name}: {first.msg}"
                f" ({first.total} error(s))",
                "Fix the file and approve again; nothing was changed",
            ) from None
        if isinstance(artifact, SceneLists):
            self._check_scenes_match_outline(book_id, artifact)
        return name, artifact.model_dump(mode="json")

    def store_edit(self, book_id: str, name: str, data: dict[str, Any]) -> None:
        """Store an edit `read_edit` validated, if the book still waits for that review.
        The caller holds the book's lock."""
        if self._review_artifact(book_id) != name:
            raise UsageError(
                f"Book {book_id!r} is no longer halted for a review of {name}",
                f"See `bookwright status {book_id}`; nothing was changed",
            )
        self.store.put_artifact(book_id, name, data, source="edited")

    def _review_artifact(self, book_id: str) -> str:
        """The artifact a book halted for review shows its author."""
        book = self.get(book_id)
        waiting = Waiting.of(book)
        if not waiting.review:
            raise Conflict(
                f"Book {book_id!r} is not halted for review (status {book.status})",
                (Next("status", book_id),),
            )
        return review_artifact(str(waiting.stage))


def _chapter_numbers(lists: SceneLists) -> list[int]:
    return [entry.chapter for entry in lists.chapters]


def check_limits(budget_usd: float | None, max_tokens: int | None) -> None:
    if budget_usd is not None and budget_usd <= 0:
        raise UsageError(f"--budget-usd must be positive, not {budget_usd}", "Pass e.g. 2.50")
    if max_tokens is not None and max_tokens <= 0:
        raise UsageError(f"--max-tokens must be positive, not {max_tokens}", "Pass e.g. 500000")


def writer_alive(folder: Path) -> bool:
    """Whether the process that last held the book's lock still runs (this machine only).

    Read without taking the lock, so watching a book never gets in its writer's way.
    """
    try:
        pid = int((folder / ".lock").read_text().strip() or 0)
    except (OSError, ValueError):
        return False
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class BookLock:
    """One writer per book: an OS lock on a file in the book's folder, freed on any exit."""

    def __init__(self, folder: Path, book_id: str) -> None:
        private_folder(folder)
        self.path = folder / ".lock"
        self.book_id = book_id
        self._file: IO[str] | None = None

    def __enter__(self) -> BookLock:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid = handle.read().strip() or "?"
            handle.close()
            raise BookLocked(
                f"Book {self.book_id!r} is being written by another process (pid {pid})",
                f"Watch it with `bookwright status {self.book_id} --watch`",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.truncate(0)  # nobody writes this book any more
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


def wait_until_stopped(
    books: Books,
    book_id: str,
    on_tick: Callable[[StatusReport], None] | None = None,
    poll_s: float = 0.5,
    is_done: Callable[[], bool] | None = None,
) -> StatusReport:
    """Poll the store until the book completes, fails or halts."""
    while True:
        report = books.status(book_id)
        if on_tick is not None:
            on_tick(report)
        if report.status.value in STOPPED or (is_done is not None and is_done()):
            return books.status(book_id)
        time.sleep(poll_s)
