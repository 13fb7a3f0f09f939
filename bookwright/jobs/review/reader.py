"""A manuscript file, any of the formats authors keep, as chapters of scenes.

Markdown and plain text are read as they are; DOCX, EPUB, ODT, RTF and HTML go through
pandoc (the binary bookwright already ships for its exports); yWriter 7 through the
importer. Chapters are found by headings (`#`/`##`, or "Chapter 12", "CHAPTER XII.",
"Prologue" lines), scenes by scene breaks (`***`, `* * *`, `#`, `---`, `~`). The prose
itself is never rewritten: paragraphs keep their words and their order.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from bookwright.errors import InvalidArtifact, UsageError
from bookwright.model import Chapter, Manuscript

TEXT_SUFFIXES = {".md", ".markdown", ".txt", ".text"}
PANDOC_SUFFIXES = {".docx": "docx", ".epub": "epub", ".odt": "odt", ".rtf": "rtf"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
SUFFIXES = sorted(TEXT_SUFFIXES | set(PANDOC_SUFFIXES) | HTML_SUFFIXES | {".yw7"})
MIN_WORDS = 50  # less is a note, not a manuscript to review

_ATX = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_NUMBER = r"(?:\d+|[IVXLCDM]+|[A-Za-z]+(?:-[A-Za-z]+)?)"
_CHAPTER_LINE = re.compile(
    rf"^\s*(?:chapter|chap\.)\s+{_NUMBER}\b\s*[.:—–-]?\s*(.*)$|"
    r"^\s*(prologue|epilogue|interlude|afterword|foreword)\b\s*[.:—–-]?\s*(.*)$",
    re.I,
)
_BREAK = re.compile(
    r"^\s*(?:(?:[*]\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,}|#|[~•·◆❖§⁂]+(?:\s*[~•·◆❖§⁂])*)\s*$"
)
_NUMERAL_LINE = re.compile(r"^\s*(?:[IVXLC]{1,7}|\d{1,3})\.?\s*$")
_GUTENBERG_START = re.compile(r"^\*\*\*\s*START OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
_GUTENBERG_END = re.compile(r"^\*\*\*\s*END OF (?:THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
_TITLE_LINE = re.compile(r"^Title:\s*(.+)$", re.M)
_AUTHOR_LINE = re.compile(r"^Author:\s*(.+)$", re.M)


@dataclass
class Read:
    """A manuscript split into chapters, and what was left out of them (and why)."""

    manuscript: Manuscript
    split_by: str  # "headings", "chapter lines", "scenes only" or "yWriter"
    front_matter_words: int = 0
    notes: list[str] = field(default_factory=list)


def read_manuscript(path: Path, *, title: str | None = None, genre: str = "") -> Read:
    """Read and split `path`; raises a UsageError (nothing recorded) when it cannot be."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise UsageError(
            f"{path.name}: a review reads {', '.join(SUFFIXES)}, "
            f"not {suffix or 'a file without suffix'}",
            "Save the manuscript as Markdown, plain text, DOCX or EPUB",
        )
    if not path.is_file():
        raise UsageError(f"Cannot read {path}: no such file", "Check the path")
    if suffix == ".yw7":
        return _from_yw7(path, title, genre)
    text = _text_of(path, suffix)
    return split_text(text, title=title, stem=path.stem, genre=genre, name=path.name)


