"""The `sources` job's durable workflow: the storyline (a pause point), then each chapter
written from its own chunks and cited, the open questions, and the manuscript with its
notes. Deterministic like every workflow: the store, the model and time only in steps."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dbos import DBOS

from bookwright.engine.asking import NOT_WAITING, make_ask, wait_for_message
from bookwright.engine.states import approve_topic
from bookwright.engine.steps import (
    book_state_step,
    chapter_state_step,
    init_chapters_step,
    load_artifact_step,
    load_spec_step,
    save_artifact_step,
    warning_step,
    write_file_step,
)
from bookwright.export.markdown import to_markdown
from bookwright.jobs.sources.grounding import (
    CITE,
    chapter_ask,
    footnoted,
    notes_of,
    references,
    sources_list,
)
from bookwright.jobs.sources.harmonize import harmonize
from bookwright.jobs.sources.judging import apply_verdict, as_questions, support_ask, words_of
from bookwright.jobs.sources.storyline import build_storyline, open_questions
from bookwright.model import Chapter, Manuscript
from bookwright.model.sources import (
    Answers,
    Chunk,
    Question,
    Questions,
    SourceIndex,
    SourcesSpec,
    Storyline,
)
from bookwright.stages.asks import Ask, AskFn

WORKFLOW_NAME = "sources"
# Steps added after runs were recorded, each behind a DBOS.patch so those runs still replay
ANSWERS_PATCH = "sources-answers"  # runs before it read no answers
JUDGE_PATCH = "sources-judge"  # runs before it had no judge
HARMONIZE_PATCH = "sources-harmonize"  # runs before it did not harmonize
QUESTIONS_TITLE, SOURCES_TITLE = "Questions for the author", "Sources"
CLOSING_CHAPTERS = (QUESTIONS_TITLE, SOURCES_TITLE)  # after the story, in every export


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
def sources_workflow(book_id: str) -> str:
    spec = SourcesSpec.model_validate(load_spec_step(book_id))
    book_state_step(book_id, status="processing", error=None, error_class=None)
    index = SourceIndex.model_validate(load_artifact_step(book_id, "sources"))
    answered = load_artifact_step(book_id, "answers") if DBOS.patch(ANSWERS_PATCH) else None
    answers = Answers.model_validate(answered or {})
    book_state_step(book_id, current_stage="storyline")
    if load_artifact_step(book_id, "storyline") is None:
        save_artifact_step(
            book_id, "storyline", build_storyline(index, spec).model_dump(mode="json")
        )
    if "storyline" in spec.pause_at and not answers.rounds:  # approved before any answer
        wait_for_message(
            book_id, approve_topic("storyline"), status="halted", halted_at="storyline"
        )
        book_state_step(book_id, status="processing", halted_at=None, **NOT_WAITING)
    storyline = Storyline.model_validate(load_artifact_step(book_id, "storyline"))
    init_chapters_step(
        book_id,
        [
            {
                "number": c.number,
                "title": c.title,
                "depends_on": c.depends_on,
                "target_words": spec.words_per_chapter,
            }
            for c in storyline.chapters
        ],
    )
    book_state_step(book_id, current_stage="chapters")
    ask = make_ask(book_id, spec, "sources")
    known = [c.id for c in index.chunks]
    speakers = sorted({c.speaker for c in index.chunks if c.speaker})
    nodes = {n.id: n for n in storyline.nodes}
    chapters: list[Chapter] = []
    cited: dict[str, list[dict[str, Any]]] = {}
    redo = set(answers.rewrite)  # chapters the author's answers touch, not yet rewritten
    judging = spec.judge and DBOS.patch(JUDGE_PATCH)
    for planned in storyline.chapters:  # numbered so that needs come first
        name = f"chapter:{planned.number}"
        data = load_artifact_step(book_id, name)
        if data is None or planned.number in redo:
            chapter_state_step(book_id, planned.number, status="in_progress")
            chunks = [c for c in (index.chunk(i) for i in planned.chunks) if c is not None]
            summary = nodes[planned.node].summary
            question = chapter_ask(planned, chunks, spec, known, summary, speakers)
            text, issues = _write_judged(ask, spec, judging, planned.number, question, chunks)
            if judging:
                save_artifact_step(
                    book_id, f"support:{planned.number}", {"issues": issues, "judged": True}
                )
            if text == question.fallback:
                warning_step(book_id, _edited_from_sources(planned.number))
            chapter = Chapter(
                number=planned.number,
                title=planned.title,
                # one scene of paragraphs: a chapter from sources has no scene breaks
                scenes=["\n\n".join(p.strip() for p in text.split("\n\n") if p.strip()) or text],
            )
            save_artifact_step(book_id, name, chapter.model_dump(mode="json"))
            data = chapter.model_dump(mode="json")
            if planned.number in redo:  # a new run after a crash does not write it again
                redo.discard(planned.number)
                answers = answers.model_copy(update={"rewrite": sorted(redo)})
                save_artifact_step(book_id, "answers", answers.model_dump(mode="json"))
        chapter = Chapter.model_validate(data)
        words = len(CITE.sub(" ", " ".join(chapter.scenes)).split())
        chapter_state_step(book_id, planned.number, status="completed", word_count=words)
        chapters.append(chapter)
        cited[str(planned.number)] = references(" ".join(chapter.scenes), planned, index)
    if DBOS.patch(HARMONIZE_PATCH):
        book_state_step(book_id, current_stage="harmonize")
        harmonized, changes = harmonize(chapters, index, storyline)
        for before, after in zip(chapters, harmonized, strict=True):
            if after.scenes != before.scenes:
                save_artifact_step(
                    book_id, f"chapter:{after.number}", after.model_dump(mode="json"), "harmonized"
                )
        save_artifact_step(book_id, "harmonization", {"changes": changes, "open_questions": []})
        chapters = harmonized
    save_artifact_step(book_id, "source_references", cited)
    book_state_step(book_id, current_stage="questions")
    doubted: list[Question] = []  # the claims the judge found no support for
    for planned in storyline.chapters:
        found = load_artifact_step(book_id, f"support:{planned.number}") if judging else None
        doubted += as_questions(planned.number, (found or {}).get("issues", []))
    questions = open_questions(index, storyline, answers.answered)
    questions = questions.model_copy(
        update={
            "questions": questions.questions
            + [q for q in doubted if q.text not in answers.answered]
        }
    )
    save_artifact_step(book_id, "questions", questions.model_dump(mode="json"))
    manuscript = with_notes(spec, chapters, index, questions)
    save_artifact_step(book_id, "manuscript", manuscript.model_dump(mode="json"))
    write_file_step("manuscript.md", book_id, to_markdown(manuscript))
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


def _write_judged(
    ask: AskFn, spec: SourcesSpec, judging: bool, number: int, question: Ask, chunks: list[Chunk]
) -> tuple[str, list[dict[str, Any]]]:
    """The chapter's text and the judge's `unsupported` issues. The claims the judge does
    not find in their passages are dropped; when that leaves less than half the words
    asked for, the chapter is written once more with them named (the write level), and
    when that fails too, it is edited from its sources (the fallback)."""
    text = ask(question)
    if not judging or text == question.fallback:
        return text, []
    by_id = {c.id: c for c in chunks}
    text, issues = _judge(ask, spec, number, text, by_id)
    if not issues or words_of(text) >= spec.words_per_chapter // 2:
        return text, issues
    again = replace(
        question,
        label=f"{question.label}.redo",
        variables={**question.variables, "unsupported": [i["sentence"] for i in issues]},
    )
    text = ask(again)
    if text == question.fallback:
        return text, issues
    text, more = _judge(ask, spec, number, text, by_id)
    if words_of(text) < spec.words_per_chapter // 2:
        return str(question.fallback), issues + more
    return text, issues + more


def _judge(
    ask: AskFn, spec: SourcesSpec, number: int, text: str, chunks: dict[str, Chunk]
) -> tuple[str, list[dict[str, Any]]]:
    question = support_ask(number, text, chunks, spec)
    if question is None:
        return text, []
    return apply_verdict(text, ask(question), question.variables["sentences"])


def _edited_from_sources(number: int) -> dict[str, Any]:
    return {
        "stage": "sources",
        "chapter": number,
        "scene": None,
        "field": f"sources.chapter.{number}",
        "artifact": f"chapter:{number}",
        "check": "the model wrote no version that kept enough cited, supported sentences; "
        "the chapter quotes its sources instead (their words, attributed and cited)",
        "kept": "stand_in",
        "value": "edited from its sources",
        "attempts": 3,
    }


def with_notes(
    spec: SourcesSpec, chapters: list[Chapter], index: SourceIndex, questions: Questions
) -> Manuscript:
    """The book as exported: citations as numbered notes, then the questions the sources
    leave open and the list of sources (with the notes' text) as closing chapters."""
    numbering: dict[str, int] = {}
    body = [
        c.model_copy(update={"scenes": [footnoted(s, index, numbering) for s in c.scenes]})
        for c in chapters
    ]
    number = len(body) + 1
    if questions.questions:
        body.append(Chapter(number=number, title=QUESTIONS_TITLE, scenes=[questions.numbered()]))
        number += 1
    closing = ["\n".join(sources_list(index))]
    notes = notes_of(numbering, index)
    if notes:
        closing.append("\n\n".join(notes))
    body.append(Chapter(number=number, title=SOURCES_TITLE, scenes=closing))
    return Manuscript(
        title=spec.title,
        author=spec.author,
        language=spec.language,
        genre=spec.kind.replace("-", " "),
        chapters=body,
    )
