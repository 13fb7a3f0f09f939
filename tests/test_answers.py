"""Picking answers out of a small model's text, and re-asking with the reason."""

from __future__ import annotations

import pytest

from bookwright.errors import InvalidOutputError
from bookwright.stages.answers import (
    accept,
    ask_until_valid,
    best_effort,
    copies_context,
    drop_copied_sentences,
    trim_to_sentence,
)
from bookwright.stages.asks import Ask


def ask(kind: str, avoid: tuple[str, ...] = (), **variables: object) -> Ask:
    return Ask(
        "t",
        "planner",
        "plan_title.j2",
        {"genre": "g", "premise": "p", **variables},
        kind,
        40,
        avoid=avoid,
        target_words=60,
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Her name was Emma Taylor.", "Emma Taylor"),
        ("The hero of this tale is Elena Grey, a young keeper.", "Elena Grey"),
        ("The infamous Captain Blackbeak Morrow, a pirate.", "Blackbeak Morrow"),
        ("A loyal friend named Jack waits.", "Jack"),
        ("A.J. Blackstone walks in.", "A.J. Blackstone"),
    ],
)
def test_names_are_found_in_a_sentence(text: str, expected: str) -> None:
    assert accept(ask("name"), text, "stop") == (expected, None)


@pytest.mark.parametrize(
    "text",
    [
        "The Lighthouse Keeper waits.",
        "Blackheart Blackheart is here.",
        '{"name": "X Y"}',
        "A mysterious stranger arrives.",
    ],
)
def test_non_names_are_refused(text: str) -> None:
    value, reason = accept(ask("name"), text, "stop")
    assert value is None and reason


def test_a_taken_name_is_refused_without_naming_it_again() -> None:
    value, reason = accept(ask("name", avoid=("Emma Taylor",)), "Her name was Emma Taylor.", "stop")
    assert value is None
    assert reason is not None and "Emma" not in reason  # naming it makes a small model copy it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Title: The Salt Lantern", "The Salt Lantern"),
        ('**Title:** "The Salt Lantern"\n\nMore text here.', "The Salt Lantern"),
        ("Title: Title: The Salt Lantern", "The Salt Lantern"),
        ("The Lost Message: A Tidied Treasure", "The Lost Message"),
        ("# The Salt Lantern. It is a story about a lamp.", "The Salt Lantern"),
    ],
)
def test_titles(text: str, expected: str) -> None:
    assert accept(ask("title"), text, "stop") == (expected, None)


def test_place_drops_the_sentence_hung_on_it() -> None:
    assert accept(ask("place"), "Place: Gull Rock, a cold island.", "stop") == ("Gull Rock", None)


def test_title_that_is_taken_or_too_long_is_refused() -> None:
    assert accept(ask("title", avoid=("The Lamp",)), "Title: The Lamp", "stop")[0] is None
    assert accept(ask("title"), "Title: " + " ".join(["word"] * 20), "stop")[0] is None


def test_sentences_keep_the_first_paragraph_and_refuse_copies() -> None:
    text = "Logline: Mara must warn the ship. She has one night.\n\nUnrelated second paragraph."
    assert accept(ask("sentences"), text, "stop") == (
        "Mara must warn the ship. She has one night.",
        None,
    )
    premise = "A lighthouse keeper finds a message in a bottle that predicts a shipwreck."
    copied = ask("sentences", premise=premise)
    assert accept(copied, premise, "stop")[0] is None
    assert accept(ask("sentences"), "word " * 20, "stop")[0] is None  # repetition


def test_lists_are_normalised() -> None:
    assert accept(ask("list"), "The themes are trust, memory and the sea.", "stop") == (
        "trust, memory, the sea",
        None,
    )


def test_prose_is_cleaned_and_checked() -> None:
    prose = ask("prose", summary="Mara climbs the tower to light the lamp before the storm.")
    draft = (
        "# Scene 1\nHere is the scene:\nMara climbs the tower to light the lamp before the "
        "storm.\nThe wind pulled at her coat as she counted the steps, one hundred and "
        "twelve of them, each slick with salt. At the top the lamp waited, cold and dark, "
        "and she struck the match with hands that would not stop shaking. Below, the sea "
        "kept its own time"
    )
    value, reason = accept(prose, draft, "length")
    assert reason is None and value is not None
    assert not value.startswith("#") and "Here is" not in value
    assert "Mara climbs the tower" not in value  # the copied note is gone
    assert value.endswith("shaking.")  # truncated text cut at its last full sentence
    assert (
        accept(prose, "I revised the text to make it more vivid. " * 3 + draft, "stop")[0] is None
    )
    assert accept(prose, "Too short.", "stop")[0] is None
    labelled = (
        draft.replace("Here is the scene:\n", "")
        + ".\n\nSummary:\n\n"
        + ("Notes of music drifted up the stair.\n**Summary:** Mara lights the lamp.\nThe End")
    )
    value, reason = accept(prose, labelled, "stop")
    assert reason is None and value is not None
    assert "Summary" not in value and "The End" not in value  # labels, not story
    assert value.endswith("Notes of music drifted up the stair.")  # prose that looks alike


