"""Selective retry: categories map to levels, escalation, selective off, the attempt cap."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bookwright.model.quality import Category, Issue, RetryLevel, Severity, Verdict
from bookwright.quality.retry import Action, decide
from bookwright.quality.settings import QualitySettings


def failed(*categories: str, severity: Severity = Severity.major) -> Verdict:
    issues = [Issue(category=Category(c), severity=severity) for c in categories]
    return Verdict(passed=False, score=3.0, issues=issues)


PASSED = Verdict(passed=True, score=8.0)


@pytest.mark.parametrize(
    ("categories", "level"),
    [
        (["prose"], RetryLevel.EDIT_ONLY),
        (["pacing", "style"], RetryLevel.EDIT_ONLY),
        (["dialogue"], RetryLevel.WRITE_ONLY),
        (["clue_fairness", "prose"], RetryLevel.WRITE_ONLY),
        (["motivation"], RetryLevel.WRITE_ONLY),
        (["hook", "style"], RetryLevel.WRITE_ONLY),
        (["style", "continuity"], RetryLevel.FULL_RETRY),
        (["structure"], RetryLevel.FULL_RETRY),
        (["safety", "prose"], RetryLevel.FULL_RETRY),
    ],
)
def test_the_highest_level_over_the_issue_categories_is_redone(
    categories: list[str], level: RetryLevel
) -> None:
    decision = decide([failed(*categories)], QualitySettings())
    assert decision.action == Action.retry and decision.level == level


def test_escalates_to_full_after_two_failed_attempts_and_fails_after_the_maximum() -> None:
    settings = QualitySettings()
    history = [failed("prose")]
    assert decide(history, settings).level == RetryLevel.EDIT_ONLY
    history.append(failed("prose"))
    second = decide(history, settings)
    assert second.action == Action.retry and second.level == RetryLevel.FULL_RETRY
    assert "escalated" in second.reason
    history.append(failed("prose"))
    third = decide(history, settings)
    assert third.action == Action.fail and third.level is None
    assert [i.category for i in third.causes] == [Category.prose]


def test_a_pass_is_accepted_at_any_attempt() -> None:
    assert decide([PASSED], QualitySettings()).action == Action.accept
    assert decide([failed("prose"), failed("dialogue"), PASSED], QualitySettings()).action == (
        Action.accept
    )


def test_selective_off_always_redoes_the_whole_chapter() -> None:
    settings = QualitySettings(selective=False)
    for category in ("prose", "dialogue", "continuity"):
        decision = decide([failed(category)], settings)
        assert decision.level == RetryLevel.FULL_RETRY and "selective" in decision.reason


def test_minor_issues_count_only_when_nothing_blocks() -> None:
    verdict = Verdict(
        passed=False,
        score=4.0,
        issues=[
            Issue(category=Category.continuity, severity=Severity.minor),
            Issue(category=Category.prose, severity=Severity.major),
        ],
    )
    assert decide([verdict], QualitySettings()).level == RetryLevel.EDIT_ONLY
    low_score = Verdict(
        passed=False,
        score=4.0,
        issues=[Issue(category=Category.dialogue, severity=Severity.minor)],
    )
    assert decide([low_score], QualitySettings()).level == RetryLevel.WRITE_ONLY
    unexplained = Verdict(passed=False, score=2.0)
    assert decide([unexplained], QualitySettings()).level == RetryLevel.FULL_RETRY


def test_settings_override_levels_and_attempts() -> None:
    settings = QualitySettings.model_validate(
        {"levels": {"prose": "write"}, "max_attempts": 5, "escalate_after": 4}
    )
    assert settings.level_for(Category.prose) == RetryLevel.WRITE_ONLY
    assert settings.level_for(Category.continuity) == RetryLevel.FULL_RETRY  # default kept
    history = [failed("prose")] * 3
    assert decide(history, settings).level == RetryLevel.WRITE_ONLY
    assert decide([failed("prose")] * 4, settings).level == RetryLevel.FULL_RETRY
    assert decide([failed("prose")] * 5, settings).action == Action.fail
    assert RetryLevel.EDIT_ONLY.redoes == ("edit",)
    assert RetryLevel.FULL_RETRY.redoes == ("scenes", "write", "edit")


@pytest.mark.parametrize(
    "bad",
    [{"levels": {"plot": "edit"}}, {"levels": {"prose": "rewrite"}}, {"max_attempts": 0}, {"x": 1}],
)
def test_bad_quality_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        QualitySettings.model_validate(bad)


def test_decide_needs_a_verdict() -> None:
    with pytest.raises(ValueError, match="at least one"):
        decide([], QualitySettings())
