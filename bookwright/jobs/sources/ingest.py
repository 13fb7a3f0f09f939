"""A folder of interviews, transcripts and notes, as chunks with stable ids.

`.txt` and `.md` are read as they are; `.vtt` and `.srt` through webvtt-py (speakers from
`<v Name>` or a `Name:` prefix, times kept); `.docx`, `.pdf` and `.html` through
markitdown. A turn of one speaker is cut into chunks of at most CHUNK_WORDS words at
sentence ends. A chunk's id hashes its file's name, speaker and text, so reading the
folder again gives the same ids, and only new or changed files are read again.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bookwright.errors import UsageError
from bookwright.model.sources import Chunk, SourceFile, SourceIndex
from bookwright.quality.text import pack

TEXT = {".txt", ".md", ".markdown"}
CAPTIONS = {".vtt", ".srt"}
CONVERTED = {".docx", ".pdf", ".html", ".htm"}
SUFFIXES = sorted(TEXT | CAPTIONS | CONVERTED)
CHUNK_WORDS = 120
_SPEAKER = re.compile(
    r"^\s*(?:\*\*|__)?(?P<name>[A-Z][A-Za-z.'’ -]{0,40}?)"
    r"(?::(?:\*\*|__)|(?:\*\*|__)?:)\s+(?P<text>\S.*)$"
)
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"'”’)]))\s+")
_TIME = r"[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?[\])]?"
_LEADING_TIME = re.compile(rf"^{_TIME}\s*[-–]?\s*")  # "[00:01:23] Ada: ..."
_TIME_BEFORE_COLON = re.compile(rf"\s*{_TIME}(?=\s*:)")  # "Ada (00:01:23): ..."
# "Ada Lind  0:03" on a line of its own starts Ada Lind's turn (Otter, Zoom, Teams)
_HEADER_TURN = re.compile(rf"^(?P<name>[A-Z][A-Za-z.'’ -]{{0,40}}?)\s+{_TIME}\s*$")
_NOT_SPEAKERS = {"note", "notes", "date", "place", "location", "subject", "title", "source", "re"}
# "A: ..." starts an answer: the interviewee's (named in the header) turn, not A's
ANSWERER = {"a", "answer", "reply", "response"}
_INTERVIEWEE = re.compile(
    r"\binterview(?:ed)?[ \t]+(?:with|of)[ \t]+((?:[A-Z][a-z'’-]+\.?[ \t]){0,2}[A-Z][a-z'’-]+)"
)
_LIST_MARK = re.compile(r"^(?:[-*•+]|\d{1,3}[.)])\s+")  # "- item", "2. item"
# A speaker's name is a name: capitalised words ("Ada Lind", "Dr. Ada Lind", "Ada van
# Dyke"), not a phrase before a colon ("The Saturday school at the church hall: ...")
_NAME_WORD = re.compile(r"^(?:[A-Z][A-Za-z.'’-]*|van|von|de|da|del|der|la|le|bin|ibn|al)$")


def ingest(folder: Path, previous: SourceIndex | None = None) -> SourceIndex:
    """Every readable source in `folder` (not in subfolders' hidden files), as chunks.
    Raises a UsageError, before anything is recorded, when nothing in it can be read."""
    if not folder.is_dir():
        raise UsageError(f"{folder} is not a folder", "Give --sources the folder of your material")
    known = {f.name: f for f in previous.files} if previous else {}
    kept: dict[str, list[Chunk]] = {}
    for chunk in previous.chunks if previous else []:
        kept.setdefault(chunk.file, []).append(chunk)
    files: list[SourceFile] = []
    chunks: list[Chunk] = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in Path(name).parts):
            continue
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            files.append(
                SourceFile(
                    name=name, sha256="", error=f"not a source format ({suffix or 'no suffix'})"
                )
            )
            continue
        try:
            raw = path.read_bytes()
        except OSError as exc:
            files.append(
                SourceFile(name=name, sha256="", error=f"cannot be read: {exc.strerror or exc}")
            )
            continue
        digest = hashlib.sha256(raw).hexdigest()
        if name in known and known[name].sha256 == digest and not known[name].error:
            files.append(known[name])
            chunks += kept.get(name, [])
            continue
        try:
            found = read_source(path, name, raw)
        except (ValueError, UnicodeDecodeError, RuntimeError, OSError) as exc:
            files.append(SourceFile(name=name, sha256=digest, error=unreadable(exc)))
            continue
        if not found:
            files.append(SourceFile(name=name, sha256=digest, error="holds no text"))
            continue
        files.append(SourceFile(name=name, sha256=digest, chunks=len(found)))
        chunks += found
    if not chunks:
        listed = "; ".join(f"{f.name}: {f.error}" for f in files[:5]) or "it is empty"
        raise UsageError(
            f"Nothing in {folder} can be read as a source ({listed})",
            f"Put source files in it: {', '.join(SUFFIXES)}",
        )
    return SourceIndex(files=files, chunks=chunks)


def unreadable(exc: Exception) -> str:
    """Why a file could not be read, in a line: what a user can act on."""
    if isinstance(exc, UnicodeDecodeError):
        return f"not UTF-8 text (byte {exc.start}); save it as UTF-8"
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def read_source(path: Path, name: str, raw: bytes) -> list[Chunk]:
    if path.suffix.lower() in CAPTIONS:
        return _captions(path, name)
    return turns(name, source_text(path, raw).split("\n"))


def source_text(path: Path, raw: bytes) -> str:
    """The text of a written source (not captions), with Unix line ends."""
    suffix = path.suffix.lower()
    if suffix in TEXT:
        text = raw.decode("utf-8-sig")
    else:
        from markitdown import MarkItDown  # docx, pdf, html: the converter of the field

        try:
            text = MarkItDown(enable_plugins=False).convert(str(path)).text_content
        except Exception as exc:  # markitdown wraps each converter's own errors
            plain = _docx_text(path) if suffix == ".docx" else None
            if plain is None:
                raise ValueError(
                    f"could not be converted: {' '.join(str(exc).split())[:160]}"
                ) from None
            text = plain
        if text.lstrip().startswith(("%PDF", "PK\x03\x04")) or "\x00" in text:
            # markitdown falls back to reading the bytes as text when its converter fails
            raise ValueError(f"could not be read as {suffix[1:].upper()} (damaged, or not one)")
    return text.replace("\r\n", "\n")


def _docx_text(path: Path) -> str | None:
    """A Word file's paragraphs through mammoth alone, when markitdown's pass over the
    XML fails before mammoth sees it (markitdown 0.1.9's math and strike pre-pass
    drops every namespace with lxml 6.2, and then no .docx converts)."""
    import mammoth  # markitdown's own .docx reader, installed with markitdown[docx]

    try:
        with path.open("rb") as stream:
            return str(mammoth.extract_raw_text(stream).value)
    except Exception:
        return None


def _speaker(line: str, answerer: str = "") -> tuple[str, str] | None:
    """(speaker, what they say) of a `Name: text` line; an `A:` line is `answerer`'s."""
    match = _SPEAKER.match(line)
    if not match or match.group("name").strip().casefold() in _NOT_SPEAKERS:
        return None
    words = match.group("name").split()
    if len(words) > 4 or (words[0] in ("The", "A", "An") and len(words) > 1):
        return None
    if not all(_NAME_WORD.match(w) for w in words):
        return None
    if match.group("name").strip().casefold() in ANSWERER:
        return answerer, match.group("text").strip()
    return _name(match.group("name")), match.group("text").strip()


def _name(raw: str) -> str:
    """ "ADA LIND" and "Ada Lind" are one speaker."""
    raw = " ".join(raw.split())
    return raw.title() if raw.isupper() and len(raw) > 2 else raw


def turns(name: str, lines: list[str], first_line: int = 1, unattributed: str = "") -> list[Chunk]:
    """Speaker turns (a `Name:` line starts one; other lines continue it), then chunks;
    `lines` begin at line `first_line` of the file, and a passage nobody is named for is
    `unattributed`'s."""
    found: list[tuple[str, int, int, list[str]]] = []
    speaker, start, body = "", 0, []  # type: str, int, list[str]
    named = _INTERVIEWEE.search("\n".join(lines[:20]))
    answerer = named.group(1).strip() if named else unattributed
    for number, line in enumerate(lines, start=first_line):
        stripped = line.strip().lstrip("#>").strip()
        listed = bool(_LIST_MARK.match(stripped))  # "- Carnival: 1967" is a note, no one's turn
        stripped = _LIST_MARK.sub("", stripped)
        stripped = _TIME_BEFORE_COLON.sub("", _LEADING_TIME.sub("", stripped))
        header = _HEADER_TURN.match(stripped)
        if header and header.group("name").casefold() not in _NOT_SPEAKERS:
            if body:
                found.append((speaker, start, number - 1, body))
            speaker, start, body = _name(header.group("name")), number, []
            continue
        said = None if listed else _speaker(stripped, answerer)
        if said is not None:
            if body:
                found.append((speaker, start, number - 1, body))
            speaker, start, body = said[0], number, [said[1]]
        elif stripped:
            if not body:
                start = number
            body.append(stripped)
        elif body and not speaker:  # a blank line ends a paragraph of unattributed notes
            found.append((speaker, start, number - 1, body))
            body = []
    if body:
        found.append((speaker, start, first_line + len(lines) - 1, body))
    chunks: list[Chunk] = []
    for who, first, last, parts in found:
        for piece in _pieces(" ".join(parts)):
            chunks.append(_chunk(name, _lines(first, last), who or unattributed, piece, chunks))
    return chunks


def _lines(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def _captions(path: Path, name: str) -> list[Chunk]:
    import webvtt  # WebVTT and SubRip

    try:
        cues = (
            webvtt.from_srt(str(path)) if path.suffix.lower() == ".srt" else webvtt.read(str(path))
        )
    except Exception as exc:  # webvtt raises its own MalformedFileError / MalformedCaptionError
        raise ValueError(f"not a valid caption file: {' '.join(str(exc).split())[:160]}") from None
    turns: list[tuple[str, str, str, list[str]]] = []
    for cue in list(cues):  # type: ignore[call-overload]
        text = " ".join(cue.text.split())
        if not text:
            continue
        voice = getattr(cue, "voice", None)
        said = _speaker(text)
        who = _name(voice) if voice else (said[0] if said else (turns[-1][0] if turns else ""))
        text = said[1] if said and not voice else text
        if turns and turns[-1][0] == who:
            turns[-1] = (who, turns[-1][1], cue.end[:8], [*turns[-1][3], text])
        else:
            turns.append((who, cue.start[:8], cue.end[:8], [text]))
    chunks: list[Chunk] = []
    for who, start, end, parts in turns:
        for piece in _pieces(" ".join(parts)):
            chunks.append(_chunk(name, f"{start}-{end}", who, piece, chunks))
    return chunks


def _pieces(text: str) -> list[str]:
    """At most CHUNK_WORDS words each, cut at sentence ends (a longer sentence alone)."""
    return [p for p in pack(_SENTENCE_END.split(text.strip()), CHUNK_WORDS, " ") if p.strip()]


def _chunk(file: str, position: str, speaker: str, text: str, earlier: list[Chunk]) -> Chunk:
    digest = hashlib.sha256(f"{file}\0{speaker}\0{text}".encode()).hexdigest()[:8]
    chunk_id = f"c{digest}"
    twins = sum(1 for c in earlier if c.id.split("-")[0] == chunk_id)
    return Chunk(
        id=f"{chunk_id}-{twins + 1}" if twins else chunk_id,
        file=file,
        position=position,
        speaker=speaker,
        text=text,
    )
