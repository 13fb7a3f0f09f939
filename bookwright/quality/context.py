"""A scene prompt's context, assembled within a token budget.

Sections are filled in priority order; one that does not fit whole is trimmed at a
paragraph or sentence boundary (list sections lose their lowest-ranked items), and one
with no room left is dropped. The budget is fixed, so the prompt for chapter 30 is the
size of the prompt for chapter 3: cost grows with the book's length, not its square.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bookwright.model import ChapterOutline, ScenePlan
from bookwright.model.quality import PromptBreakdown
from bookwright.quality.text import count_tokens, paragraphs, sentences
from bookwright.stages.prompts import render

# Highest priority first: what the scene must do, then where the text stands, then memory.
DEFAULT_PRIORITY = ("chapter_outline", "before", "facts", "previous_chapter", "plan", "passages")
# Order in the prompt: from the whole book down to the moment the scene starts.
DISPLAY_ORDER = ("plan", "previous_chapter", "passages", "facts", "chapter_outline", "before")
HEADINGS = {
    "plan": "The book:",
    "previous_chapter": "The previous chapter:",
    "passages": "Earlier in the book:",
    "facts": "Facts to keep:",
    "chapter_outline": "This chapter:",
    "before": "The story so far ends with:",
}
LIST_SECTIONS = ("facts", "passages")
TAIL_SECTIONS = ("before",)


@dataclass(frozen=True)
class ContextParts:
    """Everything a scene prompt could carry, before the budget is applied."""

    plan: str = ""
    chapter_outline: str = ""
    facts: Sequence[str] = ()  # best first
    passages: Sequence[str] = ()  # best first
    previous_chapter: str = ""
    before: str = ""

    def section(self, name: str) -> str | Sequence[str]:
        value: str | Sequence[str] = getattr(self, name)
        return value


@dataclass(frozen=True)
class SceneContext:
    sections: dict[str, str]  # in display order; a dropped section is absent
    breakdown: PromptBreakdown = field(default_factory=lambda: PromptBreakdown(budget=0))

    def render(self) -> str:
        """The context block for a scene prompt (scene_context.j2)."""
        return render("scene_context.j2", {"sections": self.sections, "headings": HEADINGS})


def _words_within(text: str, tokens: int) -> str:
    kept: list[str] = []
    for piece in text.split():
        if count_tokens(" ".join([*kept, piece])) > tokens:
            break
        kept.append(piece)
    return " ".join(kept)


def head_within(text: str, tokens: int) -> str:
    """The start of `text` within `tokens`: whole paragraphs, then whole sentences."""
    if count_tokens(text) <= tokens:
        return text
    kept: list[str] = []
    for paragraph in paragraphs(text):
        candidate = "\n\n".join([*kept, paragraph])
        if count_tokens(candidate) <= tokens:
            kept.append(paragraph)
            continue
        done: list[str] = []
        for sentence in sentences(paragraph):
            if count_tokens("\n\n".join([*kept, " ".join([*done, sentence])])) > tokens:
                break
            done.append(sentence)
        if done:
            kept.append(" ".join(done))
        break
    if kept:
        return "\n\n".join(kept)
    return _words_within(text, tokens)  # not one sentence fits: its first words


def tail_within(text: str, tokens: int) -> str:
    """The end of `text` within `tokens`: whole paragraphs, then whole sentences, or ""."""
    if count_tokens(text) <= tokens:
        return text
    kept: list[str] = []
    for paragraph in reversed(paragraphs(text)):
        candidate = "\n\n".join([paragraph, *kept])
        if count_tokens(candidate) <= tokens:
            kept.insert(0, paragraph)
            continue
        done: list[str] = []
        for sentence in reversed(sentences(paragraph)):
            if count_tokens("\n\n".join([" ".join([sentence, *done]), *kept])) > tokens:
                break
            done.insert(0, sentence)
        if done:
            kept.insert(0, " ".join(done))
        break
    # A fragment of a sentence right before the scene would mislead more than inform.
    return "\n\n".join(kept)


def items_within(items: Sequence[str], tokens: int) -> list[str]:
    """The first items (best first) whose lines fit in `tokens`."""
    kept: list[str] = []
    for item in items:
        if count_tokens("\n".join(f"- {i}" for i in [*kept, item])) > tokens:
            break
        kept.append(item)
    return kept


def build_context(
    parts: ContextParts, budget: int, priority: Sequence[str] = DEFAULT_PRIORITY
) -> SceneContext:
    """The sections that fit in `budget` tokens (headings included), and the breakdown."""
    remaining = budget
    chosen: dict[str, str] = {}
    breakdown = PromptBreakdown(budget=budget)
    for name in priority:
        value = parts.section(name)
        if not value:
            continue
        room = remaining - count_tokens(HEADINGS[name])
        if name in LIST_SECTIONS:
            items = items_within([str(v) for v in value], room) if room > 0 else []
            body = "\n".join(f"- {i}" for i in items)
            whole = len(items) == len(value)
        else:
            text = str(value).strip()
            trim = tail_within if name in TAIL_SECTIONS else head_within
            body = trim(text, room) if room > 0 else ""
            whole = body == text
        if not body:
            breakdown.dropped.append(name)
            continue
        if not whole:
            breakdown.trimmed.append(name)
        cost = count_tokens(HEADINGS[name]) + count_tokens(body)
        remaining -= cost
        chosen[name] = body
        breakdown.sections[name] = cost
    ordered = {name: chosen[name] for name in DISPLAY_ORDER if name in chosen}
    breakdown.sections = {name: breakdown.sections[name] for name in ordered}
    return SceneContext(ordered, breakdown)


class Retriever(Protocol):
    """What context assembly needs of the memory index (store.memory.Memory has it)."""

    def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] = ...,
        before_chapter: int | None = ...,
        limit: int = ...,
    ) -> Sequence[_Hit]: ...

    def facts(self, query: str, chapter: int, limit: int = ...) -> Sequence[_Hit]: ...


class _Hit(Protocol):
    @property
    def chapter(self) -> int: ...

    @property
    def scene(self) -> int: ...

    @property
    def text(self) -> str: ...


def gather(
    memory: Retriever,
    *,
    plan: str,
    chapter: ChapterOutline,
    scene: ScenePlan,
    previous_chapter: str,
    before: str,
    facts: int = 12,
    passages: int = 4,
) -> ContextParts:
    """The candidate context of one scene: retrieval by the scene's people, place and plan."""
    names = " ".join([*scene.characters, scene.location])
    query = f"{names} {scene.summary} {chapter.summary}"
    found_facts = memory.facts(f"{names} {scene.summary}", chapter.number, limit=facts)
    found = memory.search(
        query, kinds=("summary", "passage"), before_chapter=chapter.number, limit=passages
    )
    outline = f'Chapter {chapter.number} "{chapter.title}": {chapter.summary}'
    return ContextParts(
        plan=plan,
        chapter_outline=outline,
        facts=[h.text for h in found_facts],
        passages=[f"(chapter {h.chapter}, scene {h.scene}) {h.text}" for h in found],
        previous_chapter=previous_chapter,
        before=before,
    )
