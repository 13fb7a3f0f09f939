"""Adapting a small finished book: events covered, Fountain errors, running time, tokens.

Writes a small novel (one chapter of two 60-word scenes, 2 characters, 1 place, seed 3,
temperature 0, `--no-judge`) with the real CLI in a fresh temporary BOOKWRIGHT_HOME,
then `bookwright adapt` turns it into a screenplay, and reads what was recorded:

- the share of the book's events (the `events` artifact) covered by a screen scene (the
  `screen_scenes` artifact), and the share listed as cut, apart;
- the Fountain problems of the final script, parsed by screenplain with the book's cast
  as the job checks it (`bookwright.jobs.adapt.fountain.problems`; goal 0), and how many
  scenes were written by rule from the book because no answer passed that check;
- the estimated running time (the `running_time` artifact: pages of script, the title
  page left out) against `--minutes`, and the PDF's pages;
- the adaptation's tokens per screenplay page, from `bookwright status --json`'s llm block;
- every screen-scene answer the model gave (read back from the DBOS checkpoints) checked
  again as the job checks it: how many passed, and what was wrong with the others;
- the critique: passed or not, whether the judge's verdict counted (else the rule checks
  decided), how many times the treatment was written, and the storyboard PDF's pages.

    BOOKWRIGHT_EMBEDDED__THREADS=1 .venv/bin/python bench/adapt.py [--model local] [--minutes 2]

`--model scripted` runs the tests' scripted server instead of a model (a dry run of the
bench, seconds). The last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from _scripted import (  # the benches' shared helpers (puts ROOT on the path)
    cli,
    in_fresh_home,
)
from screenplain.types import Action, Dialog, DualDialog, Slug

from bookwright.jobs.adapt.fountain import parse, problems, read_scene
from bookwright.store import Store

PREMISE = "A retired detective is asked to find a violin stolen from a seaside chapel."


def status(home: Path, settings: Path | None, book: str) -> dict[str, Any]:
    """`status --json`, or a stand-in with nothing spent when the book was never recorded."""
    proc = cli(home, settings, "status", book, "--json")
    if proc.returncode != 0:
        nothing = {"requests_sent": 0, "prompt_tokens": 0, "completion_tokens": 0}
        return {"cost": {"words": 0}, "llm": {**nothing, "errors_by_class": {}}, "warnings": []}
    return json.loads(proc.stdout)


def timed(home: Path, settings: Path | None, *args: str) -> tuple[int, float, str]:
    started = time.monotonic()
    proc = cli(home, settings, *args)
    return proc.returncode, round(time.monotonic() - started, 1), proc.stderr[-500:]


def pdf_pages(pdf: Path) -> int:
    """Every page of the PDF, its title page included."""
    import pypdfium2 as pdfium

    return len(pdfium.PdfDocument(pdf.read_bytes()))


PROBLEMS = {  # what the Fountain check says of a scene -> a short name
    "is not in the book's cast": "cue_not_in_cast",
    "has a cue and no dialogue": "cue_without_dialogue",
    "is a cue with no dialogue under it": "cue_without_dialogue",
    "a parenthetical outside dialogue": "stray_parenthetical",
    "a parenthetical after": "stray_parenthetical",
    "the scene has no action": "no_action_lines",
    "the script is empty": "empty",
    "does not parse as a scene heading": "bad_scene_heading",
    "starts another scene": "another_scene",
    "talk about the answer": "meta_talk",
    "talk to the reader": "meta_talk",
    "a note to the reader": "note_to_reader",
    "a markdown": "markdown",
    "an end marker": "end_marker",
}


def answers(home: Path, store: Store, scenes: dict, cast: list[str]) -> dict[str, Any]:
    """Every screen-scene answer the model gave (from the DBOS checkpoints), checked again
    as the job checks it: how many passed, and what was wrong with the others."""
    import pickle
    import sqlite3
    from base64 import b64decode

    field_of = {str(r["id"]): r["field"] for r in store.requests("screen")}
    sluglines = {f"adapt.scene.{s['number']}": s["slugline"] for s in scenes["scenes"]}
    with contextlib.closing(sqlite3.connect(home / "books" / "screen" / "dbos.sqlite")) as db:
        rows = db.execute("SELECT output FROM operation_outputs WHERE function_name = 'llm'")
        outputs = [pickle.loads(b64decode(row[0])) for row in rows if row[0]]
    tally: dict[str, int] = dict.fromkeys(PROBLEMS.values(), 0)
    checked = usable = 0
    for output in outputs:
        slug = sluglines.get(field_of.get(str(output.get("request_id")), ""))
        if slug is None:  # the treatment's act summaries
            continue
        reading = read_scene(output.get("text") or "", slug, cast)
        checked += 1
        usable += reading.usable
        for problem in reading.dropped:
            name = next((v for k, v in PROBLEMS.items() if k in problem), "other")
            tally[name] = tally.get(name, 0) + 1
    return {"scene_answers": checked, "passed": usable, "problems_by_kind": tally}


def measure(home: Path, settings: Path | None, model: str, args: argparse.Namespace) -> dict:
    result: dict[str, Any] = {"bench": "adapt", "model": args.model, "ok": False}
    code, seconds, err = timed(
        home, settings, "write", "--premise", args.premise, "--genre", "mystery",
        "--chapters", "1", "--scenes-per-chapter", "2", "--words-per-scene",
        str(args.words_per_scene), "--characters", "2", "--locations", "1", "--seed",
        str(args.seed), "--temperature", "0", "--no-judge", "--model", model,
        "--book-id", "novel",
    )  # fmt: skip
    novel = status(home, settings, "novel")
    result["novel"] = {
        "exit": code,
        "words": novel["cost"]["words"],
        "requests": novel["llm"]["requests_sent"],
        "tokens": novel["llm"]["prompt_tokens"] + novel["llm"]["completion_tokens"],
        "seconds": seconds,
    }
    print(f"novel: {result['novel']}", flush=True)
    if code != 0:
        result["reason"] = f"write exited {code}: {err}"
        return result
    code, seconds, err = timed(
        home, settings, "adapt", "novel", "--minutes", str(args.minutes), "--form",
        args.form, "--model", model, "--seed", str(args.seed), "--book-id", "screen",
    )  # fmt: skip
    report = status(home, settings, "screen")
    llm = report["llm"]
    tokens = llm["prompt_tokens"] + llm["completion_tokens"]
    result["adapt"] = {
        "exit": code,
        "requests": llm["requests_sent"],
        "prompt_tokens": llm["prompt_tokens"],
        "completion_tokens": llm["completion_tokens"],
        "errors_by_class": llm["errors_by_class"],
        "seconds": seconds,
    }
    print(f"adapt: {result['adapt']}", flush=True)
    if code != 0:
        result["reason"] = f"adapt exited {code}: {err}"
        return result

    store = Store(f"sqlite:///{home / 'bookwright.sqlite'}")

    def artifact(name: str) -> Any:
        found = store.get_artifact("screen", name)
        return found[1] if found else None

    events = [e["id"] for e in artifact("events")["events"]]
    scenes = artifact("screen_scenes")
    covered = {e for s in scenes["scenes"] for e in s["events"]} & set(events)
    cut = {c["event"] for c in scenes["cut"]} & (set(events) - covered)
    missing = [e for e in events if e not in covered | cut]
    cast = [n.split()[0].upper() for n in artifact("source_cast")["names"]]
    fountain = artifact("screenplay")["fountain"]
    found = problems(fountain, cast)
    parsed = parse(fountain)
    headings = sum(1 for p in parsed if isinstance(p, Slug))
    speeches = sum(1 for p in parsed if isinstance(p, Dialog | DualDialog))
    running = artifact("running_time")
    pdf = home / "books" / "screen" / "screenplay.pdf"
    script_pages = running["pages"]  # the job leaves the title page out (render.pdf_bytes)
    all_pages = pdf_pages(pdf)
    by_rule = [w for w in report["warnings"] if w["artifact"] == "screenplay"]
    critique = artifact("critique")
    board_pdf = home / "books" / "screen" / "storyboard.pdf"
    result.update(
        ok=True,
        events=len(events),
        covered=len(covered),
        cut=len(cut),
        missing=len(missing),
        covered_share=round(len(covered) / len(events), 3),
        cut_share=round(len(cut) / len(events), 3),
        screen_scenes=len(scenes["scenes"]),
        script_scene_headings=headings,
        scenes_by_rule=len(by_rule),
        action_paragraphs=sum(1 for p in parsed if isinstance(p, Action)),
        speeches=speeches,
        fountain_problems=len(found),
        problems=found[:5],
        target_minutes=running["target_minutes"],
        estimated_minutes=running["estimated_minutes"],
        pdf_pages=all_pages,
        script_pages=script_pages,
        planned_minutes=round(sum(s["pages"] for s in scenes["scenes"]), 2),
        script_words=len(fountain.split()),
        tokens=tokens,
        tokens_per_page=round(tokens / all_pages, 1) if all_pages else None,
        tokens_per_script_page=round(tokens / script_pages, 1) if script_pages else None,
        model_answers=answers(home, store, scenes, cast),
        critique={
            "passed": critique["passed"],
            "judged": critique.get("judged", False),  # False: the rule checks alone
            "rounds": critique.get("round", 1),
            "treatment_versions": (store.get_artifact("screen", "treatment") or (0, {}))[0],
            "issues": critique["issues"][:5],
            "kept_with_warning": any(w["field"] == "adapt.critique" for w in report["warnings"]),
        },
        storyboard_pdf_pages=pdf_pages(board_pdf) if board_pdf.exists() else 0,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="local", help="`local`, PROVIDER:MODEL or scripted")
    parser.add_argument("--minutes", type=int, default=2, help="adapt's --minutes")
    parser.add_argument("--form", default="short")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--words-per-scene", type=int, default=60)
    parser.add_argument("--premise", default=PREMISE)
    parser.add_argument("--keep", type=Path, help="copy the home here to look at afterwards")
    args = parser.parse_args()
    result = in_fresh_home(
        "bw-adapt-",
        args.model,
        args.keep,
        lambda home, settings, model: measure(home, settings, model, args),
    )
    if result["ok"]:
        print(
            f"events: {result['covered']} of {result['events']} covered by screen scenes, "
            f"{result['cut']} cut, {result['missing']} neither"
        )
        print(
            f"Fountain problems: {result['fountain_problems']} (goal 0); "
            f"{result['scenes_by_rule']} of {result['screen_scenes']} scenes written by rule; "
            f"{result['action_paragraphs']} action paragraphs, {result['speeches']} speeches"
        )
        print(
            f"running time: {result['estimated_minutes']} min estimated ({result['pdf_pages']} "
            f"PDF pages, {result['script_pages']} of script) for {result['target_minutes']}"
        )
        print(
            f"tokens: {result['tokens']}, {result['tokens_per_page']} per PDF page, "
            f"{result['tokens_per_script_page']} per page of script"
        )
        print(f"the model's scene answers, checked again: {result['model_answers']}")
        print(
            f"critique: {result['critique']}; storyboard PDF: "
            f"{result['storyboard_pdf_pages']} pages"
        )
    print(json.dumps(result))
    sys.exit(0 if result["ok"] else 1)  # 1: nothing measured (the JSON says why)


if __name__ == "__main__":
    main()
