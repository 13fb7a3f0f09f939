"""Selective retry: from a chapter's verdicts so far, what to redo next, or to stop."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bookwright.model.quality import Issue, RetryLevel, Verdict
from bookwright.quality.settings import QualitySettings


class Action(StrEnum):
    accept = "accept"  # the last attempt passed
    retry = "retry"  # redo `level` and judge again
    fail = "fail"  # out of attempts: mark the chapter failed with its last verdict


@dataclass(frozen=True)
class Decision:
    action: Action
    level: RetryLevel | None = None
    reason: str = ""
    causes: list[Issue] = field(default_factory=list)  # the issues that set the level


def blocking(verdict: Verdict, settings: QualitySettings) -> list[Issue]:
    """The issues severe enough to fail a chapter on their own."""
    return [i for i in verdict.issues if i.severity.rank >= settings.fail_severity.rank]


def issue_level(verdict: Verdict, settings: QualitySettings) -> tuple[RetryLevel, list[Issue]]:
    """The highest level over the failing issues' categories, and the issues that set it.

    When no issue is severe enough to fail on its own (a low score), every issue counts;
    with no issue at all, `unexplained_level` applies.
    """
    issues = blocking(verdict, settings) or verdict.issues
    if not issues:
        return settings.unexplained_level, []
    level = max((settings.level_for(i.category) for i in issues), key=lambda lv: lv.rank)
    return level, [i for i in issues if settings.level_for(i.category) == level]


def decide(history: Sequence[Verdict], settings: QualitySettings) -> Decision:
    """What to do after the last of `history` (the chapter's verdicts, first attempt first).

    Attempt k fails: stop when k reaches max_attempts; redo the whole chapter when
    selective retry is off or k reached escalate_after; else redo the highest level
    that the failing issues' categories map to.
    """
    if not history:
        raise ValueError("decide() needs at least one verdict")
    verdict, attempts = history[-1], len(history)
    if verdict.passed:
        return Decision(Action.accept, reason=f"passed with score {verdict.score:g}")
    level, causes = issue_level(verdict, settings)
    if attempts >= settings.max_attempts:
        reason = f"failed {attempts} of {settings.max_attempts} attempts"
        return Decision(Action.fail, reason=reason, causes=causes)
    if not settings.selective:
        return Decision(
            Action.retry, RetryLevel.FULL_RETRY, "selective retry is off", causes=causes
        )
    if attempts >= settings.escalate_after and level != RetryLevel.FULL_RETRY:
        return Decision(
            Action.retry,
            RetryLevel.FULL_RETRY,
            f"escalated from {level.value} after {attempts} failed attempts",
            causes=causes,
        )
    categories = ", ".join(sorted({i.category.value for i in causes})) or "a low score"
    return Decision(Action.retry, level, f"{level.value} retry for {categories}", causes=causes)
