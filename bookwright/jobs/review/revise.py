"""`review --revise`: the decision engine (what to change, at which level), the revision
asks, applying an answer to the manuscript, and when to stop. No DBOS here: the workflow
(jobs/review/workflow.py) runs what this module decides.

A revision never reaches past what the findings point at: one passage of one scene per
target, its paragraphs reworded (edit) or redrafted (write), everything else byte for
byte as it was. A finding still there after its fix is tried once more a level up, then
left for the author; a struck finding is never acted on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bookwright.model import Manuscript
from bookwright.model.review import Finding, ReviewSpec
from bookwright.quality.text import count_words, normalize, sentences
from bookwright.stages.asks import Ask
from bookwright.stages.prose import max_tokens_for, tail

LEVELS = ("edit", "write")
EDIT_WORDS = 60  # an edit's passage grows to at least this many words (one paragraph...)
WRITE_WORDS = 250  # ...a redraft's to about this many: bounded, never the scene
KEEP_WORDS = {"edit": 0.5, "write": 0.25}  # word_similarity a revision keeps of its passage


def finding_key(finding: Finding | dict[str, Any]) -> str:
    """The same problem across analyses: its chapter and its quote (ids are renumbered)."""
    data = finding if isinstance(finding, dict) else finding.model_dump()
    return f"{data.get('chapter')}|{normalize(data.get('quote') or data.get('problem', ''))}"


@dataclass
class Target:
    """One passage to revise: paragraphs `first`..`last` (1-based) of a scene."""

    chapter: int
    scene: int
    first: int
    last: int
    level: str
    keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "chapter": self.chapter,
            "scene": self.scene,
            "paragraphs": [self.first, self.last],
            "level": self.level,
            "findings": self.keys,
            "notes": self.notes,
        }


def _paragraphs(book: Manuscript, chapter: int, scene: int) -> list[str]:
    return book.chapters[chapter - 1].scenes[scene - 1].split("\n\n")


def _span(paragraphs: list[str], index: int, least: int, keep: set[int]) -> tuple[int, int]:
    """Paragraph `index` (0-based) and its neighbours, after it first, until `least` words;
    never into a paragraph in `keep` (where the author struck a finding)."""
    first = last = index
    words = count_words(paragraphs[index])
    while words < least:
        if last < len(paragraphs) - 1 and last + 1 not in keep:
            last += 1
            words += count_words(paragraphs[last])
        elif first > 0 and first - 1 not in keep:
            first -= 1
            words += count_words(paragraphs[first])
        else:
            break
    return first + 1, last + 1


def decide(
    findings: list[Finding],
    book: Manuscript,
    levels: dict[str, str],
    tried: dict[str, str],
    limit: int,
) -> tuple[list[Target], list[str]]:
    """The passages to revise now, from the top of the ranked findings, and why the
    findings passed over were (struck, no place in the text, tried at every level).

    `tried` maps a finding's key to the highest level already tried on it."""
    targets: list[Target] = []
    passed: list[str] = []
    for f in findings:
        key = finding_key(f)
        if f.struck:
            passed.append(f"{f.id}: struck by the author")
            continue
        if not f.quote or f.chapter is None or f.scene is None or f.paragraph is None:
            passed.append(f"{f.id}: not tied to a passage (for the author)")
            continue
        prior = tried.get(key)
        level = levels.get(f.category, "edit")
        if prior is not None:
            if prior == LEVELS[-1] or level == LEVELS[-1]:
                passed.append(f"{f.id}: still there after a {prior} (for the author)")
                continue
            level = LEVELS[LEVELS.index(prior) + 1]
        note = f.problem.rstrip(". ") + "." + (f" Fix: {f.fix}" if f.fix else "")
        home = next(
            (
                t
                for t in targets
                if (t.chapter, t.scene) == (f.chapter, f.scene) and t.first <= f.paragraph <= t.last
            ),
            None,
        )
        if home is not None:  # one revision fixes both
            home.keys.append(key)
            home.notes.append(note)
            continue
        if len(targets) >= limit:
            continue
        paragraphs = _paragraphs(book, f.chapter, f.scene)
        least = EDIT_WORDS if level == "edit" else WRITE_WORDS
        keep = {
            s.paragraph - 1
            for s in findings
            if s.struck and (s.chapter, s.scene) == (f.chapter, f.scene) and s.paragraph
        } - {f.paragraph - 1}
        first, last = _span(paragraphs, f.paragraph - 1, least, keep)
        if any(
            (t.chapter, t.scene) == (f.chapter, f.scene) and first <= t.last and t.first <= last
            for t in targets
        ):
            continue  # overlaps a passage revised now: next iteration
        targets.append(Target(f.chapter, f.scene, first, last, level, [key], [note]))
    return targets, passed


