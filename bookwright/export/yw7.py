"""yWriter 7 projects (.yw7): the file's own model, the writer, the reader, and the mapping
from a book.

Reference: the yWriter 7 DTD published by the PyWriter project (docs/yw7.dtd). Elements
come in yWriter's order (PROJECT, LOCATIONS, ITEMS, CHARACTERS, SCENES, CHAPTERS), IDs are
integers counted per element type, and every text field is CDATA. The `Yw*` dataclasses
describe the file, not the book, so a reader (`bookwright import`) can return them too.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NoReturn
from xml.parsers import expat
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
    line: int = field(default=0, compare=False)  # where the reader found it; 0 when built

    @property
    def word_count(self) -> int:
        return len(clean_text(self.content).split())


@dataclass
class YwChapter:
    id: int
    title: str
    desc: str = ""
    scene_ids: list[int] = field(default_factory=list)
    line: int = field(default=0, compare=False)  # where the reader found it; 0 when built


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


def md_paragraphs(text: str) -> str:
    """The inverse of `yw_paragraphs`: each non-blank line is one Markdown paragraph."""
    return "\n\n".join(line.strip() for line in text.split("\n") if line.strip())


class Yw7Error(ValueError):
    """A file the reader refuses, with the line where the trouble is."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def from_yw7(data: bytes) -> YwProject:
    """Read a yWriter 7 document: chapters in CHAPTERS order, each with its Scenes order.

    Raises `Yw7Error` for anything that is not XML, not a yWriter 7 project, lacks a required
    element, or links a scene and a chapter that do not exist.
    """
    root, lines = _parse(data)
    if root.tag != "YWRITER7":
        raise Yw7Error(lines[id(root)], f"root element is <{root.tag}>, not <YWRITER7>")
    project_el = _child(root, "PROJECT", lines)
    project = YwProject(
        title=project_el.findtext("Title") or "",
        author=project_el.findtext("AuthorName") or "",
        desc=project_el.findtext("Desc") or "",
    )
    scene_ids: set[int] = set()
    chapter_ids: set[int] = set()
    for el in _child(root, "SCENES", lines).findall("SCENE"):
        scene = YwScene(
            id=_int(el, "ID", lines),
            chapter_id=_int(el, "BelongsToChID", lines),
            title=el.findtext("Title") or "",
            content=clean_text(el.findtext("SceneContent") or ""),
            desc=el.findtext("Desc") or "",
            line=lines[id(el)],
        )
        if scene.id in scene_ids:
            raise Yw7Error(scene.line, f"scene ID {scene.id} appears twice")
        scene_ids.add(scene.id)
        project.scenes.append(scene)
    for el in _child(root, "CHAPTERS", lines).findall("CHAPTER"):
        chapter = YwChapter(
            id=_int(el, "ID", lines),
            title=_child(el, "Title", lines).text or "",
            desc=el.findtext("Desc") or "",
            line=lines[id(el)],
        )
        if chapter.id in chapter_ids:
            raise Yw7Error(chapter.line, f"chapter ID {chapter.id} appears twice")
        chapter_ids.add(chapter.id)
        listed = el.find("Scenes")
        for ref in listed.findall("ScID") if listed is not None else []:
            chapter.scene_ids.append(_number(ref, lines))
        project.chapters.append(chapter)
    _check_links(project, lines)
    return project


def _check_links(project: YwProject, lines: dict[int, int]) -> None:
    chapters = {c.id for c in project.chapters}
    scenes = {s.id for s in project.scenes}
    for scene in project.scenes:
        if scene.chapter_id not in chapters:
            raise Yw7Error(
                scene.line,
                f"scene {scene.id} belongs to chapter {scene.chapter_id}, which is not in CHAPTERS",
            )
    seen: set[int] = set()
    for chapter in project.chapters:
        for scene_id in chapter.scene_ids:
            if scene_id not in scenes:
                raise Yw7Error(
                    chapter.line,
                    f"chapter {chapter.id} lists scene {scene_id}, which is not in SCENES",
                )
            if scene_id in seen:
                raise Yw7Error(chapter.line, f"scene {scene_id} is listed in two chapters")
            seen.add(scene_id)


def _parse(data: bytes) -> tuple[ET.Element, dict[int, int]]:
    """An element tree, and the line each element starts on (ElementTree keeps none)."""
    parser = expat.ParserCreate()
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}

    def start(tag: str, attrs: dict[str, str]) -> None:
        lines[id(builder.start(tag, attrs))] = parser.CurrentLineNumber

    def no_entities(name: str, *_: object) -> NoReturn:
        # Entity declarations are how XML bombs and external fetches start; yWriter writes none.
        raise Yw7Error(parser.CurrentLineNumber, f"entity declarations are not allowed ({name})")

    parser.StartElementHandler = start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.EntityDeclHandler = no_entities
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise Yw7Error(exc.lineno, f"not well-formed XML ({expat.ErrorString(exc.code)})") from None
    return builder.close(), lines


def _child(parent: ET.Element, tag: str, lines: dict[int, int]) -> ET.Element:
    found = parent.find(tag)
    if found is None:
        raise Yw7Error(lines[id(parent)], f"<{parent.tag}> has no <{tag}>")
    return found


def _int(parent: ET.Element, tag: str, lines: dict[int, int]) -> int:
    return _number(_child(parent, tag, lines), lines)


def _number(el: ET.Element, lines: dict[int, int]) -> int:
    text = (el.text or "").strip()
    if not re.fullmatch("[0-9]+", text):
        raise Yw7Error(lines[id(el)], f"<{el.tag}> must be a whole number, not {text!r}")
    return int(text)


def _chapter_heads(data: BookData) -> list[tuple[int, str, str]]:
    if data.outline is None:
        return [(c.number, c.title, "") for c in data.manuscript.chapters]
    heads = []
    for entry in data.outline.chapters:
        written = data.chapter(entry.number)
        heads.append((entry.number, written.title if written else entry.title, entry.summary))
    return heads
