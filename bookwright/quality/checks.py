"""Deterministic checks that run before the judge and feed it: length, repetition, names
and facts that contradict the story bible. Each finding is an Issue quoting the text."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from bookwright.model.quality import Category, Checks, Fact, Issue, Severity, StoryBible
from bookwright.quality.settings import QualitySettings
from bookwright.quality.text import (
    STOPWORDS,
    count_words,
    sentence_containing,
    sentences,
    words,
)

# Stock phrases that weak models lean on; two in one chapter already read as tics.
OVERUSED_PHRASES = (
    "a testament to",
    "barely above a whisper",
    "couldn't help but",
    "sent shivers down",
    "shiver down her spine",
    "shiver down his spine",
    "the weight of",
    "a mix of",
    "a sense of",
    "little did",
    "in the blink of an eye",
    "heart pounding",
    "her heart raced",
    "his heart raced",
    "eyes widened",
    "let out a breath",
    "breath she didn't know",
    "breath he didn't know",
    "palpable",
    "tapestry",
    "unspoken",
    "delve",
    "for what felt like",
    "time seemed to",
    "a wave of",
    "it was as if",
    "the air was thick",
    "the calm before the storm",
    "only time would tell",
    "a chill ran",
)

COLOURS = {
    "grey": "grey",
    "gray": "grey",
    "blue": "blue",
    "green": "green",
    "brown": "brown",
    "hazel": "hazel",
    "black": "black",
    "amber": "amber",
    "red": "red",
    "auburn": "auburn",
    "blond": "blond",
    "blonde": "blond",
    "golden": "golden",
    "silver": "silver",
    "white": "white",
    "violet": "violet",
    "ginger": "ginger",
}
# Words of place names that are ordinary English: a near miss of them is not a misspelt name.
_COMMON_NAME_WORDS = """
    the of and north south east west old new upper lower great little tower towers harbour
    harbor rock rocks bay island isle house hall street road lane inn cove point light
    lighthouse castle church market square bridge hill mill farm wood woods river lake sea
    port keep gate garden gardens court manor station"""
COMMON_NAME_WORDS = frozenset(_COMMON_NAME_WORDS.split())


def length_score(target: int, achieved: int) -> float:
    """LongBench-Write length score S_l (0-100) of `achieved` words against `target`.

    S_l = 100 * max(0, 1 - (l'/l - 1) / 3) when l' > l, else 100 * max(0, 1 - (l/l' - 1) / 2),
    with l the required and l' the output length: running long is punished less than
    running short. Bai et al., "LongWriter: Unleashing 10,000+ Word Generation from Long
    Context LLMs" (arXiv:2408.07055), section 2.2; reference code THUDM/LongWriter,
    evaluation/eval_length.py, `score(x, y)`.
    """
    if target <= 0:
        return 100.0
    if achieved <= 0:
        return 0.0
    if achieved > target:
        return 100 * max(0.0, 1 - (achieved / target - 1) / 3)
    return 100 * max(0.0, 1 - (target / achieved - 1) / 2)


def repeated_ngrams(text: str, n: int = 4, min_count: int = 3) -> dict[str, int]:
    """Word n-grams with at least two content words that occur `min_count` times or more.

    A repeated run longer than n shows up once, as its first n-gram, not as every shift.
    """
    tokens = words(text)
    grams = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    found: dict[str, int] = {}
    covered: set[tuple[str, ...]] = set()
    for i in range(len(tokens) - n + 1):
        gram = tuple(tokens[i : i + n])
        count = grams[gram]
        if count < min_count or gram in covered:
            continue
        if sum(w not in STOPWORDS for w in gram) < 2:
            continue
        found[" ".join(gram)] = count
        # Shifts of the same repeated run carry no new information.
        for j in range(i + 1, min(i + n, len(tokens) - n + 1)):
            shifted = tuple(tokens[j : j + n])
            if grams[shifted] == count:
                covered.add(shifted)
        covered.add(gram)
    return found


def overused_phrases(
    text: str, phrases: Iterable[str] = OVERUSED_PHRASES, min_count: int = 2
) -> dict[str, int]:
    """Stock phrases that occur at least `min_count` times."""
    body = " ".join(words(text))
    found = {}
    for phrase in phrases:
        count = len(re.findall(r"\b" + re.escape(" ".join(words(phrase))) + r"\b", body))
        if count >= min_count:
            found[phrase] = count
    return found


def _mentions(sentence: str, subject: str) -> bool:
    said = set(words(sentence))
    parts = [w for w in words(subject) if w not in STOPWORDS]
    return bool(parts) and (parts[0] in said or " ".join(parts) in " ".join(words(sentence)))


def _stem(word: str) -> str:
    return word[: max(4, len(word) - 2)] if len(word) > 4 else word.rstrip("s")


# Canonical attribute -> the names a model gives it, and the words that cue it in prose.
ATTRIBUTES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "eyes": (("eye", "eye colour", "eye color", "eye colours", "eyes colour"), frozenset({"eye"})),
    "hair": (("hair colour", "hair color", "hair"), frozenset({"hair"})),
    "home": (
        ("home", "lives in", "lives at", "lives", "residence", "house", "lodging"),
        frozenset({"home", "live", "lives", "living"}),
    ),
    "occupation": (("job", "profession", "work", "works as", "trade"), frozenset({"work"})),
    "age": (("years old", "age in years"), frozenset({"year", "age", "aged"})),
}
_ALIASES = {alias: key for key, (aliases, _) in ATTRIBUTES.items() for alias in (key, *aliases)}


def attribute_key(attribute: str) -> str:
    """The canonical name of an attribute ("eye colour" -> "eyes"), else it cleaned."""
    cleaned = " ".join(words(attribute))
    return _ALIASES.get(cleaned, cleaned)


def _cues(attribute: str) -> set[str]:
    key = attribute_key(attribute)
    if key in ATTRIBUTES:
        return set(ATTRIBUTES[key][1])
    ignored = {"colour", "color", "shade", "name", "kind", "type", *STOPWORDS}
    return {_stem(w) for w in words(attribute) if w not in ignored}


def _value_class(fact: Fact, places: Sequence[str]) -> tuple[dict[str, str], str] | None:
    """The closed set of values this fact's value belongs to (match key -> shown value),
    and the fact's own shown value."""
    value_words = words(fact.value)
    for w in value_words:
        if w in COLOURS:
            return COLOURS, COLOURS[w]
    shown = {" ".join(words(p)): p for p in places}
    own = " ".join(value_words)
    if own in shown:
        return shown, shown[own]
    return None


def contradictions(
    scene_texts: Sequence[str], bible: StoryBible, chapter: int, places: Sequence[str] = ()
) -> list[Issue]:
    """Sentences that give a subject another value than the bible's, for closed values.

    Only values from a closed set can be contradicted by a pattern: colours, and the
    book's place names. A sentence naming the subject and the attribute (e.g. "Mara" and
    "eyes") and another value of the same set (e.g. "blue" where the bible says grey) is
    a contradiction. Open values ("a retired sailor") are left to the judge.
    """
    issues: list[Issue] = []
    for fact in bible.valid_at(chapter):
        found = _value_class(fact, places)
        cues = _cues(fact.attribute)
        if found is None or not cues:
            continue
        vocabulary, own = found
        for number, text in enumerate(scene_texts, start=1):
            for sentence in sentences(text):
                if not _mentions(sentence, fact.subject):
                    continue
                said = words(sentence)
                if not any(_stem(w) in cues or w in cues for w in said):
                    continue
                joined = " ".join(said)
                values = {
                    canon
                    for key, canon in vocabulary.items()
                    if re.search(r"\b" + re.escape(key) + r"\b", joined)
                }
                if values and own not in values:
                    issues.append(
                        Issue(
                            category=Category.continuity,
                            severity=Severity.major,
                            evidence=sentence,
                            note=(
                                f"the bible has {fact.subject} | {fact.attribute} | "
                                f"{fact.value} (from chapter {fact.from_chapter}); "
                                f"the text says {', '.join(sorted(values))}"
                            ),
                            contradicts=[fact.ref],
                            scene=number,
                            source="bible",
                        )
                    )
    return issues


_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:['’]s)?\b")


def _name_tokens(names: Iterable[str]) -> dict[str, str]:
    """Each distinctive word of the known names -> the full name it belongs to."""
    tokens: dict[str, str] = {}
    for name in names:
        for token in re.findall(r"[A-Za-z]+", name):
            if len(token) >= 3 and token.casefold() not in COMMON_NAME_WORDS | STOPWORDS:
                tokens.setdefault(token, name)
    return tokens


@dataclass(frozen=True)
class NearMiss:
    word: str  # as written in the scene
    known: str  # the known name it is close to
    scene: int
    sentence: str


def near_miss_names(
    scene_texts: Sequence[str], known: Iterable[str], threshold: float = 0.8
) -> list[NearMiss]:
    """Capitalised words close to, but not the same as, a known name ("Tobia" for Tobias)."""
    tokens = _name_tokens(known)
    lowered = {t.casefold() for t in tokens}
    found: list[NearMiss] = []
    reported: set[str] = set()
    for number, text in enumerate(scene_texts, start=1):
        for match in _CAPITALISED.finditer(text):
            word = re.sub(r"['’]s$", "", match.group())
            folded = word.casefold()
            if folded in lowered or folded in reported or len(word) < 3:
                continue
            if folded in STOPWORDS or folded in COMMON_NAME_WORDS:
                continue
            best, score = "", 0.0
            for token in tokens:
                ratio = SequenceMatcher(None, folded, token.casefold()).ratio()
                if ratio > score:
                    best, score = token, ratio
            # "the Quills" is the family of Mara Quill, not a new name.
            if score < threshold or folded == best.casefold() + "s":
                continue
            reported.add(folded)
            sentence = sentence_containing(text, [folded]) or word
            found.append(NearMiss(word, tokens[best], number, sentence))
    return found


def closest_token(word: str, known: str) -> str:
    """The part of `known` ("Tobias Grent") that `word` ("Tobia") misspells."""
    return max(known.split(), key=lambda t: SequenceMatcher(None, word.lower(), t.lower()).ratio())


def _name_issue(miss: NearMiss) -> Issue:
    return Issue(
        category=Category.names,
        severity=Severity.major,
        evidence=miss.sentence,
        note=f"{miss.word!r} looks like a misspelling of {miss.known!r}",
        scene=miss.scene,
        source="names",
    )


def run_checks(
    scene_texts: Sequence[str],
    *,
    target_words: int,
    settings: QualitySettings,
    bible: StoryBible | None = None,
    chapter: int = 1,
    characters: Sequence[str] = (),
    places: Sequence[str] = (),
) -> tuple[Checks, list[Issue]]:
    """Every deterministic check over a chapter's scenes: the measures and the issues."""
    text = "\n\n".join(scene_texts)
    achieved = count_words(text)
    score = length_score(target_words, achieved)
    issues: list[Issue] = []
    if score < settings.min_length_score:
        issues.append(
            Issue(
                category=Category.length,
                severity=Severity.major,
                note=f"{achieved} words for a target of {target_words} (length score {score:.0f})",
                source="length",
            )
        )
    ngrams = repeated_ngrams(text, settings.ngram_size, settings.ngram_repeats)
    for gram, count in ngrams.items():
        issues.append(
            Issue(
                category=Category.repetition,
                severity=Severity.major if count >= 2 * settings.ngram_repeats else Severity.minor,
                evidence=sentence_containing(text, gram.split()),
                note=f"{gram!r} occurs {count} times",
                source="ngrams",
            )
        )
    phrases = overused_phrases(text, min_count=settings.phrase_repeats)
    for phrase, count in phrases.items():
        issues.append(
            Issue(
                category=Category.style,
                severity=Severity.minor,
                evidence=sentence_containing(text, words(phrase)),
                note=f"stock phrase {phrase!r} occurs {count} times",
                source="phrases",
            )
        )
    broken = contradictions(scene_texts, bible, chapter, places) if bible else []
    subjects = [f.subject for f in bible.facts] if bible else []
    misspelt = near_miss_names(scene_texts, [*characters, *places, *subjects])
    issues += broken + [_name_issue(m) for m in misspelt]
    checks = Checks(
        target_words=target_words,
        words=achieved,
        length_score=round(score, 1),
        repeated_ngrams=ngrams,
        overused_phrases=phrases,
        contradictions=len(broken),
        unknown_names={m.word: m.known for m in misspelt},
    )
    return checks, issues
