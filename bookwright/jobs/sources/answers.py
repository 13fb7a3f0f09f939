"""The author's answers to a book's questions, as a new source that touches only the
chapters it speaks to.

An answers file is free text in any written format a source may be (`.md`, `.txt`,
`.docx`, ...). A part of it answers a question when it starts with that question's
number (`1.`, `Q1`, `## Question 1`, as `bookwright show BOOK questions` numbers them)
or with the question itself; a part that answers none is placed by what it names. A
part touches, most specific first: the chapters of the question it answers; else the
chapters whose own node it names (a person, a theme, a year of a period); else the
chapters that already cite a person or theme it names. Its passages are the author's,
cited like any other source, and go to the front of those chapters' passages; every
other chapter keeps its version.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

from bookwright.errors import UsageError
from bookwright.jobs.sources.ingest import CAPTIONS, SUFFIXES, source_text, turns, unreadable
from bookwright.jobs.sources.storyline import ANSWERS_FOLDER, CHUNKS_PER_CHAPTER
from bookwright.model.sources import (
    AnswerRound,
    Answers,
    Chunk,
    Question,
    SourceFile,
    SourceIndex,
    Storyline,
    StoryNode,
)
from bookwright.model.text import counted

# "1.", "1)", "Q1:", "Question 1", "## 1", "**2.**" at the start of a line: a question's number
_NUMBER = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*|__)?\s*(?:(?:q|question)\s*)?(\d{1,3})\s*(?:[.):]|(?=\s*$)|(?=\*\*|__))"
    r"(?:\*\*|__)?\s*",
    re.I,
)
_HEADING = re.compile(r"^\s*#{1,6}\s+\S")
# A line that is a question's number: "7.", "Q7:", "## Question 7" (not "1952: ...")
_QUESTION_MARK = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*|__)?\s*(?:(?:q|question)\s*)?\d{1,3}\s*[.):]", re.I
)
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
QUESTION_MATCH = 90  # rapidfuzz partial_ratio of a line against a question's own words
EXTRA_CHUNKS = 4  # the author's passages a rewritten chapter takes beyond its own


@dataclass
class Part:
    """A stretch of the answers file: the question it answers (if any) and its lines."""

    first: int  # the line number of its first line
    question: int | None = None  # index into the book's questions
    lines: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(line.strip() for line in self.lines if line.strip())


def _asked(question: Question) -> str:
    """The question's own words: "Was it 1952 or 1954?" of "Was it 1952 or 1954? (opened)"."""
    head, mark, _ = question.text.partition("?")
    return (head + mark).strip()


def _question_in(line: str, questions: list[Question]) -> tuple[int, str] | None:
    """(index of the question the line starts, the rest of the line), when it starts one."""
    number = _NUMBER.match(line)
    if number and 1 <= int(number.group(1)) <= len(questions):
        return int(number.group(1)) - 1, line[number.end() :]
    plain = line.strip().lstrip("#>*_ ").strip()
    if "?" not in plain:
        return None
    asked, _, rest = plain.partition("?")
    asked += "?"
    scores = [fuzz.ratio(asked.casefold(), _asked(q).casefold()) for q in questions]
    if scores and max(scores) >= QUESTION_MATCH:
        return scores.index(max(scores)), rest.strip(" *_")
    return None


def parts(text: str, questions: list[Question]) -> list[Part]:
    """The file cut where a question (or any heading) starts a new part."""
    found: list[Part] = []
    current = Part(first=1)
    for number, line in enumerate(text.split("\n"), start=1):
        asked = _question_in(line, questions)
        if asked is not None or _HEADING.match(line):
            if current.text:
                found.append(current)
            index, rest = asked if asked is not None else (None, "")
            current = Part(first=number, question=index, lines=[rest])
            continue
        if not current.lines:
            current.first = number
        current.lines.append(line)
    if current.text:
        found.append(current)
    return found


def _span(node: StoryNode) -> tuple[int, int] | None:
    years = [int(y) for y in _YEAR.findall(node.period or node.label)]
    decades = [int(d) for d in re.findall(r"\b(1[5-9]\d0|20\d0)s\b", node.label)]
    if decades:
        return min(decades), max(decades) + 9
    return (min(years), max(years)) if years else None


def names(text: str, node: StoryNode) -> bool:
    """Whether the text speaks of the node: its person (full name, or last name), its
    theme's words, or a year of its period."""
    if node.kind == "period":
        span = _span(node)
        return span is not None and any(span[0] <= int(y) <= span[1] for y in _YEAR.findall(text))
    if node.kind == "person":
        words = node.label.split()
        return any(re.search(rf"\b{re.escape(w)}\b", text) for w in (node.label, words[-1]))
    return node.label.casefold() in text.casefold()


