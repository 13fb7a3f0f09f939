"""Length control: budgets add up, short scenes are continued, long ones trimmed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookwright.quality.length import (
    LONG,
    continuation_words,
    continue_ask,
    needs_continuation,
    scene_budgets,
    trim_to_paragraph,
)
from bookwright.quality.text import count_words


@given(st.integers(0, 100_000), st.integers(1, 40))
def test_scene_budgets_sum_exactly_to_the_chapter_target(target: int, scenes: int) -> None:
    budgets = scene_budgets(target, scenes)
    assert sum(budgets) == target and len(budgets) == scenes
    assert max(budgets) - min(budgets) <= 1


@given(
    st.integers(0, 50_000),
    st.lists(st.floats(0.0, 100.0, allow_nan=False), min_size=1, max_size=12).filter(
        lambda w: sum(w) > 0
    ),
)
def test_weighted_budgets_sum_exactly_and_follow_the_weights(
    target: int, weights: list[float]
) -> None:
    budgets = scene_budgets(target, len(weights), weights)
    assert sum(budgets) == target
    total = sum(weights)
    for budget, weight in zip(budgets, weights, strict=True):
        assert abs(budget - target * weight / total) < 1


def test_budgets_examples_and_bad_input() -> None:
    assert scene_budgets(1000, 3) == [334, 333, 333]
    assert scene_budgets(1000, 3, [2, 1, 1]) == [500, 250, 250]
    for bad in [(100, 0, ()), (100, 2, (1.0,)), (100, 2, (0.0, 0.0)), (-1, 2, ())]:
        with pytest.raises(ValueError):
            scene_budgets(bad[0], bad[1], bad[2])


def test_needs_continuation() -> None:
    text = "word " * 70
    assert needs_continuation(text, 100) and continuation_words(text, 100) == 30
    assert not needs_continuation("word " * 80, 100)
    assert continuation_words("word " * 120, 100) == 0


def paragraph(n: int, word: str) -> str:
    return " ".join([*[word] * (n - 1), "end."])


def test_long_scenes_are_trimmed_at_the_paragraph_end_nearest_the_target() -> None:
    text = "\n\n".join([paragraph(40, "a"), paragraph(40, "b"), paragraph(40, "c")])
    assert trim_to_paragraph(text, 100) == text  # within 120% of the target: kept whole
    trimmed = trim_to_paragraph(text, 90)
    assert trimmed == "\n\n".join([paragraph(40, "a"), paragraph(40, "b")])
    assert trim_to_paragraph(text, 50) == paragraph(40, "a")
    one_long = ". ".join(["s x y z w"] * 30) + "."
    cut = trim_to_paragraph(one_long, 20)
    assert count_words(cut) == 20 and cut.endswith(".")


@given(st.lists(st.integers(1, 80), min_size=2, max_size=10), st.data())
def test_a_long_scene_is_cut_at_the_paragraph_end_nearest_its_target(
    sizes: list[int], data: st.DataObject
) -> None:
    """Several one-sentence paragraphs, always more than LONG (120%) of the target: the
    cut keeps whole paragraphs from the start, at the paragraph end nearest the target."""
    assert LONG == 1.2
    total = sum(sizes)
    target = data.draw(st.integers(1, (5 * total - 1) // 6), label="target")  # 1.2 * t < total
    paragraphs = [paragraph(n, f"w{i}") for i, n in enumerate(sizes)]
    trimmed = trim_to_paragraph("\n\n".join(paragraphs), target)
    kept = trimmed.split("\n\n")
    assert kept == paragraphs[: len(kept)]
    ends = [sum(sizes[:k]) for k in range(1, len(sizes) + 1)]
    assert abs(count_words(trimmed) - target) == min(abs(end - target) for end in ends)


def test_continue_ask_asks_for_the_missing_words_only() -> None:
    ask = continue_ask(
        {"title": "The Salt Lantern", "summary": "Mara lights the lamp."},
        "Mara climbed. " * 20,
        40,
        chapter=2,
        scene=1,
    )
    _, prompt = ask.messages()
    assert "about 40 more words" in prompt and "Mara climbed." in prompt
    assert ask.kind == "prose" and ask.fallback == "" and ask.target_words == 40


def test_a_short_paragraph_before_a_long_one_ends_at_a_sentence_of_the_long_one() -> None:
    long = ". ".join(["b c d e f"] * 40) + "."
    text = paragraph(10, "a") + "\n\n" + long
    trimmed = trim_to_paragraph(text, 100)
    assert trimmed.startswith(paragraph(10, "a") + "\n\n") and trimmed.endswith(".")
    assert count_words(trimmed) == 100
