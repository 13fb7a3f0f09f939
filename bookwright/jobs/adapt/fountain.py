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
from bookwright.stages.asks import Ask

_PAREN = re.compile(r"^\s*\([^)]*\)\s*$")
_QUOTE = re.compile(r"[\"“]([^\"“”]+)[\"”]")
_SAID = r"(?:said|asked|replied|whispered|shouted|called|answered|told|says|asks|cried|muttered)"


# Who speaks in scripts without being a character of the book: a RADIO (V.O.), a VOICE,
# the CROWD, an OLD MAN at the bar. Such a cue is never refused as outside the cast.
GENERIC_CUES = {
    "RADIO", "TV", "TELEVISION", "VOICE", "VOICES", "NARRATOR", "ANNOUNCER", "CROWD", "ALL",
    "EVERYONE", "BOTH", "TOGETHER", "PHONE", "INTERCOM", "PA", "SPEAKER", "LOUDSPEAKER",
    "MAN", "WOMAN", "BOY", "GIRL", "CHILD", "KID", "OFFICER", "GUARD", "DRIVER", "WAITER",
    "WAITRESS", "DOCTOR", "NURSE", "STRANGER", "SAILOR", "PRIEST", "CLERK", "REPORTER",
    "SOLDIER", "POLICEMAN", "VOICEMAIL", "RECORDING", "SINGER", "CHOIR", "BARTENDER",
}  # fmt: skip


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
        if isinstance(paragraph, Action):
            found += _action_problems(paragraph, lines, allowed)
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
            elif dialog.blocks and dialog.blocks[-1][0]:
                paren = str(dialog.blocks[-1][1])
                found.append(
                    f"line {_line_of(lines, paren)}: a parenthetical after {cue}'s last words: "
                    f"{paren[:40]} (it goes before the words it directs)"
                )
            if allowed and cue not in allowed and not set(cue.split()) & GENERIC_CUES:
                found.append(
                    f"line {where}: {cue} is not in the book's cast ({', '.join(sorted(allowed))})"
                )
    return list(dict.fromkeys(found))  # a cue said many times: one problem, not one each


