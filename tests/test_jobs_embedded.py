"""The review and adapt jobs end to end on the real embedded model, on the reference book
the embedded tests share: a review with --revise that completes, never ends below its
start and writes its report and charts, then an adaptation whose every file opens. (The
revision's decisions are tested on the scripted model in test_review.py: on a one-scene
book the 135M model's nodes rarely find anything a revision can act on.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET

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
    cast = [c.split()[0].upper() for c in names[1]["names"]]
    assert problems(fountain, cast) == []  # every scene parses, the book's cast only
    assert (folder / FILES["pdf"]).read_bytes().startswith(b"%PDF")
    assert ET.parse(folder / FILES["fdx"]).getroot().tag == "FinalDraft"
    assert "<html" in (folder / FILES["storyboard"]).read_text(encoding="utf-8").lower()
    store.close()
