"""Stages 6 and 7: prose per scene, then an edit per scene, from a bounded context."""

from __future__ import annotations

from bookwright.model import BookSpec, Cast, ChapterOutline, Locations, ScenePlan, StoryPlan
from bookwright.stages.asks import Ask, AskFn

TOKENS_PER_WORD = 1.5
BEFORE_CHARS = 600  # the last paragraphs before a scene, never the whole text so far


def max_tokens_for(words: int) -> int:
    return int(words * TOKENS_PER_WORD * 1.3) + 32


def tail(text: str, limit: int = BEFORE_CHARS) -> str:
    """The end of `text`, cut at a paragraph (or sentence) boundary, at most `limit` chars."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    for sep in ("\n\n", ". "):
        index = cut.find(sep)
        if index != -1:
            return cut[index + len(sep) :].strip()
    return cut.strip()


def scene_vars(
    spec: BookSpec,
    plan: StoryPlan,
    cast: Cast,
    places: Locations,
    chapter: ChapterOutline,
    scene: ScenePlan,
) -> dict[str, object]:
    people = [c.model_dump() for c in cast.characters if c.name in scene.characters]
    location = next(
        (loc.model_dump() for loc in places.locations if loc.name == scene.location), None
    )
    return {
        "title": plan.title,
        "genre": spec.genre,
        "logline": plan.logline,
        "setting": plan.setting,
        "chapter": chapter.number,
        "chapter_title": chapter.title,
        "chapter_summary": chapter.summary,
        "characters": people,
        "location": location,
        "scene": scene.number,
        "summary": scene.summary,
    }


def write_scene(
    spec: BookSpec,
    variables: dict[str, object],
    before: str,
    ask: AskFn,
    chapter: int,
    scene: int,
    *,
    context: str = "",
    breakdown: dict[str, object] | None = None,
    target_words: int | None = None,
) -> str:
    """A scene draft. `context` (assembled within a token budget from the book so far)
    replaces the bare tail of the previous scene when given."""
    words = target_words or spec.words_per_scene
    return ask(
        Ask(
            "write",
            "writer",
            "write_scene.j2",
            {**variables, "before": tail(before), "context": context},
            "prose",
            max_tokens_for(words),
            target_words=words,
            chapter=chapter,
            scene=scene,
            extra={"breakdown": breakdown} if breakdown else {},
        )
    )


# An edit the model has not got right in four tries keeps the draft: seen on the 135M
# model, an edit that passes does by its third try; one refused seven times in a row
# passed at the eighth. Books recorded before asked ten times.
EDIT_ATTEMPTS = 4
EDIT_ATTEMPTS_WERE = (10, "edits-in-four")


def edit_scene(
    spec: BookSpec,
    variables: dict[str, object],
    draft: str,
    ask: AskFn,
    chapter: int,
    scene: int,
    notes: str = "",
    keep_length: bool = False,
) -> str:
    """The edited scene; the draft is kept when no edit passes the checks. `notes`: what
    the checks found, for the edit to fix. `keep_length`: an edit that leaves out most of
    the draft is refused (a small model "edits" a 199-word scene down to 51 words)."""
    return ask(
        Ask(
            "edit",
            "editor",
            "edit_scene.j2",
            {**variables, "draft": draft, **({"notes": notes} if notes else {})},
            "prose",
            max_tokens_for(max(spec.words_per_scene, len(draft.split()))),
            target_words=spec.words_per_scene,
            fallback=draft,
            chapter=chapter,
            scene=scene,
            extra={
                "keep_length": keep_length,
                "attempts": EDIT_ATTEMPTS,
                "attempts_were": EDIT_ATTEMPTS_WERE,
            },
        )
    )
