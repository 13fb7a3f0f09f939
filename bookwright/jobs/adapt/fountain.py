"""Fountain: checked with screenplain (the parser its renderers use), and a book scene
turned into a Fountain scene by rule when no model answer passes the check: narration
becomes action, quoted speech becomes dialogue under its speaker's cue."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from screenplain.parsers import fountain as parser
from screenplain.types import Action, Dialog, DualDialog, Slug

from bookwright.quality.readers import READERS
from bookwright.quality.text import sentences

_PAREN = re.compile(r"^\s*\([^)]*\)\s*$")
_QUOTE = re.compile(r"[\"“]([^\"“”]+)[\"”]")
_SAID = r"(?:said|asked|replied|whispered|shouted|called|answered|told|says|asks|cried|muttered)"


def parse(text: str) -> list[object]:
    return list(parser.parse(io.StringIO(text)).paragraphs)


def problems(text: str, cast: list[str] | None = None) -> list[str]:
    """What is wrong with a Fountain script, each with its line number; [] when sound.
    `cast`: the cues allowed (upper case), when known."""
    found: list[str] = []
    lines = text.split("\n")
    if not text.strip():
        return ["line 1: the script is empty"]
    paragraphs = parse(text)
    if not any(isinstance(p, Slug) for p in paragraphs):
        found.append("line 1: no scene heading (INT. PLACE - DAY)")
    for number, line in enumerate(lines, start=1):
        if _PAREN.match(line.strip()) and not _in_dialogue(lines, number - 1):
            found.append(f"line {number}: a parenthetical outside dialogue: {line.strip()[:40]}")
    allowed = {c.upper() for c in cast or []}
    for paragraph in paragraphs:
        dialogs = (
            paragraph.left + paragraph.right if isinstance(paragraph, DualDialog) else [paragraph]
        )
        for dialog in dialogs:
            if not isinstance(dialog, Dialog):
                continue
            cue = _cue_name(str(dialog.character))
            spoken = [
                text for is_paren, text in dialog.blocks if not is_paren and str(text).strip()
            ]
            where = _line_of(lines, str(dialog.character))
            if not spoken:
                found.append(f"line {where}: {cue} has a cue and no dialogue")
            if allowed and cue not in allowed:
                found.append(
                    f"line {where}: {cue} is not in the book's cast ({', '.join(sorted(allowed))})"
                )
    return found


def _is_cue(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and stripped.upper() == stripped and any(c.isalpha() for c in stripped)


def _in_dialogue(lines: list[str], index: int) -> bool:
    """A parenthetical between two lines of one speech (after the cue's first line)."""
    back = index - 1
    while back >= 0 and lines[back].strip():
        if _is_cue(lines[back]):
            return True
        back -= 1
    return False


def _cue_name(character: str) -> str:
    return re.sub(r"\s*\(.*\)\s*$", "", character).strip().lstrip("@").upper()


def _line_of(lines: list[str], needle: str) -> int:
    for number, line in enumerate(lines, start=1):
        if line.strip() == needle.strip():
            return number
    return 1


def scene_problems(slugline: str, body: str, cast: list[str]) -> list[str]:
    return problems(f"{slugline}\n\n{body.strip()}\n", cast)


@dataclass
class FountainReading:
    body: str = ""
    dropped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.body) and not self.dropped

    def canonical(self) -> str:
        return self.body


def read_scene(answer: str, slugline: str, cast: list[str]) -> FountainReading:
    """A model's Fountain scene, its own slugline (if it wrote one) replaced by ours."""
    lines = [line.rstrip() for line in answer.strip().strip("`").split("\n")]
    while lines and (
        not lines[0].strip() or re.match(r"^(INT|EXT|I/E)[. ]", lines[0].strip(), re.I)
    ):
        lines.pop(0)
    body = "\n".join(lines).strip()
    found = scene_problems(slugline, body, cast)
    if not any(isinstance(p, Action) for p in parse(f"{slugline}\n\n{body}\n")):
        found.append("no action lines")
    return FountainReading(body=body, dropped=found)


READERS["fountain"] = lambda ask, text: read_scene(
    text, ask.variables["slugline"], list(ask.extra["cast"])
)


def from_prose(text: str, cast: list[str]) -> str:
    """A book scene as a Fountain scene body: quoted speech under the cue of the cast
    member the sentence attributes it to (else the last speaker), the rest as action."""
    firsts = {name.split()[0].casefold(): name.split()[0].upper() for name in cast}
    out: list[str] = []
    speaker = ""
    for paragraph in [p for p in text.split("\n\n") if p.strip()]:
        quotes = _QUOTE.findall(paragraph)
        if not quotes:
            out.append(_action(paragraph))
            continue
        who = _speaker_of(paragraph, firsts) or speaker or ""
        if not who:
            out.append(_action(paragraph))
            continue
        speaker = who
        narration = _QUOTE.sub(" ", paragraph)
        narration = re.sub(rf"\b\w+\s+{_SAID}\b|\b{_SAID}\s+\w+\b", " ", narration, flags=re.I)
        rest = " ".join(s.strip(" ,.") for s in sentences(narration) if len(s.split()) > 2)
        if rest:
            out.append(_action(rest))
        out.append(f"{who}\n" + " ".join(q.strip().rstrip(",") for q in quotes))
    if not any(not line.isupper() and "\n" not in line for line in out):
        out.insert(0, "A moment of quiet.")  # Fountain needs an action line before the talk
    return "\n\n".join(out)


def _action(paragraph: str) -> str:
    text = " ".join(paragraph.split())
    # Upper-case-only lines and ones ending in "TO:" would parse as cues and transitions.
    if text.isupper() or text.endswith("TO:"):
        text = text.capitalize()
    return text.lstrip("!@#~=>.")


def _speaker_of(paragraph: str, firsts: dict[str, str]) -> str:
    outside = _QUOTE.sub(" ", paragraph)
    for word in re.findall(r"[A-Za-z]+", outside):
        if word.casefold() in firsts:
            return firsts[word.casefold()]
    return ""
