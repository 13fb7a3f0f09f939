"""Stage 1: the story plan, field by field."""

from __future__ import annotations

from bookwright.model import BookSpec, StoryPlan
from bookwright.stages.asks import Ask, AskFn

PLAN_FIELDS = ("logline", "setting", "conflict", "ending")


def book_vars(spec: BookSpec, title: str | None) -> dict[str, str | None]:
    return {"genre": spec.genre, "premise": spec.premise, "title": title}


def make_plan(spec: BookSpec, ask: AskFn) -> StoryPlan:
    title = spec.title or ask(
        Ask("plan.title", "planner", "plan_title.j2", book_vars(spec, None), "title", 24)
    )
    known: dict[str, str] = {}
    for field in PLAN_FIELDS:
        known[field] = ask(
            Ask(
                f"plan.{field}",
                "planner",
                "plan_field.j2",
                {**book_vars(spec, title), "field": field, "known": dict(known)},
                "sentences",
                80,
                avoid=tuple(known.values()),
            )
        )
    themes = ask(
        Ask(
            "plan.themes",
            "planner",
            "plan_field.j2",
            {**book_vars(spec, title), "field": "themes", "known": {"logline": known["logline"]}},
            "list",
            30,
            fallback="",  # optional: a small model may have no usable themes to give
        )
    )
    return StoryPlan(
        title=title,
        premise=spec.premise,
        genre=spec.genre,
        themes=[t.strip() for t in themes.split(",") if t.strip()],
        **known,
    )
