"""Unfinished books and hostile text, exported in process from a real SQLite store filled by
hand (no model): what exists is exported, marked as a draft, and every file stays valid."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from bookwright.engine.books import Books
from bookwright.errors import UsageError
from bookwright.export.document import export_book
from bookwright.export.pandoc import write_pandoc
from bookwright.model import BookSpec, Chapter, Manuscript
from bookwright.settings import Settings
from tests.conftest import SMALL, Workspace, epubcheck_command

CAST = {
    "characters": [
        {"name": "Mara Quill", "role": "keeper", "description": "Stubborn and kind."},
        {"name": "Tobias Grent", "role": "smuggler", "description": "Charming & cruel."},
    ]
}
PLACES = {
    "locations": [
        {"name": "The North Tower", "description": "A lighthouse."},
        {"name": "Gull Rock", "description": "A harbour."},
    ]
}
OUTLINE = {
    "chapters": [
        {"number": 1, "title": "The Bottle", "summary": "A message arrives."},
        {"number": 2, "title": "The Wreck", "summary": "The storm comes.", "depends_on": [1]},
    ]
}
SCENES = {
    "chapters": [
        {
            "chapter": n,
            "scenes": [
                {
                    "number": s,
                    "summary": f"Scene {n}.{s} happens.",
                    "characters": ["Mara Quill", "Nobody Known"],
                    "location": "Gull Rock",
                }
                for s in (1, 2)
            ],
        }
        for n in (1, 2)
    ]
}
HOSTILE = (
    "She wrote <b>bold</b> & $5 and $6, then ]]> and {.class} — café, 日本語.\n\n# Not a chapter"
)


@pytest.fixture
def books(tmp_path: Path) -> Iterator[Books]:
    settings = Settings(home=tmp_path / "home", database_url=None)
    books = Books(settings)
    yield books
    books.store.close()


def halted_after_chapter_one(books: Books) -> str:
    """Chapter 1 written; chapter 2 has a drafted scene 1 and a planned scene 2."""
    store = books.store
    spec = BookSpec(premise="A lighthouse keeper finds a message.", model="scripted:m")
    store.create_book("h", "The Salt Lantern", spec.model_dump(mode="json"))
    for name, data in (
        ("characters", CAST),
        ("locations", PLACES),
        ("outline", OUTLINE),
        ("scenes", SCENES),
    ):
        store.put_artifact("h", name, data)
    store.init_chapters(
        "h",
        [
            {"number": 1, "title": "The Bottle", "depends_on": [], "target_words": 100},
            {"number": 2, "title": "The Wreck", "depends_on": [1], "target_words": 100},
        ],
    )
    texts = ["Mara found the bottle.\n\nIt was cold.", HOSTILE]
    for s, text in enumerate(texts, start=1):
        store.put_artifact("h", f"scene:1:{s}", {"chapter": 1, "scene": s, "text": text})
    chapter = Chapter(number=1, title="The Bottle", scenes=texts)
    store.put_artifact("h", "chapter:1", chapter.model_dump(mode="json"))
    store.update_chapter("h", 1, status="generated", word_count=chapter.word_count)
    store.put_artifact("h", "draft:2:1", {"chapter": 2, "scene": 1, "text": "Rain at dusk."})
    store.update_chapter("h", 2, status="in_progress")
    store.update_book("h", status="halted", title="The Salt Lantern")
    return "h"


def test_a_draft_exports_what_exists_in_every_format(books: Books, tmp_path: Path) -> None:
    book_id = halted_after_chapter_one(books)
    result = export_book(books, book_id, "all", tmp_path / "out")
    assert result.draft
    names = sorted(p.name for p in result.paths)
    assert names == ["chapter-001.json", "h.docx", "h.epub", "h.md", "h.yw7"]
    out = tmp_path / "out"

    assert "DRAFT" in (out / "h.md").read_text()
    assert "## Chapter 2" not in (out / "h.md").read_text()

    with zipfile.ZipFile(out / "h.epub") as epub:
        assert "DRAFT" in epub.read("EPUB/text/title_page.xhtml").decode()
    document = docx.Document(str(out / "h.docx"))
    assert any("DRAFT" in p.text for p in document.paragraphs)
    assert [p.text for p in document.paragraphs if p.style and p.style.name == "Heading 1"] == [
        "Chapter 1: The Bottle"
    ]

    doc = json.loads((out / "json" / "chapter-001.json").read_text())
    assert doc["metadata"]["draft"] is True and doc["metadata"]["book_version"] is None
    assert doc["metadata"]["status"] == "generated"
    assert doc["generation_metadata"]["harmonization_applied"] is False
    assert doc["content"]["participants"] == ["Mara Quill", "Nobody Known"]

    root = ET.parse(out / "h.yw7").getroot()
    scenes = {s.findtext("Title"): s for s in root.iter("SCENE")}
    assert {t: s.findtext("Status") for t, s in scenes.items()} == {
        "Scene 1.1": "3",  # edited, book unfinished
        "Scene 1.2": "3",
        "Scene 2.1": "2",  # drafted only
        "Scene 2.2": "1",  # planned only
    }
    assert scenes["Scene 1.1"].findtext("SceneContent") == "Mara found the bottle.\nIt was cold."
    assert "then ]]> and" in (scenes["Scene 1.2"].findtext("SceneContent") or "")
    assert scenes["Scene 2.1"].findtext("SceneContent") == "Rain at dusk."
    assert scenes["Scene 2.2"].findtext("SceneContent") == ""
    # Names the cast does not know are left out rather than invented.
    assert [e.text for e in scenes["Scene 2.2"].iter("CharID")] == ["1"]
    assert [e.text for e in scenes["Scene 2.2"].iter("LocID")] == ["2"]
    assert [c.findtext("Title") for c in root.iter("CHAPTER")] == [
        "Chapter 1: The Bottle",
        "Chapter 2: The Wreck",
    ]


def test_a_version_is_refused_before_any_manuscript(books: Books, tmp_path: Path) -> None:
    book_id = halted_after_chapter_one(books)
    with pytest.raises(UsageError, match="no manuscript yet") as caught:
        export_book(books, book_id, "md", tmp_path / "x.md", version=1)
    assert "without --version" in caught.value.remedy
    assert not (tmp_path / "x.md").exists()


def test_versions_of_the_manuscript(books: Books, tmp_path: Path) -> None:
    book_id = halted_after_chapter_one(books)
    first = Manuscript(
        title="First Title",
        author="A",
        chapters=[Chapter(number=1, title="One", scenes=["Old text."])],
    )
    books.store.put_artifact(book_id, "manuscript", first.model_dump(mode="json"))
    second = first.model_copy(update={"title": "Second Title"})
    books.store.put_artifact(book_id, "manuscript", second.model_dump(mode="json"))
    books.store.update_book(book_id, status="completed")

    latest = export_book(books, book_id, "md", tmp_path / "latest.md")
    assert not latest.draft and "Second Title" in (tmp_path / "latest.md").read_text()
    export_book(books, book_id, "json", tmp_path / "v1", version=1)
    doc = json.loads((tmp_path / "v1" / "chapter-001.json").read_text())
    assert doc["metadata"]["book_version"] == 1 and doc["metadata"]["book_title"] == "First Title"
    with pytest.raises(UsageError, match="no manuscript version 3") as caught:
        export_book(books, book_id, "yw7", tmp_path / "v3.yw7", version=3)
    assert caught.value.remedy == "Versions that exist: 1, 2"


def test_hostile_prose_and_metadata_make_a_valid_epub(tmp_path: Path) -> None:
    book = Manuscript(
        title="True",  # YAML would read this as a boolean
        author='A. "Quill" & <Co>',
        language="fr",
        chapters=[
            Chapter(number=1, title="{#id} *Stars* & <tags>", scenes=[HOSTILE, "Second."]),
            Chapter(number=2, title="Fin #", scenes=["---\ntitle: x\n---\n\nText after YAML."]),
        ],
        draft=True,
    )
    path = write_pandoc(book, "epub", tmp_path / "hostile.epub", "2024-05-01")
    check = subprocess.run(
        [*epubcheck_command(), str(path)], capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stdout + check.stderr
    with zipfile.ZipFile(path) as epub:
        opf = epub.read("EPUB/content.opf").decode()
        nav = epub.read("EPUB/nav.xhtml").decode()
        text = "".join(
            epub.read(n).decode() for n in epub.namelist() if n.startswith("EPUB/text/ch")
        )
    assert "<dc:title" in opf and ">True</dc:title>" in opf
    assert "A. &quot;Quill&quot; &amp; &lt;Co&gt;" in opf or 'A. "Quill" &amp; &lt;Co&gt;' in opf
    assert "<dc:language>fr</dc:language>" in opf and "2024-05-01" in opf
    assert nav.count("Chapter 1: {#id} <em>Stars</em>") == 0  # headings stay literal
    assert "Chapter 1: {#id} *Stars* &amp; &lt;tags&gt;" in nav
    assert "Chapter 2: Fin #" in nav
    assert "&lt;b&gt;bold&lt;/b&gt;" in text and "$5 and $6" in text
    assert "# Not a chapter" in text and "Text after YAML." in text


def test_a_book_halted_before_any_chapter_exports_from_the_cli(workspace: Workspace) -> None:
    run = workspace.run(
        "write", *SMALL, "--model", "scripted:m", "--book-id", "d", "--pause-at", "scenes"
    )
    assert run.code == 3, run.err
    out = workspace.home / "draft"
    export = workspace.run("export", "d", "--format", "all", "-o", str(out))
    assert export.code == 0, export.err
    assert export.out.count("(DRAFT: the book is not finished)") == 4
    assert not (out / "json").exists()  # no chapter written, nothing to publish
    root = ET.parse(out / "d.yw7").getroot()
    statuses = [s.findtext("Status") for s in root.iter("SCENE")]
    assert statuses == ["1"] * 4  # every scene planned, none written
    only_json = workspace.run("export", "d", "--format", "json", "-o", str(out / "j"))
    assert only_json.code == 0 and "Nothing to write yet" in only_json.out