def _action_problems(paragraph: Action, lines: list[str], allowed: set[str]) -> list[str]:
    """Lines that meant to be something else and parse as action: a scene heading with no
    blank line around it, a cue with no words under it (or a blank line between)."""
    found = []
    for piece in paragraph.lines:
        line = str(piece).strip()
        where = _line_of(lines, line)
        if _HEADING.match(line):
            found.append(
                f"line {where}: {line[:40]!r} does not parse as a scene heading "
                "(it needs a blank line before and after it)"
            )
        elif (
            allowed and len(paragraph.lines) == 1 and line.isupper() and _cue_name(line) in allowed
        ):
            found.append(
                f"line {where}: {_cue_name(line)} is a cue with no dialogue under it "
                "(the words go on the very next line)"
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
    return re.sub(r"\s*\(.*\)\s*$", "", character).strip().lstrip("@").rstrip("^ ").upper()


def _line_of(lines: list[str], needle: str) -> int:
    for number, line in enumerate(lines, start=1):
        if line.strip() == needle.strip():
            return number
    return 1


def scene_problems(slugline: str, body: str, cast: list[str]) -> list[str]:
    """A model's scene body under its slugline: sound Fountain (`problems`), one scene
    whose heading is ours, some action, and nothing said to the reader. Line numbers are
    the body's own."""
    text = f"{slugline}\n\n{body.strip()}\n"
    found = [_shift(p) for p in problems(text, cast)]
    lines = body.strip().split("\n")
    for number, line in enumerate(lines, start=1):
        spoken = _in_dialogue(lines, number - 1) and not _is_cue(line)
        said = _meta(line, spoken)
        if said:
            found.append(f"line {number}: {said}: {line.strip()[:50]!r}")
    paragraphs = parse(text)
    slugs = [p for p in paragraphs if isinstance(p, Slug)]
    if not slugs or str(slugs[0].line).strip() != slugline.strip():
        found.append(f"the scene heading {slugline!r} does not parse as one")
    for extra in slugs[1:]:
        found.append(
            f"line {_line_of(lines, str(extra.line))}: {str(extra.line)[:40]!r} starts "
            "another scene; write this one scene only"
        )
    if not any(isinstance(p, Action) for p in paragraphs):
        found.append("the scene has no action: add what we see, in the present tense")
    return found


def _shift(problem: str) -> str:
    """A problem of the slugline-and-body text, numbered by the body's own lines."""
    match = re.match(r"line (\d+): (.*)", problem, re.S)
    if not match:
        return problem
    number = int(match.group(1)) - 2
    return f"line {number}: {match.group(2)}" if number >= 1 else match.group(2)


_HEADING = re.compile(r"^(INT|EXT|EST|I/E|INT\./EXT|INT/EXT)[. ]", re.I)
# What is said to the reader instead of written for the screen (each a reason).
_META_LINES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s*(```|~~~)"), "a markdown fence; write the Fountain text alone"),
    (re.compile(r"\[\[|\]\]"), "a note to the reader ([[...]]); leave notes out"),
    (
        re.compile(
            r"^\s*(here is|here's|here are|sure\b|certainly|of course|okay\b|ok\b|absolutely|"
            r"below is|i have written|i've written|i wrote|this scene\b|the scene\b.*\b(shows|"
            r"captures|depicts|follows)\b)",
            re.I,
        ),
        "talk about the answer; write the scene itself",
    ),
    (
        re.compile(
            r"^\s*[(\[*_]*\s*(note|notes|author'?s note|n\.b\.|translator'?s note|"
            r"(writer|screenwriter)'?s note)\s*[:)\]*_-]",
            re.I,
        ),
        "a note to the reader; leave notes out",
    ),
    (
        re.compile(
            r"\b(i hope (this|that|you)|let me know|feel free to|as requested|as an ai|"
            r"would you like|i can (also )?(adjust|revise|change|write))\b",
            re.I,
        ),
        "talk to the reader; write the scene itself",
    ),
    (re.compile(r"^\s*#{1,6}\s"), "a markdown heading; the scene heading is given"),
    (re.compile(r"^\s*\*\*[^*]+\*\*:?\s*$"), "a markdown label; write the scene itself"),
    (re.compile(r"^\s*(---+|\*\*\*+)\s*$"), "a markdown rule; write the scene itself"),
    (
        re.compile(r"^\s*[(\[]?\s*(the end|end of (the )?scene|end scene)\b", re.I),
        "an end marker; the scene ends with its last line",
    ),
]


_ANYWHERE = 2  # the first entries are wrong in dialogue too: fences and [[notes]]


def _meta(line: str, spoken: bool) -> str:
    """Why the line is said to the reader, or "". A character may say "Sure!" or "Let me
    know": in a speech only a fence or a [[note]] counts."""
    checks = _META_LINES[:_ANYWHERE] if spoken else _META_LINES
    return next((why for pattern, why in checks if pattern.search(line)), "")


@dataclass
class FountainReading:
    body: str = ""
    dropped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.body) and not self.dropped

    def canonical(self) -> str:
        return self.body

    def reason(self) -> str:
        """Why the scene is refused, for the re-ask: what was wrong, then the format."""
        if not self.body:
            return "The answer held no scene. " + FORMAT_HINT
        wrong = "; ".join(self.dropped[:4])
        more = f" (and {len(self.dropped) - 4} more)" if len(self.dropped) > 4 else ""
        return f"The scene was refused: {wrong}{more}. {FORMAT_HINT}"


FORMAT_HINT = (
    "Write the scene in Fountain: action lines, then a character's name in capitals on its "
    "own line with their words under it; no heading, no notes, no markdown."
)


def read_scene(answer: str, slugline: str, cast: list[str]) -> FountainReading:
    """A model's Fountain scene, its own slugline (if it wrote one first) replaced by ours."""
    lines = [line.rstrip() for line in answer.strip().split("\n")]
    while lines and (not lines[0].strip() or _HEADING.match(lines[0].strip())):
        lines.pop(0)
    body = "\n".join(lines).strip()
    return FountainReading(body=body, dropped=scene_problems(slugline, body, cast) if body else [])


def _read(ask: Ask, text: str) -> FountainReading:
    reading = read_scene(text, ask.variables["slugline"], list(ask.extra["cast"]))
    # quality.readers.accept_lines re-asks with extra["format_hint"]: this scene's own
    # reason goes there (the ask is this scene's alone, and the reading is deterministic,
    # so a replay re-asks with the same words).
    ask.extra["format_hint"] = FORMAT_HINT if reading.usable else reading.reason()
    return reading


READERS["fountain"] = _read


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
