"""The `adapt` job's durable workflow: events, treatment, screen scenes, the critique (rule
checks and a judge; a failed one redoes the treatment, a bounded number of times), the
screenplay a scene at a time (each checked as Fountain and re-asked with the reason),
the storyboard, then the files. Each stage's artifact is a pause point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dbos import DBOS

from bookwright.engine.asking import NOT_WAITING, make_ask, wait_for_message
from bookwright.engine.runtime import runtime
from bookwright.engine.states import approve_topic
from bookwright.engine.steps import (
    book_state_step,
    load_artifact_step,
    load_spec_step,
    save_artifact_step,
    warning_step,
    write_file_step,
)
from bookwright.jobs.adapt import render
from bookwright.jobs.adapt.critique import critique_ask, verdict
from bookwright.jobs.adapt.fountain import FORMAT_HINT, from_prose
from bookwright.jobs.adapt.plan import (
    acts,
    book_events,
    screen_scenes,
    storyboard,
    treatment_of,
)
from bookwright.model import Manuscript
from bookwright.model.adapt import (
    AdaptSpec,
    Critique,
    Events,
    Screenplay,
    ScreenScenes,
    Storyboard,
    Treatment,
)
from bookwright.stages.asks import Ask, AskFn

WORKFLOW_NAME = "adapt"
STAGE_ARTIFACT = {"scenes": "screen_scenes"}  # the adapt stage -> the artifact it halts on
# A failed critique redoes the treatment at most this often, then the best one is kept
# with a warning. A constant, not a setting: the step sequence must replay identically.
TREATMENT_REDOS = 2
CRITIQUE_PATCH = "adapt-critique-judge"  # DBOS.patch: runs before it checked by rule alone
STORYBOARD_PDF_PATCH = "adapt-storyboard-pdf"  # DBOS.patch: runs before it wrote no PDF


def artifact_of_stage(stage: str) -> str:
    return STAGE_ARTIFACT.get(stage, stage)


@DBOS.step(name="adapt_pdf")
def pdf_step(book_id: str, fountain: str) -> int:
    """The screenplay PDF in the book's folder; returns its pages of script."""
    data, pages = render.pdf_bytes(fountain)
    path = runtime().settings.book_dir(book_id) / render.FILES["pdf"]
    tmp = path.with_suffix(".pdf.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return pages


@DBOS.step(name="adapt_storyboard_pdf")
def storyboard_pdf_step(book_id: str, board: dict[str, Any], title: str) -> int:
    """The storyboard PDF in the book's folder; returns its pages."""
    data, pages = render.storyboard_pdf(Storyboard.model_validate(board), title)
    path = runtime().settings.book_dir(book_id) / render.FILES["storyboard_pdf"]
    tmp = path.with_suffix(".pdf.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return pages


def _stage(
    book_id: str, spec: AdaptSpec, stage: str, produce: Callable[[], Any], schema: Any
) -> Any:
    name = artifact_of_stage(stage)
    book_state_step(book_id, current_stage=stage)
    if load_artifact_step(book_id, name) is None:
        save_artifact_step(book_id, name, produce().model_dump(mode="json"))
    return _halt(book_id, spec, stage, schema)


def _halt(book_id: str, spec: AdaptSpec, stage: str, schema: Any) -> Any:
    """Wait for the author's approval when the book pauses at this stage; return the
    stage's artifact as it is then (edited or not)."""
    name = artifact_of_stage(stage)
    if stage in spec.pause_at:
        wait_for_message(book_id, approve_topic(name), status="halted", halted_at=name)
        book_state_step(book_id, status="processing", halted_at=None, **NOT_WAITING)
    return schema.model_validate(load_artifact_step(book_id, name))


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
def adapt_workflow(book_id: str) -> str:
    spec = AdaptSpec.model_validate(load_spec_step(book_id))
    book_state_step(book_id, status="processing", error=None, error_class=None)
    book = Manuscript.model_validate(load_artifact_step(book_id, "manuscript"))
    plans = load_artifact_step(book_id, "source_scenes") or {}
    cast: list[str] = (load_artifact_step(book_id, "source_cast") or {}).get("names", [])
    places: list[str] = (load_artifact_step(book_id, "source_places") or {}).get("names", [])
    ask = make_ask(book_id, spec, "adapt")

    events: Events = _stage(
        book_id,
        spec,
        "events",
        lambda: book_events(book, {int(k): v for k, v in plans.items()}),
        Events,
    )
    groups = acts(events)

    def write_treatment(asking: AskFn = ask, notes: Sequence[str] = ()) -> Treatment:
        summaries = [
            asking(_act_ask(spec, book, i + 1, group, list(notes)))
            for i, group in enumerate(groups)
        ]
        return treatment_of(groups, summaries)

    treatment: Treatment = _stage(book_id, spec, "treatment", write_treatment, Treatment)
    scenes: ScreenScenes = _stage(
        book_id,
        spec,
        "scenes",
        lambda: screen_scenes(book, events, cast, places, spec),
        ScreenScenes,
    )
    if DBOS.patch(CRITIQUE_PATCH):
        book_state_step(book_id, current_stage="critique")
        if load_artifact_step(book_id, "critique") is None:
            _critique_rounds(book_id, spec, book, events, treatment, scenes, ask, write_treatment)
        _halt(book_id, spec, "critique", Critique)
    else:  # recorded before the judge: the rule checks alone, as it ran then
        _stage(
            book_id,
            spec,
            "critique",
            lambda: verdict(events, treatment, scenes, spec),
            Critique,
        )

    def write_screenplay() -> Screenplay:
        parts = [render.title_page(spec.title, spec.author, book.title)]
        for scene in scenes.scenes:
            chapter = book.chapters[scene.chapter - 1]
            prose = "\n\n".join(chapter.scenes[i - 1] for i in scene.scenes)
            question = _scene_ask(spec, scene, prose, cast)
            body = ask(question)
            if body == question.fallback:
                warning_step(book_id, _by_rule(scene.number))
            parts.append(f"{scene.slugline}\n\n{body.strip()}\n\n")
        return Screenplay(fountain="".join(parts))

    screenplay: Screenplay = _stage(book_id, spec, "screenplay", write_screenplay, Screenplay)
    board: Storyboard = _stage(
        book_id, spec, "storyboard", lambda: storyboard(screenplay.fountain, scenes), Storyboard
    )
    book_state_step(book_id, current_stage="export")
    write_file_step(render.FILES["fountain"], book_id, screenplay.fountain)
    pages = pdf_step(book_id, screenplay.fountain)
    write_file_step(render.FILES["fdx"], book_id, render.fdx(screenplay.fountain))
    write_file_step(render.FILES["html"], book_id, render.html(screenplay.fountain))
    write_file_step(render.FILES["storyboard"], book_id, render.storyboard_html(board, spec.title))
    write_file_step(render.FILES["storyboard_json"], book_id, render.storyboard_json(board))
    if DBOS.patch(STORYBOARD_PDF_PATCH):
        storyboard_pdf_step(book_id, board.model_dump(mode="json"), spec.title)
    save_artifact_step(
        book_id,
        "running_time",
        {"pages": pages, "estimated_minutes": pages, "target_minutes": spec.minutes},
    )
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


def _critique_rounds(
    book_id: str,
    spec: AdaptSpec,
    book: Manuscript,
    events: Events,
    treatment: Treatment,
    scenes: ScreenScenes,
    ask: AskFn,
    write_treatment: Callable[..., Treatment],
) -> None:
    """Judge the treatment; a critique that fails for what a new treatment can fix redoes
    it (a new version; the old ones are kept) with the critique's issues as notes, at most
    TREATMENT_REDOS times. Still failing, the treatment with the fewest issues is kept
    (saved again as the latest version when it was an earlier one) with a warning."""
    tried: list[tuple[Treatment, Critique]] = []
    for round_ in range(1, TREATMENT_REDOS + 2):
        asking = ask if round_ == 1 else make_ask(book_id, spec, "adapt", {"attempt": round_})
        if tried:
            treatment = write_treatment(asking, tried[-1][1].issues)
            save_artifact_step(book_id, "treatment", treatment.model_dump(mode="json"))
        checks = verdict(events, treatment, scenes, spec).issues
        judged = asking(critique_ask(spec, book.title, events, treatment, checks, round_))
        found = verdict(events, treatment, scenes, spec, judged, round_)
        save_artifact_step(book_id, "critique", found.model_dump(mode="json"))
        tried.append((treatment, found))
        if found.passed or not found.redo:
            break
    if tried[-1][1].passed:
        return
    best_round = min(range(len(tried)), key=lambda i: (len(tried[i][1].issues), -i))
    best, best_critique = tried[best_round]
    if best_round != len(tried) - 1:  # an earlier treatment was better: it is the latest again
        save_artifact_step(book_id, "treatment", best.model_dump(mode="json"))
        save_artifact_step(book_id, "critique", best_critique.model_dump(mode="json"))
    warning_step(book_id, _critique_failed(best_critique, len(tried)))


def _critique_failed(found: Critique, rounds: int) -> dict[str, Any]:
    return {
        "stage": "adapt",
        "chapter": None,
        "scene": None,
        "field": "adapt.critique",
        "artifact": "treatment",
        "check": "; ".join(found.issues)[:1000] or "the critique failed",
        "kept": "best_answer",
        "value": (
            f"the treatment of round {found.round} of {rounds}, with the fewest issues "
            f"({len(found.issues)})"
            if found.redo or rounds > 1
            else "the treatment: the scenes' running time is no treatment's to fix"
        ),
        "attempts": rounds,
    }


def _by_rule(number: int) -> dict[str, Any]:
    return {
        "stage": "adapt",
        "chapter": None,
        "scene": number,
        "field": f"adapt.scene.{number}",
        "artifact": "screenplay",
        "check": "no answer parsed as a Fountain scene with the book's cast",
        "kept": "stand_in",
        "value": "the scene is the book's text by rule: narration as action, speech as dialogue",
        "attempts": 3,
    }


def _act_ask(
    spec: AdaptSpec, book: Manuscript, number: int, group: list[Any], notes: list[str]
) -> Ask:
    events = [e.text for e in group][:30]
    return Ask(
        label=f"adapt.treatment.{number}",
        role="planner",
        template="adapt_act.j2",
        variables={
            "title": book.title,
            "act": number,
            "events": events,
            "minutes": spec.minutes,
            "notes": notes[:6],
        },
        kind="sentences",
        max_tokens=220,
        fallback=" ".join(events)[:1200],
    )


def _scene_ask(spec: AdaptSpec, scene: Any, prose: str, cast: list[str]) -> Ask:
    words = prose.split()
    return Ask(
        label=f"adapt.scene.{scene.number}",
        role="writer",
        template="adapt_scene.j2",
        variables={
            "title": spec.title,
            "slugline": scene.slugline,
            "characters": [c.split()[0].upper() for c in scene.characters] or ["(none named)"],
            "pages": scene.pages,
            "text": " ".join(words[:700]),
        },
        kind="lines",
        max_tokens=500,
        fallback=from_prose(prose, cast),
        scene=scene.number,
        extra={
            "lines": "fountain",
            "attempts": 3,
            # A cue is a first name (as the prompt asks) or the full name.
            "cast": sorted({n.upper() for c in cast for n in (c.split()[0], " ".join(c.split()))}),
            "format_hint": FORMAT_HINT,
        },
    )
