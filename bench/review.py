"""The review job on the committed fixture manuscript (11 chapters with six planted
defects). Three parts:

1. The mechanical nodes (no model is called): planted defects recalled, findings that
   were not planted, and the graph's wall time against its critical path; with
   `--repeat N`, also on the fixture's text repeated N times (chapters renumbered).
2. Every node, the model nodes answered by a scripted model (a function, no LLM), with
   `--revise` as the CLI runs it by default: planted defects recalled and false findings
   with the model nodes on (first analysis and kept version), and the score, word count
   and tokens at the start, at each iteration and at the end.
3. The same with one passage revised (`[review] passages_per_iteration = 1`, one
   iteration): the tokens of the re-analysis after that one chapter changed, against the
   first, full analysis, counted from the store's requests of the review. Re-analysing
   within a review is what a `--revise` iteration does (`review BOOK` starts a new review,
   with nothing cached).

The scripted model's answers are written with the planted defects in view, so parts 2 and
3 measure the job's mechanism (quote checks, merging, ranking, the decision engine, the
node and passage caches, the stop conditions), not a model's judgement. Its token counts
are pydantic-ai's estimate for a FunctionModel (50 per request, plus about one a word of
the prompts and the answer).

    .venv/bin/python bench/review.py [--repeat 40]

The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dbos import DBOS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bookwright.cli_review import start_review  # noqa: E402
from bookwright.engine.books import Books  # noqa: E402
from bookwright.engine.runner import run_book  # noqa: E402
from bookwright.settings import ReviewSettings, Settings  # noqa: E402
from tests.scripted_model import scripted_model  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "review" / "salt_lantern.md"
PLANTED = {("metrics", 5), ("repetition", 6), ("repetition", 8), ("names", 4),
           ("continuity", 7), ("pov", 9)}  # fmt: skip
NODES = ["metrics", "repetition", "names", "pov", "continuity"]
# Which model nodes would see each planted defect: a finding of one of them in that
# chapter is about the defect (a true finding); any other finding is a false one.
SEEN_BY = {
    ("metrics", 5): {"structure", "pacing"},
    ("repetition", 6): {"style", "pacing"},
    ("repetition", 8): {"style"},
    ("names", 4): {"characters", "structure"},
    ("continuity", 7): {"characters"},
    ("pov", 9): {"style"},
}

# The scripted model nodes: (node, exact words of the fixture, severity, problem, fix).
# The first seven are about planted defects; the last four are plausible remarks about
# nothing planted (the false findings a model adds), each quoting real words.
CUES = [
    ("style", "Her heart raced as she walked", "major", "stock phrase", "say it plainly"),
    ("style", "a wave of cold went through her", "major", "stock phrase", "say it plainly"),
    ("style", "I climbed the tower that evening", "major",
     "the point of view slips into the first person", "keep to Mara in the third person"),
    ("characters", "Mara rubbed her blue eyes", "major",
     "her eyes were grey in the first chapter", "keep them grey"),
    ("characters", "Tobias promised he would come back", "major",
     "Tobias promises to return and is never seen again", "bring him back or say why not"),
    ("structure", "The storm dropped in the night", "major",
     "the chapter is a pause in which nothing happens", "give the calm a turn"),
    ("pacing", "She cleaned the lamp, trimmed the wick", "minor",
     "the chapter ends before it starts", "let the waiting build"),
    ("pacing", "They watched until midnight", "minor",
     "summary where a scene is needed", "dramatise the watch"),
    ("structure", "The harbour master came out from the mainland", "minor",
     "the inquiry changes nothing in the story", "let it cost Mara something"),
    ("theme", "and the sea took him for it", "minor",
     "the theme is announced in dialogue, not dramatised", "show the price instead"),
    ("style", "frowned at the slate by the door", "minor",
     "a stock gesture", "give him a gesture of his own"),
]  # fmt: skip
INVENTED = "the keeper wept bitter tears"  # in no chapter: every such line must be dropped
FOCUS = {
    "plot and structure": "structure",
    "characters:": "characters",
    "pacing:": "pacing",
    "style and voice": "style",
    "theme and genre": "theme",
}
# The scripted reviser: what it changes when a revision's notes name the problem.
FIXES = [
    ("stock phrase", "Her heart raced as she walked, and a sense of dread followed her",
     "She walked fast and did not look back"),
    ("stock phrase", "She couldn't help but feel that every window watched her, and a wave "
     "of cold went through her", "Every window watched her, and she shivered"),
    ("stock phrase", "His voice was barely above a whisper when he spoke", "He spoke low"),
    ("stock phrase", "It was a testament to the island's memory that no one",
     "On the island no one"),
    ("grey", "blue eyes", "grey eyes"),
    ("repeats", "The wind tore at the shutters all afternoon, and the whole cottage shook with "
     "every gust, as though the island itself were trying to shrug the building off into the "
     "sea before nightfall came again.", "The wind had dropped, and the cottage was quiet."),
]  # fmt: skip


def node_answer(prompt: str, invented: list[int]) -> str:
    """A model node's answer: the cues of its focus found in the passage, the paragraph a
    check already noted as repeated, and (with any of those) one invented quote."""
    node = next(n for key, n in FOCUS.items() if f"problems of {key}" in prompt)
    head, rest = prompt.split("a passage:\n", 1)
    passage = rest.split("\n\nList the problems", 1)[0]
    lines = [
        f'{severity} | "{quote}" | {problem} | {fix}'
        for name, quote, severity, problem, fix in CUES
        if name == node and quote in passage
    ]
    if node == "style" and "repeats one from chapter" in head:  # what `repetition` noted
        lines.append(
            'major | "The wind tore at the shutters all afternoon" | this paragraph repeats '
            "one from an earlier chapter word for word | cut it or write a new one"
        )
    if not lines:
        return "NONE"
    invented[0] += 1
    return "\n".join([*lines, f'minor | "{INVENTED}" | melodrama | cut it'])


def reviser(prompt: str) -> str:
    """A revision: the fixes whose problem the notes name, applied to the passage; a
    passage it has no fix for comes back as it was (the finding is then left)."""
    head, draft = prompt.split("Answer with the passage only.\n\n", 1)
    text = draft
    for said, old, new in FIXES:
        if said in head:
            text = text.replace(old, new)
    if "first person" in head:
        text = re.sub(r"(^|[.!?]\s+)I\b", r"\1She", text)
        text = re.sub(r"\bI\b", "she", text)
        text = re.sub(r"\bmy\b", "her", text)
    return text


def scripted(invented: list[int]) -> Callable[[str], str]:
    def reply(prompt: str) -> str:
        if "List the problems of this passage" in prompt:
            return node_answer(prompt, invented)
        if "Answer with the passage only." in prompt:
            return reviser(prompt)
        return "NONE"

    return reply


def review(path: Path, home: Path, book_id: str, **changes: Any) -> tuple[dict, float, Books]:
    review_settings = changes.pop("review_settings", ReviewSettings())
    settings = Settings(home=home, review=review_settings)
    options = {
        "title": None, "genre": "", "target_words": None, "themes": [], "audience": "",
        "model": "local", "seed": 1, "nodes": NODES, "pause_at": [], **changes,
    }  # fmt: skip
    books = Books(settings)
    start = time.perf_counter()
    start_review(books, str(path), options, book_id)
    assert run_book(settings, book_id).status.value == "completed"
    seconds = time.perf_counter() - start
    DBOS.destroy()
    return artifact(books, book_id, "report"), seconds, books


def artifact(books: Books, book_id: str, name: str, version: int | None = None) -> dict:
    found = books.store.get_artifact(book_id, name, version)
    assert found is not None, (book_id, name, version)
    return found[1]


def revise_run(home: Path, book_id: str, **changes: Any) -> tuple[dict, float, Books, int]:
    """A whole review with every node and `--revise`, the model scripted."""
    invented = [0]
    with scripted_model(scripted(invented)):
        report, seconds, books = review(
            FIXTURE, home, book_id, model="fn:x", nodes=[], revise=True, **changes
        )
    return report, seconds, books, invented[0]


def analyses(books: Books, book_id: str) -> list[dict[str, Any]]:
    """The review's requests cut into analyses: the first, then one after each
    iteration's revisions (a node's asks are labelled review.*, a revision's revise.*).
    An iteration whose analysis asked nothing would run into the next: callers check."""
    out: list[dict[str, Any]] = []
    for request in books.store.requests(book_id):
        tokens = (request["prompt_tokens"] or 0) + (request["completion_tokens"] or 0)
        revising = str(request["field"]).startswith("revise.")
        if not out or (revising and out[-1]["analysis_requests"]):
            kinds = ("revision_requests", "revision_tokens", "analysis_requests", "analysis_tokens")
            out.append({**dict.fromkeys(kinds, 0), "chapters": set()})
        part = out[-1]
        kind = "revision" if revising else "analysis"
        part[f"{kind}_requests"] += 1
        part[f"{kind}_tokens"] += tokens
        if not revising:
            part["chapters"].add(request["chapter"])
    return out


def changed_chapters(books: Books, book_id: str, iteration: int) -> list[int]:
    """The chapters iteration `iteration` changed: manuscript version 1 is the one read,
    each iteration saves the next (the kept version, saved again at the end, comes last)."""
    if iteration == 0:
        return []
    before, after = (
        artifact(books, book_id, "manuscript", iteration + v)["chapters"] for v in (0, 1)
    )
    return [
        number
        for number, (a, b) in enumerate(zip(before, after, strict=True), start=1)
        if a["scenes"] != b["scenes"]
    ]


def planted_figures(report: dict) -> dict[str, Any]:
    """Planted defects recalled (by their deterministic node or a model node that would
    see them), and findings about nothing planted; struck findings aside."""
    findings = [f for f in report["findings"] if not f.get("struck")]
    found = [(set(f["nodes"]), f["chapter"]) for f in findings]
    true = {(n, c) for (node, c), seen in SEEN_BY.items() for n in {node, *seen}}
    recalled = [
        p for p in PLANTED if any(c == p[1] and nodes & {p[0], *SEEN_BY[p]} for nodes, c in found)
    ]
    by_model = [p for p in PLANTED if any(c == p[1] and nodes & SEEN_BY[p] for nodes, c in found)]
    false = [f for f in findings if not {(n, f["chapter"]) for n in f["nodes"]} & true]
    return {
        "recalled": len(recalled),
        "recalled_defects": sorted(f"{node} {chapter}" for node, chapter in recalled),
        "recalled_by_model_too": len(by_model),
        "false_findings": len(false),
        "false_defects": [f"{'+'.join(f['nodes'])} {f['chapter']}" for f in false],
        "findings": len(findings),
        "merged": sum(1 for f in findings if len(f["nodes"]) > 1),
        "invented_kept": sum(1 for f in findings if INVENTED in f["quote"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report, seconds, _ = review(FIXTURE, Path(folder) / "home", "fixture")
        found = {(f["nodes"][0], f["chapter"]) for f in report["findings"]}
        result: dict[str, Any] = {
            "planted": len(PLANTED),
            "recalled": len(PLANTED & found),
            "false_findings": len(found - PLANTED),
            "words": report["words"],
            "run_seconds": round(seconds, 2),
            "graph_seconds": report["wall_seconds"],
            "critical_path_seconds": report["critical_path"]["seconds"],
        }
        if args.repeat:
            body = FIXTURE.read_text(encoding="utf-8").split("\n", 2)[2]
            counter = iter(range(1, 10_000))
            parts = [
                re.sub(r"## Chapter \d+:", lambda _m: f"## Chapter {next(counter)}:", body)
                for _ in range(args.repeat)
            ]
            big = Path(folder) / "long.md"
            big.write_text("# Long\n\n" + "\n\n".join(parts), encoding="utf-8")
            long_report, long_seconds, _ = review(big, Path(folder) / "home2", "long")
            result.update(
                long_words=long_report["words"],
                long_chapters=long_report["chapters"],
                long_run_seconds=round(long_seconds, 2),
                long_graph_seconds=long_report["wall_seconds"],
            )

        # Every node, scripted, with --revise as the CLI runs it by default.
        full, seconds, books, invented = revise_run(Path(folder) / "home3", "revised")
        revision = full["revision"]
        cut = analyses(books, "revised")
        assert len(cut) == len(revision["iterations"]), "an iteration asked nothing"
        # The first analysis's findings: version 1 (the report holds the kept version's).
        start = planted_figures(artifact(books, "revised", "findings", 1))
        result["scripted"] = {
            "start": start,
            "end": planted_figures(full),
            "run_seconds": round(seconds, 2),
            "iterations": [
                {
                    "iteration": v["iteration"],
                    "score": v["score"],
                    "words": v["words"],
                    "findings": v["findings"],
                    "passages_changed": sum(c["changed"] for c in v["changes"]),
                    "notes": [c["note"] for c in v["changes"] if c["note"]],
                    "chapters_changed": changed_chapters(books, "revised", v["iteration"]),
                    "asks": v["asks"],
                    "chapters_asked": sorted(cut[v["iteration"]]["chapters"]),
                    "analysis_tokens": cut[v["iteration"]]["analysis_tokens"],
                    "revision_tokens": cut[v["iteration"]]["revision_tokens"],
                    "analysis_share": round(
                        cut[v["iteration"]]["analysis_tokens"] / cut[0]["analysis_tokens"], 3
                    ),
                }
                for v in revision["iterations"]
            ],
            "score_start": revision["iterations"][0]["score"],
            "score_end": full["scores"]["overall"]["score"],
            "words_start": revision["words_start"],
            "words_end": revision["words_end"],
            "growth": revision["growth"],
            "best": revision["best"],
            "stopped": revision["stopped"],
            "invented_quotes_sent": invented,
        }

        # One passage revised, one iteration: the re-analysis after one chapter changed.
        one = ReviewSettings(passages_per_iteration=1)
        _, _, books, _ = revise_run(
            Path(folder) / "home4", "one", review_settings=one, max_iterations=1, threshold=10.0
        )
        cut = analyses(books, "one")
        assert len(cut) == 2, cut
        full_tokens, again = cut[0]["analysis_tokens"], cut[1]["analysis_tokens"]
        result["reanalysis"] = {
            "chapters": full["chapters"],
            "chapters_changed": changed_chapters(books, "one", 1),
            "full_asks": cut[0]["analysis_requests"],
            "full_tokens": full_tokens,
            "asks": cut[1]["analysis_requests"],
            "chapters_asked": sorted(cut[1]["chapters"]),
            "tokens": again,
            "revision_tokens": cut[1]["revision_tokens"],
            "ratio": round(again / full_tokens, 3),
        }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