def touched(part: Part, questions: list[Question], storyline: Storyline) -> dict[int, str]:
    """Chapter -> why this part touches it, the most specific reason first."""
    if part.question is not None:
        asked = questions[part.question]
        if asked.chapters:
            return dict.fromkeys(asked.chapters, f'answers "{_asked(asked)}"')
    nodes = {n.id: n for n in storyline.nodes}
    own = {
        c.number: f"speaks of {nodes[c.node].label}"
        for c in storyline.chapters
        if c.node in nodes and names(part.text, nodes[c.node])
    }
    if own:
        return own
    chunks_of = {c.number: set(c.chunks) for c in storyline.chapters}
    wider: dict[int, str] = {}
    for node in storyline.nodes:
        if node.kind != "period" and names(part.text, node):
            for number, chunks in chunks_of.items():
                if chunks & set(node.chunks):
                    wider.setdefault(number, f"speaks of {node.label}")
    return wider


@dataclass
class Added:
    """What `add_answers` made: the new index, storyline and answers, and the round."""

    index: SourceIndex
    storyline: Storyline
    answers: Answers
    round: AnswerRound
    unanswered: list[int] = field(default_factory=list)  # question numbers left open


def add_answers(
    path: Path,
    index: SourceIndex,
    storyline: Storyline,
    questions: list[Question],
    answers: Answers,
    author: str,
) -> Added:
    """Read the answers file and plan what it changes. Refuses (UsageError) a file that
    cannot be read or holds no answer, and one already added; nothing is stored here."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES or suffix in CAPTIONS:
        written = ", ".join(s for s in SUFFIXES if s not in CAPTIONS)
        raise UsageError(
            f"{path.name} is not a written document ({suffix or 'no suffix'})",
            f"Write your answers in a {written} file",
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"Cannot read {path}: {exc.strerror or exc}", "Check the path and run again"
        ) from None
    digest = hashlib.sha256(raw).hexdigest()
    for file in index.files:
        if file.name.startswith(ANSWERS_FOLDER) and file.sha256 == digest:
            raise UsageError(
                f"These answers are already in the book (as {file.name})",
                "Write new answers in a new file, or change this one, and run again",
            )
    try:
        text = source_text(path, raw)
    except (ValueError, UnicodeDecodeError, RuntimeError) as exc:
        raise UsageError(
            f"Cannot read {path.name}: {unreadable(exc)}", "Fix the file and run again"
        ) from None
    taken = {f.name for f in index.files}
    name, n = f"{ANSWERS_FOLDER}{path.name}", 2
    while name in taken:
        name, n = f"{ANSWERS_FOLDER}{path.stem}-{n}{path.suffix}", n + 1
    for number, line in enumerate(text.split("\n"), start=1):
        asked = _NUMBER.match(line)
        if asked and int(asked.group(1)) > len(questions) and _QUESTION_MARK.match(line):
            raise UsageError(
                f"{path.name}, line {number}: there is no question {asked.group(1)} "
                f"(the book has {counted(len(questions), 'open question')})",
                "See them, numbered, with `bookwright show BOOK questions`",
            )
    known = {c.id for c in index.chunks}
    new_chunks: list[Chunk] = []
    rewrite: dict[int, str] = {}
    gets: dict[int, list[str]] = {}  # chapter -> the author's passages it takes
    answered: list[str] = []
    for part in parts(text, questions):
        chunks = [
            c for c in turns(name, part.lines, part.first, unattributed=author) if c.id not in known
        ]
        if not chunks:
            continue
        known.update(c.id for c in chunks)
        new_chunks += chunks
        if part.question is not None:
            answered.append(questions[part.question].text)
        for number, why in touched(part, questions, storyline).items():
            rewrite.setdefault(number, why)
            gets.setdefault(number, []).extend(c.id for c in chunks)
    if not new_chunks:
        raise UsageError(
            f"{path.name} holds no answer",
            "Write each answer after its question's number (`1.`) or the question itself",
        )
    file = SourceFile(name=name, sha256=digest, chunks=len(new_chunks))
    new_index = SourceIndex(files=[*index.files, file], chunks=[*index.chunks, *new_chunks])
    chapters = []
    for planned in storyline.chapters:
        extra = gets.get(planned.number, [])[:EXTRA_CHUNKS]
        if extra:
            keep = [c for c in planned.chunks if c not in extra][:CHUNKS_PER_CHAPTER]
            planned = planned.model_copy(update={"chunks": [*extra, *keep]})
        chapters.append(planned)
    node_of = {c.number: c.node for c in storyline.chapters}
    nodes = []
    for node in storyline.nodes:
        added = [i for number, ids in gets.items() if node_of.get(number) == node.id for i in ids]
        if added:
            node = node.model_copy(update={"chunks": list(dict.fromkeys([*node.chunks, *added]))})
        nodes.append(node)
    new_round = AnswerRound(
        file=name,
        questions=answered,
        chapters=dict(sorted(rewrite.items())),
        chunks=[c.id for c in new_chunks],
    )
    done = {q.text for q in questions} & (answers.answered | set(answered))
    return Added(
        index=new_index,
        storyline=Storyline(nodes=nodes, chapters=chapters),
        answers=Answers(rounds=[*answers.rounds, new_round], rewrite=sorted(rewrite)),
        round=new_round,
        unanswered=[i + 1 for i, q in enumerate(questions) if q.text not in done],
    )
