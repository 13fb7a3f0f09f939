"""The judge: line-format answers parsed tolerantly, quotes checked, verdicts combined."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookwright.errors import InvalidOutputError
from bookwright.model import ChapterOutline, SceneList, ScenePlan
from bookwright.model.quality import Category, Checks, Fact, Issue, Severity
from bookwright.quality.judge import category_of, judge_asks, parse_judge, quote_in, verdict
from bookwright.quality.readers import accept_lines
from bookwright.quality.settings import QualitySettings
from bookwright.stages.answers import ask_until_valid

SCENE = (
    "Mara climbed the tower stairs in the dark. The lamp was cold.\n\n"
    '"You should not be here," Tobias said, blocking the door. Mara’s hands shook.'
)
CHAPTER = ChapterOutline(number=2, title="The Cold Lamp", summary="Mara finds the lamp out.")
SCENES = SceneList(
    chapter=2,
    scenes=[
        ScenePlan(number=1, summary="Mara climbs.", characters=["Mara Quill"], location="Tower"),
        ScenePlan(number=2, summary="Tobias waits.", characters=["Tobias Grent"]),
    ],
)


def test_lines_are_read_whatever_their_decoration() -> None:
    answer = """Here are the problems:
1. **Continuity** | MAJOR | "The lamp was cold." | it was lit in chapter 1
- pacing: "climbed the tower stairs" is rushed
* Dialog | low | “You should not be here,” Tobias said
plot hole | critical | "Mara’s hands shook"
Score: 4/10"""
    reading = parse_judge(answer, SCENE)
    assert [(i.category, i.severity) for i in reading.issues] == [
        (Category.continuity, Severity.major),
        (Category.pacing, Severity.minor),
        (Category.dialogue, Severity.minor),
        (Category.structure, Severity.critical),
    ]
    assert reading.issues[0].note == "it was lit in chapter 1"
    assert reading.score == 4.0
    assert reading.dropped == ["unknown category 'Here are the problems': Here are the problems:"]


def test_an_invented_quote_is_not_evidence() -> None:
    answer = 'continuity | major | "Mara lit the lamp at noon"\nstyle | minor | "The lamp"'
    reading = parse_judge(answer, SCENE)
    assert reading.issues == [] and not reading.usable
    assert reading.dropped[0].startswith("quote not in the text")
    assert reading.dropped[1].startswith("no quote of 3+ words")


def test_unknown_categories_are_mapped_or_dropped_with_the_reason() -> None:
    assert category_of("Character motivation") == Category.motivation
    assert category_of("clue fairness") == Category.clue_fairness
    assert category_of("CLUE_FAIRNESS") == Category.clue_fairness
    assert category_of("Consistency") == Category.continuity
    assert category_of("vibes") is None
    reading = parse_judge('vibes | major | "The lamp was cold."', SCENE)
    assert reading.issues == [] and reading.dropped == [
        "unknown category 'vibes': vibes | major | \"The lamp was cold.\""
    ]


def test_quotes_match_across_case_curly_quotes_and_ellipses() -> None:
    assert quote_in("mara's hands shook", SCENE)
    assert quote_in('"You should not be here," Tobias said', SCENE)
    assert quote_in("Mara climbed ... The lamp was cold", SCENE)
    assert not quote_in("The lamp was cold ... Mara climbed", SCENE)  # out of order


def test_none_and_score_scales() -> None:
    assert parse_judge("NONE\nSCORE: 9", SCENE).said_none
    assert parse_judge("No problems found.\nscore = 85/100", SCENE).score == 8.5
    assert parse_judge("Score: 7.5", SCENE).score == 7.5
    assert parse_judge("Score: 450", SCENE).score is None


TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@given(answer=TEXTS, text=TEXTS)
def test_the_parser_never_raises_and_keeps_only_checked_evidence(answer: str, text: str) -> None:
    reading = parse_judge(answer, text)
    for issue in reading.issues:
        assert quote_in(issue.evidence, text)
        assert len(issue.evidence.split()) >= 3
    assert reading.score is None or 0 <= reading.score <= 10


LINES = st.lists(
    st.tuples(
        st.sampled_from(["continuity", "Pacing", "dialog", "plot", "prose", "weird", "hook"]),
        st.sampled_from(["minor", "MAJOR", "critical", "high", ""]),
        st.sampled_from(
            ["The lamp was cold.", "Mara climbed the tower", "invented words here", "x"]
        ),
        st.sampled_from(["", "a note", "it | breaks"]),
    ),
    max_size=6,
)


@given(LINES, st.sampled_from(["", "SCORE: 6", "NONE"]))
def test_canonical_answers_parse_back_to_the_same_reading(
    lines: list[tuple[str, str, str, str]], tail: str
) -> None:
    answer = "\n".join(f'{c} | {s} | "{q}" | {n}' for c, s, q, n in lines) + "\n" + tail
    reading = parse_judge(answer, SCENE)
    again = parse_judge(reading.canonical(), SCENE)
    assert again.issues == reading.issues
    assert again.score == reading.score and again.said_none == (
        reading.said_none and not reading.issues
    )


def test_judge_asks_render_one_prompt_per_scene_with_facts_and_findings() -> None:
    facts = [
        Fact(subject="Mara Quill", attribute="eyes", value="grey", from_chapter=1),
        Fact(subject="Ines Alder", attribute="home", value="the mill", from_chapter=1),
    ]
    finding = Issue(category=Category.names, note="'Tobia' looks like 'Tobias Grent'", scene=2)
    asks = judge_asks(
        CHAPTER, SCENES, [SCENE, "Tobia waited."], facts=facts, findings=[finding],
        settings=QualitySettings(),
    )  # fmt: skip
    assert [a.label for a in asks] == ["judge.2.1", "judge.2.2"]
    system, first = asks[0].messages()
    assert "strict fiction editor" in system
    assert "- Mara Quill | eyes | grey" in first and "Ines Alder" not in first
    assert SCENE in first and "names:" not in first
    assert "clue fairness" in first and "names" not in first.split("category is one of")[1]
    _, second = asks[1].messages()
    assert "names: 'Tobia' looks like 'Tobias Grent'" in second


def test_ask_lines_reasks_with_the_reason_then_falls_back() -> None:
    ask = judge_asks(CHAPTER, SCENES, [SCENE, "x"], settings=QualitySettings())[0]
    replies = iter(
        ['{"issues": []}', "The scene is lovely.", 'prose | minor | "The lamp was cold."']
    )
    sent: list[dict] = []

    def send(request: dict) -> tuple[str, str | None]:
        sent.append(request)
        return next(replies), "stop"

    assert (
        ask_until_valid(ask, send, temperature=0.2, seed=3)
        == 'prose | minor | "The lamp was cold."'
    )
    assert [r["seed"] for r in sent] == [3, 4, 5]
    assert "not JSON" in sent[1]["prompt"] and "category | severity" in sent[2]["prompt"]

    assert ask_until_valid(ask, lambda r: ("no idea", "stop"), temperature=0.2, seed=3) == ""
    no_fallback = type(ask)(**{**ask.__dict__, "fallback": None})
    with pytest.raises(InvalidOutputError):
        ask_until_valid(no_fallback, lambda r: ("no idea", "stop"), temperature=0.2, seed=3)


def test_accept_lines_returns_canonical_text() -> None:
    ask = judge_asks(CHAPTER, SCENES, [SCENE, "x"], settings=QualitySettings())[0]
    value, reason = accept_lines(ask, "- Style: 'The lamp was cold.' (minor)\nscore 8", "stop")
    assert reason is None and value == 'style | minor | "The lamp was cold." | (minor)\nSCORE: 8'


def test_verdict_combines_checks_and_judges() -> None:
    settings = QualitySettings()
    checks = Checks(target_words=50, words=48, length_score=97.9)
    minor = Issue(category=Category.style, severity=Severity.minor, note="stock phrase")
    passing = verdict(["NONE\nSCORE: 9", "SCORE: 8"], [SCENE, "x"], checks, [minor], settings)
    assert passing.passed and passing.score == 8.5 and passing.checks == checks
    failing = verdict(
        ['dialogue | major | "You should not be here"', ""], [SCENE, "x"], checks, [], settings
    )
    assert not failing.passed and failing.score == 8.0
    assert failing.issues[0].scene == 1 and failing.issues[0].category == Category.dialogue
    assert failing.dropped == ["scene 2: the judge gave no usable answer"]
    low = verdict(["NONE\nSCORE: 3", "SCORE: 5"], [SCENE, "x"], checks, [], settings)
    assert not low.passed and low.score == 4.0 and low.issues == []
