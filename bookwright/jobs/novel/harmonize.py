"""Harmonization: one consistency pass over the whole book, after every chapter.

What it can fix with certainty it fixes: a misspelt name ("Tobia" where the cast has
Tobias Grent) is replaced everywhere, and each chapter it changes gets a new version
(earlier versions stay in the store). What needs judgement it does not guess at: a
fact one chapter states and a later one contradicts becomes an open question for the
author. Both lists are the `harmonization` artifact (`bookwright show BOOK
harmonization`).
"""

from __future__ import annotations

import re
from typing import Any

from dbos import DBOS

from bookwright.engine.runtime import runtime
from bookwright.model.quality import Fact, StoryBible
from bookwright.quality.checks import closest_token, contradictions, near_miss_names

AUTHORS_SOURCES = ("edited", "imported")  # versions an author made: never rewritten here


@DBOS.step(name="harmonize")
def harmonize_step(book_id: str) -> dict[str, Any]:
    store = runtime().store
    key = f"{DBOS.workflow_id}:{DBOS.step_id}"
    outline = store.get_artifact(book_id, "outline")
    cast = store.get_artifact(book_id, "characters")
    places = store.get_artifact(book_id, "locations")
    assert outline is not None and cast is not None and places is not None
    names = [c["name"] for c in cast[1]["characters"]]
    place_names = [p["name"] for p in places[1]["locations"]]
    numbers = [c["number"] for c in outline[1]["chapters"]]

    chapters: dict[int, dict[str, Any]] = {}
    per_chapter_facts: list[list[Fact]] = []
    for number in numbers:
        found = store.get_artifact(book_id, f"chapter:{number}")
        if found is not None:
            chapters[number] = found[1]
        facts = store.get_artifact(book_id, f"facts:{number}")
        if facts is not None:
            per_chapter_facts.append([Fact.model_validate(f) for f in facts[1]["facts"]])
    bible = StoryBible.build(per_chapter_facts)

    changes: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    for number, chapter in chapters.items():
        scenes = list(chapter["scenes"])
        fixed = list(scenes)
        by_author = store.artifact_source(book_id, f"chapter:{number}") in AUTHORS_SOURCES
        for miss in near_miss_names(scenes, [*names, *place_names]):
            right = closest_token(miss.word, miss.known)
            if by_author:  # the author's own words are theirs to change: ask, don't fix
                questions.append(
                    {
                        "chapter": number,
                        "scene": miss.scene,
                        "question": f"{miss.word!r} looks like a misspelling of {miss.known!r} "
                        "in your edited text: keep it?",
                        "evidence": miss.sentence,
                        "facts": [],
                    }
                )
                continue
            pattern = re.compile(rf"\b{re.escape(miss.word)}\b")
            for i, text in enumerate(fixed):
                count = len(pattern.findall(text))
                if count:
                    fixed[i] = pattern.sub(right, text)
                    changes.append(
                        {
                            "chapter": number,
                            "scene": i + 1,
                            "kind": "name",
                            "from": miss.word,
                            "to": right,
                            "count": count,
                            "reason": f"{miss.word!r} looks like a misspelling of {miss.known!r}",
                        }
                    )
        for issue in contradictions(fixed, bible, number, place_names):
            questions.append(
                {
                    "chapter": number,
                    "scene": issue.scene,
                    "question": issue.note,
                    "evidence": issue.evidence,
                    "facts": issue.contradicts,
                }
            )
        if fixed != scenes:
            version = store.put_artifact(
                book_id,
                f"chapter:{number}",
                {**chapter, "scenes": fixed},
                source="harmonized",
                idem_key=f"{key}:chapter:{number}",
            )
            for change in changes:
                if change["chapter"] == number:
                    change["version"] = version
    result = {"changes": changes, "open_questions": questions, "facts": len(bible.facts)}
    store.put_artifact(book_id, "harmonization", result, idem_key=f"{key}:harmonization")
    return result
