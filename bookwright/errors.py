"""One error family. Each error knows its exit code and what the user should type next."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from bookwright.redaction import redact

if TYPE_CHECKING:
    from pydantic import ValidationError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_HALTED = 3


class BookwrightError(Exception):
    """Base of every error bookwright raises on purpose.

    `remedy` is one short instruction: what to fix or what to type next.
    """

    exit_code = EXIT_FAILED

    def __init__(self, message: str, remedy: str = "") -> None:
        message, remedy = redact(message), redact(remedy)  # it may be stored, printed, served
        super().__init__(message)
        self.message = message
        self.remedy = remedy

    def __reduce__(self):  # survive pickling through DBOS step outputs
        return (self.__class__, (self.message, self.remedy))

    def one_line(self) -> str:
        return f"{self.message}. {self.remedy}".strip() if self.remedy else self.message


class UsageError(BookwrightError):
    """Bad input from the user: flags, spec files, book ids."""

    exit_code = EXIT_USAGE


class Next(NamedTuple):
    """A remedy as data: what the author can do next, which each face words its own way
    (`command` here for the CLI; web/errors.py `call` for the API)."""

    verb: str  # approve, resume, show, status, export
    book_id: str
    what: str = ""  # the artifact to show


def command(step: Next) -> str:
    """The CLI's words for a next step."""
    what = f" {step.what}" if step.what else ""
    return f"`bookwright {step.verb} {step.book_id}{what}`"


class Conflict(UsageError):
    """Well-formed, but the book's state does not allow it now (the API's 409).

    `next` holds the remedies as data; the remedy text is the CLI's wording of them,
    and the API words them as calls instead.
    """

    def __init__(self, message: str, next: tuple[Next, ...] = (), remedy: str = "") -> None:
        self.next = tuple(next)
        super().__init__(message, remedy or ", then ".join(command(n) for n in self.next))

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (self.__class__, (self.message, self.next, self.remedy))


class ConfigError(UsageError):
    """A setting, settings file, provider or API key is missing or wrong."""


class BookNotFound(UsageError):
    pass


class ChapterNotFound(UsageError):
    """A chapter number the book's outline does not have."""


class InvalidArtifact(UsageError):
    """An edited artifact that fails its schema."""


class ProviderError(BookwrightError):
    """A model call failed after every attempt."""

    exit_code = EXIT_HALTED

    def __init__(
        self,
        message: str,
        remedy: str = "",
        *,
        provider: str = "",
        error_class: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, remedy)
        self.provider = provider
        self.error_class = error_class
        self.retry_after = retry_after

    def __reduce__(self):
        fields = (self.message, self.remedy, self.provider, self.error_class, self.retry_after)
        return (_rebuild_provider_error, fields)


def _rebuild_provider_error(
    message: str, remedy: str, provider: str, error_class: str, retry_after: float | None = None
) -> ProviderError:
    return ProviderError(
        message, remedy, provider=provider, error_class=error_class, retry_after=retry_after
    )


class BudgetExceeded(BookwrightError):
    """The next call would pass `--budget-usd` or `--max-tokens`; raise them to go on."""

    exit_code = EXIT_HALTED
    error_class = "budget"


class InvalidOutputError(BookwrightError):
    """The model kept answering with text that fails validation; keeps the raw text."""

    def __init__(
        self,
        message: str,
        remedy: str = "",
        raw: str = "",
        attempts: int = 0,
        best: str | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(message, remedy)
        self.raw = raw
        self.attempts = attempts
        self.best = best  # the most usable answer that came back, cleaned; None: nothing
        self.reason = reason  # why the last answer was refused: the check that failed

    def __reduce__(self):
        fields = (self.message, self.remedy, self.raw, self.attempts, self.best, self.reason)
        return (self.__class__, fields)


class PauseRequested(BookwrightError):
    """`bookwright pause`, a PAUSE file or Ctrl+C asked the book to stop at a step boundary."""

    exit_code = EXIT_HALTED


class StageFailed(BookwrightError):
    pass


class QualityFailed(StageFailed):
    """Chapters failed the judge after every attempt; a resume gives them a new round."""

    error_class = "quality"


class BookLocked(UsageError):
    """Another process is writing this book."""


class DiskFull(BookwrightError):
    """A write hit "no space left on device": the book stopped at that step, resumable."""

    exit_code = EXIT_HALTED
    error_class = "disk_full"


class DamagedDatabase(BookwrightError):
    """A database file fails to open or read as SQLite: restore it from a backup."""


class FirstError(NamedTuple):
    """The first problem a pydantic ValidationError reports, for a one-line error."""

    where: str  # the dotted path of the bad field; "" for the value as a whole
    msg: str
    given: Any  # the value that was refused
    top: str  # the first part of the path (a flag, a setting); "" for the whole
    total: int  # how many problems there are in all


def first_error(exc: ValidationError) -> FirstError:
    """The first problem of `exc`: each face words it as its own error."""
    first = exc.errors()[0]
    loc = first["loc"]
    return FirstError(
        ".".join(str(p) for p in loc),
        first["msg"],
        first.get("input"),
        str(loc[0]) if loc else "",
        exc.error_count(),
    )
