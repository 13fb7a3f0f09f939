"""`bookwright import`: an edited yWriter 7 project becomes a new manuscript version."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import pytest

from bookwright.export.yw7 import (
    Yw7Error,
    YwChapter,
    YwProject,
    YwScene,
    from_yw7,
    md_paragraphs,
    to_yw7,
    yw_paragraphs,
)
from tests.conftest import SMALL, Run, Workspace

Book = tuple[Workspace, Path, str]


@pytest.fixture
def book(workspace: Workspace, tmp_path: Path) -> Book:
    """A finished two-chapter book, its yw7 export and its Markdown export."""
    wrote = workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "b")
    assert wrote.code == 0, wrote.err
    yw7 = tmp_path / "b.yw7"
    assert workspace.run("export", "b", "-f", "yw7", "-o", str(yw7)).code == 0
    return workspace, yw7, export_md(workspace, tmp_path / "before.md")


def export_md(workspace: Workspace, path: Path) -> str:
    done = workspace.run("export", "b", "-f", "md", "-o", str(path))
    assert done.code == 0, done.err
    return path.read_text(encoding="utf-8")


def import_file(workspace: Workspace, path: Path, book_id: str = "b") -> Run:
    return workspace.run("import", book_id, str(path), "--settings", str(workspace.settings))


def manuscript(workspace: Workspace) -> dict[str, Any]:
    shown = workspace.run("show", "b", "manuscript", "--json")
    assert shown.code == 0, shown.err
    return shown.json()  # type: ignore[no-any-return]


def has_version(workspace: Workspace, version: int) -> bool:
    return workspace.run("export", "b", "-f", "md", "--version", str(version)).code == 0


def scene_block(xml: str, scene_id: int) -> str:
    match = re.search(rf"    <SCENE>\n      <ID>{scene_id}</ID>\n.*?</SCENE>\n", xml, re.S)
    assert match, scene_id
    return match.group(0)


def chapter_block(xml: str, chapter_id: int) -> str:
    match = re.search(rf"    <CHAPTER>\n      <ID>{chapter_id}</ID>\n.*?</CHAPTER>\n", xml, re.S)
    assert match, chapter_id
    return match.group(0)


def content_of(block: str) -> str:
    match = re.search(r"<SceneContent><!\[CDATA\[(.*?)\]\]></SceneContent>", block, re.S)
    assert match
    return match.group(1)


def test_unchanged_round_trip_gives_identical_markdown(book: Book, tmp_path: Path) -> None:
    workspace, yw7, before = book
    done = import_file(workspace, yw7)
    assert done.code == 0, done.err
    assert done.out.startswith(
        "Imported b.yw7 as manuscript version 2 of b: "
        "0 scenes changed, 0 chapters retitled, 0 deleted. Export it with: bookwright export b"
    )
    assert export_md(workspace, tmp_path / "after.md") == before
    # And the re-exported project is the same file again.
    again = tmp_path / "again.yw7"
    assert workspace.run("export", "b", "-f", "yw7", "-o", str(again)).code == 0
    assert again.read_text(encoding="utf-8") == yw7.read_text(encoding="utf-8")


def test_edited_scene_and_title_are_the_only_changes(book: Book, tmp_path: Path) -> None:
    workspace, yw7, before = book
    old = manuscript(workspace)
    old_scene = old["chapters"][0]["scenes"][1]  # chapter 1, scene 2 (yw7 scene ID 2)
    old_title = old["chapters"][1]["title"]
    xml = yw7.read_text(encoding="utf-8")
    block = scene_block(xml, 2)
    assert md_paragraphs(content_of(block)) == md_paragraphs(yw_paragraphs(old_scene))
    new_content = "The keeper rowed out at dawn.\nThe sea was glass, & the bottle <empty>."
    xml = xml.replace(block, block.replace(content_of(block), new_content))
    chapter = chapter_block(xml, 2)
    xml = xml.replace(chapter, chapter.replace(old_title, "The Glass Sea"))
    edited = tmp_path / "edited.yw7"
    edited.write_text(xml, encoding="utf-8")

    done = import_file(workspace, edited)
    assert done.code == 0, done.err
    assert done.out.startswith(
        "Imported edited.yw7 as manuscript version 2 of b: "
        "1 scene changed, 1 chapter retitled, 0 deleted. Export it with: bookwright export b"
    )
    assert "re-extract: scene:1:2" in done.out
    after = export_md(workspace, tmp_path / "after.md")

    new_scene = "The keeper rowed out at dawn.\n\nThe sea was glass, & the bottle <empty>."
    words = old_words = sum(len(s.split()) for c in old["chapters"] for s in c["scenes"])
    words += len(new_scene.split()) - len(old_scene.split())
    removed, added = line_changes(before, after)
    old_words_line = f"*{old['genre']}* · {old_words} words"
    new_words_line = f"*{old['genre']}* · {words} words"
    assert removed == [old_words_line, *old_scene.split("\n\n"), f"## Chapter 2: {old_title}"]
    assert added == [new_words_line, *new_scene.split("\n\n"), "## Chapter 2: The Glass Sea"]
    expected = (
        before.replace(f"\n{old_words_line}\n", f"\n{new_words_line}\n", 1)
        .replace(f"\n{old_scene}\n", f"\n{new_scene}\n", 1)
        .replace(f"\n## Chapter 2: {old_title}\n", "\n## Chapter 2: The Glass Sea\n", 1)
    )
    assert after == expected
    scene = workspace.run("show", "b", "scene:1:2", "--json").json()
    assert scene["text"] == new_scene and scene["reextract"] is True
    record = workspace.run("show", "b", "import", "--json").json()
    assert record["reextract"] == ["scene:1:2"] and record["manuscript_version"] == 2
    assert record["retitled"] == [2] and record["deleted"] == 0


def line_changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """The non-blank lines only `before` has and those only `after` has, in order."""
    removed: list[str] = []
    added: list[str] = []
    old, new = before.split("\n"), after.split("\n")
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            removed += [line for line in old[i1:i2] if line]
            added += [line for line in new[j1:j2] if line]
    return removed, added


def test_deleted_scene_and_reordered_chapters(book: Book, tmp_path: Path) -> None:
    workspace, yw7, _ = book
    old = manuscript(workspace)
    xml = yw7.read_text(encoding="utf-8")
    first, second = chapter_block(xml, 1), chapter_block(xml, 2)
    xml = xml.replace(first + second, second + first)
    second_scenes = re.search(r"<Scenes>.*?</Scenes>", second, re.S)
    assert second_scenes and "<ScID>3</ScID>" in second_scenes.group(0)
    xml = xml.replace("        <ScID>3</ScID>\n", "")  # chapter 2 loses its first scene
    xml = xml.replace(scene_block(xml, 3), "")
    edited = tmp_path / "edited.yw7"
    edited.write_text(xml, encoding="utf-8")

    done = import_file(workspace, edited)
    assert done.code == 0, done.err
    assert "0 scenes changed, 0 chapters retitled, 1 deleted." in done.out
    new = manuscript(workspace)
    assert [c["title"] for c in new["chapters"]] == [c["title"] for c in reversed(old["chapters"])]
    assert [c["number"] for c in new["chapters"]] == [1, 2]
    assert new["chapters"][0]["scenes"] == old["chapters"][1]["scenes"][1:]
    assert new["chapters"][1]["scenes"] == old["chapters"][0]["scenes"]
    md = export_md(workspace, tmp_path / "after.md")
    assert md.index(old["chapters"][1]["title"]) < md.index(old["chapters"][0]["title"])
    assert old["chapters"][1]["scenes"][0] not in md


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("this is not xml", 1, "not well-formed XML"),
        ("<?xml version='1.0'?>\n<YWRITER7>\n  <PROJECT>\n</YWRITER7>\n", 4, "not well-formed"),
        ("<?xml version='1.0'?>\n\n<BOOK/>\n", 3, "root element is <BOOK>"),
        ("<YWRITER7>\n<PROJECT/>\n<SCENES/>\n</YWRITER7>", 1, "<YWRITER7> has no <CHAPTERS>"),
        (
            "<YWRITER7>\n<PROJECT/><SCENES>\n<SCENE><ID>x</ID></SCENE></SCENES></YWRITER7>",
            3,
            "<ID> must",
        ),
    ],
)
def test_malformed_xml_is_refused_with_its_line(text: str, line: int, reason: str) -> None:
    with pytest.raises(Yw7Error) as caught:
        from_yw7(text.encode())
    assert caught.value.line == line and reason in caught.value.reason


def test_entity_declarations_are_refused() -> None:
    bomb = '<?xml version="1.0"?>\n<!DOCTYPE y [\n<!ENTITY a "aaaa">\n]>\n<YWRITER7/>'
    with pytest.raises(Yw7Error, match="entity declarations"):
        from_yw7(bomb.encode())


def test_reader_inverts_the_writer() -> None:
    project = YwProject(
        title="T",
        author="A",
        scenes=[YwScene(1, 2, "S", content="One.\nTwo & <three>]]>.")],
        chapters=[YwChapter(2, "Chapter 1: X", scene_ids=[1]), YwChapter(1, "Chapter 2: Y")],
    )
    assert from_yw7(to_yw7(project).encode()) == project
    assert md_paragraphs(yw_paragraphs("One.\n\n\nTwo.\n")) == "One.\n\nTwo."


def test_malformed_file_changes_nothing(book: Book, tmp_path: Path) -> None:
    workspace, yw7, before = book
    xml = yw7.read_text(encoding="utf-8")
    block = scene_block(xml, 4)
    line = xml[: xml.index(block)].count("\n") + 1
    xml = xml.replace(block, block.replace("<BelongsToChID>2<", "<BelongsToChID>9<"))
    xml = xml.replace(content_of(scene_block(xml, 1)), "Changed, but never stored.")
    broken = tmp_path / "broken.yw7"
    broken.write_text(xml, encoding="utf-8")

    done = import_file(workspace, broken)
    assert done.code == 2
    message = done.err.strip()
    assert "\n" not in message
    assert f"broken.yw7 line {line}: scene 4 belongs to chapter 9" in message
    assert not has_version(workspace, 2)
    assert workspace.run("show", "b", "import").code == 2
    assert export_md(workspace, tmp_path / "after.md") == before

    broken.write_text(yw7.read_text(encoding="utf-8")[:-30], encoding="utf-8")
    done = import_file(workspace, broken)
    assert done.code == 2 and "line" in done.err and "not well-formed XML" in done.err
    assert not has_version(workspace, 2)


def test_unknown_book_is_refused(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "x.yw7"
    path.write_text(to_yw7(YwProject(title="T")), encoding="utf-8")
    done = import_file(workspace, path, "nope")
    assert done.code == 2 and "No book 'nope'" in done.err


def test_a_chapter_retry_keeps_the_imported_edits_of_the_other_chapters(
    book: Book, tmp_path: Path
) -> None:
    workspace, yw7, _ = book
    xml = yw7.read_text(encoding="utf-8")
    block = scene_block(xml, 3)  # chapter 2, scene 1
    xml = xml.replace(block, block.replace(content_of(block), "Mara kept the bottle."))
    chapter = chapter_block(xml, 2)
    title = manuscript(workspace)["chapters"][1]["title"]
    xml = xml.replace(chapter, chapter.replace(title, "The Kept Bottle"))
    edited = tmp_path / "edited.yw7"
    edited.write_text(xml, encoding="utf-8")
    assert import_file(workspace, edited).code == 0

    retried = workspace.run("retry", "b", "--chapter", "1", "--level", "edit")
    assert retried.code == 0, retried.err
    after = manuscript(workspace)
    assert after["chapters"][1]["scenes"][0] == "Mara kept the bottle."
    assert after["chapters"][1]["title"] == "The Kept Bottle"
    assert "Mara kept the bottle." in export_md(workspace, tmp_path / "after.md")


def test_a_chapter_retry_is_refused_when_an_import_dropped_a_chapter(
    book: Book, tmp_path: Path
) -> None:
    workspace, yw7, _ = book
    xml = yw7.read_text(encoding="utf-8")
    for scene_id in (3, 4):  # chapter 2's scenes, then chapter 2 itself
        xml = xml.replace(scene_block(xml, scene_id), "")
    xml = xml.replace(chapter_block(xml, 2), "")
    edited = tmp_path / "edited.yw7"
    edited.write_text(xml, encoding="utf-8")
    assert import_file(workspace, edited).code == 0
    imported = manuscript(workspace)
    assert len(imported["chapters"]) == 1

    retried = workspace.run("retry", "b", "--chapter", "1")
    assert retried.code == 2
    assert "1 chapters where the outline has 2" in retried.err
    assert "would drop those edits" in retried.err
    assert manuscript(workspace) == imported  # nothing was written
    assert not has_version(workspace, 3)
