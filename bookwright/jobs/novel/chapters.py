"""The chapter workflow: write, edit, judge, and redo only what failed.

One attempt is: (full) a new scene list, (write) new drafts from a bounded context,
(edit) new edits of the drafts. The judge reads the edited chapter with the results of
the deterministic checks; `quality.retry.decide` maps the verdict's issues to the level
to redo, escalating to a full retry after two failed attempts and stopping after the
maximum. What a level does not redo is kept from the store, never regenerated.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from bookwright.engine.asking import make_ask
from bookwright.engine.runtime import runtime
from bookwright.engine.steps import (
    chapter_state_step,
    load_artifact_step,
    load_spec_step,
    save_artifact_step,
)
from bookwright.jobs.novel.outline import make_scene_list
from bookwright.model import (
    BookSpec,
    Cast,
    Chapter,
    ChapterOutline,
    Locations,
    Outline,
    SceneList,
    SceneLists,
    Stage,
    StoryPlan,
)
from bookwright.model.quality import Category, Fact, Issue, RetryLevel, StoryBible, Verdict
from bookwright.quality.bible import fact_asks, facts_from
from bookwright.quality.checks import run_checks
from bookwright.quality.context import build_context, gather
from bookwright.quality.judge import judge_asks, verdict
from bookwright.quality.length import (
    continuation_words,
    continue_ask,
    needs_continuation,
    scene_budgets,
    trim_to_paragraph,
)
from bookwright.quality.retry import Action, decide
from bookwright.quality.settings import QualitySettings
from bookwright.stages.prose import edit_scene, scene_vars, write_scene
from bookwright.store.memory import Memory

SEED_STRIDE = 1000  # each attempt samples anew: seed + attempt * stride


FACTS_PATCH = "facts-by-record"  # DBOS.patch: runs before it asked each scene three times
EDIT_LENGTH_PATCH = "edit-keeps-length"  # DBOS.patch: runs before took an edit of any length
FACTS_STOP_PATCH = "facts-give-up"  # DBOS.patch: runs before it asked every scene
FACTS_GIVE_UP = 2  # scenes whose facts a model never gave before it is no longer asked
# DBOS.patch: runs before it stopped asking after two scenes without facts. Now a model
# that has given none is asked again after 2, 4, 8, ... scenes: a weak one costs a few
# refusals a book, a strong one that missed once gets the bible back.
FACTS_BACKOFF_PATCH = "facts-backoff"


@DBOS.step(name="quality_settings")
def quality_settings_step() -> dict[str, Any]:
    """The quality settings in force when the chapter starts, recorded for replay."""
    return runtime().settings.quality.model_dump(mode="json")


@DBOS.step(name="bible")
def bible_step(book_id: str, before_chapter: int) -> list[dict[str, Any]]:
    """Facts of every chapter before `before_chapter` (each chapter's latest list)."""
    store = runtime().store
    facts: list[dict[str, Any]] = []
    for number in range(1, before_chapter):
        found = store.get_artifact(book_id, f"facts:{number}")
        if found is not None:
            facts += found[1]["facts"]
    return facts


@DBOS.step(name="facts_record")
def facts_record_step(book_id: str) -> dict[str, Any]:
    """How the model has done at the story bible's asks in this book so far: the scenes
    asked, and those it answered usably (recorded, so a replay decides the same)."""
    asked: set[str] = set()
    usable: set[str] = set()
    last: list[int] = []
    for request in runtime().store.requests(book_id, field_prefix="bible."):
        asked.add(request["field"])
        last = [request["chapter"] or 0, request["scene"] or 0]
        if request.get("outcome") == "ok" and not request.get("error_class"):
            usable.add(request["field"])
    return {"asked": len(asked), "usable": len(usable), "last": last}


def facts_due(record: dict[str, Any], chapter: int, scene: int, per_chapter: int) -> bool:
    """Whether a scene's facts are asked for: always of a model that has given some (or
    has not been asked), else after a gap of 2, 4, 8, ... scenes since the last ask."""
    if record["usable"] or not record["asked"] or not record.get("last"):
        return True
    last_chapter, last_scene = record["last"]
    gap = (chapter - last_chapter) * per_chapter + scene - last_scene
    return gap >= 2 ** record["asked"]


@DBOS.step(name="scene_context")
def scene_context_step(
    book_id: str,
    chapter: dict[str, Any],
    scene: dict[str, Any],
    before: str,
    plan: str,
    budget: int,
    n_facts: int,
    n_passages: int,
) -> dict[str, Any]:
    """A scene's context within `budget` tokens, retrieved from the book so far.

    The index is derived data, rebuilt from the store: scene plans as summaries, the
    written scenes as passages, and the bible's facts. Recorded, so a replay sends the
    prompt the original run sent.
    """
    store = runtime().store
    number = int(chapter["number"])
    summaries, passages, chapters, facts = [], [], [], []
    lists = store.get_artifact(book_id, "scenes")
    outline = store.get_artifact(book_id, "outline")
    if lists is not None:
        for entry in lists[1]["chapters"]:
            if entry["chapter"] < number:
                summaries += [
                    (entry["chapter"], s["number"], s["summary"]) for s in entry["scenes"]
                ]
    for k in range(1, number):
        found = store.get_artifact(book_id, f"chapter:{k}")
        if found is not None:
            passages += [(k, i, text) for i, text in enumerate(found[1]["scenes"], start=1)]
        found_facts = store.get_artifact(book_id, f"facts:{k}")
        if found_facts is not None:
            facts.append([Fact.model_validate(f) for f in found_facts[1]["facts"]])
    previous = ""
    if outline is not None:
        for entry in outline[1]["chapters"]:
            chapters.append((entry["number"], entry["summary"]))
            if entry["number"] == number - 1:
                previous = f'Chapter {entry["number"]} "{entry["title"]}": {entry["summary"]}'
    with Memory.build(
        summaries=summaries, passages=passages, chapters=[], bible=StoryBible.build(facts)
    ) as memory:
        parts = gather(
            memory,
            plan=plan,
            chapter=ChapterOutline.model_validate(chapter),
            scene=_scene_plan(scene),
            previous_chapter=previous,
            before=before,
            facts=n_facts,
            passages=n_passages,
        )
    context = build_context(parts, budget)
    return {"context": context.render().strip(), "breakdown": context.breakdown.model_dump()}


def _scene_plan(scene: dict[str, Any]) -> Any:
    from bookwright.model import ScenePlan

    return ScenePlan.model_validate(scene)


def chapter_scenes(book_id: str, lists: SceneLists, number: int) -> SceneList:
    """The chapter's scene list: a full retry's own list, else the book's."""
    own = load_artifact_step(book_id, f"scenelist:{number}")
    if own is not None:
        return SceneList.model_validate(own)
    return next(s for s in lists.chapters if s.chapter == number)


@DBOS.workflow(name="chapter", max_recovery_attempts=None)
def chapter_workflow(
    book_id: str, number: int, first_level: str | None = None, earlier_attempts: int = 0
) -> dict:
    """Write chapter `number` until the judge passes it or attempts run out.

    `first_level` (edit, write, full) redoes an existing chapter from that phase:
    `bookwright retry`. `earlier_attempts`: the attempts the chapter had before this
    run (an earlier round, or the runs before a retry), so that this run samples anew
    instead of repeating their seeds, and its retry count goes on from theirs.
    Returns {"status": "generated"|"failed", "words", "attempts"}.
    """
    spec = BookSpec.model_validate(load_spec_step(book_id))
    quality = QualitySettings.model_validate(quality_settings_step())
    plan = StoryPlan.model_validate(load_artifact_step(book_id, "plan"))
    cast = Cast.model_validate(load_artifact_step(book_id, "characters"))
    places = Locations.model_validate(load_artifact_step(book_id, "locations"))
    outline = Outline.model_validate(load_artifact_step(book_id, "outline"))
    lists = SceneLists.model_validate(load_artifact_step(book_id, "scenes"))
    entry = outline.chapter(number)
    scenes = chapter_scenes(book_id, lists, number)
    chapter_state_step(book_id, number, status="in_progress")
    bible = StoryBible.model_validate({"facts": bible_step(book_id, number)})
    plan_text = f"{plan.title}: {plan.logline} {plan.setting}"

    drafts: list[str] | None = None
    if first_level in ("edit", "write"):
        drafts = _stored_drafts(book_id, number, scenes)
    level = RetryLevel(first_level) if first_level else RetryLevel.WRITE_ONLY
    history: list[Verdict] = []
    attempts: list[dict[str, Any]] = []
    texts: list[str] = []
    answers: list[str] = []  # the judge's answer per scene, reused for scenes kept
    only: set[int] | None = None  # scenes a retry redoes; None: every scene
    best: tuple[float, int, list[str], SceneList] | None = None  # score, attempt, texts
    while True:
        attempt = len(history)
        retry_level = level.value if (attempt or first_level) else None
        tags = {"attempt": attempt, "retry_level": retry_level}
        sample = earlier_attempts + attempt  # a seeded model repeats itself on one seed
        seed = (spec.seed + sample * SEED_STRIDE) % 2**31  # within what providers take
        seeded = spec.model_copy(update={"seed": seed})
        ask = make_ask(book_id, seeded, Stage.chapters, tags)
        if level is RetryLevel.FULL_RETRY and (attempt or first_level):
            scenes = make_scene_list(seeded, plan, cast, places, entry, ask)
            save_artifact_step(book_id, f"scenelist:{number}", scenes.model_dump(mode="json"))
            only = None
        if level is not RetryLevel.EDIT_ONLY or drafts is None:
            drafts = _write(
                book_id,
                seeded,
                quality,
                plan,
                cast,
                places,
                entry,
                scenes,
                ask,
                plan_text,
                drafts if only else None,
                only,
            )
        texts = _edit(book_id, seeded, plan, cast, places, entry, scenes, drafts, ask, texts, only)
        if not spec.judge:
            fixed: list[int] = []
            if spec.checks:  # set when the book was created: older books go on as they began
                texts, fixed = _edit_what_checks_find(
                    book_id, seeded, quality, plan, cast, places, entry, scenes, texts, ask
                )
            attempts.append(
                {"attempt": attempt, "level": retry_level, "judged": False, "fixed": fixed}
            )
            break
        judged, answers = _judge(
            book_id,
            number,
            spec,
            quality,
            bible,
            cast,
            places,
            entry,
            scenes,
            texts,
            ask,
            answers if only else None,
            only,
        )
        history.append(judged)
        if best is None or judged.score > best[0]:
            best = (judged.score, attempt, list(texts), scenes)
        decision = decide(history, quality)
        attempts.append(
            {
                "attempt": attempt,
                "level": retry_level,
                "passed": judged.passed,
                "score": judged.score,
                "decision": decision.action.value,
                "next_level": decision.level.value if decision.level else None,
                "reason": decision.reason,
                "scenes": sorted(only) if only else "all",
            }
        )
        save_artifact_step(
            book_id,
            f"verdict:{number}",
            {"chapter": number, "attempts": attempts, "verdict": judged.model_dump(mode="json")},
        )
        if decision.action is not Action.retry:
            break
        assert decision.level is not None
        level = decision.level
        # Issues the judge tied to scenes are fixed in those scenes alone; a chapter-wide
        # issue (length, repetition across scenes) or a full retry redoes every scene.
        scene_of = [i.scene for i in decision.causes]
        only = set(scene_of) if scene_of and None not in scene_of else None  # type: ignore[arg-type]
        chapter_state_step(book_id, number, retry_count=earlier_attempts + len(history))

    if history and not history[-1].passed and quality.on_exhausted == "keep_best":
        assert best is not None
        _score, kept, texts, scenes = best  # unattended: the best attempt stands
        save_artifact_step(
            book_id,
            f"verdict:{number}",
            {
                "chapter": number,
                "attempts": attempts,
                "verdict": history[kept].model_dump(mode="json"),
                "accepted": True,
                "kept_attempt": kept,
            },
        )
    chapter = Chapter(number=number, title=entry.title, scenes=texts)
    save_artifact_step(book_id, f"chapter:{number}", chapter.model_dump(mode="json"))
    _extract_facts(book_id, number, seeded, cast, places, scenes, texts, ask)
    failed = bool(history) and not history[-1].passed and quality.on_exhausted == "stop"
    if failed:
        last = history[-1]
        why = "; ".join(
            f"{i.category.value}: {i.note or i.evidence}"[:120] for i in last.issues[:3]
        )
        chapter_state_step(
            book_id,
            number,
            status="failed",
            word_count=chapter.word_count,
            retry_count=earlier_attempts + len(history) - 1,
        )
        return {
            "status": "failed",
            "words": chapter.word_count,
            "attempts": len(history),
            "why": f"score {last.score:g}; {why}" if why else f"score {last.score:g}",
        }
    chapter_state_step(
        book_id,
        number,
        status="generated",
        word_count=chapter.word_count,
        retry_count=max(0, earlier_attempts + len(attempts) - 1),
    )
    return {"status": "generated", "words": chapter.word_count, "attempts": len(attempts)}


def _stored_drafts(book_id: str, number: int, scenes: SceneList) -> list[str] | None:
    drafts = []
    for scene in scenes.scenes:
        found = load_artifact_step(book_id, f"draft:{number}:{scene.number}")
        if found is None:
            return None
        drafts.append(found["text"])
    return drafts


def _write(
    book_id: str,
    spec: BookSpec,
    quality: QualitySettings,
    plan: StoryPlan,
    cast: Cast,
    places: Locations,
    entry: ChapterOutline,
    scenes: SceneList,
    ask: Any,
    plan_text: str,
    kept: list[str] | None = None,
    only: set[int] | None = None,
) -> list[str]:
    """New drafts, each from a bounded context, brought to its word budget; with `only`,
    just those scenes, the others `kept`."""
    number = entry.number
    before = ""
    if number > 1:
        previous = load_artifact_step(book_id, f"chapter:{number - 1}")
        if previous is not None:
            before = Chapter.model_validate(previous).scenes[-1]
    budgets = scene_budgets(spec.words_per_scene * len(scenes.scenes), len(scenes.scenes))
    drafts: list[str] = []
    for index, (scene, target) in enumerate(zip(scenes.scenes, budgets, strict=True)):
        if kept is not None and only is not None and scene.number not in only:
            drafts.append(kept[index])
            before = kept[index]
            continue
        variables = scene_vars(spec, plan, cast, places, entry, scene)
        context = scene_context_step(
            book_id,
            entry.model_dump(mode="json"),
            scene.model_dump(mode="json"),
            before,
            plan_text,
            quality.prompt_tokens,
            quality.retrieved_facts,
            quality.retrieved_passages,
        )
        draft = write_scene(
            spec,
            variables,
            before,
            ask,
            number,
            scene.number,
            context=context["context"],
            breakdown=context["breakdown"],
            target_words=target,
        )
        if needs_continuation(draft, target):
            more = ask(
                continue_ask(
                    variables, draft, continuation_words(draft, target), number, scene.number
                )
            )
            if more.strip():
                draft = f"{draft}\n\n{more.strip()}"
        draft = trim_to_paragraph(draft, target)
        save_artifact_step(
            book_id,
            f"draft:{number}:{scene.number}",
            {"chapter": number, "scene": scene.number, "text": draft, "target_words": target},
        )
        drafts.append(draft)
        before = draft
    return drafts


def _edit(
    book_id: str,
    spec: BookSpec,
    plan: StoryPlan,
    cast: Cast,
    places: Locations,
    entry: ChapterOutline,
    scenes: SceneList,
    drafts: list[str],
    ask: Any,
    kept: list[str] | None = None,
    only: set[int] | None = None,
) -> list[str]:
    texts = []
    for index, (scene, draft) in enumerate(zip(scenes.scenes, drafts, strict=True)):
        if kept and only is not None and scene.number not in only:
            texts.append(kept[index])
            continue
        variables = scene_vars(spec, plan, cast, places, entry, scene)
        edited = _edit_scene(spec, variables, draft, ask, entry, scene.number)
        _save_scene(book_id, entry, scene.number, edited, kept_draft=edited == draft)
        texts.append(edited)
    return texts


def _edit_scene(
    spec: BookSpec,
    variables: dict[str, object],
    text: str,
    ask: Any,
    entry: ChapterOutline,
    scene: int,
    notes: str = "",
) -> str:
    """The edited scene; an edit that runs long is trimmed at a paragraph end like the
    draft (code, not a step)."""
    keep_length = DBOS.patch(EDIT_LENGTH_PATCH)
    edited = edit_scene(spec, variables, text, ask, entry.number, scene, notes, keep_length)
    return trim_to_paragraph(edited, spec.words_per_scene)


def _save_scene(
    book_id: str, entry: ChapterOutline, scene: int, text: str, **record: object
) -> None:
    save_artifact_step(
        book_id,
        f"scene:{entry.number}:{scene}",
        {"chapter": entry.number, "scene": scene, "text": text, **record},
    )


CHECKED = (Category.repetition, Category.style, Category.length, Category.names)


def _edit_what_checks_find(
    book_id: str,
    spec: BookSpec,
    quality: QualitySettings,
    plan: StoryPlan,
    cast: Cast,
    places: Locations,
    entry: ChapterOutline,
    scenes: SceneList,
    texts: list[str],
    ask: Any,
) -> tuple[list[str], list[int]]:
    """The checks that need no model, on a chapter no judge reads: each scene they flag
    (repetition, stock phrases, length, names) is edited once more with what they found.
    Returns the texts and the scenes edited."""
    names = [c.name for c in cast.characters] + [p.name for p in places.locations]
    notes: dict[int, list[str]] = {}
    for index, text in enumerate(texts):
        _checks, found = run_checks(
            [text],
            target_words=spec.words_per_scene,
            settings=quality,
            characters=[c.name for c in cast.characters],
            places=names,
        )
        flagged = [i for i in found if i.category in CHECKED]
        if flagged:
            notes[index] = [_fix_note(i) for i in flagged]
    fixed = list(texts)
    for index, found_notes in sorted(notes.items()):
        scene = scenes.scenes[index]
        variables = scene_vars(spec, plan, cast, places, entry, scene)
        note = " ".join(dict.fromkeys(found_notes))[:600]
        edited = _edit_scene(spec, variables, texts[index], ask, entry, scene.number, note)
        _save_scene(book_id, entry, scene.number, edited, kept_draft=False, checks=found_notes)
        fixed[index] = edited
    return fixed, [scenes.scenes[i].number for i in sorted(notes)]


def _fix_note(issue: Issue) -> str:
    """What a deterministic check found, said as an instruction to the editor."""
    if issue.category is Category.repetition:
        return f"say only once what is repeated ({issue.note});"
    if issue.category is Category.style:
        return f"replace the {issue.note.replace('occurs', 'used')};"
    if issue.category is Category.length:
        return f"bring it to about {issue.note.split(' for a target of ')[-1].split(' ')[0]} words;"
    return f"spell the names as given ({issue.note});"


def _judge(
    book_id: str,
    number: int,
    spec: BookSpec,
    quality: QualitySettings,
    bible: StoryBible,
    cast: Cast,
    places: Locations,
    entry: ChapterOutline,
    scenes: SceneList,
    texts: list[str],
    ask: Any,
    kept: list[str] | None = None,
    only: set[int] | None = None,
) -> tuple[Verdict, list[str]]:
    """Deterministic checks first; the judge reads the scenes with what they found.
    With `only`, the judge reads just the scenes redone; the others keep their answer."""
    place_names = [p.name for p in places.locations]
    checks, found = run_checks(
        texts,
        target_words=spec.words_per_scene * len(texts),
        settings=quality,
        bible=bible,
        chapter=number,
        characters=[c.name for c in cast.characters],
        places=place_names,
    )
    facts = bible.valid_at(number)
    questions = judge_asks(entry, scenes, texts, facts=facts, findings=found, settings=quality)
    answers = [
        kept[i] if kept and only is not None and q.scene not in only else ask(q)
        for i, q in enumerate(questions)
    ]
    return verdict(answers, texts, checks, found, quality), answers


def _extract_facts(
    book_id: str,
    number: int,
    spec: BookSpec,
    cast: Cast,
    places: Locations,
    scenes: SceneList,
    texts: list[str],
    ask: Any,
) -> None:
    """The chapter's facts for the story bible (`bookwright show BOOK bible`)."""
    names = [c.name for c in cast.characters] + [p.name for p in places.locations]
    answers = []
    for question in fact_asks(number, scenes, texts, names):
        # A model that has answered none of the bible's asks of this book so far is asked
        # once per scene, not three times: its refusals cost more than the facts it gives;
        # and only after a growing gap of scenes (`facts_due`).
        if DBOS.patch(FACTS_PATCH):
            record = facts_record_step(book_id)
            if DBOS.patch(FACTS_BACKOFF_PATCH):
                if not facts_due(record, number, question.scene or 0, spec.scenes_per_chapter):
                    answers.append("")  # what a refused ask leaves: no fact
                    continue
            elif (
                record["asked"] >= FACTS_GIVE_UP
                and not record["usable"]
                and DBOS.patch(FACTS_STOP_PATCH)
            ):
                answers.append("")  # what a refused ask leaves: no fact
                continue
            if record["asked"] and not record["usable"]:
                question = question.with_attempts(1)
        answers.append(ask(question))
    facts = facts_from(answers, texts, number, names)
    save_artifact_step(
        book_id,
        f"facts:{number}",
        {"chapter": number, "facts": [f.model_dump(mode="json") for f in facts]},
    )
