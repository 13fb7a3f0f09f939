"""Harmonization of a book from sources, after its chapters, without a model: the names
and terms the chapters use made the ones the sources use, with every change listed.

- A name: a capitalised word close to a person of the sources ("Clara Vos" for Clara
  Voss) that no source uses at all is the model's misspelling, and is replaced. A word
  some source uses is a word of the material (another person, a place) and is kept.
- A term: a storyline theme written another way ("loom-shed", "loomshed") becomes the
  form the sources use most.

Quotations and citation markers are never touched: a quotation is the speaker's words,
checked against them when the chapter was written. Dates need no pass here: a sentence
whose year its cited passage does not give was dropped when the chapter was written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from bookwright.model import Chapter
from bookwright.model.sources import SourceIndex, Storyline
from bookwright.quality.checks import closest_token, near_miss_names

_PROTECTED = re.compile(r"[\"“][^\"“”]*[\"”]|\[[^\]]*\]")  # quotations, citations


def _replace_outside(
    text: str, pattern: re.Pattern[str], to: Callable[[re.Match[str]], str]
) -> tuple[str, Counter[str]]:
    """`text` with each match of `pattern` outside quotations and citations replaced by
    `to(match)`; and the words changed (a match `to` gives back as it is is no change)."""
    changed: Counter[str] = Counter()

    def swap(match: re.Match[str]) -> str:
        new = to(match)
        if new != match.group():
            changed[match.group()] += 1
        return new

    out, last = [], 0
    for kept in [*_PROTECTED.finditer(text), None]:
        end = kept.start() if kept else len(text)
        out.append(pattern.sub(swap, text[last:end]))
        if kept:
            out.append(kept.group())
            last = kept.end()
    return "".join(out), changed


def harmonize(
    chapters: list[Chapter], index: SourceIndex, storyline: Storyline
) -> tuple[list[Chapter], list[dict[str, Any]]]:
    """(the chapters, changed where needed; every change: chapter, from, to, count, why)."""
    material = " ".join(c.text for c in index.chunks)
    used = set(re.findall(r"\b\w+\b", material.casefold()))
    people = sorted(
        {n.label for n in storyline.nodes if n.kind == "person"}
        | {c.speaker for c in index.chunks if c.speaker and " " in c.speaker}
    )
    terms: dict[str, str] = {}  # a variant's pattern source -> the sources' own form
    for node in storyline.nodes:
        words = [re.escape(w) for w in node.label.casefold().split()]
        if node.kind != "theme" or len(words) != 2:
            continue
        variant = rf"\b{words[0]}[\s-]*{words[1]}\b"
        forms = Counter(m.group().casefold() for m in re.finditer(variant, material, re.I))
        if forms:
            terms[variant] = forms.most_common(1)[0][0]
    out: list[Chapter] = []
    changes: list[dict[str, Any]] = []
    for chapter in chapters:
        scenes = list(chapter.scenes)
        fixes: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str], str, str]] = []
        for miss in near_miss_names(scenes, people):
            if miss.word.casefold() in used:
                continue  # the sources use it: a word of the material, not a misspelling
            right = closest_token(miss.word, miss.known)
            fixes.append(
                (
                    re.compile(rf"\b{re.escape(miss.word)}\b"),
                    _always(right),
                    "name",
                    f"in no source; the sources say {miss.known!r}",
                )
            )
        for variant, form in terms.items():
            fixes.append(
                (re.compile(variant, re.I), _as_form(form), "term", f"the sources write {form!r}")
            )
        for pattern, to, kind, why in fixes:
            seen: Counter[str] = Counter()
            for i, text in enumerate(scenes):
                scenes[i], changed = _replace_outside(text, pattern, to)
                seen.update(changed)
            if seen:
                first = pattern.search(min(seen))
                changes.append(
                    {
                        "chapter": chapter.number,
                        "kind": kind,
                        "from": ", ".join(sorted(seen)),
                        "to": to(first) if first else "",
                        "count": sum(seen.values()),
                        "reason": f"{', '.join(sorted(seen))}: {why}",
                    }
                )
        out.append(chapter.model_copy(update={"scenes": scenes}))
    return out, changes


def _always(word: str) -> Callable[[re.Match[str]], str]:
    return lambda _match: word


def _as_form(form: str) -> Callable[[re.Match[str]], str]:
    """A variant of a term as the sources' form, capitalised where the variant was."""

    def to(match: re.Match[str]) -> str:
        if match.group().casefold() == form:
            return match.group()
        return form[:1].upper() + form[1:] if match.group()[:1].isupper() else form

    return to
