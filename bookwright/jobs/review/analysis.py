"""The analysis graph (order, groups, critical path), the model nodes' asks and how their
answers are read, and how findings are merged, ranked and scored. No DBOS here: the
workflow (jobs/review/workflow.py) runs what this module plans."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from graphlib import TopologicalSorter
from typing import Any

from bookwright.model import Manuscript
from bookwright.model.review import (
    BUILTIN_NODES,
    DIMENSIONS,
    SEVERITY_WEIGHT,
    Finding,
    NodeDef,
)
from bookwright.quality.judge import SEVERITY_ALIASES, quote_in
from bookwright.quality.lines import QUOTE, SINGLE_QUOTE, fields, read_lines
from bookwright.quality.readers import READERS
from bookwright.quality.text import normalize, pack
from bookwright.settings import ReviewSettings
from bookwright.stages.asks import Ask

MIN_QUOTE_WORDS = 3
FORMAT_HINT = (
    'Answer with lines of the form: severity | "exact words from the passage" | what is '
    "wrong | how to fix it; or NONE."
)


def graph(settings: ReviewSettings, only: list[str] | None = None) -> dict[str, NodeDef]:
    """Every node to run: the built-in ones and `[review.nodes]`, cut to `only` (and what
    those need) when given."""
    nodes = dict(BUILTIN_NODES)
    for name, extra in settings.nodes.items():
        nodes[name] = NodeDef(
            name=name,
            needs=extra.needs,
            model=True,
            dimension=extra.dimension or name,
            focus=extra.prompt,
        )
    if not only:
        return nodes
    keep: set[str] = set()
    todo = list(only)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo += nodes[name].needs
    return {n: d for n, d in nodes.items() if n in keep}


def groups(nodes: dict[str, NodeDef]) -> list[list[str]]:
    """The nodes in topological order, as groups whose members need nothing of each other
    (they could run at once)."""
    sorter = TopologicalSorter({n: d.needs for n, d in nodes.items()})
    sorter.prepare()
    out = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        out.append(ready)
        sorter.done(*ready)
    return out


def critical_path(nodes: dict[str, NodeDef], seconds: dict[str, float]) -> tuple[list[str], float]:
    """The chain of needs that takes longest: the graph's wall time with unlimited workers."""
    best: dict[str, tuple[float, list[str]]] = {}
    for group in groups(nodes):
        for name in group:
            before = max(
                (best[n] for n in nodes[name].needs), key=lambda b: b[0], default=(0.0, [])
            )
            best[name] = (before[0] + seconds.get(name, 0.0), [*before[1], name])
    if not best:
        return [], 0.0
    total, path = max(best.values(), key=lambda b: b[0])
    return path, round(total, 3)


