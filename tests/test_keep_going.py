"""No book fails because of what the model writes: a field or a scene without an
acceptable answer after its attempts keeps the best answer (a stand-in for a name),
with a warning in `status`; `--strict` stops as before. In process, on the scripted
model server told to answer some prompts with what the checks refuse."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS
from typer.testing import CliRunner

from bookwright.cli import app
from bookwright.engine.books import Books
from bookwright.engine.ids import book_workflow_id
from bookwright.engine.messages import resume_message
from bookwright.engine.runner import run_book
from bookwright.model import BookSpec, Cast
from bookwright.settings import ProviderSettings, Settings
from bookwright.stages.asks import Ask
from bookwright.stages.stand_ins import stand_in
from tests.conftest import SMALL_BOOK
from tests.scripted_server import ScriptedServer

# The small test book, in process and unjudged; the seed is pinned: it must complete.
SPEC = {**SMALL_BOOK, "temperature": 0.0, "judge": False, "model": "scripted:m"}
# The villain's name is never a name.
BAD = {
    "the villain who works against the hero": "The Lighthouse Keeper waits.",
}


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    yield
    DBOS.destroy()


def settings_for(tmp_path: Path, server: ScriptedServer) -> Settings:
    return Settings(
        home=tmp_path / "home", providers={"scripted": ProviderSettings(base_url=server.base_url)}
    )


def test_a_book_without_acceptable_answers_completes_with_warnings(tmp_path: Path) -> None:
    with ScriptedServer(replies={**BAD, "Write the next scene": "Too short, again."}) as server:
        settings = settings_for(tmp_path, server)
        books = Books(settings)
        books.create(BookSpec(**SPEC), "keep")  # type: ignore[arg-type]
        report = run_book(settings, "keep")
    assert report.status.value == "completed", report.error
    by_field = {(w.field, w.chapter, w.scene): w for w in report.warnings}

    name = by_field[("characters.antagonist.name", None, None)]
    assert (name.stage, name.artifact, name.kept) == ("characters", "characters", "stand_in")
    assert name.check == "Give this character a new first and last name."
    assert name.attempts == 6
    cast = Cast.model_validate(books.store.get_artifact("keep", "characters")[1])  # type: ignore[index]
    hero, villain = (c.name for c in cast.characters)
    assert villain == name.value
    # Deterministic, from the book's seed: the same stand-in every time.
    question = Ask("characters.antagonist.name", "planner", "x", {}, "name", 40, avoid=(hero,))
    assert villain == stand_in(question, 5) and villain != hero

    writes = sorted(k for k in by_field if k[0] == "write")
    assert writes == [("write", 1, 1), ("write", 1, 2), ("write", 2, 1), ("write", 2, 2)]
    draft = by_field[("write", 1, 2)]
    assert (draft.stage, draft.artifact, draft.kept) == ("chapters", "draft:1:2", "best_answer")
    assert "too short" in draft.check and draft.value == "Too short, again."
    assert books.store.get_artifact("keep", "draft:1:2")[1]["text"].startswith("Too short")  # type: ignore[index]

    shown = CliRunner().invoke(app, ["status", "keep"], env={"BOOKWRIGHT_HOME": str(settings.home)})
    assert shown.exit_code == 0
    assert "5 answer(s) kept without passing their checks" in shown.output
    assert "characters.antagonist.name: kept a stand-in" in shown.output


def test_strict_stops_as_before_and_resumes(tmp_path: Path) -> None:
    with ScriptedServer(replies=dict(BAD)) as server:
        settings = settings_for(tmp_path, server)
        books = Books(settings)
        books.create(BookSpec(**SPEC, strict=True), "strict")  # type: ignore[arg-type]
        report = run_book(settings, "strict")
        assert report.status.value == "failed"
        assert report.error_class == "invalid_output"
        assert "no usable characters.antagonist.name in 6 attempts" in (report.error or "")
        assert report.warnings == []

        server.replies.clear()  # the model does better next time
        book = books.get("strict")
        assert book.waiting_workflow and book.wait_token
        DBOS.send(book.waiting_workflow, resume_message(book.wait_token), topic="resume")
        result = DBOS.retrieve_workflow(book_workflow_id("strict")).get_result()
    assert result == "completed" and books.status("strict").warnings == []
