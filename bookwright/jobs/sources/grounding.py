"""Grounded writing: a chapter written from its chunks, every kept sentence cited.

The model is asked to put a chunk id in square brackets after each factual sentence.
Its answer is read sentence by sentence: a citation to an id that is not in the store
drops the sentence, so does a quotation its speaker never said (rapidfuzz, nearly
verbatim) and a sentence that shares too little with the chunk it cites; a sentence
without a citation gets the chunk it overlaps most, or is dropped as unsupported.
When no answer keeps enough, the chapter is edited from the sources themselves: their
words in quotation marks, attributed and cited, as an oral history is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bookwright.jobs.sources.storyline import askers, is_answer
from bookwright.model.sources import Chunk, PlannedChapter, SourceIndex, SourcesSpec
from bookwright.model.text import counted
from bookwright.quality.readers import READERS
from bookwright.quality.text import STOPWORDS, sentences
from bookwright.stages.asks import Ask

CITE = re.compile(r"\[\s*(c[0-9a-f]{8}(?:-\d+)?)\s*\]")
# What a model writes as a citation: a bracketed token with a digit in it, whatever its
# form ("[c1a2b3c4d]", "[adab23bac]", "[ c1a2b3c4d-2 ]"): one that is no passage id in the
# store is refused like any unknown source, never left in the text as if it were one.
_ID = r"[A-Za-z0-9][A-Za-z0-9_-]{3,30}"
_MARKER = re.compile(rf"\[\s*({_ID})\s*\]")
# A citation after the sentence's full stop ("It closed. [c1a2b3c4d] Then ...") belongs to
# the sentence before it, not to the next one.
_TRAILING = re.compile(rf"([.!?][\"”’']?)\s+((?:\[\s*{_ID}\s*\]\s*)+)")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)s?\b")  # word overlap cannot see a changed year
_QUOTED = re.compile(r"[\"“]([^\"“”]{12,})[\"”]")
_CONTENT = re.compile(r"[a-z][a-z'-]{2,}")
QUOTE_MATCH = 90  # rapidfuzz partial_ratio a quotation needs against its speaker's words
SUPPORT = 0.25  # share of a sentence's content words its cited chunk must hold
FORMAT_HINT = (
    "Write prose from the sources only, and after each sentence put the id of the source "
    "it comes from in square brackets, like [c1a2b3c4d]; quote people only in their exact words."
)


def _content(text: str) -> set[str]:
    return {w for w in _CONTENT.findall(text.casefold()) if w not in STOPWORDS}


def support(sentence: str, chunk: Chunk) -> float:
    """The share of the sentence's content words that its chunk holds."""
    words = _content(CITE.sub(" ", sentence))
    return len(words & _content(chunk.text)) / len(words) if words else 0.0


@dataclass
class GroundedReading:
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    target: int = 0

    @property
    def words(self) -> int:
        return len(CITE.sub(" ", " ".join(self.kept)).split())

    @property
    def usable(self) -> bool:
        return bool(self.kept) and self.words >= self.target // 2

    def canonical(self) -> str:
        return " ".join(self.kept)


def read_grounded(
    answer: str,
    chunks: dict[str, Chunk],
    known: set[str],
    target: int,
    speakers: tuple[str, ...] = (),
) -> GroundedReading:
    """`chunks`: the chapter's own; `known`: every chunk id in the store; `speakers`:
    everyone who speaks in the sources."""
    reading = GroundedReading(target=target)
    text = _TRAILING.sub(lambda m: f" {' '.join(m.group(2).split())}{m.group(1)} ", answer)
    for sentence in sentences(text.replace("\n", " ")):
        markers = [m for m in _MARKER.findall(sentence) if any(ch.isdigit() for ch in m)]
        cited = CITE.findall(sentence)
        unknown = [m for m in markers if m not in known]
        if unknown:
            reading.dropped.append(f"cites {unknown[0]}, which is no source: {sentence[:60]}")
            continue
        sources = [chunks[c] for c in cited if c in chunks] or []
        if not cited:
            best = max(chunks.values(), key=lambda c: support(sentence, c), default=None)
            if best is None or support(sentence, best) < 2 * SUPPORT:
                reading.dropped.append(f"no source supports it: {sentence[:60]}")
                continue
            sentence = f"{sentence.rstrip()} [{best.id}]"
            sources = [best]
        elif not sources:
            reading.dropped.append(f"cites a source of another chapter: {sentence[:60]}")
            continue
        elif max(support(sentence, c) for c in sources) < SUPPORT:
            reading.dropped.append(f"its source does not say this: {sentence[:60]}")
            continue
        stated = set(_YEAR.findall(sentence)) - set(
            _YEAR.findall(" ".join(c.text for c in sources))
        )
        if stated:
            reading.dropped.append(f"its source gives no {min(stated)}: {sentence[:60]}")
            continue
        misquoted = [
            q for q in _QUOTED.findall(sentence) if not _said(q, sentence, chunks, speakers)
        ]
        if misquoted:
            reading.dropped.append(f"nobody said {misquoted[0][:50]!r} like that")
            continue
        reading.kept.append(sentence.strip())
    return reading