def _text_of(path: Path, suffix: str) -> str:
    if suffix in TEXT_SUFFIXES:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"Cannot read {path}: {exc.strerror or exc}", "Check the path"
            ) from None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidArtifact(
                f"{path.name} is not UTF-8 text (byte {exc.start})",
                "Save it as UTF-8 (most editors offer it under Save As) and review again",
            ) from None
    import pypandoc  # large: only the formats that need it pay for the import

    fmt = PANDOC_SUFFIXES.get(suffix, "html")
    try:
        return str(
            pypandoc.convert_file(
                str(path), "markdown-smart", format=fmt, extra_args=["--wrap=none"], sandbox=True
            )
        )
    except (RuntimeError, OSError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise InvalidArtifact(
            f"{path.name} could not be read as {fmt}: {reason}",
            "Open it in its editor, save it again (or export Markdown) and review again",
        ) from None


def _strip_gutenberg(text: str) -> tuple[str, list[str]]:
    start, end = _GUTENBERG_START.search(text), _GUTENBERG_END.search(text)
    if not start:
        return text, []
    body = text[start.end() : end.start() if end and end.start() > start.end() else len(text)]
    return body, ["the Project Gutenberg header and licence are left out"]


def split_text(
    text: str,
    *,
    title: str | None = None,
    stem: str = "manuscript",
    genre: str = "",
    name: str = "",
) -> Read:
    """Chapters and scenes of a text, by its headings and scene breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta_title = _TITLE_LINE.search(text[:5000])
    meta_author = _AUTHOR_LINE.search(text[:5000])
    text, notes = _strip_gutenberg(text)
    lines = text.split("\n")
    heads, split_by, book_title = _headings(lines)
    chapters: list[Chapter] = []
    spans = [(index, heading) for index, heading in heads] + [(len(lines), "")]
    front = "\n".join(x for x in lines[: spans[0][0]] if not _ATX.match(x)) if heads else ""
    if not heads:
        spans = [(-1, ""), (len(lines), "")]
        split_by = "scenes only"
    dropped_empty = 0
    for (start, heading), (stop, _) in itertools.pairwise(spans):
        scenes = _scenes(lines[start + 1 : stop])
        if not scenes or _contents(lines[start + 1 : stop]):
            dropped_empty += 1  # a heading with no prose under it: a table of contents line
            continue
        number = len(chapters) + 1
        chapters.append(
            Chapter(number=number, title=_chapter_title(heading, number), scenes=scenes)
        )
    if dropped_empty and heads:
        notes.append(
            f"{dropped_empty} heading(s) with no prose under them (a contents list) left out"
        )
    words = sum(c.word_count for c in chapters)
    if words < MIN_WORDS:
        raise InvalidArtifact(
            f"{name or stem} holds {words} words of prose; a review needs at least {MIN_WORDS}",
            "Check that this is the manuscript (not its outline or an empty export)",
        )
    front_words = len(front.split())
    if front_words:
        notes.append(
            f"{front_words} words before the first chapter heading (title page, contents) left out"
        )
    chosen = title or book_title or (meta_title.group(1).strip() if meta_title else "")
    return Read(
        manuscript=Manuscript(
            title=(chosen or _pretty(stem))[:200],
            author=meta_author.group(1).strip() if meta_author else "",
            genre=genre,
            chapters=chapters,
        ),
        split_by=split_by,
        front_matter_words=front_words,
        notes=notes,
    )


def _headings(lines: list[str]) -> tuple[list[tuple[int, str]], str, str]:
    """(line index, heading text) of each chapter, how they were found, and a book title.

    Markdown headings: the level whose headings say "Chapter ..." (else the level with
    the most headings, `#` on a tie); a lone `#` above them is the book's title.
    Plain text: "Chapter 12" / "CHAPTER XII." / "Prologue" lines, else lines holding only
    a number or a Roman numeral ("IV."), each a line of its own after a blank line; a
    short line right after one (no end punctuation) is that chapter's title.
    """
    atx = [
        (i, len(m.group(1)), m.group(2)) for i, line in enumerate(lines) if (m := _ATX.match(line))
    ]
    if atx:
        by_level = {n: [(i, t) for i, level, t in atx if level == n] for n in (1, 2, 3)}
        chaptered = [n for n in (1, 2, 3) if any(_CHAPTER_LINE.match(t) for _, t in by_level[n])]
        level = chaptered[0] if chaptered else max((1, 2), key=lambda n: (len(by_level[n]), -n))
        chosen = by_level[level]
        if chosen:
            ones = by_level[1]
            title = ones[0][1] if level > 1 and len(ones) == 1 and ones[0][0] < chosen[0][0] else ""
            return chosen, "headings", title
    for pattern, how in ((_CHAPTER_LINE, "chapter lines"), (_NUMERAL_LINE, "numbered lines")):
        found = [
            i
            for i, line in enumerate(lines)
            if pattern.match(line)
            and len(line.strip()) <= 120
            and (i == 0 or not lines[i - 1].strip())
        ]
        if len(found) >= (1 if how == "chapter lines" else 3):
            return [(i, _with_title(lines, i)) for i in found], how, ""
    return [], "", ""


def _contents(lines: list[str]) -> bool:
    """Under a heading, only more headings ("CHAPTER II. THE BOTTLE", one a line): the
    table of contents, not a chapter."""
    said = [line.strip() for line in lines if line.strip()]
    return bool(said) and all(
        _CHAPTER_LINE.match(line) or _NUMERAL_LINE.match(line) for line in said
    )


def _with_title(lines: list[str], index: int) -> str:
    """The heading, with the title on the line after it when it has one: the line is
    then blanked, so it is not read as the chapter's first paragraph."""
    heading = lines[index].strip()
    after = lines[index + 1].strip() if index + 1 < len(lines) else ""
    if not after and index + 2 < len(lines) and _CHAPTER_LINE.match(heading):
        after = lines[index + 2].strip()
        index += 1
    if (
        after
        and len(after.split()) <= 10
        and after[-1:] not in '.!?,;:"”’'
        and not _BREAK.match(after)
        and (index + 2 >= len(lines) or not lines[index + 2].strip())
    ):
        lines[index + 1] = ""
        return f"{heading.rstrip('.')}: {after}"
    return heading


def _chapter_title(heading: str, number: int) -> str:
    heading = heading.strip().strip("*_ ")
    match = _CHAPTER_LINE.match(heading)
    if match:
        rest = (match.group(1) if match.group(1) is not None else match.group(3) or "").strip()
        word = match.group(2)
        if word:
            return f"{word.title()}: {rest}" if rest else word.title()
        return rest.strip("*_ .") or heading
    return heading or f"Chapter {number}"


def _scenes(lines: list[str]) -> list[str]:
    scenes: list[str] = []
    current: list[str] = []
    for line in [*lines, "***"]:
        if _BREAK.match(line) or _ATX.match(line):  # a heading inside a chapter: a section
            text = _paragraphs(current)
            if text:
                scenes.append(text)
            current = []
        else:
            current.append(line)
    return scenes


def _paragraphs(lines: list[str]) -> str:
    """The scene's paragraphs, one blank line apart; the words inside left as they are."""
    paragraphs, current = [], []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    text = "\n\n".join(paragraphs).strip()
    return text if text and not (text[:1] in "{[" and text[-1:] in "}]") else ""


def _pretty(stem: str) -> str:
    return " ".join(stem.replace("_", " ").replace("-", " ").split()).title() or "Manuscript"


def _from_yw7(path: Path, title: str | None, genre: str) -> Read:
    from bookwright.export.yw7 import Yw7Error, from_yw7, md_paragraphs

    try:
        project = from_yw7(path.read_bytes())
    except OSError as exc:
        raise UsageError(f"Cannot read {path}: {exc.strerror or exc}", "Check the path") from None
    except Yw7Error as exc:
        raise InvalidArtifact(
            f"{path.name} line {exc.line}: {exc.reason}", "Fix the file and review again"
        ) from None
    scenes = {s.id: s for s in project.scenes}
    chapters: list[Chapter] = []
    for entry in project.chapters:
        texts = [md_paragraphs(scenes[i].content) for i in entry.scene_ids if i in scenes]
        texts = [t for t in texts if t.strip()]
        if texts:
            number = len(chapters) + 1
            chapters.append(
                Chapter(
                    number=number, title=entry.title.strip() or f"Chapter {number}", scenes=texts
                )
            )
    words = sum(c.word_count for c in chapters)
    if words < MIN_WORDS:
        raise InvalidArtifact(
            f"{path.name} holds {words} words of prose; a review needs at least {MIN_WORDS}",
            "Check that the project's scenes have their text",
        )
    return Read(
        manuscript=Manuscript(
            title=(title or project.title or _pretty(path.stem))[:200],
            author=project.author,
            genre=genre,
            chapters=chapters,
        ),
        split_by="yWriter",
    )
