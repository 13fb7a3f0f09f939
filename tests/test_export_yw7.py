"""The yWriter 7 writer: any text survives the writer and an XML parser, `]]>` included."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import example, given
from hypothesis import strategies as st

from bookwright.export.yw7 import (
    YwChapter,
    YwEntity,
    YwProject,
    YwScene,
    cdata,
    clean_text,
    to_yw7,
    yw_paragraphs,
)

# Pieces that break naive XML writers, mixed with ordinary text.
TRICKY = st.lists(
    st.sampled_from(
        ["]]>", "]]", "]", ">", "<", "&", "&amp;", "<![CDATA[", "é", "日本語", "🌊", "\n", " ", "a"]
    ),
    max_size=30,
).map("".join)
ANY_TEXT = st.one_of(TRICKY, st.text())


def project_with(text: str) -> YwProject:
    return YwProject(
        title=text,
        author=text,
        desc=text,
        characters=[YwEntity(1, text, text, text)],
        locations=[YwEntity(1, text, text)],
        scenes=[YwScene(1, 1, text, content=text, desc=text, character_ids=[1], location_ids=[1])],
        chapters=[YwChapter(1, text, text, scene_ids=[1])],
    )


@given(ANY_TEXT)
@example("")
@example("]]>")
@example("a]]>b]]>]]>c")
@example("<b>&amp;</b> ]]]]><![CDATA[>")
@example("café — naïve, 日本語\n\nsecond paragraph")
def test_every_text_field_round_trips(text: str) -> None:
    xml = to_yw7(project_with(text)).encode("utf-8")
    root = ET.fromstring(xml)
    expected = clean_text(text)
    assert root.findtext("PROJECT/Title") == expected
    assert root.findtext("PROJECT/AuthorName") == expected
    for path in ("Title", "Desc", "Notes", "FullName"):
        assert root.findtext(f"CHARACTERS/CHARACTER/{path}") == expected
    assert root.findtext("LOCATIONS/LOCATION/Desc") == expected
    scene = root.find("SCENES/SCENE")
    assert scene is not None
    assert scene.findtext("SceneContent") == expected
    assert scene.findtext("Title") == expected
    assert scene.findtext("WordCount") == str(len(expected.split()))
    assert root.findtext("CHAPTERS/CHAPTER/Title") == expected


@given(TRICKY)
def test_ordinary_text_is_kept_exactly(text: str) -> None:
    assert clean_text(text) == text
    root = ET.fromstring(f"<x>{cdata(text)}</x>")
    assert (root.text or "") == text


@given(st.text())
def test_cdata_never_closes_early(text: str) -> None:
    wrapped = cdata(text)
    assert wrapped.startswith("<![CDATA[") and wrapped.endswith("]]>")
    # Every `]]>` inside is the end of one section, immediately followed by the next.
    inner = wrapped[len("<![CDATA[") : -len("]]>")]
    assert inner.replace("]]><![CDATA[", "").count("]]>") == 0


def test_control_characters_and_carriage_returns_are_dropped_or_normalised() -> None:
    assert clean_text("a\x00b\x1fc\x0bd") == "abcd"
    assert clean_text("one\r\ntwo\rthree") == "one\ntwo\nthree"
    assert clean_text("tab\tand\nnewline") == "tab\tand\nnewline"


def test_empty_scenes_and_chapters_are_valid() -> None:
    project = YwProject(
        title="T",
        scenes=[YwScene(1, 1, "Scene 1.1")],
        chapters=[YwChapter(1, "Chapter 1: A"), YwChapter(2, "Chapter 2: B", scene_ids=[1])],
    )
    root = ET.fromstring(to_yw7(project).encode("utf-8"))
    scene = root.find("SCENES/SCENE")
    assert scene is not None
    assert scene.findtext("SceneContent") == "" and scene.findtext("WordCount") == "0"
    assert scene.findtext("Status") == "1"
    assert [e.text for e in root.iter("ScID")] == ["1"]
    assert [c.findtext("SortOrder") for c in root.iter("CHAPTER")] == ["1", "2"]
    assert root.find("CHAPTERS/CHAPTER/Scenes") is not None  # empty list still present


def test_elements_follow_the_yw7_dtd_order() -> None:
    root = ET.fromstring(to_yw7(project_with("x")).encode("utf-8"))
    assert [c.tag for c in root] == [
        "PROJECT",
        "LOCATIONS",
        "ITEMS",
        "CHARACTERS",
        "SCENES",
        "CHAPTERS",
    ]
    scene = root.find("SCENES/SCENE")
    assert scene is not None
    order = [c.tag for c in scene]
    dtd = ["ID", "Title", "Desc", "BelongsToChID", "Status", "WordCount", "LetterCount"]
    dtd += ["Characters", "Locations", "SceneContent"]
    assert order == dtd
    character = root.find("CHARACTERS/CHARACTER")
    assert character is not None
    assert [c.tag for c in character] == ["ID", "Title", "Desc", "Notes", "SortOrder", "FullName"]
    chapter = root.find("CHAPTERS/CHAPTER")
    assert chapter is not None
    assert [c.tag for c in chapter] == [
        "ID",
        "Title",
        "Desc",
        "SortOrder",
        "Type",
        "ChapterType",
        "Scenes",
    ]


def test_markdown_paragraphs_become_yw_lines() -> None:
    assert (
        yw_paragraphs("One.\n\nTwo\nstill two.\n\n\n  Three.  ") == "One.\nTwo still two.\nThree."
    )
    assert yw_paragraphs("") == ""