def passage_of(book: Manuscript, target: Target) -> str:
    return "\n\n".join(
        _paragraphs(book, target.chapter, target.scene)[target.first - 1 : target.last]
    )


def revision_ask(book: Manuscript, spec: ReviewSpec, target: Target) -> Ask:
    """The question for one target: its passage, what is wrong with it, and its length."""
    chapter = book.chapters[target.chapter - 1]
    paragraphs = _paragraphs(book, target.chapter, target.scene)
    draft = passage_of(book, target)
    words = count_words(draft)
    return Ask(
        label=f"revise.{target.chapter}.{target.scene}.{target.first}",
        role="editor",
        template="revise_passage.j2",
        variables={
            "title": book.title,
            "genre": spec.genre or book.genre,
            "chapter": target.chapter,
            "chapter_title": chapter.title,
            "level": target.level,
            "before": tail("\n\n".join(paragraphs[: target.first - 1]), 400),
            "draft": draft,
            "notes": " ".join(f"({i}) {n}" for i, n in enumerate(target.notes, start=1)),
        },
        kind="prose",
        max_tokens=max_tokens_for(math.ceil(words * (1 + spec.max_growth)) + 10),
        target_words=words,
        fallback=draft,  # no acceptable revision: the passage stays as it was
        chapter=target.chapter,
        scene=target.scene,
        # An edit keeps most of the passage's words, a redraft a fair share: an answer
        # about the passage, or a different text, is refused (and the passage kept).
        extra={
            "artifact": "manuscript",
            "attempts": 3,
            "keep_words": KEEP_WORDS[target.level],
        },
    )


def fit(text: str, words: int, max_growth: float) -> tuple[str, str]:
    """A revision held to `max_growth` of the passage's `words`: a longer one cut at a
    sentence end; one shrunk past the bound (a paragraph dropped, a cut) is left as it
    came, and said. Returns the text and a note ("" when within)."""
    most = max(words + 3, math.floor(words * (1 + max_growth)))
    got = count_words(text)
    if got > most:
        kept: list[str] = []
        for paragraph in text.split("\n\n"):
            room = most - sum(count_words(p) for p in kept)
            if count_words(paragraph) <= room:
                kept.append(paragraph)
                continue
            done: list[str] = []
            for sentence in sentences(paragraph):
                if count_words(" ".join([*done, sentence])) > room:
                    break
                done.append(sentence)
            if done:
                kept.append(" ".join(done))
            break
        cut = "\n\n".join(kept).strip()
        return cut, f"cut from {got} to {count_words(cut)} words (max growth)"
    if got < words * (1 - max_growth) - 3:
        return text, f"shrank from {words} to {got} words"
    return text, ""


def apply(book: Manuscript, target: Target, text: str) -> Manuscript:
    """The manuscript with the target's paragraphs replaced by `text`."""
    data = book.model_dump(mode="json")
    paragraphs = _paragraphs(book, target.chapter, target.scene)
    new = [*paragraphs[: target.first - 1], text.strip(), *paragraphs[target.last :]]
    data["chapters"][target.chapter - 1]["scenes"][target.scene - 1] = "\n\n".join(new)
    return Manuscript.model_validate(data)


def stop_reason(
    history: list[dict[str, Any]],
    spec: ReviewSpec,
    *,
    min_gain: float,
    plateau: int,
    elapsed_s: float,
    budget_left: float | None,
) -> str | None:
    """Why the revision stops before another iteration, or None to go on.

    `history` holds the overall score of each version, the original first; `budget_left`
    is the share of the book's budget left (None: no budget), checked against what the
    last iteration took of it."""
    scores = [float(h["score"]) for h in history]
    done = len(scores) - 1
    if scores[-1] >= spec.threshold:
        return f"the score reached {spec.threshold}"
    if done >= spec.max_iterations:
        return f"{spec.max_iterations} iterations done"
    if spec.time_limit_s is not None and elapsed_s >= spec.time_limit_s:
        return f"the time limit ({spec.time_limit_s:g} s) passed"
    if budget_left is not None:
        last = float(history[-1].get("spent_share", 0.0)) if done else 0.0
        if budget_left <= 0 or (done and last > budget_left):
            return "the budget would not cover another iteration"
    if done >= 2 and scores[-1] < scores[-2] < scores[-3]:
        return "the score declined twice in a row"
    if done >= plateau and all(
        scores[i] - scores[i - 1] < min_gain for i in range(len(scores) - plateau, len(scores))
    ):
        return f"the score gained less than {min_gain:g} for {plateau} iterations"
    return None


def best_version(history: list[dict[str, Any]]) -> dict[str, Any]:
    """The best-scoring version; on a tie the earlier (fewer changes)."""
    return max(history, key=lambda h: (float(h["score"]), -int(h["iteration"])))
