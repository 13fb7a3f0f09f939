"""The checks that need no model run on every book, judge or not, and what they find
drives an edit. In process, on the scripted model server told to write a loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS

from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.model import BookSpec
from bookwright.settings import ProviderSettings, Settings
from tests.conftest import SMALL_BOOK
from tests.scripted_server import ScriptedServer

# The small test book, in process and unjudged; the seed is pinned: it must complete.
SPEC = {**SMALL_BOOK, "chapters": 1, "temperature": 0.0, "judge": False, "model": "scripted:m"}
LOOP = "the keeper's gaze wandered up to a window"
LOOPING = (
    f"Mara climbed the stair with the lamp. Then {LOOP}, and {LOOP}, and {LOOP}. "
    "Rain hammered the glass while the harbour bell rang twice below the cliff, and "
    "somewhere a gull cried over the black water. She counted the ships in the ledger, "
    "folded the chart, and waited for the signal that never came that night."
)
CLEAN = (
    "Mara climbed the stair with the lamp and looked out once at the window. Rain "
    "hammered the glass while the harbour bell rang twice below the cliff, and somewhere "
    "a gull cried over the black water. She counted the ships in the ledger, folded the "
    "chart, and listened for the signal that never came that night, her breath fogging "
    "the cold pane as the tide turned."
)
REPLIES = {"Write the next scene": LOOPING, "Above all: say only once": CLEAN}


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    yield
    DBOS.destroy()


def write(tmp_path: Path, **spec: object) -> Books:
    with ScriptedServer(replies=dict(REPLIES)) as server:
        settings = Settings(
            home=tmp_path / "home",
            providers={"scripted": ProviderSettings(base_url=server.base_url)},
        )
        books = Books(settings)
        books.create(BookSpec(**{**SPEC, **spec}), "b")  # type: ignore[arg-type]
        assert run_book(settings, "b").status.value == "completed"
    return books


def test_a_book_without_the_judge_has_its_loops_edited_out(tmp_path: Path) -> None:
    books = write(tmp_path)
    assert books.get("b").spec["checks"] is True  # recorded when the book was created
    version, data = books.store.get_artifact("b", "scene:1:1")  # type: ignore[misc]
    assert version == 2 and data["text"] == CLEAN
    assert data["checks"] == [
        "say only once what is repeated ('the keeper gaze wandered' occurs 3 times);"
    ]
    # Scene 2's draft was cut to its budget before the third repeat: nothing to fix.
    version, data = books.store.get_artifact("b", "scene:1:2")  # type: ignore[misc]
    assert version == 1 and data["text"].count(LOOP) < 3
    text = (books.settings.book_dir("b") / "manuscript.md").read_text()
    assert all(paragraph.count(LOOP) < 3 for paragraph in text.split("\n\n"))
    edits = [
        (r["scene"], r["error_class"]) for r in books.store.requests("b") if r["field"] == "edit"
    ]
    # Scene 1's looping draft (kept after every write was refused for its loop) is refused
    # at each of its edit's four tries, scene 2's edit passes, then one more edit for what
    # the checks found.
    assert edits == [(1, "invalid_output")] * 4 + [(2, None), (1, None)]


def test_a_book_created_before_goes_on_as_it_began(tmp_path: Path) -> None:
    books = write(tmp_path, checks=False)  # what a book created by older code behaves as
    version, data = books.store.get_artifact("b", "scene:1:1")  # type: ignore[misc]
    assert version == 1 and LOOP in data["text"]
    edits = [
        (r["scene"], r["error_class"]) for r in books.store.requests("b") if r["field"] == "edit"
    ]
    assert edits == [(1, "invalid_output")] * 4 + [(2, None)]  # no edit for the checks


def test_a_novel_on_the_builtin_135m_model_is_not_judged_unless_it_asks(tmp_path: Path) -> None:
    """Left unset, the judge is off on the built-in SmolLM2-135M (its verdicts are noise)
    and on everywhere else: a GGUF of the user's own, any provider. Asked for, it is on."""
    from bookwright.settings import EmbeddedSettings

    spec = {k: v for k, v in SPEC.items() if k not in ("judge", "model")}
    builtin = Books(Settings(home=tmp_path / "a"))
    own = Books(Settings(home=tmp_path / "b", embedded=EmbeddedSettings(gguf_path="/m.gguf")))
    hosted = Books(
        Settings(home=tmp_path / "c", providers={"p": ProviderSettings(base_url="http://x/v1")})
    )
    cases = [
        (builtin, {"model": "local"}, False),
        (builtin, {"model": "local", "judge": True}, True),
        (own, {"model": "local"}, True),
        (hosted, {"model": "p:m"}, True),
        (hosted, {"model": "p:m", "judge": False}, False),
    ]
    for number, (books, more, judged) in enumerate(cases):
        book = books.create(BookSpec(**{**spec, **more}), f"b{number}")  # type: ignore[arg-type]
        assert books.get(book).spec["judge"] is judged, (number, more)
