"""The `adapt` job: a finished book becomes events, a treatment, screen scenes, a
Fountain screenplay checked by screenplain (re-asked, else written by rule from the
book), a storyboard, and files that open: PDF with pages, FDX of Final Draft's shape,
HTML. In process, on the scripted model."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS

from bookwright.cli_adapt import start_adapt
from bookwright.cli_review import start_review
from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.errors import InvalidArtifact, UsageError
from bookwright.export.document import export_book
from bookwright.jobs.adapt.critique import parse_critique
from bookwright.jobs.adapt.fountain import from_prose, problems, read_scene
from bookwright.jobs.adapt.plan import slugline
from bookwright.model.adapt import ScreenScenes, Storyboard
from bookwright.settings import Settings
from tests.scripted_model import scripted_model

FIXTURE = Path(__file__).parent / "fixtures" / "review" / "salt_lantern.md"
GOOD = (
    "Rain lashes the glass. MARA climbs to the lamp.\n\nMARA\n(quietly)\nThere is a ship out there."
)
STRAY = "Rain lashes the glass.\n\n(beat)\n\nNOBODY\nWho is there?"


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    yield
    DBOS.destroy()


def _finished_book(settings: Settings) -> Books:
    """The fixture manuscript as a finished book of the workspace (imported for review)."""
    books = Books(settings)
    options = {
        "title": None, "genre": "", "target_words": None, "themes": [], "audience": "",
        "model": "local", "seed": 1, "nodes": ["metrics"], "pause_at": [],
    }  # fmt: skip
    start_review(books, str(FIXTURE), options, "salt")
    assert run_book(settings, "salt").status.value == "completed"
    DBOS.destroy()
    return books


def test_fountain_is_checked_with_line_numbers_and_prose_is_turned_into_it() -> None:
    assert problems(f"INT. TOWER - NIGHT\n\n{GOOD}\n", ["MARA"]) == []
    found = problems(f"INT. TOWER - NIGHT\n\n{STRAY}\n", ["MARA"])
    assert "line 5: a parenthetical outside dialogue: (beat)" in found
    assert any(f.startswith("line 7: NOBODY is not in the book's cast") for f in found)
    assert problems("Just some words.\n")[0].startswith("line 1: no scene heading")
    body = from_prose(
        'Mara looked at the sea.\n\n"There is a ship out there," Tobias said.\n\n'
        '"Then we keep the lamp burning," said Mara.',
        ["Mara Quill", "Tobias Grent"],
    )
    assert "TOBIAS\nThere is a ship out there" in body and "MARA\nThen we keep" in body
    assert problems(f"EXT. ROCK - NIGHT\n\n{body}\n", ["MARA", "TOBIAS"]) == []
    assert slugline("She climbed the tower stairs at night.", []) == "INT. STAIRS - NIGHT"
    assert slugline("The waves broke on Gull Rock.", ["Gull Rock"]) == "EXT. GULL ROCK - DAY"
    assert slugline("They argued until dawn.", ["The Mill"]) == "INT. MILL - DAWN"
    assert slugline("They argued.", []) == "INT. UNNAMED PLACE - DAY"


def test_an_unfinished_book_or_a_wrong_pause_is_refused(tmp_path: Path) -> None:
    books = _finished_book(Settings(home=tmp_path / "home"))
    options = {"minutes": 10, "form": "short", "pause_at": [], "model": "fn:x", "seed": 1}
    with pytest.raises(UsageError, match="No book 'nope'"):
        start_adapt(books, "nope", options, None)
    with pytest.raises(UsageError, match="cannot pause at 'outline'"):
        start_adapt(books, "salt", {**options, "pause_at": ["outline"]}, None)
    books.store.update_book("salt", status="processing")
    with pytest.raises(UsageError, match="is not finished"):
        start_adapt(books, "salt", options, None)


def _reply(prompt: str) -> str:
    """Good Fountain for scenes that mention the lamp, a stray parenthetical elsewhere."""
    if "Write only the scene's body" in prompt:
        return GOOD if "lamp" in prompt else STRAY
    return "Mara keeps the light as the storm closes in, and a diary foretells each wreck."


def test_a_book_becomes_a_screenplay_and_a_storyboard_that_open(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    books = _finished_book(settings)
    options = {
        "minutes": 12,
        "form": "short",
        "pause_at": ["scenes"],
        "model": "fn:x",
        "seed": 1,
    }
    with scripted_model(_reply):
        new_id, summary = start_adapt(books, "salt", options, None)
        assert new_id == "salt-screen" and "cast Mara, Tobias" in summary
        report = run_book(settings, new_id)
        assert report.halted_at == "screen_scenes"
        scenes = ScreenScenes.model_validate(books.store.get_artifact(new_id, "screen_scenes")[1])
        events = books.store.get_artifact(new_id, "events")[1]["events"]
        covered = {e for s in scenes.scenes for e in s.events} | {c.event for c in scenes.cut}
        assert covered == {e["id"] for e in events}  # every event covered or cut
        report = run_book(settings, new_id, approve=True)
    assert report.status.value == "completed" and report.job == "adapt"
    fountain = books.store.get_artifact(new_id, "screenplay")[1]["fountain"]
    assert problems(fountain, ["MARA", "TOBIAS"]) == []  # every scene parses, cast only
    assert fountain.startswith("Title: The Salt Lantern")
    kept_by_rule = [w for w in report.warnings if w.artifact == "screenplay"]
    assert kept_by_rule and len(kept_by_rule) < len(scenes.scenes)  # some scenes the model's
    board = Storyboard.model_validate(books.store.get_artifact(new_id, "storyboard")[1])
    for panel in board.panels:
        allowed = {c.split()[0].upper() for c in scenes.scenes[panel.scene - 1].characters}
        assert set(panel.characters) <= allowed
    folder = settings.book_dir(new_id)
    assert (folder / "screenplay.pdf").read_bytes().startswith(b"%PDF")
    pages = books.store.get_artifact(new_id, "running_time")[1]["pages"]
    assert pages >= 1
    root = ET.fromstring((folder / "screenplay.fdx").read_text(encoding="utf-8"))
    assert root.tag == "FinalDraft" and root.find("Content/Paragraph") is not None
    assert "<html" in (folder / "screenplay.html").read_text(encoding="utf-8")
    page = (folder / "storyboard.html").read_text(encoding="utf-8")
    assert page.count("<figure") == len(board.panels) and "<svg" in page
    assert _pdf_pages(folder / "storyboard.pdf") >= 1  # the storyboard PDF has pages
    # The judge gave no usable verdict ("Mara keeps the light ..."): the rule checks decide.
    critique = books.store.get_artifact(new_id, "critique")[1]
    assert critique["judged"] is False and critique["round"] == 1


def test_an_edited_screenplay_is_refused_with_its_line_number(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    books = _finished_book(settings)
    options = {
        "minutes": 12,
        "form": "short",
        "pause_at": ["screenplay"],
        "model": "fn:x",
        "seed": 1,
    }
    with scripted_model(_reply):
        new_id, _ = start_adapt(books, "salt", options, "cut")
        assert run_book(settings, new_id).halted_at == "screenplay"
    edit = tmp_path / "screenplay.json"
    edit.write_text('{"fountain": "Title: X\\n\\nJust words.\\n\\n(beat)\\n"}', encoding="utf-8")
    with pytest.raises(InvalidArtifact, match=re.escape("no scene heading")):
        books.read_edit(new_id, edit)
    # Approved as it is, the adaptation finishes: no workflow is left waiting in this process.
    with scripted_model(_reply):
        assert run_book(settings, new_id, approve=True).status.value == "completed"


def _pdf_pages(path: Path) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path.read_bytes())
    try:
        return len(document)
    finally:
        document.close()


SCENE = "Write only the scene's body"
JUDGE = "Judge the treatment"
REDONE = "An earlier treatment was refused"
FIXED = "Mara finds the diary in the storeroom, so she knows which night the ship will come."


def _judged(prompt: str, passes: bool) -> str:
    """The critique: a causal gap until the treatment says how Mara knows (when `passes`)."""
    if passes and "finds the diary" in prompt:
        return "NONE\nVERDICT: PASS"
    return "gap | E2 has no cause: nothing shows how Mara learns of the wreck\nVERDICT: FAIL"


def _scene_reply(prompt: str) -> str:
    """Meta talk first (or a cue with no words under it), a sound scene once re-asked."""
    if "The scene was refused" in prompt:
        return GOOD
    if "lamp" in prompt:
        return "Sure! Here is the scene:\n\n" + GOOD
    return "Rain lashes the glass.\n\nMARA\n\nThere is a ship out there."


def test_a_failed_critique_redoes_the_treatment_and_scenes_are_reasked(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    books = _finished_book(settings)
    options = {"minutes": 12, "form": "short", "pause_at": [], "model": "fn:x", "seed": 1}

    def reply(prompt: str) -> str:
        if SCENE in prompt:
            return _scene_reply(prompt)
        if JUDGE in prompt:
            return _judged(prompt, passes=True)
        return FIXED if REDONE in prompt else "Mara keeps the light as the storm closes in."

    with scripted_model(reply) as prompts:
        new_id, _ = start_adapt(books, "salt", {**options, "pause_at": ["critique"]}, None)
        assert run_book(settings, new_id).halted_at == "critique"
        asked = len(prompts)
        DBOS.destroy()  # the process ends: the next one replays the rounds from their steps
        report = run_book(settings, new_id, approve=True)
    assert report.status.value == "completed"
    assert not [p for p in prompts[asked:] if JUDGE in p or "treatment of act" in p]
    store = books.store
    # The first treatment failed its critique and was redone: a new version, the old kept.
    first, latest = (
        store.get_artifact(new_id, "treatment", 1),
        store.get_artifact(new_id, "treatment"),
    )
    assert first is not None and latest is not None and latest[0] == 2
    assert FIXED not in str(first[1]) and FIXED in str(latest[1])
    failed = store.get_artifact(new_id, "critique", 1)[1]
    assert failed["passed"] is False and failed["judged"] and failed["redo"]
    assert any(i.startswith("gap: E2 has no cause") for i in failed["issues"])
    critique = store.get_artifact(new_id, "critique")[1]
    assert critique["passed"] and critique["judged"] and critique["round"] == 2
    redone = [p for p in prompts if REDONE in p]
    assert redone and all("gap: E2 has no cause" in p for p in redone)
    assert not [w for w in report.warnings if w.field == "adapt.critique"]
    # Meta talk and a cue without its words were re-asked with the reason, then passed.
    assert any("talk about the answer; write the scene itself" in p for p in prompts)
    assert any("MARA is a cue with no dialogue under it" in p for p in prompts)
    assert not [w for w in report.warnings if w.artifact == "screenplay"]
    fountain = store.get_artifact(new_id, "screenplay")[1]["fountain"]
    assert "Sure!" not in fountain and problems(fountain, ["MARA", "TOBIAS"]) == []
    # `export --format all` of an adaptation writes its screenplay and storyboard files.
    out = tmp_path / "out"
    written = {p.name for p in export_book(books, new_id, "all", out).paths}
    assert {"screenplay.fountain", "screenplay.pdf", "storyboard.pdf"} <= written
    assert _pdf_pages(out / "storyboard.pdf") >= 1


def test_a_critique_that_never_passes_keeps_the_best_treatment_with_a_warning(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path / "home")
    books = _finished_book(settings)
    options = {"minutes": 12, "form": "short", "pause_at": [], "model": "fn:x", "seed": 1}

    def reply(prompt: str) -> str:
        if SCENE in prompt:
            return GOOD
        if JUDGE in prompt:
            return _judged(prompt, passes=False)
        return FIXED if REDONE in prompt else "Mara keeps the light as the storm closes in."

    with scripted_model(reply) as prompts:
        new_id, _ = start_adapt(books, "salt", options, None)
        report = run_book(settings, new_id)
    assert report.status.value == "completed"  # a warning, not a failure
    assert sum(JUDGE in p for p in prompts) == 3  # the first treatment and two redos
    assert books.store.get_artifact(new_id, "treatment")[0] == 3
    critique = books.store.get_artifact(new_id, "critique")[1]
    assert critique["passed"] is False and critique["round"] == 3
    [warning] = [w for w in report.warnings if w.field == "adapt.critique"]
    assert warning.artifact == "treatment" and warning.kept == "best_answer"
    assert "E2 has no cause" in warning.check and warning.attempts == 3


def test_a_scene_answer_is_read_as_fountain_and_refused_with_the_reason() -> None:
    cast = ["MARA", "TOBIAS"]
    heading = "INT. TOWER - NIGHT"
    assert read_scene(f"{heading}\n\n{GOOD}", heading, cast).usable  # its own heading dropped
    refused = {
        "```\n" + GOOD + "\n```": "a markdown fence",
        "Sure! Here is the scene:\n\n" + GOOD: "talk about the answer",
        GOOD + "\n\nNote: the lamp stands for hope.": "a note to the reader",
        GOOD + "\n\n[[check the tide]]": "a note to the reader ([[...]])",
        GOOD + "\n\nI hope this works for you!": "talk to the reader",
        "## The tower\n\n" + GOOD: "a markdown heading",
        "Rain.\n\nMARA\n\nThere is a ship.": "line 3: MARA is a cue with no dialogue",
        "MARA\nThere is a ship.": "the scene has no action",
        "Rain.\n\nMARA\nA ship.\n(beat)": "a parenthetical after MARA's last words",
        "Rain.\nEXT. REEF - NIGHT\nWaves.": "does not parse as a scene heading",
        GOOD + "\n\nEXT. REEF - NIGHT\n\nWaves.": "starts another scene",
        "Rain.\n\nNOBODY\nHello.": "NOBODY is not in the book's cast",
    }
    for answer, why in refused.items():
        reading = read_scene(answer, heading, cast)
        assert not reading.usable and why in reading.reason(), (answer, reading.dropped)
    # A character may say "Sure!" or "Let me know": only what is said to the reader counts.
    spoken = "Rain.\n\nMARA\nSure! Let me know when the ship comes."
    assert read_scene(spoken, heading, cast).usable


def test_a_judge_answer_is_read_line_by_line() -> None:
    events = {"E1", "E2", "E3"}
    reading = parse_critique(
        "- **Gap** | E2 follows from nothing shown before it\n"
        "faithful | E9 is not in the book at all, it is invented\n"
        "time | too long\nVerdict: FAIL",
        events,
    )
    assert reading.usable and reading.passed is False
    assert reading.notes() == ["gap: E2 follows from nothing shown before it"]
    assert any("E9, which is no event" in d for d in reading.dropped)
    assert parse_critique(reading.canonical(), events).notes() == reading.notes()
    assert parse_critique("NONE", events).passed is True
    assert not parse_critique("VERDICT: FAIL", events).usable  # a FAIL with no reason
    assert not parse_critique("The treatment is lovely.", events).usable


def test_a_script_written_as_screenwriters_write_them_is_sound_and_renders() -> None:
    """Title page, transitions, extensions (V.O., CONT'D), dual dialogue, a note, a forced
    heading, centred text and a boneyard: every part of Fountain a real script uses."""
    from bookwright.jobs.adapt import render
    from bookwright.model.adapt import Screenplay

    script = (
        Path(__file__).parent / "fixtures" / "fountain" / "the-last-ferry.fountain"
    ).read_text()
    cast = ["NORA", "NORA KEANE", "TOM", "TOM FARRELL", "MAGGIE"]
    assert problems(script, cast) == []  # RADIO (V.O.) speaks without being in the cast
    assert Screenplay(fountain=script).fountain == script  # what approve --edit checks
    pdf, pages = render.pdf_bytes(script)
    assert pdf.startswith(b"%PDF") and pages >= 1
    root = ET.fromstring(render.fdx(script))
    assert root.tag == "FinalDraft" and root.find("Content") is not None
    assert "NORA" in render.html(script)
    broken = script.replace("NORA\n(shouting)\nTom! Tom, wait!", "NORA\n\nTom! Tom, wait!")
    assert any(
        "NORA is a cue with no dialogue" in p or "has a cue and no" in p
        for p in problems(broken, cast)
    )
    stranger = script.replace("TOM\nYou're late.", "HARBOURMASTER FINN\nYou're late.")
    assert problems(stranger, cast) == [
        "line 23: HARBOURMASTER FINN is not in the book's cast "
        "(MAGGIE, NORA, NORA KEANE, TOM, TOM FARRELL)"
    ]


@pytest.mark.slow
def test_the_dashboard_reviews_every_stage_of_an_adaptation_and_links_its_files(
    tmp_path: Path,
) -> None:
    from fastapi.testclient import TestClient

    from bookwright.model.adapt import ADAPT_STAGES
    from bookwright.web.app import create_app

    settings = Settings(home=tmp_path / "home")
    books = _finished_book(settings)
    options = {"minutes": 12, "form": "short", "pause_at": list(ADAPT_STAGES), "model": "fn:x"}
    halts = []
    with scripted_model(_reply):
        new_id, _ = start_adapt(books, "salt", {**options, "seed": 1}, None)
        report = run_book(settings, new_id)
        while report.status.value == "halted":
            halts.append(report.halted_at)
            DBOS.destroy(workflow_completion_timeout_sec=0)
            with TestClient(create_app(settings), base_url="http://localhost") as client:
                page = client.get(f"/books/{new_id}/review")
                assert page.status_code == 200, (report.halted_at, page.text[:300])
                assert str(report.halted_at) in page.text and "<form" in page.text
            report = run_book(settings, new_id, approve=True)
    assert report.status.value == "completed"
    assert len(halts) == len(ADAPT_STAGES)  # one review per stage, each page served
    DBOS.destroy(workflow_completion_timeout_sec=0)
    with TestClient(create_app(settings), base_url="http://localhost") as client:
        page = client.get(f"/books/{new_id}").text
        for name in ("screenplay.html", "screenplay.pdf", "storyboard.html", "storyboard.pdf"):
            assert f"/api/books/{new_id}/files/{name}" in page
        board = client.get(f"/api/books/{new_id}/files/storyboard.html")
        assert board.status_code == 200 and "<svg" in board.text
