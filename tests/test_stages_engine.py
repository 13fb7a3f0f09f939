"""Stages with a scripted pydantic-ai model, and the engine in process."""

from __future__ import annotations

from pathlib import Path

from dbos import DBOS, SetWorkflowID

from bookwright.engine.books import Books
from bookwright.engine.ids import book_workflow_id
from bookwright.engine.runner import run_book
from bookwright.jobs.novel.cast import make_characters, make_locations
from bookwright.jobs.novel.outline import make_outline, make_scene_list
from bookwright.jobs.novel.plan import make_plan
from bookwright.jobs.novel.workflow import book_workflow
from bookwright.llm import CompletionRequest, LLMClient
from bookwright.model import BookSpec
from bookwright.settings import Settings
from bookwright.stages import Ask
from bookwright.stages.answers import ask_until_valid
from bookwright.stages.prose import BEFORE_CHARS, scene_vars, write_scene
from tests.conftest import SMALL_BOOK
from tests.scripted_model import scripted_model

SPEC = BookSpec(**{**SMALL_BOOK, "characters": 3}, model="fn:x")  # the cast test has three roles


def test_stages_assemble_valid_artifacts_from_short_answers(tmp_path: Path) -> None:
    client = LLMClient(Settings(home=tmp_path))

    def ask(question: Ask) -> str:
        def send(request: dict) -> tuple[str, str | None]:
            done = client.complete("fn:x", CompletionRequest(**request))
            return done.text, done.finish_reason

        return ask_until_valid(question, send, temperature=0.7, seed=1)

    with scripted_model() as prompts:
        plan = make_plan(SPEC, ask)
        cast = make_characters(SPEC, plan, ask)
        places = make_locations(SPEC, plan, ask)
        outline = make_outline(SPEC, plan, cast, ask)
        scenes = make_scene_list(SPEC, plan, cast, places, outline.chapter(2), ask)
        variables = scene_vars(SPEC, plan, cast, places, outline.chapter(2), scenes.scenes[0])
        long_before = "An earlier paragraph. " * 200
        prose = write_scene(SPEC, variables, long_before, ask, 2, 1)

    assert plan.title == "The Salt Lantern" and plan.themes == ["trust", "memory", "the sea"]
    assert [c.name for c in cast.characters] == ["Mara Quill", "Tobias Grent", "Ines Alder"]
    assert [c.role for c in cast.characters] == ["protagonist", "antagonist", "ally"]
    assert [loc.name for loc in places.locations] == ["The North Tower", "Gull Rock Harbour"]
    assert [c.depends_on for c in outline.chapters] == [[], [1]]
    assert scenes.chapter == 2 and scenes.scenes[0].characters == ["Mara Quill", "Tobias Grent"]
    assert scenes.scenes[0].location == "The North Tower"
    assert len(prose.split()) >= 60
    # Bounded context: the scene prompt carries the end of the text so far, never all of it.
    write_prompt = prompts[-1]
    assert write_prompt.startswith("The story so far ends with:")
    assert len(write_prompt) < BEFORE_CHARS + 600
    assert "Scene: " + scenes.scenes[0].summary in write_prompt


def test_engine_runs_a_book_in_process_and_never_pays_twice(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    books = Books(settings)
    with scripted_model() as prompts:
        book_id = books.create(SPEC, "inproc")
        try:
            report = run_book(settings, book_id)
            assert report.status.value == "completed"
            assert report.llm.requests_sent == len(prompts) > 0
            paid = len(prompts)
            # Counter and replay: starting the same workflow id again sends nothing.
            with SetWorkflowID(book_workflow_id(book_id)):
                assert DBOS.start_workflow(book_workflow, book_id).get_result() == "completed"
            assert len(prompts) == paid
            assert books.status(book_id).llm.requests_sent == paid
        finally:
            DBOS.destroy()
    names = books.store.artifact_names(book_id)
    assert names[:5] == ["plan", "characters", "locations", "outline", "scenes"]
    assert {"draft:1:1", "scene:2:2", "chapter:2", "manuscript"} <= set(names)
    assert (settings.book_dir(book_id) / "manuscript.md").read_text().count("## Chapter") == 2