def test_trim_and_copy_helpers() -> None:
    assert trim_to_sentence("One. Two! Three") == "One. Two!"
    assert trim_to_sentence("no end at all") == "no end at all"
    notes = ["the keeper lit the lamp at the top of the tower"]
    assert copies_context("The keeper lit the lamp at the top of the tower.", notes)
    assert not copies_context("A gull cried over the black water below them.", notes)
    text = "The keeper lit the lamp at the top of the tower. A gull cried."
    assert drop_copied_sentences(text, notes) == "A gull cried."


def test_ask_until_valid_reasks_with_the_reason_and_new_seeds() -> None:
    replies = iter(['{"json": 1}', "Title: Lantern"])
    sent: list[dict] = []

    def send(request: dict) -> tuple[str, str | None]:
        sent.append(request)
        return next(replies), "stop"

    value = ask_until_valid(ask("title"), send, temperature=0.0, seed=10)
    assert value == "Lantern"
    assert [r["seed"] for r in sent] == [10, 11]
    assert sent[0]["temperature"] == 0.0 and sent[1]["temperature"] == 0.8
    assert "not JSON" in sent[1]["prompt"] and "not JSON" not in sent[0]["prompt"]


def test_ask_until_valid_gives_up_with_the_raw_text_or_the_fallback() -> None:
    def send(request: dict) -> tuple[str, str | None]:
        return "", "stop"

    with pytest.raises(InvalidOutputError) as caught:
        ask_until_valid(ask("title"), send, temperature=0.7, seed=1, first_attempt=6)
    assert caught.value.attempts == 16 and "10 attempts" in caught.value.message
    fallback = Ask(
        "t",
        "editor",
        "plan_title.j2",
        {"genre": "g", "premise": "p"},
        "prose",
        40,
        fallback="the draft",
    )
    assert ask_until_valid(fallback, send, temperature=0.7, seed=1) == "the draft"


def test_a_copied_input_is_left_out_of_the_next_prompt_and_still_checked() -> None:
    premise = "A lighthouse keeper on a remote island must decide who to trust before the storm."
    question = Ask(
        "outline.1.summary",
        "planner",
        "plan_title.j2",
        {"genre": "mystery", "premise": premise},
        "sentences",
        90,
    )
    copies = f"{premise} The storm comes."
    replies = iter([copies, copies, "Mara reads the warning and rows out to the wreck alone."])
    sent: list[str] = []

    def send(request: dict) -> tuple[str, str | None]:
        sent.append(request["prompt"])
        return next(replies), "stop"

    value = ask_until_valid(question, send, temperature=0.0, seed=1)
    assert value == "Mara reads the warning and rows out to the wreck alone."
    assert premise in sent[0] and premise not in sent[1] and premise not in sent[2]
    # the second answer copied the premise too, though it was not shown: still refused
    assert len(sent) == 3


@pytest.mark.parametrize(
    "text",
    [
        "In the two sentences, I've tried to convey a sense of anticipation and tension.",
        "In two sentences, I will rephrase the text. I am ready to assist with your writing.",
        # the question said back (the 135M model, a story's ending)
        "In one or two sentences, describe how the story ends.",
    ],
)
def test_a_summary_that_talks_about_the_task_is_refused(text: str) -> None:
    value, reason = accept(ask("sentences"), text, "stop")
    assert value is None and reason and "not what you are doing" in reason


def test_a_model_that_gives_no_name_is_offered_two_and_the_check_still_decides() -> None:
    """A retry for a name offers two (seeded, none sharing a word with a taken name); the
    answer is still checked: a taken name is refused even when the model copies it."""
    question = ask("name", avoid=("Clara Voss",))
    sent: list[str] = []

    def send(request: dict) -> tuple[str, str | None]:
        sent.append(request["prompt"])
        if len(sent) == 1:
            return "The villain's name: The Last Whisperer.", "stop"
        if len(sent) == 2:
            return "Clara Voss, again.", "stop"  # taken: refused whatever the prompt said
        offered = sent[-1].rsplit("for example ", 1)[1].rstrip(".").split(" or ")
        return f"{offered[1]} waits at the door.", "stop"

    value = ask_until_valid(question, send, temperature=0.0, seed=3)
    assert len(sent) == 3 and "for example" not in sent[0]
    first, second = (p.rsplit("for example ", 1)[1].rstrip(".") for p in sent[1:])
    assert first != second  # each attempt offers others
    names = [n for offer in (first, second) for n in offer.split(" or ")]
    assert value == names[-1] and all(len(n.split()) == 2 for n in names)
    assert not {w for n in names for w in n.split()} & {"Clara", "Voss"}
    replayed = list(sent)
    sent.clear()
    assert ask_until_valid(question, send, temperature=0.0, seed=3) == value
    assert sent == replayed  # the same book asks the same way


