"""`bookwright export` in every format, from one finished book written against the scripted
server, checked with the tools authors' files meet: epubcheck, python-docx, an XML parser."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest

from tests.conftest import SMALL, Workspace, epubcheck_command
from tests.scripted_server import ScriptedServer


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One completed 2-chapter book, `b`, shared by the tests of this module (read only)."""
    root = tmp_path_factory.mktemp("export")
    with ScriptedServer() as server:
        settings = root / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        ws = Workspace(root / "home", settings)
        run = ws.run("write", *SMALL, "--model", "scripted:m", "--book-id", "b")
        assert run.code == 0, run.err
        yield ws


def show(ws: Workspace, name: str) -> dict:  # type: ignore[type-arg]
    run = ws.run("show", "b", name, "--json")
    assert run.code == 0, run.err
    return run.json()  # type: ignore[no-any-return]


def test_all_formats_at_once(finished: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "all"
    run = finished.run("export", "b", "--format", "all", "-o", str(out))
    assert run.code == 0, run.err
    assert "DRAFT" not in run.out
    names = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert names == [
        "b.docx",
        "b.epub",
        "b.md",
        "b.yw7",
        "json/chapter-001.json",
        "json/chapter-002.json",
    ]
    assert run.out.count("Wrote ") == len(names)
    assert not list(out.rglob("*.tmp"))  # atomic writes leave no temporary files


def test_epub_passes_epubcheck_and_has_metadata_and_toc(finished: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    book = tmp_path / "book.epub"
    run = finished.run("export", "b", "--format", "epub", "-o", str(book))
    assert run.code == 0, run.err
    check = subprocess.run(
        [*epubcheck_command(), str(book)], capture_output=True, text=True, timeout=300
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "0 fatals / 0 errors" in check.stdout, check.stdout

    manuscript = show(finished, "manuscript")
    with zipfile.ZipFile(book) as epub:
        opf = epub.read("EPUB/content.opf").decode()
        nav = epub.read("EPUB/nav.xhtml").decode()
        chapters = [n for n in epub.namelist() if n.startswith("EPUB/text/ch")]
        text = "".join(epub.read(n).decode() for n in chapters)
    assert f">{manuscript['title']}</dc:title>" in opf
    assert "<dc:creator" in opf and "<dc:language>en</dc:language>" in opf
    assert "<dc:date" in opf
    # One file and one TOC entry per chapter; the title page comes from metadata only.
    assert len(chapters) == len(manuscript["chapters"]) == 2
    for chapter in manuscript["chapters"]:
        assert f"Chapter {chapter['number']}: {chapter['title']}" in nav
    assert text.count("<hr />") == sum(len(c["scenes"]) - 1 for c in manuscript["chapters"])
    assert "DRAFT" not in opf + text


def test_docx_opens_and_holds_every_chapter_title(finished: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "book.docx"
    assert finished.run("export", "b", "--format", "docx", "-o", str(path)).code == 0
    document = docx.Document(str(path))
    headings = [p.text for p in document.paragraphs if p.style and p.style.name == "Heading 1"]
    manuscript = show(finished, "manuscript")
    assert headings == [f"Chapter {c['number']}: {c['title']}" for c in manuscript["chapters"]]
    assert document.core_properties.title == manuscript["title"]
    body = "\n".join(p.text for p in document.paragraphs)
    first_words = manuscript["chapters"][0]["scenes"][0].split()[:8]
    assert " ".join(first_words) in body


def test_yw7_matches_the_book(finished: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "book.yw7"
    assert finished.run("export", "b", "--format", "yw7", "-o", str(path)).code == 0
    raw = path.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(raw)
    assert root.tag == "YWRITER7"
    assert [c.tag for c in root] == [
        "PROJECT",
        "LOCATIONS",
        "ITEMS",
        "CHARACTERS",
        "SCENES",
        "CHAPTERS",
    ]
    manuscript = show(finished, "manuscript")
    cast = show(finished, "characters")["characters"]
    places = show(finished, "locations")["locations"]
    plans = show(finished, "scenes")["chapters"]
    assert root.findtext("PROJECT/Title") == manuscript["title"]
    characters = {c.findtext("ID"): c.findtext("Title") for c in root.iter("CHARACTER")}
    locations = {c.findtext("ID"): c.findtext("Title") for c in root.iter("LOCATION")}
    assert list(characters.values()) == [c["name"] for c in cast]
    assert list(locations.values()) == [loc["name"] for loc in places]
    assert list(characters) == [str(i) for i in range(1, len(cast) + 1)]

    scenes = {s.findtext("ID"): s for s in root.iter("SCENE")}
    chapters = list(root.iter("CHAPTER"))
    assert [c.findtext("Title") for c in chapters] == [
        f"Chapter {c['number']}: {c['title']}" for c in manuscript["chapters"]
    ]
    for chapter, written, plan in zip(chapters, manuscript["chapters"], plans, strict=True):
        ids = [e.text for e in chapter.iter("ScID")]
        assert len(ids) == len(written["scenes"]) == len(plan["scenes"])
        for sc_id, prose, scene_plan in zip(ids, written["scenes"], plan["scenes"], strict=True):
            scene = scenes[sc_id]
            assert scene.findtext("BelongsToChID") == chapter.findtext("ID")
            assert scene.findtext("Status") == "5"  # the book is finished
            content = scene.findtext("SceneContent") or ""
            assert content.split() == prose.split()
            assert scene.findtext("WordCount") == str(len(prose.split()))
            assert scene.findtext("Desc") == scene_plan["summary"]
            named = [characters[e.text or ""] for e in scene.iter("CharID")]
            assert named == [n for n in scene_plan["characters"] if n in characters.values()]
            placed = [locations[e.text or ""] for e in scene.iter("LocID")]
            assert placed == [p for p in [scene_plan["location"]] if p in locations.values()]
    assert "<![CDATA[" in raw.decode("utf-8")


def test_json_documents_hold_the_fields(finished: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    run = finished.run("export", "b", "--format", "json", "-o", str(folder))
    assert run.code == 0, run.err
    manuscript = show(finished, "manuscript")
    status = finished.run("status", "b", "--json").json()
    paths = sorted(folder.glob("*.json"))
    assert [p.name for p in paths] == ["chapter-001.json", "chapter-002.json"]
    for path, chapter, row in zip(paths, manuscript["chapters"], status["chapters"], strict=True):
        doc = json.loads(path.read_text(encoding="utf-8"))
        assert doc.keys() >= {"metadata", "content", "source_references", "generation_metadata"}
        meta = doc["metadata"]
        assert meta.keys() >= {
            "book_id",
            "book_version",
            "chapter_number",
            "title",
            "word_count",
            "status",
            "quality_score",
            "created_at",
            "generation_agent",
        }
        assert (meta["book_id"], meta["chapter_number"], meta["title"]) == (
            "b",
            chapter["number"],
            chapter["title"],
        )
        assert meta["book_version"] == 1 and meta["status"] == "completed"
        assert meta["word_count"] == row["word_count"] > 0
        assert meta["quality_score"] is None and meta["created_at"]
        content = doc["content"]
        assert content.keys() >= {"markdown_text", "themes", "participants", "tags"}
        assert content["markdown_text"].startswith(f"## Chapter {chapter['number']}: ")
        assert all(s.strip() in content["markdown_text"] for s in chapter["scenes"])
        assert content["participants"] and isinstance(content["themes"], list)
        assert doc["source_references"] == []
        gen = doc["generation_metadata"]
        assert gen.keys() >= {
            "processing_session",
            "retry_level",
            "retry_count",
            "harmonization_applied",
            "quality_metrics",
        }
        assert gen["retry_count"] == row["retry_count"] and gen["harmonization_applied"] is True


def test_version_selects_a_manuscript_and_a_bad_one_exits_2(finished: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "v1.md"
    run = finished.run("export", "b", "--version", "1", "-o", str(out))
    assert run.code == 0, run.err
    assert out.read_text().count("\n## Chapter ") == 2
    bad = finished.run("export", "b", "--format", "epub", "--version", "7", "-o", str(out))
    assert bad.code == 2
    assert "no manuscript version 7" in bad.err and "Versions that exist: 1" in bad.err


def test_unknown_format_lists_the_formats(finished: Workspace) -> None:
    run = finished.run("export", "b", "--format", "pdf")
    assert run.code == 2
    assert "Unknown export format 'pdf'" in run.err
    assert "md, epub, docx, yw7, json, all" in run.err


def test_folder_formats_refuse_a_file(finished: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "taken"
    target.write_text("mine")
    run = finished.run("export", "b", "--format", "json", "-o", str(target))
    assert run.code == 2 and "folder" in run.err
    assert target.read_text() == "mine"


def test_default_paths_are_in_the_book_folder(finished: Workspace) -> None:
    run = finished.run("export", "b", "--format", "yw7")
    assert run.code == 0, run.err
    assert (finished.home / "books" / "b" / "b.yw7").is_file()
