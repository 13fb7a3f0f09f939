"""The critique of a treatment: the rule checks (every event in an act, in the book's
order; the scenes' running time) and a judge's verdict on it (faithful to the book, no
causal gap, fits the running time), asked as one lines ask and read here.

The judge answers in lines: `kind | what is wrong`, then `VERDICT: PASS` or `FAIL`; a
line naming an event the book does not have is dropped, and an answer with no verdict
(or a FAIL with no reason) is re-asked. A judge that never answers usably leaves the
rule checks to decide. No DBOS here: the workflow runs the rounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bookwright.model.adapt import AdaptSpec, Critique, Events, ScreenScenes, Treatment
from bookwright.quality.lines import fields, read_lines
from bookwright.quality.readers import READERS
from bookwright.stages.asks import Ask

KINDS = ("faithful", "gap", "time")
KIND_ALIASES = {
    "faithful": "faithful", "faithfulness": "faithful", "fidelity": "faithful",
    "accuracy": "faithful", "accurate": "faithful", "unfaithful": "faithful",
    "book": "faithful", "departs": "faithful", "departure": "faithful",
    "gap": "gap", "gaps": "gap", "causal": "gap", "cause": "gap", "causality": "gap",
    "logic": "gap", "missing": "gap", "continuity": "gap",
    "time": "time", "timing": "time", "length": "time", "running": "time",
    "runtime": "time", "duration": "time", "minutes": "time", "pacing": "time",
}  # fmt: skip
FORMAT_HINT = (
    "Answer with lines of the form: faithful, gap or time | what is wrong, then a last "
    "line VERDICT: PASS or VERDICT: FAIL; or NONE and VERDICT: PASS."
)
MIN_NOTE_WORDS = 3
MAX_EVENTS = 40  # events shown to the judge: a bounded prompt, whatever the book's length
_VERDICT = re.compile(r"^\W*(?:final\s+)?verdict\W*(pass(?:e[sd])?|fail(?:s|ed)?)\b", re.I)
_EVENT = re.compile(r"\bE(\d+)\b")


@dataclass
class CritiqueReading:
    """What one judge answer said: its issues, its verdict, what was refused."""

    issues: list[tuple[str, str]] = field(default_factory=list)  # (kind, what is wrong)
    verdict: bool | None = None  # True: pass
    said_none: bool = False
    dropped: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        if self.verdict is None and self.said_none and not self.issues:
            return True  # NONE alone: nothing wrong
        return self.verdict

    @property
    def usable(self) -> bool:
        # A FAIL that says nothing the treatment could fix is no verdict to act on.
        return self.passed is True or (self.passed is False and bool(self.issues))

    def canonical(self) -> str:
        """The reading as lines that parse back to it."""
        lines = [f"{kind} | {note}" for kind, note in self.issues]
        if not self.issues and self.said_none:
            lines.append("NONE")
        if self.passed is not None:
            lines.append(f"VERDICT: {'PASS' if self.passed else 'FAIL'}")
        return "\n".join(lines)

    def notes(self) -> list[str]:
        return [f"{kind}: {note}" for kind, note in self.issues]


def parse_critique(answer: str, event_ids: set[str]) -> CritiqueReading:
    """Read a judge answer line by line; never raises."""
    reading = CritiqueReading()

    def verdict_line(line: str) -> bool:
        found = _VERDICT.match(line)
        if found:
            reading.verdict = found.group(1).casefold().startswith("pass")
        return found is not None

    read = read_lines(answer, lambda line: _issue(line, event_ids), lambda i: i[1].casefold(),
                      verdict_line)  # fmt: skip
    reading.issues, reading.said_none, reading.dropped = read.items, read.said_none, read.dropped
    return reading


def _issue(line: str, event_ids: set[str]) -> tuple[str, str] | str:
    parts = [p for p in fields(line) if p]
    if len(parts) < 2:
        parts = [p.strip() for p in re.split(r"\s*(?::|\s-\s)\s*", line, maxsplit=1) if p]
    if len(parts) < 2:
        return "no kind | note"
    words = re.findall(r"[a-z]+", parts[0].casefold())
    kind = next((KIND_ALIASES[w] for w in words if w in KIND_ALIASES), None)
    if kind is None:
        return f"unknown kind {parts[0][:30]!r} (faithful, gap or time)"
    note = " ".join(" ".join(parts[1:]).split())
    if len(note.split()) < MIN_NOTE_WORDS:
        return f"no note of {MIN_NOTE_WORDS}+ words"
    unknown = [f"E{n}" for n in _EVENT.findall(note) if f"E{n}" not in event_ids]
    if unknown:
        return f"names {unknown[0]}, which is no event of the book"
    return kind, note[:300]


READERS["critique"] = lambda ask, text: parse_critique(text, set(ask.extra["events"]))


def critique_ask(
    spec: AdaptSpec,
    title: str,
    events: Events,
    treatment: Treatment,
    checks: list[str],
    round_: int,
) -> Ask:
    shown = events.events[:MAX_EVENTS]
    return Ask(
        label=f"adapt.critique.{round_}",
        role="judge",
        template="adapt_critique.j2",
        variables={
            "title": title,
            "minutes": spec.minutes,
            "form": spec.form,
            "events": [f"{e.id}: {' '.join(e.text.split()[:30])}" for e in shown],
            "more_events": len(events.events) - len(shown),
            "acts": [{"number": a.number, "summary": a.summary} for a in treatment.acts],
            "checks": checks,
        },
        kind="lines",
        max_tokens=260,
        fallback="",  # a judge that never answers usably leaves the rule checks to decide
        extra={
            "lines": "critique",
            "attempts": 3,
            "format_hint": FORMAT_HINT,
            "events": [e.id for e in events.events],
            "artifact": "critique",
        },
    )


def rule_checks(
    events: Events, treatment: Treatment, scenes: ScreenScenes | None, spec: AdaptSpec
) -> tuple[list[str], list[str], float, float]:
    """(the treatment's issues, the scenes' issues, coverage, minutes): every event in an
    act, in the book's causal order; the scenes' pages near the target running time."""
    covered = [e for act in treatment.acts for e in act.events]
    missing = [e.id for e in events.events if e.id not in covered]
    issues = [f"event {m} is in no act" for m in missing]
    order = [e.id for e in events.events if e.id in covered]
    if covered != order:
        issues.append("the acts tell the events out of the book's causal order")
    minutes = sum(s.pages for s in scenes.scenes) if scenes else 0.0
    timing = []
    if scenes and abs(minutes - spec.minutes) > 0.25 * spec.minutes:
        timing.append(f"the scenes plan {minutes:.0f} minutes for a target of {spec.minutes}")
    coverage = 1 - len(missing) / max(1, len(events.events))
    return issues, timing, round(coverage, 3), minutes


def verdict(
    events: Events,
    treatment: Treatment,
    scenes: ScreenScenes | None,
    spec: AdaptSpec,
    judged: str = "",
    round_: int = 1,
) -> Critique:
    """The critique: the rule checks, and the judge's reading when it gave a usable one
    (`judged` is its canonical answer; "" when it gave none)."""
    treatment_issues, timing, coverage, minutes = rule_checks(events, treatment, scenes, spec)
    reading = parse_critique(judged, {e.id for e in events.events}) if judged else None
    usable = reading is not None and reading.usable
    judge_issues = reading.notes() if reading is not None and usable else []
    judge_passed = reading.passed if reading is not None and usable else True
    issues = [*treatment_issues, *timing, *judge_issues]
    return Critique(
        passed=not treatment_issues and not timing and bool(judge_passed),
        coverage=coverage,
        estimated_minutes=minutes,
        issues=issues,
        judged=usable,
        round=round_,
        redo=bool(treatment_issues) or not judge_passed,
    )