@pytest.mark.parametrize(
    "text", ["Lena has worked the streets of New York City for years.", "Kingdom Come"]
)
def test_a_place_is_not_a_name(text: str) -> None:
    assert accept(ask("name"), text, "stop")[0] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Title: The Last Whisker: In chapter 1, Lena finds a cat:", "The Last Whisker"),
        ("The title: A Tale of Obsession: A Classic Tale of Cat Obsession", "A Tale of Obsession"),
        ("Lantern: A Story", "Lantern: A Story"),
    ],
)
def test_a_title_with_a_long_subtitle_keeps_the_title(text: str, expected: str) -> None:
    assert accept(ask("title"), text, "stop") == (expected, None)


@pytest.mark.parametrize(
    "preamble",
    [
        "I'll make sure to keep the wording while making it concise. I'll rephrase it to:",
        "In the scene with the detective, let's say it is a twist. Here's the edited version:",
        "Here is the scene:",
    ],
)
def test_a_line_that_introduces_the_answer_is_dropped_and_the_story_kept(preamble: str) -> None:
    story = (
        "Lena Redlove stood at the window and watched the street for the grey cat. The rain "
        "had stopped an hour ago, and the gutters still ran. She counted the doors twice."
    )
    question = ask("prose")
    assert accept(question, f"{preamble}\n\n{story}", "stop") == (story, None)
    # a paragraph of talk about the task before the story goes too (in the story: refused)
    note = "I'll make sure the story reads well."
    assert accept(question, f"{note}\n\n{story}", "stop") == (story, None)
    assert accept(question, f"{story} {note}", "stop")[0] is None


SCENE = [
    "Mara climbed the stair with the lamp before the light failed.",
    "Rain hammered the glass while the harbour bell rang twice below.",
    "Somewhere a gull cried over the black water near the reef.",
    "She counted the ships in the ledger and folded the old chart.",
    "The wick hissed when she trimmed it with her cold fingers.",
    "Down in the cove a small boat knocked against the slipway.",
    "Tobias had promised to row out before dusk, and he had not.",
    "Wind pulled at the door until the iron latch gave a groan.",
    "She set the kettle on the stove and listened for an engine.",
    "Fog rolled in from the east, thick as wet wool on the rocks.",
    "The bottle lay on the table where she had left it that morning.",
    "Its message named tonight, the third night, and a ship called Wren.",
    "Mara read the words again, slower, as if they might change.",
    "Her father had kept this tower for forty years without a wreck.",
    "Now the beam swept the sea and found nothing but grey waves.",
    "At nine she heard it: a horn, low and far, to the north.",
    "She pulled on her boots and her father's oilskin coat.",
    "The rope ladder swung as she went down toward the landing.",
    "Every step on the wet stone felt like a question without answer.",
    "By the time she reached the boat, the horn had stopped entirely.",
]


def test_an_edit_that_leaves_out_most_of_the_scene_is_refused() -> None:
    draft = " ".join(SCENE)
    whole = len(draft.split())
    edit = Ask(
        "edit",
        "editor",
        "edit_scene.j2",
        {"draft": draft},
        "prose",
        400,
        target_words=250,
        fallback=draft,
        extra={"keep_length": True},
    )
    short = " ".join(SCENE[:6])  # under a third of the draft
    value, reason = accept(edit, short, "stop")
    assert value is None and reason and f"about {whole} words" in reason
    assert len(SCENE) == 20
    two_thirds = " ".join(SCENE[:13])  # a chapter of such scenes is under S_l 80
    assert accept(edit, two_thirds, "stop")[0] is None
    tightened = " ".join(SCENE[:17])  # 0.85 of it
    assert accept(edit, tightened, "stop")[0] is not None
    free = Ask("edit", "editor", "edit_scene.j2", {"draft": draft}, "prose", 400, target_words=250)
    assert accept(free, short, "stop")[0] is not None  # a book recorded before: unchanged


@pytest.mark.parametrize(
    "first", ["I have only one thing to tell you:", "Mara thought, I can still leave:"]
)
def test_a_narrators_first_line_is_story_not_preamble(first: str) -> None:
    story = " ".join(SCENE[:8])
    assert accept(ask("prose"), f"{first}\n\n{story}", "stop") == (f"{first}\n\n{story}", None)


