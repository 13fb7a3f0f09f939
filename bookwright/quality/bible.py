"""Story bible extraction: per scene, facts as `subject | attribute | value` lines, kept
only when the scene supports them.

Store each chapter's facts (`facts_from`) as an artifact and derive the bible with
`StoryBible.build(per_chapter_lists)`: a retried chapter then replaces its facts exactly.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bookwright.model import SceneList
from bookwright.model.quality import Fact
from bookwright.model.text import looks_like_json
from bookwright.quality.checks import attribute_key
from bookwright.quality.lines import fields, lines_ask, read_lines
from bookwright.quality.text import STOPWORDS, words
from bookwright.stages.asks import Ask

FORMAT_HINT = (
    "Answer with lines of the form: name | attribute | value, using words from the scene; or NONE."
)
_SENTENCE_FACT = re.compile(
    r"^(?P<subject>[A-Z][\w .'-]{1,60}?)(?:'s|’s) (?P<attribute>[a-z][a-z ]{1,30}?) "
    r"(?:is|are|was|were) (?P<value>.{1,80}?)\.?$"
)
_HEADER = {"subject", "name", "attribute", "value", "person", "place", "fact"}


@dataclass
class FactsReading:
    """Facts read from one answer: (subject, attribute, value) triples and what was refused."""

    facts: list[tuple[str, str, str]] = field(default_factory=list)
    said_none: bool = False
    dropped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.facts) or self.said_none

    def canonical(self) -> str:
        if not self.facts:
            return "NONE" if self.said_none else ""
        return "\n".join(" | ".join(f) for f in self.facts)


def _resolve(subject: str, names: Sequence[str]) -> str:
    """The known full name a subject refers to ("Mara" -> "Mara Quill"), else the subject."""
    folded = subject.casefold()
    for name in names:
        if folded == name.casefold():
            return name
    for name in names:
        tokens = [t.casefold() for t in name.split() if t.casefold() not in STOPWORDS]
        if folded in tokens:
            return name
    return subject


def _grounded(phrase: str, text_words: set[str]) -> bool:
    """At least half of the phrase's content words occur in the scene."""
    content = [w for w in words(phrase) if w not in STOPWORDS] or words(phrase)
    return bool(content) and 2 * sum(w in text_words for w in content) >= len(content)


def parse_fact(line: str, text_words: set[str], names: Sequence[str]) -> tuple[str, ...] | str:
    """(subject, attribute, value) from one line, or the reason it is refused."""
    parts = fields(line)
    if len(parts) != 3:
        match = _SENTENCE_FACT.match(line)
        if not match:
            return "not 'name | attribute | value'"
        parts = [match["subject"], match["attribute"], match["value"]]
    subject, attribute, value = (p.strip(" \"'.,;*") for p in parts)
    if not (subject and attribute and value):
        return "an empty field"
    if {p.casefold() for p in (subject, attribute, value)} <= _HEADER | {""}:
        return "the format line, not a fact"
    if looks_like_json(line):
        return "JSON, not a fact"
    limits = ((subject, 6, 120), (attribute, 4, 60), (value, 10, 200))
    if any(len(p.split()) > n or len(p) > chars for p, n, chars in limits):
        return "a field too long for a fact"
    subject = _resolve(subject, names)
    if not _grounded(subject, text_words):
        return f"{subject!r} is not in the scene"
    if not _grounded(value, text_words):
        return f"the value {value!r} is not in the scene"
    return subject, attribute_key(attribute), value


def parse_facts(answer: str, text: str, names: Sequence[str] = ()) -> FactsReading:
    """Read a fact answer line by line; never raises. `text` is the scene it is about.
    One value per subject and attribute in a scene."""
    text_words = set(words(text))
    read = read_lines(answer, lambda line: parse_fact(line, text_words, names),
                      lambda f: (f[0].casefold(), f[1]))  # fmt: skip
    return FactsReading(
        [(subject, attribute, value) for subject, attribute, value in read.items],
        read.said_none,
        read.dropped,
    )


def fact_asks(
    chapter: int, scenes: SceneList, texts: Sequence[str], names: Sequence[str]
) -> list[Ask]:
    """One extraction ask per scene of a written chapter."""
    return [
        lines_ask(
            label=f"bible.{chapter}.{plan.number}",
            role="planner",
            template="extract_facts.j2",
            variables={"text": text, "names": list(names)},
            max_tokens=160,
            fallback="",  # a scene may state no fact a small model can put in a line
            chapter=chapter,
            scene=plan.number,
            # One try: a model that can write the lines does at the first, and a scene
            # without facts costs nothing else (books recorded before asked two or three
            # times, and replay so).
            extra={
                "lines": "facts",
                "attempts": 1,
                "attempts_were": ((2, "facts-in-one"), (3, "facts-in-two")),
                "format_hint": FORMAT_HINT,
            },
        )
        for plan, text in zip(scenes.scenes, texts, strict=True)
    ]


def facts_from(
    answers: Sequence[str], texts: Sequence[str], chapter: int, names: Sequence[str] = ()
) -> list[Fact]:
    """The chapter's facts from each scene's extraction answer (scene order)."""
    facts = []
    for number, (answer, text) in enumerate(zip(answers, texts, strict=True), start=1):
        for subject, attribute, value in parse_facts(answer, text, names).facts:
            facts.append(
                Fact(
                    subject=subject,
                    attribute=attribute,
                    value=value,
                    from_chapter=chapter,
                    scene=number,
                )
            )
    return facts
