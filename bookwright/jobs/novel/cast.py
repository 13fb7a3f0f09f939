"""Stages 2 and 3: characters and locations, one item and one field at a time."""

from __future__ import annotations

from bookwright.jobs.novel.plan import book_vars
from bookwright.model import BookSpec, Cast, Character, Location, Locations, StoryPlan
from bookwright.stages.asks import Ask, AskFn

# Role, and how to ask a small model for it: plain words work better than "antagonist".
ROLES = (
    ("protagonist", "the hero of the story"),
    ("antagonist", "the villain who works against the hero"),
    ("ally", "the hero's loyal friend"),
    ("mentor", "the hero's wise teacher"),
    ("rival", "the hero's rival"),
    ("confidant", "the person the hero trusts with secrets"),
    ("love interest", "the person the hero falls for"),
    ("witness", "a witness who knows more than they say"),
    ("stranger", "a stranger who arrives in the middle of the story"),
    ("elder", "an old person who remembers the past"),
    ("child", "a curious child"),
    ("official", "an official who stands in the way"),
)


# A name the model has not given in six attempts it does not give in twelve (seen on the
# 135M model: the retries offer names; those it takes, it takes at the second or third).
# Then the book keeps a stand-in and goes on. Books recorded before asked twelve times.
NAME_ATTEMPTS = 6
NAME_ATTEMPTS_WERE = (12, "names-in-six")


def make_characters(spec: BookSpec, plan: StoryPlan, ask: AskFn) -> Cast:
    characters: list[Character] = []
    base = book_vars(spec, plan.title)
    for role, role_desc in ROLES[: spec.characters]:
        taken = tuple(c.name for c in characters)
        name = ask(
            Ask(
                f"characters.{role}.name",
                "planner",
                "character_name.j2",
                {**base, "role_desc": role_desc},
                "name",
                40,
                avoid=taken,
                extra={"attempts": NAME_ATTEMPTS, "attempts_were": NAME_ATTEMPTS_WERE},
            )
        )
        description = ask(
            Ask(
                f"characters.{role}.description",
                "planner",
                "character_description.j2",
                {**base, "logline": plan.logline, "name": name, "role": role},
                "sentences",
                80,
            )
        )
        characters.append(Character(name=name, role=role, description=description))
    return Cast(characters=characters)


def make_locations(spec: BookSpec, plan: StoryPlan, ask: AskFn) -> Locations:
    locations: list[Location] = []
    base = {**book_vars(spec, plan.title), "setting": plan.setting}
    for index in range(1, spec.locations + 1):
        taken = tuple(loc.name for loc in locations)
        name = ask(
            Ask(
                f"locations.{index}.name",
                "planner",
                "location_name.j2",
                {**base, "index": index, "total": spec.locations},
                "place",
                24,
                avoid=taken,
                extra={"attempts": 8},
            )
        )
        description = ask(
            Ask(
                f"locations.{index}.description",
                "planner",
                "location_description.j2",
                {**base, "name": name},
                "sentences",
                80,
            )
        )
        locations.append(Location(name=name, description=description))
    return Locations(locations=locations)
