"""The judge of a book from sources: each cited sentence against the passage it cites.

The grounded reading (grounding.py) already drops what word overlap can see: a citation
to nothing, a misquotation, a year the passage does not give, a sentence sharing too
little with its passage. What it cannot see, a sentence with the passage's words and
not its meaning ("the mill closed in 1962" from "the mill did not close in 1962"), the
judge can: one ask per chapter, a line per sentence, `unsupported` for each the passage
does not support. Such a sentence is dropped and becomes a question for the author;
when too little is left, the chapter is written again with those sentences named (the
write level), and a chapter that still cannot stand is edited from its sources.

A judge that gives no usable verdict drops nothing: the grounded reading stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bookwright.jobs.sources.grounding import CITE
from bookwright.model.sources import Chunk, Question, SourcesSpec
from bookwright.quality.readers import READERS
from bookwright.quality.text import sentences
from bookwright.stages.asks import Ask

MAX_SENTENCES = 24  # judged per chapter, at most (the prompt stays bounded)
PASSAGE_WORDS = 80  # of each cited passage shown to the judge
_VERDICT = re.compile(
    r"^\s*(?:sentence\s*)?(\d{1,3})\s*[:.)\-]?\s*\**\s*"
    r"(yes|no|supported|unsupported|true|false)\b[\s:,.\-]*(.*)$",
    re.I,
)
FORMAT_HINT = (
    'Answer one line per sentence: its number, then "yes" or "no: why", '
    'like "2: no: the source gives no year".'
)


@dataclass
class Verdicts:
    count: int  # the sentences judged
    unsupported: dict[int, str] = field(default_factory=dict)  # number -> why
    judged: set[int] = field(default_factory=set)

    @property
    def usable(self) -> bool:
        return bool(self.judged)

    def canonical(self) -> str:
        return "\n".join(
            f"{n}: no: {self.unsupported[n]}" if n in self.unsupported else f"{n}: yes"
            for n in sorted(self.judged)
        )


def parse_support(text: str, count: int) -> Verdicts:
    verdicts = Verdicts(count=count)
    for line in text.splitlines():
        match = _VERDICT.match(line.strip().lstrip("-*• "))
        if not match or not 1 <= int(match.group(1)) <= count:
            continue
        number = int(match.group(1))
        if number in verdicts.judged:
            continue  # the first verdict on a sentence stands
        verdicts.judged.add(number)
        if match.group(2).casefold() in ("no", "unsupported", "false"):
            why = " ".join(match.group(3).split())[:200]
            verdicts.unsupported[number] = why or "its source does not say it"
    return verdicts


READERS["support"] = lambda ask, text: parse_support(text, len(ask.variables["sentences"]))


def judged_sentences(text: str, chunks: dict[str, Chunk]) -> list[dict[str, str]]:
    """The chapter's cited sentences with the first passage each cites (bounded)."""
    out = []
    for sentence in sentences(text.replace("\n", " ")):
        cited = [c for c in CITE.findall(sentence) if c in chunks]
        if not cited:
            continue
        words = chunks[cited[0]].text.split()
        source = " ".join(words[:PASSAGE_WORDS]) + (" ..." if len(words) > PASSAGE_WORDS else "")
        out.append({"sentence": sentence, "id": cited[0], "source": source})
        if len(out) == MAX_SENTENCES:
            break
    return out


def support_ask(number: int, text: str, chunks: dict[str, Chunk], spec: SourcesSpec) -> Ask | None:
    """The judge's ask for a chapter; None when no sentence cites a passage."""
    judged = judged_sentences(text, chunks)
    if not judged:
        return None
    return Ask(
        label=f"sources.judge.{number}",
        role="judge",
        template="sources_judge.j2",
        variables={"chapter": number, "title": spec.title, "sentences": judged},
        kind="lines",
        max_tokens=min(1200, 24 * len(judged) + 40),
        fallback="",  # no verdict: nothing is dropped
        chapter=number,
        extra={
            "lines": "support",
            "attempts": 2,
            "format_hint": FORMAT_HINT,
            "system": "system_fact_checker.j2",
        },
    )


def apply_verdict(
    text: str, verdict: str, judged: list[dict[str, str]]
) -> tuple[str, list[dict[str, Any]]]:
    """(the text without the sentences the judge found unsupported, one issue each)."""
    found = parse_support(verdict, len(judged)) if verdict else Verdicts(count=len(judged))
    issues = [
        {
            "category": "unsupported",
            "sentence": judged[n - 1]["sentence"],
            "chunk": judged[n - 1]["id"],
            "note": why,
        }
        for n, why in sorted(found.unsupported.items())
    ]
    dropped = {i["sentence"] for i in issues}
    kept = [s for s in sentences(text.replace("\n", " ")) if s not in dropped]
    return " ".join(kept), issues


def words_of(text: str) -> int:
    return len(CITE.sub(" ", text).split())


def as_questions(number: int, issues: list[dict[str, Any]]) -> list[Question]:
    """Each claim the judge could not support, as a question for the author."""
    return [
        Question(
            text=f'Can a source confirm this: "{CITE.sub("", i["sentence"]).strip()[:160]}"?',
            why=f"the passage it cited ({i['chunk']}) does not say it: {i['note']}",
            chapters=[number],
            chunks=[i["chunk"]],
        )
        for i in issues
    ]
