"""The adaptation's planning, by rule over the book: its events in the book's order
(each caused by the one before), three acts (critique.py judges their treatment), the
screen scenes (sluglines from the book's places and times), and the storyboard drawn
from the parsed script."""

from __future__ import annotations

import re
from typing import Any

from screenplain.types import Action, Dialog, Slug

from bookwright.jobs.adapt.fountain import _cue_name, parse
from bookwright.model import Manuscript
from bookwright.model.adapt import (
    Act,
    AdaptSpec,
    Event,
    Events,
    Panel,
    ScreenScene,
    ScreenScenes,
    Storyboard,
    Treatment,
)
from bookwright.quality.text import sentences

INTERIOR = {
    "room", "house", "cottage", "kitchen", "hall", "office", "church", "tower", "inn",
    "shop", "library", "cabin", "bedroom", "study", "cellar", "attic", "stair", "stairs",
    "lamp", "table", "door", "bed", "storeroom", "shed", "mill", "station", "tavern",
}  # fmt: skip
EXTERIOR = {
    "sea", "shore", "beach", "harbour", "harbor", "rock", "rocks", "cliff", "path", "road",
    "street", "garden", "field", "forest", "wood", "river", "quay", "deck", "reef", "yard",
    "hill", "moor", "gate", "square", "bridge", "island", "outside", "storm", "rain",
}  # fmt: skip
TIMES = {"night": "NIGHT", "midnight": "NIGHT", "dark": "NIGHT", "evening": "EVENING",
         "dusk": "DUSK", "dawn": "DAWN", "morning": "MORNING", "noon": "DAY"}  # fmt: skip


def book_events(book: Manuscript, plans: dict[int, list[str]] | None = None) -> Events:
    """One event per book scene: its plan's summary where the book has one, else the
    scene's first full sentence; each follows from the one before."""
    events: list[Event] = []
    for chapter in book.chapters:
        for number, scene in enumerate(chapter.scenes, start=1):
            planned = (plans or {}).get(chapter.number, [])
            text = planned[number - 1] if number <= len(planned) else _first_sentence(scene)
            event_id = f"E{len(events) + 1}"
            causes = [events[-1].id] if events else []
            events.append(
                Event(id=event_id, text=text, chapter=chapter.number, scene=number, causes=causes)
            )
    return Events(events=events)


def _first_sentence(scene: str) -> str:
    for sentence in sentences(scene):
        if len(sentence.split()) >= 4:
            return sentence.strip()
    return " ".join(scene.split()[:25])


def acts(events: Events) -> list[list[Event]]:
    """Set-up, confrontation, resolution: a quarter, a half and a quarter of the events."""
    items = events.events
    n = len(items)
    if n < 3:
        return [items]
    one, two = max(1, round(n / 4)), max(2, round(3 * n / 4))
    return [items[:one], items[one:two], items[two:]]


def treatment_of(groups: list[list[Event]], summaries: list[str]) -> Treatment:
    return Treatment(
        acts=[
            Act(number=i + 1, summary=summary, events=[e.id for e in group])
            for i, (group, summary) in enumerate(zip(groups, summaries, strict=True))
        ]
    )


def screen_scenes(
    book: Manuscript, events: Events, cast: list[str], places: list[str], spec: AdaptSpec
) -> ScreenScenes:
    """One screen scene per book scene, or per chapter when the running time cannot hold
    a scene a minute; every event is covered by the scene that dramatises it."""
    per_scene = [(c, i) for c in book.chapters for i in range(1, len(c.scenes) + 1)]
    by_chapter = len(per_scene) > spec.minutes
    groups: list[tuple[Any, list[int]]] = (
        [(c, list(range(1, len(c.scenes) + 1))) for c in book.chapters]
        if by_chapter
        else [(c, [i]) for c, i in per_scene]
    )
    pages = round(spec.minutes / len(groups), 2)
    scenes = []
    for number, (chapter, numbers) in enumerate(groups, start=1):
        text = "\n\n".join(chapter.scenes[i - 1] for i in numbers)
        covered = [
            e.id for e in events.events if e.chapter == chapter.number and e.scene in numbers
        ]
        scenes.append(
            ScreenScene(
                number=number,
                slugline=slugline(text, places),
                characters=[n for n in cast if n.split()[0] in text],
                events=covered,
                chapter=chapter.number,
                scenes=numbers,
                pages=max(0.25, pages),
            )
        )
    return ScreenScenes(scenes=scenes)


def slugline(text: str, places: list[str]) -> str:
    words = set(re.findall(r"[a-z]+", text.casefold()))
    place = next((p for p in places if p.casefold() in text.casefold()), "")
    place_words = set(re.findall(r"[a-z]+", place.casefold()))
    inside = len((words | place_words) & INTERIOR)
    outside = len((words | place_words) & EXTERIOR)
    where = "INT." if inside >= outside else "EXT."
    if not place:
        found = sorted(words & (INTERIOR if where == "INT." else EXTERIOR))
        # Nothing in the text says where: the book's first place, else say so plainly
        # (a default of one book's setting would put every other book there).
        place = found[0] if found else (places[0] if places else "unnamed place")
    when = next((TIMES[w] for w in re.findall(r"[a-z]+", text.casefold()) if w in TIMES), "DAY")
    return f"{where} {re.sub(r'^the ', '', place.strip(), flags=re.I).upper()} - {when}"


def storyboard(fountain: str, scenes: ScreenScenes) -> Storyboard:
    """Panels from the script: an establishing wide shot for each scene, a medium shot
    for each action beat, a close-up for a lone line and over-the-shoulder shots for an
    exchange; only the scene's characters appear in its panels."""
    panels: list[Panel] = []
    number_of = 0
    cast_of_scene: list[str] = []
    last_cue = ""
    for paragraph in parse(fountain):
        if isinstance(paragraph, Slug):
            number_of += 1
            scene = scenes.scenes[min(number_of, len(scenes.scenes)) - 1]
            cast_of_scene = [c.split()[0].upper() for c in scene.characters]
            last_cue = ""
            panels.append(_panel(number_of, panels, "WS", str(paragraph.line), [], [], 3.0))
        elif isinstance(paragraph, Action) and number_of:
            text = " ".join(str(line) for line in paragraph.lines)
            who = [c for c in cast_of_scene if c.casefold() in text.casefold()]
            panels.append(
                _panel(number_of, panels, "MS", text, who, [], max(2.0, len(text.split()) / 3))
            )
        elif isinstance(paragraph, Dialog) and number_of:
            cue = _cue_name(str(paragraph.character))
            lines = [str(t) for is_paren, t in paragraph.blocks if not is_paren]
            shot = "OTS" if last_cue and last_cue != cue else "CU"
            who = [c for c in dict.fromkeys([cue, last_cue]) if c and c in cast_of_scene]
            words = sum(len(line.split()) for line in lines)
            panels.append(
                _panel(
                    number_of,
                    panels,
                    shot,
                    "",
                    who,
                    [f"{cue}: {line}" for line in lines],
                    max(1.5, words / 2.5),
                )
            )
            last_cue = cue
    return Storyboard(panels=panels)


def _panel(
    scene: int,
    panels: list[Panel],
    shot: str,
    action: str,
    who: list[str],
    said: list[str],
    seconds: float,
) -> Panel:
    number = 1 + sum(1 for p in panels if p.scene == scene)
    return Panel(
        scene=scene,
        number=number,
        shot=shot,  # type: ignore[arg-type]
        camera="slow push in" if shot == "CU" else "static",
        characters=who,
        action=action,
        dialogue=said,
        seconds=round(seconds, 1),
    )
