"""The story bible: facts read from lines, grounded in the scene, with chapter intervals."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from dbos import DBOS
from hypothesis import given
from hypothesis import strategies as st

from bookwright.engine.books import Books
from bookwright.engine.runner import run_book
from bookwright.jobs.novel.chapters import facts_due
from bookwright.model import BookSpec, SceneList, ScenePlan
from bookwright.model.quality import Fact, StoryBible
from bookwright.quality.bible import fact_asks, facts_from, parse_facts
from bookwright.quality.readers import accept_lines
from bookwright.settings import Settings
from tests.conftest import SMALL_BOOK
from tests.scripted_model import scripted_model
from tests.scripted_server import answer

NAMES = ["Mara Quill", "Tobias Grent", "Gull Rock Harbour"]
SCENE = (
    "Mara pushed her red hair from her grey eyes. Tobias Grent, the harbour master, "
    "had lived in Gull Rock Harbour for forty years."
)


def fact(subject: str, attribute: str, value: str, chapter: int, scene: int = 1) -> Fact:
    return Fact(
        subject=subject, attribute=attribute, value=value, from_chapter=chapter, scene=scene
    )


def test_fact_lines_are_read_normalised_and_grounded() -> None:
    answer = """Facts:
1. Mara | eye colour | grey
- **Mara Quill** | Hair Color | red
Tobias Grent | job | harbour master
Tobias Grent | home | Gull Rock Harbour
Mara Quill | eyes | green
Ines Alder | home | the mill
subject | attribute | value
Tobias's age is forty years."""
    reading = parse_facts(answer, SCENE, NAMES)
    assert reading.facts == [
        ("Mara Quill", "eyes", "grey"),
        ("Mara Quill", "hair", "red"),
        ("Tobias Grent", "occupation", "harbour master"),
        ("Tobias Grent", "home", "Gull Rock Harbour"),
        ("Tobias Grent", "age", "forty years"),
    ]
    reasons = "\n".join(reading.dropped)
    assert "the value 'green' is not in the scene" in reasons
    assert "'Ines Alder' is not in the scene" in reasons
    assert "the format line" in reasons


@given(st.text(max_size=300), st.text(max_size=200))
def test_the_fact_parser_never_raises_and_keeps_only_grounded_facts(answer: str, text: str) -> None:
    reading = parse_facts(answer, text, NAMES)
    words = text.casefold()
    for subject, attribute, value in reading.facts:
        assert subject and attribute and value
        assert subject.split()[0].casefold() in words or subject in NAMES
    assert (
        reading.canonical() == ""
        or parse_facts(reading.canonical(), text, NAMES).facts == reading.facts
    )


def test_fact_asks_and_facts_from_answers() -> None:
    scenes = SceneList(
        chapter=3,
        scenes=[ScenePlan(number=1, summary="a"), ScenePlan(number=2, summary="b")],
    )
    asks = fact_asks(3, scenes, [SCENE, "Nothing happens."], NAMES)
    _, prompt = asks[0].messages()
    assert SCENE in prompt and "name | attribute | value" in prompt
    answer, reason = accept_lines(asks[1], "NONE", "stop")
    assert (answer, reason) == ("NONE", None)
    assert accept_lines(asks[1], "The scene is nice.", "stop")[0] is None
    facts = facts_from(["Mara | eyes | grey", "NONE"], [SCENE, "Nothing happens."], 3, NAMES)
    assert facts == [fact("Mara Quill", "eyes", "grey", 3)]


def test_a_new_value_closes_the_old_fact_and_the_same_value_is_kept_once() -> None:
    bible = StoryBible.build(
        [
            [fact("Mara Quill", "eyes", "grey", 1), fact("Mara Quill", "home", "the tower", 1)],
            [fact("Mara Quill", "eyes", "Grey", 2)],
            [fact("Mara Quill", "home", "Gull Rock", 4, scene=2)],
        ]
    )
    assert len(bible.facts) == 3
    closed = bible.current("Mara Quill", "home", 3)
    assert closed is not None and (closed.value, closed.until_chapter) == ("the tower", 3)
    assert bible.current("mara quill", "HOME", 5) is not None
    assert [f.value for f in bible.valid_at(4)] == ["grey", "Gull Rock"]
    assert [f.value for f in bible.about(["Mara Quill"], 2)] == ["grey", "the tower"]
    assert bible.facts[0].ref == "Mara Quill | eyes | grey @1.1"


def test_merge_order_does_not_matter_and_a_retried_chapter_is_rebuilt_exactly() -> None:
    one = [fact("Mara Quill", "eyes", "grey", 1)]
    two = [fact("Mara Quill", "eyes", "blue", 2)]
    three = [fact("Mara Quill", "eyes", "green", 3)]
    in_order = StoryBible.build([one, two, three])
    shuffled = StoryBible.build([three, one, two])
    assert in_order == shuffled
    retried = StoryBible.build([one, [], three])  # chapter 2 rewritten without the change
    assert [(f.value, f.until_chapter) for f in retried.facts] == [("grey", 2), ("green", None)]


def test_a_value_changed_within_its_chapter_keeps_the_later_one() -> None:
    bible = StoryBible.build(
        [[fact("Mara Quill", "eyes", "grey", 2, 1), fact("Mara Quill", "eyes", "blue", 2, 2)]]
    )
    assert [f.value for f in bible.valid_at(2)] == ["blue"]


@pytest.mark.parametrize(
    ("answers_facts", "expected"), [(True, [1, 1, 1, 1]), (False, [1, 0, 1, 0])]
)
def test_a_model_that_never_gives_facts_is_asked_less_and_less_often(
    tmp_path: Path, answers_facts: bool, expected: list[int]
) -> None:
    """A model that gives facts is asked once a scene (each answer usable); one that gives
    none gets one try at the book's first scene, then one after a gap of 2 scenes."""

    def reply(prompt: str) -> str:
        if "List the facts this scene states" in prompt and not answers_facts:
            return "The cat's last whiskers, a tale of a retired detective."
        return answer(prompt)

    settings = Settings(home=tmp_path / "home")
    spec = {**SMALL_BOOK, "judge": False, "temperature": 0.0, "model": "fn:x"}
    with scripted_model(reply):
        Books(settings).create(BookSpec.model_validate(spec), "b")
        try:
            assert run_book(settings, "b").status.value == "completed"
        finally:
            DBOS.destroy()
    asked = Counter(r["field"] for r in Books(settings).store.requests("b", field_prefix="bible."))
    assert [asked[f"bible.{c}.{s}"] for c in (1, 2) for s in (1, 2)] == expected


def test_the_gap_between_asks_of_a_model_without_facts_doubles() -> None:
    def due(asked: int, last: tuple[int, int], now: tuple[int, int], usable: int = 0) -> bool:
        record = {"asked": asked, "usable": usable, "last": list(last)}
        return facts_due(record, now[0], now[1], per_chapter=4)

    assert due(0, (0, 0), (1, 1))  # never asked
    assert not due(1, (1, 1), (1, 2)) and due(1, (1, 1), (1, 3))  # a gap of 2 scenes
    assert not due(2, (1, 3), (2, 2)) and due(2, (1, 3), (2, 3))  # then 4
    assert not due(3, (2, 3), (4, 2)) and due(3, (2, 3), (4, 3))  # then 8
    assert due(3, (2, 3), (2, 4), usable=1)  # a model that gave facts once: every scene
