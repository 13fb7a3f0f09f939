"""Names from lists: the grammar the embedded model answers a name or a place ask under."""

from __future__ import annotations

import re

from bookwright.stages.answers import NOT_NAME_WORDS, accept
from bookwright.stages.asks import Ask
from bookwright.stages.stand_ins import LIST_LENGTH, PLACE_NOUNS, answer_grammar, name_grammar


def _alternatives(grammar: str, rule: str) -> list[str]:
    line = next(x for x in grammar.splitlines() if x.startswith(f"{rule} ::="))
    return re.findall(r'"([^"]*)"', line)


def test_every_sentence_of_the_grammar_is_an_acceptable_new_name() -> None:
    ask = Ask("characters.antagonist.name", "planner", "character_name.j2", {}, "name", 40,
              avoid=("Mara Quill", "Tom Street"))  # fmt: skip
    grammar = name_grammar(ask, 7, NOT_NAME_WORDS)
    assert grammar.splitlines()[0] == 'root ::= ("His" | "Her") " name is " first " " last "."'
    firsts, lasts = _alternatives(grammar, "first"), _alternatives(grammar, "last")
    assert len(firsts) == len(lasts) == LIST_LENGTH
    taken = {"mara", "quill", "tom", "street"}
    assert not taken & {w.casefold() for w in firsts + lasts}
    assert not set(firsts) & set(lasts)  # "James James" would be refused
    for first in firsts[:5]:
        for last in lasts[:5]:
            answer = f"Her name is {first} {last}."
            assert accept(ask, answer, "stop") == (f"{first} {last}", None)


def test_the_lists_are_seeded_by_the_book_and_the_field() -> None:
    baker = {"premise": "A baker's bread makes people tell the truth."}
    hero = Ask("characters.protagonist.name", "planner", "t", baker, "name", 40)
    villain = Ask("characters.antagonist.name", "planner", "t", baker, "name", 40)
    other_book = Ask("characters.protagonist.name", "planner", "t", {"premise": "A cat."},
                     "name", 40)  # fmt: skip
    assert name_grammar(hero, 3) == name_grammar(hero, 3)
    assert name_grammar(hero, 3) != name_grammar(hero, 4)
    assert name_grammar(hero, 3) != name_grammar(villain, 3)
    # books on the same (default) seed get other lists: not every hero the same name
    firsts = _alternatives(name_grammar(hero, 3), "first")
    others = _alternatives(name_grammar(other_book, 3), "first")
    assert len(set(firsts) & set(others)) < LIST_LENGTH // 2


def test_every_answer_of_the_place_grammar_is_an_acceptable_new_place() -> None:
    def place_ask(avoid: tuple[str, ...]) -> Ask:
        return Ask("locations.2.name", "planner", "location_name.j2",
                   {"premise": "A keeper finds a diary."}, "place", 24, avoid=avoid)  # fmt: skip

    first_drawn = _alternatives(answer_grammar(place_ask(()), 7), "proper")[0]
    ask = place_ask((f"{first_drawn} Lighthouse",))
    grammar = answer_grammar(ask, 7)
    assert grammar.splitlines()[0] == 'root ::= "Place: " proper " " noun "."'
    propers, nouns = _alternatives(grammar, "proper"), _alternatives(grammar, "noun")
    assert len(propers) == LIST_LENGTH and nouns == list(PLACE_NOUNS)
    assert first_drawn not in propers  # a taken place's words are left out
    for proper in propers[:4]:
        for noun in nouns:
            assert accept(ask, f"Place: {proper} {noun}.", "stop") == (f"{proper} {noun}", None)


def test_only_names_and_places_get_a_grammar() -> None:
    for kind in ("title", "sentences", "list", "prose", "lines"):
        assert answer_grammar(Ask("x", "planner", "t", {}, kind, 24), 3) == ""
