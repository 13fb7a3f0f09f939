"""The other jobs end to end on the real embedded model: on the reference book the
embedded tests share, a review with --revise that completes, never ends below its start
and writes its report and charts, then an adaptation whose every file opens; and a
one-chapter book from two interviews that completes, cites only what is in the store
and exports with its notes. (The revision's decisions are tested on the scripted model
in test_review.py: on a one-scene book the 135M model's nodes rarely find anything a
revision can act on.)"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bookwright.jobs.adapt.fountain import problems
from bookwright.jobs.adapt.render import FILES
from bookwright.jobs.review.report import CHART_FILES, REPORT_FILES
from bookwright.store import Store
from tests.conftest import EmbeddedReference


@pytest.mark.embedded
@pytest.mark.timeout(2700)  # a deadline for a slow machine
def test_embedded_model_reviews_revises_and_adapts_a_book(
    embedded_reference: EmbeddedReference,
) -> None:
    ws = embedded_reference.ws
    store = Store(f"sqlite:///{ws.home / 'bookwright.sqlite'}")

    run = ws.run(
        "review", "reference", "--revise", "--max-iterations", "1", "--book-id", "rev",
        timeout=1200,
    )  # fmt: skip
    assert run.code == 0, run.err
    status = ws.run("status", "rev", "--json").json()
    assert (status["job"], status["status"]) == ("review", "completed")
    report = store.get_artifact("rev", "report")[1]
    revision = report["revision"]
    start, final = revision["iterations"][0]["score"], report["scores"]["overall"]["score"]
    assert final >= start, revision  # the best version is kept: never below the start
    assert revision["stopped"], revision  # and it says why it stopped
    folder = ws.home / "books" / "rev"
    for name in [*REPORT_FILES.values(), *CHART_FILES]:
        assert (folder / name).stat().st_size > 0, name

    run = ws.run(
        "adapt", "reference", "--minutes", "2", "--form", "short", "--book-id", "screen",
        timeout=1200,
    )  # fmt: skip
    assert run.code == 0, run.err
    status = ws.run("status", "screen", "--json").json()
    assert (status["job"], status["status"]) == ("adapt", "completed")
    folder = ws.home / "books" / "screen"
    fountain = (folder / FILES["fountain"]).read_text(encoding="utf-8")
    names = store.get_artifact("screen", "source_cast")
    assert names is not None, "the adaptation recorded no cast"
    cast = sorted({n.upper() for c in names[1]["names"] for n in (c.split()[0], c)})
    assert problems(fountain, cast) == []  # every scene parses, the book's cast only
    assert (folder / FILES["pdf"]).read_bytes().startswith(b"%PDF")
    assert ET.parse(folder / FILES["fdx"]).getroot().tag == "FinalDraft"
    assert "<html" in (folder / FILES["storyboard"]).read_text(encoding="utf-8").lower()
    assert "<html" in (folder / FILES["html"]).read_text(encoding="utf-8").lower()
    assert (folder / FILES["storyboard_pdf"]).read_bytes().startswith(b"%PDF")
    assert json.loads((folder / FILES["storyboard_json"]).read_text(encoding="utf-8"))
    store.close()


@pytest.mark.embedded
@pytest.mark.timeout(1800)  # a deadline for a slow machine
def test_embedded_model_writes_a_book_from_sources(
    embedded_reference: EmbeddedReference, tmp_path: Path
) -> None:
    ws = embedded_reference.ws
    corpus = tmp_path / "interviews"
    corpus.mkdir()
    fixtures = Path(__file__).parent / "fixtures" / "sources"
    for name in ("01-ada-lind.txt", "03-clara-voss.md"):
        shutil.copy(fixtures / name, corpus / name)
    run = ws.run(
        "write", "--sources", str(corpus), "--title", "The Mill", "--chapters", "1",
        "--words-per-chapter", "60", "--seed", "3", "--book-id", "mill", timeout=1200,
    )  # fmt: skip
    assert run.code == 0, run.err
    status = ws.run("status", "mill", "--json").json()
    assert (status["job"], status["status"]) == ("sources", "completed")
    store = Store(f"sqlite:///{ws.home / 'bookwright.sqlite'}")
    known = {c["id"] for c in store.get_artifact("mill", "sources")[1]["chunks"]}
    text = " ".join(store.get_artifact("mill", "chapter:1")[1]["scenes"])
    from bookwright.jobs.sources.grounding import CITE

    assert CITE.findall(text) and set(CITE.findall(text)) <= known  # cited, only the store
    store.close()
    target = tmp_path / "mill.md"
    assert ws.run("export", "mill", "-o", str(target)).code == 0
    markdown = target.read_text(encoding="utf-8")
    assert "[^1]" in markdown and "Sources" in markdown
    folder = tmp_path / "json"
    assert ws.run("export", "mill", "--format", "json", "-o", str(folder)).code == 0
    first = json.loads(sorted(folder.glob("*.json"))[0].read_text(encoding="utf-8"))
    assert first["source_references"]
