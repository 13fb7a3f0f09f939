"""The review's deterministic nodes: what can be measured in a manuscript without a model.

Each node takes the manuscript (and what the nodes it needs found) and returns findings
and measures. The same text always gives the same result, so these nodes find the
mechanical defects with any model, or with none: a chapter far under its target, a
repeated paragraph, a run of stock phrases, a name spelt two ways, a character who
vanishes, an eye colour that changes, a switch of point of view.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from bookwright.model import Manuscript
from bookwright.quality.checks import (
    COLOURS,
    COMMON_NAME_WORDS,
    near_miss_names,
    overused_phrases,
    repeated_ngrams,
)
from bookwright.quality.text import STOPWORDS, normalize, sentence_containing, sentences, words

Result = dict[str, Any]  # {"findings": [finding dicts], "measures": {...}}
SHORT, LONG = 0.6, 1.6  # a chapter under 60% (or over 160%) of its target is flagged
_DIALOGUE = re.compile(r"[\"“]([^\"“”]+)[\"”]")
_FIRST_PERSON = re.compile(r"\b(?:I|me|my|mine|myself|I'm|I'd|I've|I'll)\b")
_NAME = re.compile(r"\b([A-Z][a-z]{2,})\b")
_ATTRIBUTES = {"eyes": ("eye", "eyes", "eyed"), "hair": ("hair", "haired")}


def _finding(node: str, category: str, severity: str, problem: str, **where: Any) -> dict:
    return {"node": node, "category": category, "severity": severity, "problem": problem, **where}


def _chapter_text(chapter: Any) -> str:
    return "\n\n".join(chapter.scenes)


@lru_cache(maxsize=8)
def _syllable_counter(language: str) -> Callable[[str], int]:
    import pyphen  # hyphenation dictionaries for ~70 languages, bundled (no download)

    lang = language if language in pyphen.LANGUAGES else "en_US"
    dic = pyphen.Pyphen(lang=lang)
    return lambda word: len(dic.positions(word)) + 1


def reading_ease(text: str, language: str = "en") -> float:
    """Flesch reading ease (higher is easier; 60-70 is plain English), with syllables
    from pyphen's hyphenation points. textstat is not used: for English it downloads the
    CMU dictionary at run time, and bookwright never downloads anything while it runs."""
    said = words(text)
    count = len(sentences(text)) or 1
    if not said:
        return 0.0
    syllables = sum(_syllable_counter(language)(w) for w in said)
    return round(206.835 - 1.015 * len(said) / count - 84.6 * syllables / len(said), 1)


def dialogue_share(text: str) -> float:
    """The share of the words that are spoken (inside quotation marks)."""
    total = len(text.split())
    spoken = sum(len(m.group(1).split()) for m in _DIALOGUE.finditer(text))
    return round(spoken / total, 3) if total else 0.0


def metrics_node(book: Manuscript, target_words: int | None, _: dict[str, Result]) -> Result:
    """Length against target, readability, sentence-length variation, dialogue share."""
    per_chapter = []
    findings = []
    counts = [c.word_count for c in book.chapters]
    target = (target_words / len(counts)) if target_words else statistics.median(counts)
    basis = "its target" if target_words else "the median chapter"
    for chapter, count in zip(book.chapters, counts, strict=True):
        text = _chapter_text(chapter)
        lengths = [len(s.split()) for s in sentences(text)]
        per_chapter.append(
            {
                "chapter": chapter.number,
                "words": count,
                "target": round(target),
                "scenes": [len(s.split()) for s in chapter.scenes],
                "sentence_mean": round(statistics.fmean(lengths), 1) if lengths else 0.0,
                "sentence_stdev": round(statistics.pstdev(lengths), 1) if lengths else 0.0,
                "dialogue_share": dialogue_share(text),
                "reading_ease": reading_ease(text, book.language),
            }
        )
        if len(counts) > 1 and target and count < SHORT * target:
            findings.append(
                _finding(
                    "metrics",
                    "length",
                    "major",
                    f"Chapter {chapter.number} has {count} words, "
                    f"{100 - 100 * count / target:.0f}% under {basis} ({target:.0f})",
                    chapter=chapter.number,
                    fix="Develop the chapter's scenes, or merge it with a neighbour",
                )
            )
        elif len(counts) > 1 and target and count > LONG * target:
            findings.append(
                _finding(
                    "metrics",
                    "length",
                    "minor",
                    f"Chapter {chapter.number} has {count} words, "
                    f"{100 * count / target - 100:.0f}% over {basis} ({target:.0f})",
                    chapter=chapter.number,
                    fix="Cut, or split it where a scene break falls",
                )
            )
    total = sum(counts)
    if target_words and abs(total - target_words) > 0.2 * target_words:
        findings.append(
            _finding(
                "metrics",
                "length",
                "major",
                f"The manuscript has {total} words for a target of {target_words}",
                fix="Plan where words are added or cut before revising scenes",
            )
        )
    return {
        "findings": findings,
        "measures": {
            "words": total,
            "target_words": target_words,
            "chapters": per_chapter,
            "reading_ease": reading_ease(
                "\n\n".join(map(_chapter_text, book.chapters)), book.language
            ),
        },
    }


def repetition_node(book: Manuscript, _: int | None, __: dict[str, Result]) -> Result:
    """Repeated paragraphs anywhere in the book; repeated phrases and stock phrases per chapter."""
    findings = []
    seen: dict[str, tuple[int, int]] = {}
    for chapter in book.chapters:
        for scene_number, scene in enumerate(chapter.scenes, start=1):
            for index, paragraph in enumerate(scene.split("\n\n"), start=1):
                if len(paragraph.split()) < 12:
                    continue
                key = normalize(paragraph)
                if key in seen:
                    first = seen[key]
                    findings.append(
                        _finding(
                            "repetition",
                            "repetition",
                            "major",
                            f"This paragraph repeats one from chapter {first[0]}, scene {first[1]}",
                            chapter=chapter.number,
                            scene=scene_number,
                            paragraph=index,
                            quote=sentences(paragraph)[0].strip(),
                            fix="Delete the copy, or rewrite it if the echo is meant",
                        )
                    )
                else:
                    seen[key] = (chapter.number, scene_number)
    stock: Counter[str] = Counter()
    for chapter in book.chapters:
        text = _chapter_text(chapter)
        for gram, count in repeated_ngrams(text, 5, 3).items():
            findings.append(
                _finding(
                    "repetition",
                    "repetition",
                    "minor",
                    f"{gram!r} occurs {count} times in the chapter",
                    chapter=chapter.number,
                    quote=sentence_containing(text, gram.split()),
                    fix="Vary the wording",
                )
            )
        phrases = overused_phrases(text, min_count=1)
        stock.update(phrases)
        if sum(phrases.values()) >= 3:
            findings.append(
                _finding(
                    "repetition",
                    "style",
                    "major" if sum(phrases.values()) >= 5 else "minor",
                    "A run of stock phrases: " + ", ".join(f"{p!r}" for p in sorted(phrases)),
                    chapter=chapter.number,
                    quote=sentence_containing(text, words(max(phrases, key=phrases.__getitem__))),
                    fix="Replace each with a concrete detail of this scene",
                )
            )
    return {"findings": findings, "measures": {"stock_phrases": dict(stock.most_common(20))}}


def cast_of(book: Manuscript) -> dict[str, list[int]]:
    """Names -> the chapters they appear in. A name is a capitalised word seen at least
    twice mid-sentence, four times in all, and never written in lower case (which "The"
    or "Then" are): a heuristic that holds well for the names of people and places."""
    mid: Counter[str] = Counter()
    total: Counter[str] = Counter()
    chapters: dict[str, set[int]] = {}
    lower: set[str] = set()
    for chapter in book.chapters:
        text = _chapter_text(chapter)
        lower.update(re.findall(r"\b[a-z][a-z]+\b", text))
        for sentence in sentences(text):
            for match in _NAME.finditer(sentence):
                word = match.group(1)
                if word.casefold() in STOPWORDS or word.casefold() in COMMON_NAME_WORDS:
                    continue
                total[word] += 1
                chapters.setdefault(word, set()).add(chapter.number)
                if sentence[: match.start()].strip(" \"'“‘(—-"):
                    mid[word] += 1
    return {
        name: sorted(chapters[name])
        for name, count in total.most_common()
        if count >= 4 and mid[name] >= 2 and name.casefold() not in lower
    }


def names_node(book: Manuscript, _: int | None, __: dict[str, Result]) -> Result:
    """Who appears where; names spelt two ways; a character who vanishes halfway."""
    cast = cast_of(book)
    findings = []
    n = len(book.chapters)
    for name, where in cast.items():
        counts = sum(_chapter_text(c).count(name) for c in book.chapters)
        if n >= 4 and counts >= 6 and max(where) <= n // 2:
            findings.append(
                _finding(
                    "names",
                    "characters",
                    "major",
                    f"{name} appears in chapters {where[0]}-{max(where)} ({counts} mentions) "
                    f"and never after chapter {max(where)} of {n}",
                    chapter=max(where),
                    fix=f"Say what became of {name}, or give them a part in the second half",
                )
            )
    known = list(cast)
    for chapter in book.chapters:
        for miss in near_miss_names(chapter.scenes, known):
            if miss.word in cast:
                continue
            findings.append(
                _finding(
                    "names",
                    "names",
                    "major",
                    f"{miss.word!r} looks like a misspelling of {miss.known!r}",
                    chapter=chapter.number,
                    scene=miss.scene,
                    quote=miss.sentence,
                    fix=f"Spell it {miss.known}",
                )
            )
    return {"findings": findings, "measures": {"cast": cast}}


def continuity_node(book: Manuscript, _: int | None, found: dict[str, Result]) -> Result:
    """A character's eye or hair colour that changes: the first colour stated is the fact,
    a later sentence naming the character, the attribute and another colour breaks it."""
    cast = list(found.get("names", {}).get("measures", {}).get("cast", {}))
    facts: dict[tuple[str, str], tuple[str, int]] = {}
    findings = []
    for chapter in book.chapters:
        for scene_number, scene in enumerate(chapter.scenes, start=1):
            for sentence in sentences(scene):
                said = words(sentence)
                for name in cast:
                    if name not in sentence:
                        continue
                    for attribute, cues in _ATTRIBUTES.items():
                        if not any(c in said for c in cues):
                            continue
                        colour = _colour_of(said, cues)
                        if colour is None or _other_name(sentence, name, cast):
                            continue
                        fact = facts.setdefault((name, attribute), (colour, chapter.number))
                        if fact[0] != colour:
                            findings.append(
                                _finding(
                                    "continuity",
                                    "continuity",
                                    "major",
                                    f"{name}'s {attribute} are {colour} here, {fact[0]} in "
                                    f"chapter {fact[1]}",
                                    chapter=chapter.number,
                                    scene=scene_number,
                                    quote=sentence.strip(),
                                    fix=f"Make them {fact[0]} (or change chapter {fact[1]})",
                                )
                            )
    bible = [
        {"subject": name, "attribute": attribute, "value": value, "from_chapter": chapter}
        for (name, attribute), (value, chapter) in sorted(facts.items())
    ]
    return {"findings": findings, "measures": {"facts": bible}}


def _colour_of(said: list[str], cues: tuple[str, ...]) -> str | None:
    """The colour given to the attribute: "grey eyes", "grey-eyed", "eyes were grey"."""
    for index, word in enumerate(said):
        if word not in cues:
            continue
        if index and said[index - 1] in COLOURS:
            return COLOURS[said[index - 1]]
        after = said[index + 1 : index + 3]
        if len(after) == 2 and after[0] in ("were", "are", "was", "is") and after[1] in COLOURS:
            return COLOURS[after[1]]
    return None


def _other_name(sentence: str, name: str, cast: list[str]) -> bool:
    """Another character in the sentence: whose eyes are meant is then unclear."""
    return any(other != name and other in sentence for other in cast)


def pov_node(book: Manuscript, _: int | None, __: dict[str, Result]) -> Result:
    """First person against third, outside dialogue, per chapter: a chapter in another
    point of view than most of the book is flagged."""
    rates = {}
    for chapter in book.chapters:
        narration = _DIALOGUE.sub(" ", _chapter_text(chapter))
        total = len(narration.split()) or 1
        rates[chapter.number] = round(100 * len(_FIRST_PERSON.findall(narration)) / total, 2)
    modes = {n: "first" if rate >= 1.5 else "third" for n, rate in rates.items()}
    main = Counter(modes.values()).most_common(1)[0][0]
    findings = []
    for chapter in book.chapters:
        if modes[chapter.number] == main or len(book.chapters) < 3:
            continue
        narration = _DIALOGUE.sub(" ", _chapter_text(chapter))
        quote = next(
            (
                s.strip()
                for s in sentences(narration)
                if (_FIRST_PERSON.search(s) is not None) == (main == "third")
            ),
            "",
        )
        findings.append(
            _finding(
                "pov",
                "style",
                "major",
                f"Chapter {chapter.number} is told in the {modes[chapter.number]} person; "
                f"the book is told in the {main}",
                chapter=chapter.number,
                quote=quote if quote and quote in _chapter_text(chapter) else "",
                fix=f"Retell it in the {main} person, or mark the change of narrator",
            )
        )
    return {"findings": findings, "measures": {"first_person_per_100_words": rates, "pov": main}}


MEASURES: dict[str, Callable[[Manuscript, int | None, dict[str, Result]], Result]] = {
    "metrics": metrics_node,
    "repetition": repetition_node,
    "names": names_node,
    "continuity": continuity_node,
    "pov": pov_node,
}