def _said(quote: str, sentence: str, chunks: dict[str, Chunk], speakers: tuple[str, ...]) -> bool:
    """The quotation is (nearly) verbatim in a chunk of the speaker the sentence names
    (outside the quotation), or of any of the chapter's chunks when it names nobody."""
    outside = _QUOTED.sub(" ", sentence)
    named = {s for s in speakers if re.search(rf"\b{re.escape(s.split()[0])}\b", outside)}
    pool = [c for c in chunks.values() if c.speaker in named] if named else list(chunks.values())
    return any(fuzz.partial_ratio(quote.casefold(), c.text.casefold()) >= QUOTE_MATCH for c in pool)


READERS["grounded"] = lambda ask, text: read_grounded(
    text,
    {c["id"]: Chunk.model_validate(c) for c in ask.variables["chunk_data"]},
    set(ask.extra["known"]),
    ask.target_words,
    tuple(ask.extra.get("speakers", ())),
)


def from_sources(chapter: PlannedChapter, chunks: list[Chunk]) -> str:
    """The chapter edited from its sources: each passage in its speaker's words, cited.
    An interviewer's questions are no one's memories and are left out (unless nothing
    else is left); a passage with no speaker (notes, a document) is what its file records."""
    asking = askers(chunks)
    told = [c for c in chunks if c.speaker not in asking] or chunks
    parts = []
    for chunk in told:
        words = chunk.text.strip().replace('"', "'")
        if chunk.speaker and is_answer(chunk):  # the author's answer to a question
            parts.append(f'{chunk.speaker} answered: "{words}" [{chunk.id}]')
        elif chunk.speaker:
            parts.append(f'{chunk.speaker} recalled: "{words}" [{chunk.id}]')
        else:
            parts.append(f'{chunk.file} records: "{words}" [{chunk.id}]')
    return "\n\n".join(parts)


def chapter_ask(
    chapter: PlannedChapter,
    chunks: list[Chunk],
    spec: SourcesSpec,
    known: list[str],
    summary: str,
    speakers: list[str],
) -> Ask:
    return Ask(
        label=f"sources.chapter.{chapter.number}",
        role="writer",
        template="sources_chapter.j2",
        variables={
            "title": spec.title,
            "kind": spec.kind,
            "chapter": chapter.number,
            "chapter_title": chapter.title,
            "summary": summary,
            "chunks": [
                {
                    "id": c.id,
                    "speaker": c.speaker or "notes",
                    "where": f"{c.file}, {c.position}",
                    "text": c.text,
                }
                for c in chunks
            ],
            "chunk_data": [c.model_dump(mode="json") for c in chunks],
            "text": "",
            "unsupported": [],  # a redo names what the judge found no support for
        },
        kind="lines",
        max_tokens=min(2000, int(spec.words_per_chapter * 2)),
        target_words=spec.words_per_chapter,
        fallback=from_sources(chapter, chunks),
        chapter=chapter.number,
        extra={
            "lines": "grounded",
            "attempts": 3,
            "format_hint": FORMAT_HINT,
            "known": known,
            "speakers": speakers,
        },
    )


def footnoted(text: str, index: SourceIndex, numbering: dict[str, int]) -> str:
    """Citation markers as Markdown footnote references (`[^3]`), numbered once per book;
    `numbering` is filled as it goes."""

    def note(match: re.Match[str]) -> str:
        chunk_id = match.group(1)
        if chunk_id not in numbering:
            numbering[chunk_id] = len(numbering) + 1
        return f"[^{numbering[chunk_id]}]"

    return re.sub(r"\s*" + CITE.pattern, note, text)


def notes_of(numbering: dict[str, int], index: SourceIndex) -> list[str]:
    lines = []
    for chunk_id, number in sorted(numbering.items(), key=lambda item: item[1]):
        chunk = index.chunk(chunk_id)
        if chunk is None:
            continue
        who = f"{chunk.speaker}, " if chunk.speaker else ""
        lines.append(f"[^{number}]: {who}{chunk.file}, {chunk.position} ({chunk.id}).")
    return lines


def sources_list(index: SourceIndex) -> list[str]:
    lines = []
    for file in index.files:
        if file.error:
            lines.append(f"- {file.name}: not used ({file.error})")
        else:
            speakers = sorted(
                {c.speaker for c in index.chunks if c.file == file.name and c.speaker}
            )
            lines.append(
                f"- {file.name}: {counted(file.chunks, 'passage')}"
                + (f"; {', '.join(speakers)}" if speakers else "")
            )
    return lines


def references(text: str, chapter: PlannedChapter, index: SourceIndex) -> list[dict[str, Any]]:
    """The chapter document's `source_references`: each passage it cites, with its node,
    where it is, and the share of the chapter's sentences that cite it (confidence)."""
    said = [s for s in sentences(text.replace("\n", " ")) if s.strip()]
    out = []
    for chunk_id in dict.fromkeys(CITE.findall(text)):
        chunk = index.chunk(chunk_id)
        if chunk is None:
            continue
        share = sum(1 for s in said if f"[{chunk_id}]" in s) / max(1, len(said))
        out.append(
            {
                "node": chapter.node,
                "chunk_id": chunk_id,
                "file": chunk.file,
                "position": chunk.position,
                "speaker": chunk.speaker,
                "confidence": round(share, 3),
            }
        )
    return out
