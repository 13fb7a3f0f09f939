"""yWriter 7 projects (.yw7): the file's own model, the writer, and the mapping from a book.

Reference: the yWriter 7 DTD published by the PyWriter project (docs/yw7.dtd). Elements
come in yWriter's order (PROJECT, LOCATIONS, ITEMS, CHARACTERS, SCENES, CHAPTERS), IDs are
integers counted per element type, and every text field is CDATA. The `Yw*` dataclasses
describe the file, not the book, so a reader (`bookwright import`) can return them too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from bookwright.export.sources import BookData, SceneStage, SceneState

YW7_VERSION = "7"
# Elements whose text is written as CDATA, as yWriter itself does.
TEXT_TAGS = frozenset({"Title", "AuthorName", "Bio", "Desc", "Notes", "FullName", "SceneContent"})
# Characters XML 1.0 cannot carry at all, even inside CDATA.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass
class YwEntity:
    """A character or a location."""

    id: int
    title: str
    desc: str = ""
    notes: str = ""


@dataclass
class YwScene:
    id: int
    chapter_id: int
    title: str
    content: str = ""
    desc: str = ""
    status: int = SceneStage.planned
    character_ids: list[int] = field(default_factory=list)
    location_ids: list[int] = field(default_factory=list)

    @property
    def word_count(self) -> int:
        return len(clean_text(self.content).split())


@dataclass
class YwChapter:
    id: int
    title: str
    desc: str = ""
    scene_ids: list[int] = field(default_factory=list)


@dataclass
class YwProject:
    title: str
    author: str = ""
    desc: str = ""
    characters: list[YwEntity] = field(default_factory=list)
    locations: list[YwEntity] = field(default_factory=list)
    scenes: list[YwScene] = field(default_factory=list)
    chapters: list[YwChapter] = field(default_factory=list)


def clean_text(text: str) -> str:
    """What survives an XML round trip: no control characters, `\\n` line ends."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def cdata(text: str) -> str:
    """`text` as CDATA; each `]]>` is split across two sections, since CDATA cannot hold it."""
    return "<![CDATA[" + clean_text(text).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def to_yw7(project: YwProject) -> str:
    """The project as a yWriter 7 XML document (encode as UTF-8)."""
    out = ['<?xml version="1.0" encoding="utf-8"?>', "<YWRITER7>"]
    out += _element(
        "PROJECT",
        [
            ("Ver", YW7_VERSION),
            ("Title", project.title),
            ("AuthorName", project.author),
            ("Desc", project.desc),
        ],
        1,
    )
    out += _group("LOCATIONS", "LOCATION", project.locations)
    out += ["  <ITEMS/>"]
    out += _group("CHARACTERS", "CHARACTER", project.characters)
    out += ["  <SCENES>"]
    for scene in project.scenes:
        fields: list[tuple[str, object]] = [
            ("ID", scene.id),
            ("Title", scene.title),
            ("Desc", scene.desc),
            ("BelongsToChID", scene.chapter_id),
            ("Status", scene.status),
            ("WordCount", scene.word_count),
            ("LetterCount", len(clean_text(scene.content))),
            ("Characters", [("CharID", i) for i in scene.character_ids]),
            ("Locations", [("LocID", i) for i in scene.location_ids]),
            ("SceneContent", scene.content),
        ]
        out += _element("SCENE", fields, 2)
    out += ["  </SCENES>", "  <CHAPTERS>"]
    for order, chapter in enumerate(project.chapters, start=1):
        fields = [
            ("ID", chapter.id),
            ("Title", chapter.title),
            ("Desc", chapter.desc),
            ("SortOrder", order),
            ("Type", 0),
            ("ChapterType", 0),
            ("Scenes", [("ScID", i) for i in chapter.scene_ids]),
        ]
        out += _element("CHAPTER", fields, 2)
    out += ["  </CHAPTERS>", "</YWRITER7>"]
    return "\n".join(out) + "\n"


