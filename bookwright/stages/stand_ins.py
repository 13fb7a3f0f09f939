"""What a field keeps when the model gave no acceptable answer after every attempt.

Text fields keep the best answer that came back (`best_effort`); a name, a place or a
title gets a stand-in from Faker's name lists, seeded by the book's seed and the field,
so the same book always gets the same one.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection

from faker import Faker

from bookwright.stages.asks import Ask

PLACE_WORDS = ("Point", "Harbour", "Cove", "Hall", "Hill", "Lane", "Mill", "Reach", "Yard")
TITLE_WORDS = (
    "Crossing",
    "Inheritance",
    "Lantern",
    "Letters",
    "Reckoning",
    "Secret",
    "Tide",
    "Watch",
    "Winter",
)
STAND_IN_KINDS = ("name", "place", "title")
# What a place is, for the embedded model to pick from (place_grammar): the sea, a
# village, a town, the desert, the country, a house.
PLACE_NOUNS = (
    "Harbour", "Cove", "Lighthouse", "Quay", "Point", "Beach", "Island",
    "Bakery", "Market", "Square", "Mill", "Chapel", "Inn", "Tavern", "Bridge", "Hall", "Lane",
    "Street", "Alley", "Station", "Office", "Hotel", "Cafe", "Library", "School", "Museum",
    "Oasis", "Dunes", "Well", "Camp", "Ridge", "Canyon",
    "Forest", "Valley", "Hill", "Lake", "Woods", "Farm", "Orchard",
    "Manor", "House", "Cottage", "Tower", "Garden",
)  # fmt: skip


def _faker(seed: int, key: str) -> Faker:
    """Faker's lists, seeded by the book's seed and `key`: the same book draws the same."""
    fake = Faker("en_US")
    fake.seed_instance(seed * 7919 + zlib.crc32(key.encode()))
    return fake


def suggested_names(ask: Ask, seed: int, attempt: int) -> list[str]:
    """Two first-and-last names none of `ask.avoid` takes or shares a word with, seeded by
    the book, the field and the attempt: what a retry offers a model that gave no name."""
    fake = _faker(seed, f"{ask.label}#{attempt}")
    taken = taken_words(ask)
    names: list[str] = []
    while len(names) < 2:
        first, last = fake.first_name(), fake.last_name()
        if {first.casefold(), last.casefold()} & taken or first == last:
            continue
        names.append(f"{first} {last}")
        taken |= {first.casefold(), last.casefold()}
    return names


LIST_LENGTH = 12  # first names and last names each: a choice, and not always the same favourite


def name_grammar(ask: Ask, seed: int, refused: Collection[str] = ()) -> str:
    """A GBNF grammar whose sentences are "Her name is First Last.", the names from seeded
    lists of Faker's, leaving out every word of `ask.avoid` and `refused`: the model picks
    the name (the role, the genre and the premise weigh on its choice); the lists keep it
    a name.

    The 135M embedded model asked freely answers with the book's title most of the time
    (`bench/names.py`: 2 names in 20 asks); picking from these lists it gave 20 in 20. A
    grammar of any two capitalised words gave gibberish ("Ayeaahahaha Iresaheaahz").
    """
    fake = _list_faker(ask, seed)
    left_out = taken_words(ask) | {w.casefold() for w in refused}
    firsts = _drawn(fake.first_name, left_out)
    lasts = _drawn(fake.last_name, left_out | {f.casefold() for f in firsts})
    # A sentence, as the prompt asks: left to start the answer, the model starts as it
    # starts its sentences ("A baker ..."), and "A" let only names in A through.
    return (
        'root ::= ("His" | "Her") " name is " first " " last "."\n'
        f"first ::= {_alternatives(firsts)}\n"
        f"last ::= {_alternatives(lasts)}\n"
    )


def place_grammar(ask: Ask, seed: int) -> str:
    """A GBNF grammar whose answers are "Place: Proper Noun.", the proper word from a
    seeded list of Faker's last names (none a taken name shares) and the noun from
    PLACE_NOUNS: the model picks both ("Whitaker Lighthouse"), the lists keep it a place.

    Asked freely, the 135M model answers with the book's title ("The Keeper is set in a
    small island town, where ...") until its attempts run out (seen: 4 of 5 in a row)."""
    propers = _drawn(_list_faker(ask, seed).last_name, taken_words(ask))
    return (
        'root ::= "Place: " proper " " noun "."\n'
        f"proper ::= {_alternatives(propers)}\n"
        f"noun ::= {_alternatives(list(PLACE_NOUNS))}\n"
    )


def answer_grammar(ask: Ask, seed: int, refused: Collection[str] = ()) -> str:
    """The grammar for `ask`'s answer on the embedded model: a name or a place from
    lists; "" (free text) for every other kind."""
    if ask.kind == "name":
        return name_grammar(ask, seed, refused)
    if ask.kind == "place":
        return place_grammar(ask, seed)
    return ""


def taken_words(ask: Ask) -> set[str]:
    """Every word of the names `ask` must not take, folded: a new name shares none."""
    return {w.casefold() for name in ask.avoid for w in name.split()}


def _list_faker(ask: Ask, seed: int) -> Faker:
    """Faker for a grammar's lists, keyed by the field and the book's premise too: books on
    one seed (the default) get other lists, or every hero would be one list's favourite."""
    return _faker(seed, f"{ask.label}#lists#{ask.variables.get('premise', '')}")


def _drawn(draw: Callable[[], str], left_out: set[str]) -> list[str]:
    found: dict[str, None] = {}
    for _ in range(LIST_LENGTH * 4):
        word = draw()
        if word.casefold() not in left_out and word.isalpha():
            found[word] = None
        if len(found) == LIST_LENGTH:
            break
    return sorted(found)


def _alternatives(words: list[str]) -> str:
    return " | ".join(f'"{w}"' for w in words)


def stand_in(ask: Ask, seed: int) -> str:
    """A deterministic name, place or title for `ask` that none of `ask.avoid` takes."""
    fake = _faker(seed, ask.label)
    taken = {a.casefold() for a in ask.avoid}
    value = ""
    for _ in range(100):
        if ask.kind == "name":
            value = f"{fake.first_name()} {fake.last_name()}"
        elif ask.kind == "place":
            value = f"{fake.last_name()} {fake.random_element(PLACE_WORDS)}"
        else:
            value = f"The {fake.last_name()} {fake.random_element(TITLE_WORDS)}"
        if value.casefold() not in taken:
            return value
    return f"{value} {len(taken) + 1}"