@pytest.mark.parametrize("name", ["Tom Street", "Mara New", "Newton Hale"])
def test_surnames_that_are_also_words_are_names(name: str) -> None:
    assert accept(ask("name"), f"Her name is {name}.", "stop") == (name, None)


def test_attempts_set_on_an_ask_are_its_attempts_for_recorded_books_too() -> None:
    """`attempts_were` tells the engine what count a job's default replaced (recorded books
    replay the old one); a count set afterwards, as the story bible's one try, is neither."""
    question = Ask(
        "bible.1.2", "planner", "extract_facts.j2", {}, "lines", 160,
        extra={"lines": "facts", "attempts": 2, "attempts_were": (3, "facts-in-two")},
    )  # fmt: skip
    once = question.with_attempts(1)
    assert once.extra == {"lines": "facts", "attempts": 1}
    assert question.extra["attempts_were"] == (3, "facts-in-two")  # the ask itself unchanged


@pytest.mark.parametrize(
    ("recorded_under", "count"),
    [({"facts-in-one", "facts-in-two"}, None), ({"facts-in-two"}, 2), (set(), 3)],
)
def test_a_count_changed_twice_replays_the_count_a_book_was_recorded_with(
    monkeypatch: pytest.MonkeyPatch, recorded_under: set[str], count: int | None
) -> None:
    """A new book (every patch) asks today's count; a book recorded between the two
    changes asks two; one recorded before both, three."""
    from bookwright.engine import asking

    monkeypatch.setattr(asking.DBOS, "patch", lambda name: name in recorded_under)
    were = ((2, "facts-in-one"), (3, "facts-in-two"))
    assert asking.recorded_attempts(were) == count
    assert asking.recorded_attempts((10, "edits-in-four")) == 10  # one change, not recorded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Title: The Keeper's Warning: The Forgotten Hope", "The Forgotten Hope"),
        ('Title: The Keeper\'s Warning: "A Tale of Fate"', "A Tale of Fate"),
        ("The Forgotten Hope: A Tale of Fate", "The Forgotten Hope"),
    ],
)
def test_a_chapter_title_after_the_books_title_is_the_chapters(text: str, expected: str) -> None:
    """A small model puts the book's title first, then the chapter's own: the part after
    the colon is taken; the book's title alone is still refused."""
    chapter = ask("title", avoid=("The Keeper's Warning",))
    assert accept(chapter, text, "stop") == (expected, None)
    assert accept(chapter, "Title: The Keeper's Warning", "stop")[0] is None


def test_a_phrase_three_times_in_a_paragraph_is_refused_and_kept_last() -> None:
    """The demo's chapter 2 had "one more tale, one more tale of destiny, one more tale of
    luck, and one more tale of the unknown": refused, and ranked below a clean answer."""
    loop = (
        "The keeper could only make out one more tale, one more tale of destiny, one more "
        "tale of luck, and one more tale of the unknown. " + " ".join(SCENE[:6])
    )
    clean = " ".join(SCENE[:12])
    scene = ask("prose")
    value, reason = accept(scene, loop, "stop")
    assert (
        value is None and reason == "A phrase came 4 times in one paragraph; say each thing once."
    )
    assert accept(scene, clean, "stop")[0] == clean
    # in separate paragraphs, or all small words ("and it was"), it is prose
    assert accept(scene, "It was late and it was cold and it was dark. " + clean, "stop")[0]
    loop_score, clean_score = best_effort(scene, loop, "stop"), best_effort(scene, clean, "stop")
    assert loop_score and clean_score and loop_score[0] < clean_score[0]


STORY = (
    "The old sailor looked at Judy across the wet planks of the pier. The wind cut through "
    'the harbour, and the lamps swung on their hooks. "I\'ll make sure you get home," he '
    "said, and he meant it. She pulled her coat tight and followed him down to the boat, "
    "where the ropes were already loose and the tide was turning."
)


def test_a_note_on_the_changes_after_the_story_goes_and_the_story_stays() -> None:
    note = "I made the changes: grammar, spelling, rewriting the sentences."
    for text in (f"{STORY}\n\n{note}", f"{note}\n\n{STORY}"):
        assert accept(ask("prose"), text, "stop") == (STORY, None)


def test_talk_about_the_changes_inside_the_story_is_refused_but_dialogue_is_not() -> None:
    middle = STORY.replace("he meant it.", "he meant it. I have revised the text for flow.")
    value, reason = accept(ask("prose"), middle, "stop")
    assert value is None and reason == "Write the story itself, not comments about the changes."
    # a character may say "I'll make sure": what is in quotes is the story
    assert accept(ask("prose"), STORY, "stop") == (STORY, None)
