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
from bookwright.jobs.adapt.fountain import from_prose, problems
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
