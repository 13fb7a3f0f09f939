"""Deterministic checks: length score, repetition, stock phrases, bible contradictions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookwright.model.quality import Category, Fact, StoryBible
from bookwright.quality.checks import (
    length_score,
    near_miss_names,
    overused_phrases,
    repeated_ngrams,
    run_checks,
)
from bookwright.quality.settings import QualitySettings

CHARACTERS = ["Mara Quill", "Tobias Grent", "Ines Alder"]
PLACES = ["The North Tower", "Gull Rock Harbour"]
BIBLE = StoryBible.build(
    [
        [
            Fact(subject="Mara Quill", attribute="eyes", value="grey", from_chapter=1, scene=1),
            Fact(
                subject="Tobias Grent", attribute="home", value="Gull Rock Harbour", from_chapter=1
            ),
        ]
    ]
)
# A scripted chapter 2 draft, consistent with the bible except for the planted lines.
CONSISTENT = (
    "Mara Quill climbed the hundred steps of the North Tower at dusk. Her grey eyes searched "
    "the water for the ship the message had promised.\n\n"
    "Tobias Grent rowed back home to Gull Rock Harbour before the tide turned."
)
PLANTED = (
    "Ines Alder waited at the door with the lamp.\n\n"
    "Mara turned, and her blue eyes caught the light of the lamp."
)


@pytest.mark.parametrize(
    ("target", "achieved", "score"),
    [(100, 100, 100.0), (100, 50, 50.0), (100, 200, 100 * 2 / 3), (100, 400, 0.0), (100, 25, 0.0)],
)
def test_length_score_is_the_longbench_write_formula(
    target: int, achieved: int, score: float
) -> None:
    assert length_score(target, achieved) == pytest.approx(score)


@given(st.integers(1, 10_000), st.integers(0, 50_000))
def test_length_score_is_bounded_and_peaks_on_target(target: int, achieved: int) -> None:
    score = length_score(target, achieved)
    assert 0 <= score <= 100
    assert (score == 100) == (achieved == target)


def test_a_contradiction_planted_in_a_scripted_draft_is_found() -> None:
    checks, issues = run_checks(
        [CONSISTENT, PLANTED],
        target_words=70,
        settings=QualitySettings(),
        bible=BIBLE,
        chapter=2,
        characters=CHARACTERS,
        places=PLACES,
    )
    [issue] = [i for i in issues if i.category == Category.continuity]
    assert issue.evidence == "Mara turned, and her blue eyes caught the light of the lamp."
    assert issue.evidence in PLANTED and issue.scene == 2
    assert issue.contradicts == ["Mara Quill | eyes | grey @1.1"]
    assert checks.contradictions == 1


def test_a_consistent_draft_has_no_contradiction() -> None:
    _, issues = run_checks(
        [CONSISTENT],
        target_words=45,
        settings=QualitySettings(),
        bible=BIBLE,
        chapter=2,
        characters=CHARACTERS,
        places=PLACES,
    )
    assert issues == []


def test_a_place_that_disagrees_with_the_bible_is_found() -> None:
    moved = "Tobias Grent rowed home to The North Tower before the tide turned."
    _, issues = run_checks(
        [moved], target_words=12, settings=QualitySettings(), bible=BIBLE, chapter=3,
        characters=CHARACTERS, places=PLACES,
    )  # fmt: skip
    [issue] = issues
    assert issue.category == Category.continuity and "Gull Rock Harbour" in issue.note


def test_a_fact_that_changed_is_checked_against_its_new_value() -> None:
    bible = BIBLE.with_facts(
        [Fact(subject="Mara Quill", attribute="eyes", value="blue", from_chapter=3)]
    )
    for chapter, expected in ((2, 1), (4, 0)):
        _, issues = run_checks(
            [PLANTED], target_words=20, settings=QualitySettings(), bible=bible,
            chapter=chapter, characters=CHARACTERS,
        )  # fmt: skip
        assert len([i for i in issues if i.category == Category.continuity]) == expected


def test_names_close_to_a_known_name_are_flagged_but_known_and_plural_ones_are_not() -> None:
    text = "Tobia waved. Mara Quil answered. The Quills slept. Ines went to the Towers."
    found = {m.word: m.known for m in near_miss_names([text], CHARACTERS + PLACES)}
    assert found == {"Tobia": "Tobias Grent", "Quil": "Mara Quill"}


def test_repeated_ngrams_are_reported_once_per_run() -> None:
    text = "The cold wind howled over the rocks. " * 3 + "Then silence fell on the water."
    assert repeated_ngrams(text, n=4, min_count=3) == {"the cold wind howled": 3}
    assert repeated_ngrams("of the and of the and of the and", n=3, min_count=2) == {}


def test_overused_phrases_and_their_issues() -> None:
    text = (
        "Her heart pounding, she ran. It was a testament to her will. "
        "His heart pounding, he followed. Again a testament to nothing: a testament to rain."
    )
    assert overused_phrases(text) == {"a testament to": 3, "heart pounding": 2}
    checks, issues = run_checks([text], target_words=30, settings=QualitySettings())
    assert checks.overused_phrases == {"a testament to": 3, "heart pounding": 2}
    assert {i.category for i in issues} == {Category.style}
    assert all(i.evidence and i.evidence in text for i in issues)


def test_a_short_chapter_gets_a_length_issue() -> None:
    checks, issues = run_checks(
        ["Too short a chapter."], target_words=100, settings=QualitySettings()
    )
    assert checks.words == 4 and checks.length_score == 0
    assert [i.category for i in issues] == [Category.length]
