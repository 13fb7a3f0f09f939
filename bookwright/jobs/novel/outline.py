"""Stages 4 and 5: the chapter outline and each chapter's scene list."""

from __future__ import annotations

from bookwright.jobs.novel.cast import NAME_ATTEMPTS, NAME_ATTEMPTS_WERE
from bookwright.jobs.novel.plan import book_vars
from bookwright.model import (
    BookSpec,
    Cast,
    ChapterOutline,
    Locations,
    Outline,
    SceneList,
    ScenePlan,
    StoryPlan,
)
from bookwright.stages.asks import Ask, AskFn


def make_outline(spec: BookSpec, plan: StoryPlan, cast: Cast, ask: AskFn) -> Outline:
    chapters: list[ChapterOutline] = []
    base = {
        **book_vars(spec, plan.title),
        "logline": plan.logline,
        "conflict": plan.conflict,
        "ending": plan.ending,
        "characters": [c.name for c in cast.characters],
        "total": spec.chapters,
    }
    for number in range(1, spec.chapters + 1):
        previous = chapters[-1].summary if chapters else ""
        summary = ask(
            Ask(
                f"outline.{number}.summary",
                "planner",
                "chapter_summary.j2",
                {**base, "number": number, "previous": previous},
                "sentences",
                90,
                avoid=tuple(c.summary for c in chapters),
                chapter=number,
            )
        )
        title = ask(
            Ask(
                f"outline.{number}.title",
                "planner",
                "chapter_title.j2",
                {**base, "number": number, "summary": summary},
                "title",
                24,
                avoid=(plan.title, *(c.title for c in chapters)),
                chapter=number,
                extra={"attempts": NAME_ATTEMPTS, "attempts_were": NAME_ATTEMPTS_WERE},
            )
        )
        chapters.append(
            ChapterOutline(
                number=number,
                title=title,
                summary=summary,
                depends_on=[number - 1] if number > 1 else [],
            )
        )
    return Outline(chapters=chapters)


def mentioned(names: list[str], text: str) -> list[str]:
    """Names that appear in `text`, by full name or by first name."""
    lowered = text.casefold()
    return [n for n in names if n.casefold() in lowered or n.split()[0].casefold() in lowered]


def make_scene_list(
    spec: BookSpec,
    plan: StoryPlan,
    cast: Cast,
    places: Locations,
    chapter: ChapterOutline,
    ask: AskFn,
) -> SceneList:
    names = [c.name for c in cast.characters]
    place_names = [loc.name for loc in places.locations]
    scenes: list[ScenePlan] = []
    base = {
        "logline": plan.logline,
        "characters": names,
        "places": place_names,
        "chapter": chapter.number,
        "chapter_title": chapter.title,
        "chapter_summary": chapter.summary,
        "total": spec.scenes_per_chapter,
    }
    for number in range(1, spec.scenes_per_chapter + 1):
        previous = scenes[-1].summary if scenes else ""
        summary = ask(
            Ask(
                f"scenes.{chapter.number}.{number}",
                "planner",
                "scene_summary.j2",
                {**base, "number": number, "previous": previous},
                "sentences",
                90,
                avoid=tuple(s.summary for s in scenes),
                chapter=chapter.number,
                scene=number,
            )
        )
        who = mentioned(names, summary) or names[:1]
        where = mentioned(place_names, summary)
        # No place named: rotate through the locations so every one is used.
        location = (
            where[0] if where else place_names[(chapter.number + number - 2) % len(place_names)]
        )
        scenes.append(ScenePlan(number=number, summary=summary, characters=who, location=location))
    return SceneList(chapter=chapter.number, scenes=scenes)