def _group(tag: str, item: str, entities: Iterable[YwEntity]) -> list[str]:
    lines = [f"  <{tag}>"]
    for order, entity in enumerate(entities, start=1):
        fields: list[tuple[str, object]] = [
            ("ID", entity.id),
            ("Title", entity.title),
            ("Desc", entity.desc),
        ]
        if item == "CHARACTER":  # the DTD puts Notes before SortOrder, FullName after
            fields += [("Notes", entity.notes), ("SortOrder", order), ("FullName", entity.title)]
        else:
            fields.append(("SortOrder", order))
        lines += _element(item, fields, 2)
    return [*lines, f"  </{tag}>"]


def _element(tag: str, fields: list[tuple[str, object]], depth: int) -> list[str]:
    pad = "  " * depth
    lines = [f"{pad}<{tag}>"]
    for name, value in fields:
        if isinstance(value, list):
            lines += _element(name, value, depth + 1) if value else [f"{pad}  <{name}/>"]
        elif name in TEXT_TAGS:
            lines.append(f"{pad}  <{name}>{cdata(str(value))}</{name}>")
        else:
            lines.append(f"{pad}  <{name}>{escape(str(value))}</{name}>")
    return [*lines, f"{pad}</{tag}>"]


def project_of(data: BookData) -> YwProject:
    """The book as a yWriter project: cast, places, chapters and every planned scene."""
    book = data.manuscript
    characters = [
        YwEntity(i, c.name, c.description, c.role)
        for i, c in enumerate(data.cast.characters if data.cast else [], start=1)
    ]
    locations = [
        YwEntity(i, loc.name, loc.description)
        for i, loc in enumerate(data.places.locations if data.places else [], start=1)
    ]
    char_ids = {c.title.strip().casefold(): c.id for c in characters}
    loc_ids = {loc.title.strip().casefold(): loc.id for loc in locations}
    project = YwProject(
        title=book.title,
        author=book.author,
        desc=data.plan.logline if data.plan else "",
        characters=characters,
        locations=locations,
    )
    plans = {s.chapter: s.scenes for s in data.scene_lists.chapters} if data.scene_lists else {}
    for number, title, summary in _chapter_heads(data):
        chapter = YwChapter(id=number, title=f"Chapter {number}: {title}", desc=summary)
        written = data.chapter(number)
        count = max(len(plans.get(number, [])), len(written.scenes) if written else 0)
        for index in range(1, count + 1):
            plan = plans[number][index - 1] if index <= len(plans.get(number, [])) else None
            state = data.scenes.get((number, index))
            if state is None and written is not None and index <= len(written.scenes):
                stage = SceneStage.done if data.finished else SceneStage.edited
                state = SceneState(written.scenes[index - 1], stage)
            scene = YwScene(
                id=len(project.scenes) + 1,
                chapter_id=chapter.id,
                title=f"Scene {number}.{index}",
                desc=plan.summary if plan else "",
                content=yw_paragraphs(state.text) if state else "",
                status=int(state.stage) if state else SceneStage.planned,
                character_ids=_ids(char_ids, plan.characters if plan else []),
                location_ids=_ids(loc_ids, [plan.location] if plan else []),
            )
            project.scenes.append(scene)
            chapter.scene_ids.append(scene.id)
        project.chapters.append(chapter)
    return project


def _ids(known: dict[str, int], names: list[str]) -> list[int]:
    """IDs of the names the cast or places know; a plan may name someone who is not there."""
    ids = [known[n.strip().casefold()] for n in names if n.strip().casefold() in known]
    return list(dict.fromkeys(ids))


def yw_paragraphs(text: str) -> str:
    """yWriter starts a paragraph at every line break; Markdown separates them by blank lines."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _chapter_heads(data: BookData) -> list[tuple[int, str, str]]:
    if data.outline is None:
        return [(c.number, c.title, "") for c in data.manuscript.chapters]
    heads = []
    for entry in data.outline.chapters:
        written = data.chapter(entry.number)
        heads.append((entry.number, written.title if written else entry.title, entry.summary))
    return heads
