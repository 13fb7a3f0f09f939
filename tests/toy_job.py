"""A second job that lives in the tests: the engine's contract for contributors, proved.

Two stages (`notes`, then `text`), one pause point (after `notes`), its own spec, artifact
type and prompt templates, registered from outside the package the way a job of another
package is (`bookwright.jobs.register`; such a package declares the module in the
`bookwright.jobs` entry-point group so every process imports it). Nothing in bookwright
knows this job; status, resume, pause, approve --edit, show, errors, stats, export, list
and the API serve it as they serve the novel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from dbos import DBOS
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bookwright.engine.asking import NOT_WAITING, make_ask, wait_for_message
from bookwright.engine.states import approve_topic
from bookwright.engine.steps import (
    book_state_step,
    chapter_state_step,
    init_chapters_step,
    load_artifact_step,
    load_spec_step,
    save_artifact_step,
)
from bookwright.errors import BookwrightError, UsageError, first_error
from bookwright.jobs import Job, register
from bookwright.model.artifacts import ARTIFACT_TYPES, Artifact, Chapter, Manuscript
from bookwright.stages.asks import Ask


class ToySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job: Literal["toy"] = "toy"
    title: str = Field(min_length=1, max_length=200)
    author: str = "A. Tester"
    model: str = "scripted:m"
    seed: int = 1
    temperature: float = 0.7
    pause_at: list[Literal["notes"]] = Field(default_factory=list)


class Notes(Artifact):
    points: list[str] = Field(min_length=1, max_length=6)


ARTIFACT_TYPES["notes"] = Notes


@DBOS.workflow(name="toy", max_recovery_attempts=None)
def toy_workflow(book_id: str) -> str:
    spec = ToySpec.model_validate(load_spec_step(book_id))
    book_state_step(book_id, status="processing", error=None, error_class=None)
    ask = make_ask(book_id, spec, "toy")

    book_state_step(book_id, current_stage="notes")
    if load_artifact_step(book_id, "notes") is None:
        listed = ask(
            Ask(
                label="toy.notes",
                role="planner",
                template="toy_notes.j2",
                variables={"title": spec.title},
                kind="list",
                max_tokens=40,
                fallback="a beginning, a middle, an end",
            )
        )
        points = [p.strip() for p in listed.split(",") if p.strip()]
        save_artifact_step(book_id, "notes", Notes(points=points).model_dump(mode="json"))
    if "notes" in spec.pause_at:  # the pause point: halt until approved (maybe edited)
        wait_for_message(book_id, approve_topic("notes"), status="halted", halted_at="notes")
        book_state_step(book_id, status="processing", halted_at=None, **NOT_WAITING)
    notes = Notes.model_validate(load_artifact_step(book_id, "notes"))

    book_state_step(book_id, current_stage="text")
    init_chapters_step(book_id, [{"number": 1, "title": spec.title, "depends_on": []}])
    chapter_state_step(book_id, 1, status="in_progress")
    scenes = [
        ask(
            Ask(
                label=f"toy.text.{i}",
                role="writer",
                template="toy_text.j2",
                variables={"title": spec.title, "point": point},
                kind="sentences",
                max_tokens=120,
                scene=i,
                extra={"sentences": 3},
            )
        )
        for i, point in enumerate(notes.points, start=1)
    ]
    words = sum(len(s.split()) for s in scenes)
    manuscript = Manuscript(
        title=spec.title,
        author=spec.author,
        chapters=[Chapter(number=1, title=spec.title, scenes=scenes)],
    )
    save_artifact_step(book_id, "manuscript", manuscript.model_dump(mode="json"))
    chapter_state_step(book_id, 1, status="completed", word_count=words)
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


def toy_commands(app: Any) -> None:
    """`bookwright toy --title T`: the job's own command, added to `bookwright`."""

    @app.command("toy")
    def toy(
        title: Annotated[str, typer.Option(help="Title of the piece.")],
        pause_at: Annotated[list[str] | None, typer.Option(help="Halt at: notes.")] = None,
        model: Annotated[str | None, typer.Option(help="`local` or PROVIDER:MODEL.")] = None,
        book_id: Annotated[str | None, typer.Option(help="Id of the book.")] = None,
        settings_file: Annotated[Path | None, typer.Option("--settings")] = None,
    ) -> None:
        """Write a toy piece: notes, then a sentence or three on each (a test job)."""
        from bookwright.cli_face import face

        commands = face()
        try:
            settings = commands.settings(settings_file)
            try:
                spec = ToySpec(
                    title=title,
                    pause_at=pause_at or [],  # type: ignore[arg-type]
                    model=model or settings.default_model,
                )
            except ValidationError as exc:
                first = first_error(exc)
                raise UsageError(f"Invalid {first.where}: {first.msg}", "Fix it") from None
            new_id = commands.books(settings).record(
                spec.model_dump(), spec.title, spec.model, book_id, name=spec.title
            )
        except BookwrightError as error:
            commands.fail(error)
        commands.run(settings, new_id)


register(
    Job("toy", toy_workflow, "toy", False, commands=toy_commands),
    prompts=Path(__file__).parent / "toy_prompts",
)
