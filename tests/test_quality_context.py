"""Bounded scene context: within budget, trimmed at boundaries, flat as the book grows."""

from __future__ import annotations

import random
from statistics import mean

from hypothesis import given
from hypothesis import strategies as st

from bookwright.model import ChapterOutline, ScenePlan
from bookwright.model.quality import Fact, StoryBible
from bookwright.quality.context import (
    ContextParts,
    build_context,
    gather,
    head_within,
    tail_within,
)
from bookwright.quality.settings import QualitySettings
from bookwright.quality.text import count_tokens
from bookwright.store.memory import Memory

CAST = ["Mara Quill", "Tobias Grent", "Ines Alder", "Oren Vale"]
PLACES = ["the North Tower", "Gull Rock Harbour", "the chapel", "the salt marsh"]
_THINGS = (
    "lamp storm letter bottle tide rope gull lantern shore wreck bell key map cellar boat "
    "fog reef signal ledger candle cliff door window stair net oar anchor coin ring"
)
VOCABULARY = _THINGS.split()


def prose(rng: random.Random, words: int) -> str:
    sentences: list[str] = []
    while sum(len(s.split()) for s in sentences) < words:
        who, where = rng.choice(CAST), rng.choice(PLACES)
        things = " and the ".join(rng.sample(VOCABULARY, 2))
        sentences.append(f"{who} carried the {things} to {where}.")
    paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, len(sentences), 4)]
    return "\n\n".join(paragraphs)


def test_prompt_size_stays_flat_as_the_book_grows() -> None:
    """30 chapters of 2 scenes: the context of chapter 30 is the size of chapter 3's."""
    rng = random.Random(7)
    settings = QualitySettings()
    memory = Memory()
    facts: list[list[Fact]] = []
    sizes: dict[int, list[int]] = {}
    text_so_far: list[str] = []
    before = ""
    plan = "A lighthouse keeper finds a message that predicts a shipwreck. " * 3
    chapter_summaries: dict[int, str] = {}
    for number in range(1, 31):
        chapter = ChapterOutline(
            number=number, title=f"Chapter {number}", summary=prose(rng, 30).replace("\n", " ")
        )
        for scene_number in (1, 2):
            scene = ScenePlan(
                number=scene_number,
                summary=prose(rng, 25).replace("\n", " "),
                characters=rng.sample(CAST, 2),
                location=rng.choice(PLACES),
            )
            parts = gather(
                memory,
                plan=plan,
                chapter=chapter,
                scene=scene,
                previous_chapter=chapter_summaries.get(number - 1, ""),
                before=before,
                facts=settings.retrieved_facts,
                passages=settings.retrieved_passages,
            )
            context = build_context(parts, settings.prompt_tokens)
            assert context.breakdown.total <= settings.prompt_tokens
            assert count_tokens(context.render()) == context.breakdown.total
            sizes.setdefault(number, []).append(context.breakdown.total)
            text = prose(rng, 300)
            text_so_far.append(text)
            memory.index_scene(number, scene_number, scene.summary, text.split("\n\n")[0])
            before = text
        chapter_summaries[number] = chapter.summary
        facts.append(
            [
                Fact(
                    subject=who,
                    attribute="carries",
                    value=rng.choice(VOCABULARY),
                    from_chapter=number,
                )
                for who in CAST
            ]
        )
        memory.sync_bible(StoryBible.build(facts))
    early = mean(s for n in (2, 3, 4) for s in sizes[n])
    late = mean(s for n in (28, 29, 30) for s in sizes[n])
    assert late / early <= 1.25
    # What resending the text so far would cost instead: it grows without bound.
    assert count_tokens("\n\n".join(text_so_far)) > 20 * late


def test_priority_decides_what_gives_way() -> None:
    parts = ContextParts(
        plan="The plan. " * 50,
        chapter_outline="Chapter 3: Mara lights the lamp.",
        facts=["Mara Quill | eyes | grey", "Tobias Grent | home | Gull Rock"],
        passages=["An old passage about the storm. " * 10] * 3,
        previous_chapter="Tobias sailed away.",
        before="First paragraph here.\n\nSecond paragraph. Last sentence before the scene.",
    )
    context = build_context(parts, budget=80)
    assert list(context.sections) == ["previous_chapter", "facts", "chapter_outline", "before"]
    assert context.breakdown.dropped == ["plan", "passages"]
    assert context.breakdown.total <= 80
    fewer = build_context(parts, budget=60)
    assert fewer.sections["facts"] == "- Mara Quill | eyes | grey"  # the best item stays
    assert fewer.breakdown.trimmed == ["facts"] and "previous_chapter" in fewer.breakdown.dropped
    tight = build_context(parts, budget=35)
    assert tight.sections["before"] == "Last sentence before the scene."
    assert "before" in tight.breakdown.trimmed
    assert "First paragraph" not in tight.sections["before"]


def test_trims_happen_at_sentence_and_paragraph_boundaries() -> None:
    first, second = "One two three. Four five six.", "Seven eight nine. Ten eleven twelve."
    text = f"{first}\n\n{second}"
    assert head_within(text, count_tokens(text) - 1) == f"{first}\n\nSeven eight nine."
    assert head_within(text, count_tokens(first)) == first
    assert head_within(text, count_tokens(first) - 1) == "One two three."
    assert tail_within(text, count_tokens(text) - 1) == f"Four five six.\n\n{second}"
    assert tail_within(text, count_tokens(second)) == second
    assert tail_within(text, count_tokens(second) - 1) == "Ten eleven twelve."
    assert head_within("no sentence end at all here", 4) == "no sentence end"
    assert tail_within(text, 2) == ""  # never a fragment right before the scene


@given(
    st.lists(st.text(max_size=400), min_size=6, max_size=6),
    st.lists(st.text(max_size=80), max_size=8),
    st.integers(0, 400),
)
def test_the_budget_is_never_exceeded(texts: list[str], items: list[str], budget: int) -> None:
    parts = ContextParts(
        plan=texts[0],
        chapter_outline=texts[1],
        facts=items,
        passages=items[::-1],
        previous_chapter=texts[2],
        before=texts[3] + "\n\n" + texts[4],
    )
    context = build_context(parts, budget)
    assert context.breakdown.total <= max(budget, 0)
    for name, body in context.sections.items():
        assert body.strip() and context.breakdown.sections[name] > 0