def fingerprint(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def passages(text: str, limit: int) -> list[str]:
    """The text cut at paragraph ends into pieces of at most `limit` words (a paragraph
    longer than that is a piece of its own): each model ask reads one, never the book."""
    return pack(text.split("\n\n"), limit, "\n\n")


def node_asks(
    node: NodeDef,
    book: Manuscript,
    spec: dict[str, Any],
    earlier: list[dict[str, Any]],
    passage_words: int,
) -> list[Ask]:
    """One ask per passage of every chapter, with what the nodes it needs found there."""
    asks = []
    for chapter in book.chapters:
        noted = [
            f["problem"] for f in earlier if f.get("chapter") == chapter.number and f["problem"]
        ][:5]
        for index, passage in enumerate(passages("\n\n".join(chapter.scenes), passage_words)):
            asks.append(
                Ask(
                    label=f"review.{node.name}.{chapter.number}.{index + 1}",
                    role="judge",
                    template="review_node.j2",
                    variables={
                        "title": book.title,
                        "genre": spec.get("genre") or book.genre,
                        "audience": spec.get("audience", ""),
                        "themes": spec.get("themes", []),
                        "chapter": chapter.number,
                        "chapter_title": chapter.title,
                        "focus": node.focus,
                        "noted": noted,
                        "text": passage,
                    },
                    kind="lines",
                    max_tokens=260,
                    fallback="",  # a node that never answers usably leaves no findings
                    chapter=chapter.number,
                    extra={"lines": "review", "attempts": 3, "format_hint": FORMAT_HINT},
                )
            )
    return asks


@dataclass
class ReviewReading:
    """One answer of a model node: problems whose quote is in the passage."""

    problems: list[dict[str, str]] = field(default_factory=list)
    said_none: bool = False
    dropped: list[str] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return bool(self.problems) or self.said_none

    def canonical(self) -> str:
        lines = [
            f'{p["severity"]} | "{p["quote"]}" | {p["problem"]} | {p["fix"]}'.rstrip(" |")
            for p in self.problems
        ]
        return "\n".join(lines) if lines else "NONE"


def parse_review(answer: str, text: str) -> ReviewReading:
    """Read a model node's answer line by line; an invented quote is dropped."""
    read = read_lines(answer, lambda line: parse_problem(line, text),
                      lambda p: normalize(p["quote"]))  # fmt: skip
    return ReviewReading(read.items, read.said_none, read.dropped)


def parse_problem(line: str, text: str) -> dict[str, str] | str:
    """`severity | "quote" | what is wrong | fix` (fields in any order the quote allows)."""
    quoted = QUOTE.search(line) or SINGLE_QUOTE.search(line)
    parts = [p for p in fields(line) if p]
    severity = next(
        (SEVERITY_ALIASES[p.casefold()] for p in parts if p.casefold() in SEVERITY_ALIASES), None
    )
    rest = [p for p in parts if p.casefold() not in SEVERITY_ALIASES]
    if quoted:
        quote = quoted.group(1).strip()
        rest = [p.replace(quoted.group(0), " ").strip() for p in rest]
        rest = [p for p in rest if p]
    elif rest:
        quote, rest = rest[0].strip(" \"'"), rest[1:]
    else:
        return "no quote"
    if re.search(r"[\"“”«»|]", quote) or len(quote.split()) < MIN_QUOTE_WORDS:
        return f"no quote of {MIN_QUOTE_WORDS}+ words from the text"
    if not quote_in(quote, text):
        return f"quote not in the text: {quote[:60]!r}"
    if not rest:
        return "no problem said"
    problem, fix = rest[0], " ".join(rest[1:])
    if not fix and re.search(r"\bfix\s*:", problem, re.I):
        problem, fix = re.split(r"\bfix\s*:", problem, maxsplit=1, flags=re.I)
    return {
        "severity": (severity.value if severity else "minor"),
        "quote": quote,
        "problem": " ".join(problem.split()).strip(" ;,-")[:300],
        "fix": " ".join(fix.split()).strip(" ;,-")[:300],
    }


READERS["review"] = lambda ask, text: parse_review(text, ask.variables["text"])


def locate(book: Manuscript, finding: dict[str, Any]) -> dict[str, Any]:
    """Scene and paragraph of the quote in its chapter (a quote not found is dropped)."""
    quote, number = finding.get("quote") or "", finding.get("chapter")
    if not quote or number is None:
        return finding
    chapter = book.chapters[number - 1]
    for scene_number, scene in enumerate(chapter.scenes, start=1):
        for index, paragraph in enumerate(scene.split("\n\n"), start=1):
            if quote_in(quote, paragraph):
                return {**finding, "scene": scene_number, "paragraph": index}
    for scene_number, scene in enumerate(chapter.scenes, start=1):
        if quote_in(quote, scene):
            return {**finding, "scene": scene_number}
    return {**finding, "quote": ""}  # not verifiable where it was said: keep the problem only


def _same_passage(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.get("chapter") != b.get("chapter") or not a.get("quote") or not b.get("quote"):
        return False
    qa, qb = normalize(a["quote"]), normalize(b["quote"])
    return qa in qb or qb in qa or SequenceMatcher(None, qa, qb).ratio() >= 0.85


def merge_and_rank(found: list[dict[str, Any]], dimension_of: dict[str, str]) -> list[Finding]:
    """Findings about the same passage become one (the worst severity, every node named);
    the list is ranked by severity, by how many nodes saw it, then by reach."""
    merged: list[dict[str, Any]] = []
    for item in found:
        twin = next((m for m in merged if _same_passage(m, item)), None)
        if twin is None:
            merged.append({**item, "nodes": [item["node"]]})
            continue
        if SEVERITY_WEIGHT[item["severity"]] > SEVERITY_WEIGHT[twin["severity"]]:
            twin["severity"] = item["severity"]
        if item["node"] not in twin["nodes"]:
            twin["nodes"].append(item["node"])
            twin["problem"] += f"; {item['node']}: {item['problem']}"
        twin["fix"] = twin.get("fix") or item.get("fix", "")

    def weight(item: dict[str, Any]) -> float:
        return SEVERITY_WEIGHT[item["severity"]] * (1 + 0.5 * (len(item["nodes"]) - 1))

    merged.sort(key=lambda m: (-weight(m), -m.get("reach", 1), m.get("chapter") or 0))
    out = []
    for index, item in enumerate(merged, start=1):
        item.setdefault("category", dimension_of.get(item["node"], item["node"]))
        out.append(Finding.model_validate({**item, "id": f"F{index}"}))
    return out


def scores(
    findings: list[Finding], dimension_of: dict[str, str], words: int
) -> dict[str, dict[str, float | int]]:
    """0-10 per dimension: 10 less the findings' weight per 2,000 words; struck ones aside."""
    scale = max(1.0, words / 2000)
    out: dict[str, dict[str, float | int]] = {}
    ran = set(dimension_of.values())  # a dimension no node looked at has no score
    for dimension in [d for d in DIMENSIONS if d in ran] + sorted(ran - set(DIMENSIONS)):
        hits = [
            f
            for f in findings
            if not f.struck and any(dimension_of.get(n) == dimension for n in f.nodes)
        ]
        penalty = sum(SEVERITY_WEIGHT[f.severity] for f in hits) / scale
        out[dimension] = {"score": round(max(0.0, 10 - penalty), 1), "findings": len(hits)}
    overall = [float(v["score"]) for v in out.values()]
    out["overall"] = {
        "score": round(sum(overall) / len(overall), 1) if overall else 10.0,
        "findings": sum(1 for f in findings if not f.struck),
    }
    return out


def chapter_scores(findings: list[Finding], book: Manuscript) -> dict[int, float]:
    """0-10 per chapter, the same way, over that chapter's words."""
    out = {}
    for chapter in book.chapters:
        hits = [f for f in findings if not f.struck and f.chapter == chapter.number]
        penalty = sum(SEVERITY_WEIGHT[f.severity] for f in hits) / max(
            1.0, chapter.word_count / 2000
        )
        out[chapter.number] = round(max(0.0, 10 - penalty / 2), 1)
    return out
