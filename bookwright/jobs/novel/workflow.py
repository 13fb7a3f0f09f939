"""The durable workflows: one per book, one per chapter. Each model call is one step.

Workflow code is deterministic: everything that touches time, files, the store or a
model happens in a step (engine/steps.py), so a replay after a crash reaches exactly
the point where the crash happened without paying for anything twice.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bookwright.engine.asking import (
    NOT_WAITING,
    make_ask,
    stop_and_wait,
    wait_for_message,
)
from bookwright.engine.states import approve_topic
from bookwright.engine.steps import (
    book_state_step,
    chapter_queue_step,
    chapter_state_step,
    done_chapters_step,
    init_chapters_step,
    load_artifact_step,
    load_spec_step,
    save_artifact_step,
    write_file_step,
)
from bookwright.errors import (
    QualityFailed,
    StageFailed,
)
from bookwright.export.markdown import to_markdown
from bookwright.jobs.novel.cast import make_characters, make_locations
from bookwright.jobs.novel.chapters import chapter_workflow
from bookwright.jobs.novel.harmonize import harmonize_step
from bookwright.jobs.novel.outline import make_outline, make_scene_list
from bookwright.jobs.novel.plan import make_plan
from bookwright.model import (
    BookSpec,
    Cast,
    Chapter,
    Locations,
    Manuscript,
    Outline,
    SceneLists,
    Stage,
    StoryPlan,
)
from bookwright.model.artifacts import ARTIFACT_TYPES, Artifact
from bookwright.stages import AskFn

MANUSCRIPT_FILE = "manuscript.md"


def _stage(
    book_id: str, spec: BookSpec, stage: Stage, name: str, produce: Any, schema: type[Artifact]
) -> Any:
    """Run one planning stage unless its artifact exists, then halt there if asked."""
    book_state_step(book_id, current_stage=stage.value)
    existing = load_artifact_step(book_id, name)
    if existing is None:
        artifact = produce()
        save_artifact_step(book_id, name, artifact.model_dump(mode="json"))
    if stage in spec.pause_at:
        _halt(book_id, stage)
    data = load_artifact_step(book_id, name)
    return schema.model_validate(data)


def _halt(book_id: str, stage: Stage) -> None:
    wait_for_message(book_id, approve_topic(stage.value), status="halted", halted_at=stage.value)
    book_state_step(book_id, status="processing", halted_at=None, **NOT_WAITING)


@DBOS.workflow(name="book", max_recovery_attempts=None)  # paused for days is fine
def book_workflow(book_id: str) -> str:
    spec = BookSpec.model_validate(load_spec_step(book_id))
    book_state_step(book_id, status="processing", error=None, error_class=None)

    def ask(stage: Stage) -> AskFn:
        return make_ask(book_id, spec, stage)

    plan: StoryPlan = _stage(
        book_id, spec, Stage.plan, "plan", lambda: make_plan(spec, ask(Stage.plan)), StoryPlan
    )
    cast: Cast = _stage(
        book_id,
        spec,
        Stage.characters,
        "characters",
        lambda: make_characters(spec, plan, ask(Stage.characters)),
        Cast,
    )
    places: Locations = _stage(
        book_id,
        spec,
        Stage.locations,
        "locations",
        lambda: make_locations(spec, plan, ask(Stage.locations)),
        Locations,
    )
    outline: Outline = _stage(
        book_id,
        spec,
        Stage.outline,
        "outline",
        lambda: make_outline(spec, plan, cast, ask(Stage.outline)),
        Outline,
    )
    book_state_step(book_id, title=plan.title)
    init_chapters_step(
        book_id,
        [
            {
                "number": c.number,
                "title": c.title,
                "depends_on": c.depends_on,
                "target_words": spec.words_per_scene * spec.scenes_per_chapter,
            }
            for c in outline.chapters
        ],
    )

    def scene_lists() -> SceneLists:
        return SceneLists(
            chapters=[
                make_scene_list(spec, plan, cast, places, chapter, ask(Stage.scenes))
                for chapter in outline.chapters
            ]
        )

    _stage(book_id, spec, Stage.scenes, "scenes", scene_lists, SceneLists)

    book_state_step(book_id, current_stage=Stage.chapters.value)
    write_chapters(book_id, spec, outline)

    book_state_step(book_id, status="harmonizing", current_stage=Stage.harmonize.value)
    harmonize_step(book_id)
    manuscript = _assemble(book_id, spec, plan, outline)
    save_artifact_step(book_id, "manuscript", manuscript.model_dump(mode="json"))
    for chapter in outline.chapters:
        chapter_state_step(book_id, chapter.number, status="harmonized")
    if Stage.harmonize in spec.pause_at:
        _halt(book_id, Stage.harmonize)
    book_state_step(book_id, status="processing", current_stage=Stage.export.value)
    if Stage.export in spec.pause_at:
        _halt(book_id, Stage.export)
    final = Manuscript.model_validate(load_artifact_step(book_id, "manuscript"))
    write_file_step(MANUSCRIPT_FILE, book_id, to_markdown(final))
    for chapter in outline.chapters:
        chapter_state_step(book_id, chapter.number, status="completed")
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


@DBOS.workflow(name="retry", max_recovery_attempts=None)
def retry_workflow(
    book_id: str,
    number: int,
    level: str,
    cascade: bool,
    attempts_so_far: dict[str, int] | None = None,
) -> str:
    """A new version of one chapter of a finished book, reusing everything else; with
    `cascade`, the chapters that depend on it (directly or not) are rewritten too.
    `attempts_so_far` (chapter number as text -> attempts) lets each sample anew."""
    spec = BookSpec.model_validate(load_spec_step(book_id))
    plan = StoryPlan.model_validate(load_artifact_step(book_id, "plan"))
    outline = Outline.model_validate(load_artifact_step(book_id, "outline"))
    book_state_step(book_id, status="processing", current_stage=Stage.chapters.value)
    redo = [number] + (dependents(outline, number) if cascade else [])
    results = {}
    for chapter in redo:
        results[chapter] = chapter_workflow(
            book_id,
            chapter,
            level if chapter == number else "write",
            (attempts_so_far or {}).get(str(chapter), 0),
        )
    book_state_step(book_id, status="harmonizing", current_stage=Stage.harmonize.value)
    harmonize_step(book_id)
    manuscript = _assemble(book_id, spec, plan, outline)
    save_artifact_step(book_id, "manuscript", manuscript.model_dump(mode="json"))
    write_file_step(MANUSCRIPT_FILE, book_id, to_markdown(manuscript))
    for chapter, result in results.items():
        if result["status"] != "failed":
            chapter_state_step(book_id, chapter, status="completed")
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


def dependents(outline: Outline, number: int) -> list[int]:
    """Chapters that depend on `number`, directly or through others, in writing order."""
    found = {number}
    for chapter in ready_order(outline):
        if set(outline.chapter(chapter).depends_on) & found:
            found.add(chapter)
    return [c for c in ready_order(outline) if c in found and c != number]


def ready_order(outline: Outline) -> list[int]:
    """Chapters in an order where each comes after everything it depends on."""
    done: list[int] = []
    remaining = [c for c in outline.chapters]
    while remaining:
        ready = [c for c in remaining if all(d in done for d in c.depends_on)]
        done += [c.number for c in ready]
        remaining = [c for c in remaining if c not in ready]
    return done


def _assemble(book_id: str, spec: BookSpec, plan: StoryPlan, outline: Outline) -> Manuscript:
    chapters = []
    for entry in outline.chapters:
        data = load_artifact_step(book_id, f"chapter:{entry.number}")
        if data is None:
            raise StageFailed(f"Chapter {entry.number} is missing from the store")
        chapters.append(Chapter.model_validate(data))
    return Manuscript(
        title=plan.title,
        author=spec.author,
        language=spec.language,
        genre=spec.genre,
        chapters=chapters,
    )


def write_chapters(book_id: str, spec: BookSpec, outline: Outline) -> None:
    """Every chapter not yet written, until all are: a chapter that fails its quality
    loop stops only the chapters that depend on it; the book then waits for a resume,
    which gives the failed chapters (and those waiting on them) a new round."""
    done: set[int] = set(done_chapters_step(book_id))
    used: dict[int, int] = {}  # attempts per chapter in earlier rounds: the next samples anew
    while True:
        failed: dict[int, str] = {}
        todo = [n for n in ready_order(outline) if n not in done]
        if spec.parallel_chapters > 1:
            # Drafted at once from the outline; harmonization reconciles them after.
            queue = chapter_queue_step(book_id, spec.parallel_chapters)
            handles = [
                DBOS.enqueue_workflow(queue, chapter_workflow, book_id, n, None, used.get(n, 0))
                for n in todo
            ]
            results = dict(zip(todo, (h.get_result() for h in handles), strict=True))
        else:
            results = {}
            for number in todo:
                blocked = [d for d in outline.chapter(number).depends_on if d in failed]
                if blocked:
                    failed[number] = f"waits on chapter {blocked[0]}"
                    continue
                results[number] = chapter_workflow(book_id, number, None, used.get(number, 0))
        judged_failed = []
        for number, result in results.items():
            used[number] = used.get(number, 0) + result["attempts"]
            if result["status"] == "failed":
                judged_failed.append(number)
                failed[number] = f"failed its quality checks after {result['attempts']} "
                failed[number] += f"attempts ({result.get('why', '')})"
            else:
                done.add(number)
        if not failed:
            return
        summary = "; ".join(f"chapter {n} {why}" for n, why in sorted(failed.items()))
        first = min(judged_failed) if judged_failed else min(failed)
        message = stop_and_wait(
            book_id,
            QualityFailed(
                summary,
                f"See why with `bookwright show {book_id} verdict:{first}`; "
                f"`bookwright resume {book_id}` gives the failed chapters another round, "
                f"`bookwright approve {book_id} --chapter {first}` keeps chapter {first} "
                "as it is",
            ),
        )
        # `approve --chapter N`: their last attempt stands; the verdict says it was kept.
        # Steps only on this path, which no run recorded before it existed, replays alike.
        for number in sorted(set(message.get("accept") or []) & set(judged_failed)):
            verdict = load_artifact_step(book_id, f"verdict:{number}") or {}
            save_artifact_step(book_id, f"verdict:{number}", {**verdict, "accepted": True})
            chapter_state_step(book_id, number, status="generated")
            done.add(number)


__all__ = ["ARTIFACT_TYPES", "book_workflow", "chapter_workflow", "retry_workflow"]
