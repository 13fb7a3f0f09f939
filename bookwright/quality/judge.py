"""The chapter judge: one short line-format ask per scene, a tolerant parser that keeps
only issues whose quote occurs in the scene, and the verdict that combines them with the
deterministic checks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bookwright.model import ChapterOutline, SceneList
from bookwright.model.quality import Category, Checks, Fact, Issue, Severity, Verdict
from bookwright.quality.lines import QUOTE, SINGLE_QUOTE, fields, lines_ask, read_lines
from bookwright.quality.settings import QualitySettings
from bookwright.quality.text import normalize
from bookwright.stages.asks import Ask

# Names a model gives each category; the first word that matches wins.
CATEGORY_ALIASES: dict[str, Category] = {
    **{c.value.replace("_", " "): c for c in Category},
    "grammar": Category.prose,
    "wording": Category.prose,
    "language": Category.prose,
    "writing": Category.prose,
    "clarity": Category.prose,
    "pace": Category.pacing,
    "tone": Category.style,
    "voice": Category.style,
    "cliche": Category.style,
    "cliché": Category.style,
    "repetitive": Category.repetition,
    "repeated": Category.repetition,
    "redundancy": Category.repetition,
    "name": Category.names,
    "naming": Category.names,
    "misspelling": Category.names,
    "character": Category.motivation,
    "characterization": Category.motivation,
    "characterisation": Category.motivation,
    "ending": Category.hook,
    "cliffhanger": Category.hook,
    "opening": Category.hook,
    "clue": Category.clue_fairness,
    "clues": Category.clue_fairness,
    "fairness": Category.clue_fairness,
    "dialog": Category.dialogue,
    "speech": Category.dialogue,
    "plot": Category.structure,
    "outline": Category.structure,
    "logic": Category.structure,
    "consistency": Category.continuity,
    "inconsistency": Category.continuity,
    "contradiction": Category.continuity,
    "violence": Category.safety,
    "harm": Category.safety,
}
SEVERITY_ALIASES: dict[str, Severity] = {
    **{s.value: s for s in Severity},
    "low": Severity.minor,
    "small": Severity.minor,
    "slight": Severity.minor,
    "trivial": Severity.minor,
    "medium": Severity.major,
    "moderate": Severity.major,
    "serious": Severity.major,
    "significant": Severity.major,
    "high": Severity.major,
    "severe": Severity.critical,
    "blocker": Severity.critical,
    "fatal": Severity.critical,
}
# The categories a judge is asked about; names, length and repetition are measured in code.
JUDGED = [
    c.value.replace("_", " ")
    for c in Category
    if c not in (Category.names, Category.length, Category.repetition)
]
PENALTY = {Severity.minor: 0.5, Severity.major: 2.0, Severity.critical: 5.0}
MIN_QUOTE_WORDS = 3
FORMAT_HINT = (
    'Answer with lines of the form: category | severity | "exact words from the scene" '
    "| what is wrong, then SCORE: 0 to 10; or NONE and the score."
)
_SCORE = re.compile(r"\bscore\b\W*(\d{1,3}(?:\.\d+)?)\s*(?:/\s*(10|100)\b)?", re.I)


@dataclass
class JudgeReading:
    """What one judge answer said: issues with checked quotes, a score, and what was refused."""

    issues: list[Issue] = field(default_factory=list)
    score: float | None = None
    said_none: bool = False
    dropped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.issues) or self.score is not None or self.said_none

    def canonical(self) -> str:
        """The reading as lines that parse back to it."""
        lines = [
            f'{i.category.value} | {i.severity.value} | "{i.evidence}" | {i.note}'.rstrip(" |")
            for i in self.issues
        ]
        if not self.issues and self.said_none:
            lines.append("NONE")
        if self.score is not None:
            lines.append(f"SCORE: {self.score:g}")
        return "\n".join(lines)


def category_of(text: str) -> Category | None:
    """The category a model meant, from its own word for it; None when unknown."""
    key = " ".join(re.findall(r"[a-zé]+", text.casefold()))
    if key in CATEGORY_ALIASES:
        return CATEGORY_ALIASES[key]
    return next((CATEGORY_ALIASES[w] for w in key.split() if w in CATEGORY_ALIASES), None)


def quote_in(quote: str, text: str) -> bool:
    """True when the quote occurs in the text (case, quote marks and spacing aside).

    An ellipsis may stand for left-out words: each part must occur, in order.
    """
    body = normalize(text)
    position = 0
    for part in re.split(r"\s*(?:\.\.\.|…)\s*", normalize(quote)):
        part = part.strip(" \"'")
        if not part:
            continue
        found = body.find(part, position)
        if found == -1:
            return False
        position = found + len(part)
    return position > 0


def _score(line: str) -> float | None:
    match = _SCORE.search(line)
    if not match:
        return None
    value = float(match.group(1))
    scale = float(match.group(2) or (100 if value > 10 else 10))
    return round(10 * value / scale, 1) if value <= scale else None


def _severity(parts: list[str], line: str) -> Severity:
    """The severity field, else a severity word outside the quote ("(minor)"), else minor."""
    for part in parts:
        if part.casefold() in SEVERITY_ALIASES:
            return SEVERITY_ALIASES[part.casefold()]
    outside = QUOTE.sub(" ", SINGLE_QUOTE.sub(" ", line)).casefold()
    for word in re.findall(r"[a-z]+", outside):
        if word in SEVERITY_ALIASES and word in {s.value for s in Severity}:
            return SEVERITY_ALIASES[word]
    return Severity.minor


def parse_issue(line: str, text: str) -> Issue | str:
    """An Issue from one judge line, or the reason the line is refused."""
    parts = fields(line)
    if len(parts) < 2:
        parts = [p.strip() for p in re.split(r"\s*(?::|\s-\s)\s*", line, maxsplit=1)]
    category = category_of(parts[0]) if parts else None
    if category is None:
        return f"unknown category {parts[0][:40]!r}" if parts and parts[0] else "no category"
    rest = [p for p in parts[1:] if p and p.casefold() not in SEVERITY_ALIASES]
    quoted = QUOTE.search(line) or SINGLE_QUOTE.search(line)
    quote = quoted.group(1).strip() if quoted else (rest[0].strip(" \"'") if rest else "")
    if re.search(r"[\"“”«»|]", quote):
        return "a quote must not hold quote marks or |"
    if len(quote.split()) < MIN_QUOTE_WORDS:
        return f"no quote of {MIN_QUOTE_WORDS}+ words from the text"
    if not quote_in(quote, text):
        return f"quote not in the text: {quote[:60]!r}"
    # The note is what is left beside the quote (or after an unquoted quote field).
    kept = [p.replace(quoted.group(0), " ") for p in rest] if quoted else rest[1:]
    note = " ".join(kept)
    return Issue(
        category=category,
        severity=_severity(parts[1:], line),
        evidence=quote,
        note=" ".join(note.split())[:300],
        source="judge",
    )


def parse_judge(answer: str, text: str) -> JudgeReading:
    """Read a judge answer line by line; never raises. `text` is the judged scene."""
    reading = JudgeReading()

    def score_line(line: str) -> bool:
        score = _score(line)
        if score is not None:
            reading.score = score
        return score is not None

    read = read_lines(answer, lambda line: parse_issue(line, text),
                      lambda i: (i.category, normalize(i.evidence)), score_line)  # fmt: skip
    reading.issues, reading.said_none, reading.dropped = read.items, read.said_none, read.dropped
    return reading


def judge_asks(
    chapter: ChapterOutline,
    scenes: SceneList,
    texts: Sequence[str],
    *,
    facts: Sequence[Fact] = (),
    findings: Sequence[Issue] = (),
    settings: QualitySettings,
) -> list[Ask]:
    """One judge ask per scene: the scene, its plan, the facts about it and what the
    checks found there. A scene at a time keeps the prompt inside a small context."""
    asks = []
    for plan, text in zip(scenes.scenes, texts, strict=True):
        involved = {n.casefold() for n in [*plan.characters, plan.location] if n}
        relevant = [f for f in facts if f.subject.casefold() in involved]
        found = [i for i in findings if i.scene in (None, plan.number)]
        asks.append(
            lines_ask(
                label=f"judge.{chapter.number}.{plan.number}",
                role="judge",
                template="judge_scene.j2",
                variables={
                    "chapter": chapter.number,
                    "chapter_title": chapter.title,
                    "chapter_summary": chapter.summary,
                    "scene": plan.number,
                    "summary": plan.summary,
                    "facts": [
                        f"{f.subject} | {f.attribute} | {f.value}"
                        for f in relevant[: settings.retrieved_facts]
                    ],
                    "findings": [_finding(i) for i in found],
                    "categories": JUDGED,
                    "text": text,
                },
                max_tokens=240,
                fallback="",  # a judge that never answers usably leaves the checks to decide
                chapter=chapter.number,
                scene=plan.number,
                extra={"lines": "judge", "attempts": 3, "format_hint": FORMAT_HINT},
            )
        )
    return asks


def _finding(issue: Issue) -> str:
    return f"{issue.category.value}: {issue.note}"


def verdict(
    answers: Sequence[str],
    texts: Sequence[str],
    checks: Checks,
    check_issues: Sequence[Issue],
    settings: QualitySettings,
) -> Verdict:
    """The chapter verdict from each scene's judge answer and the deterministic checks.

    Score: 10 less a penalty per issue (minor 0.5, major 2, critical 5), and no more than
    the judges' mean score when they gave one. Passed: the score reaches pass_score and
    no issue reaches fail_severity.
    """
    issues = list(check_issues)
    dropped: list[str] = []
    scores: list[float] = []
    for number, (answer, text) in enumerate(zip(answers, texts, strict=True), start=1):
        reading = parse_judge(answer, text)
        issues += [i.model_copy(update={"scene": number}) for i in reading.issues]
        dropped += [f"scene {number}: {d}" for d in reading.dropped]
        if not reading.usable:
            dropped.append(f"scene {number}: the judge gave no usable answer")
        if reading.score is not None:
            scores.append(reading.score)
    score = max(0.0, 10.0 - sum(PENALTY[i.severity] for i in issues))
    if scores:
        score = min(score, sum(scores) / len(scores))
    score = round(score, 1)
    passed = score >= settings.pass_score and all(
        i.severity.rank < settings.fail_severity.rank for i in issues
    )
    return Verdict(passed=passed, score=score, issues=issues, checks=checks, dropped=dropped)
