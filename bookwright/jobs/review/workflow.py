"""The `review` job's durable workflow: the analysis graph in topological order, each
node's result kept by the hash of its inputs, every model call one DBOS step, a halt at
`findings` for the author to strike what they disagree with, then the report.

Like the novel's, this code is deterministic: time, files, the store and the model are
reached only through steps, so a kill -9 resumes where it stopped and repays nothing.
"""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS

from bookwright.engine.asking import NOT_WAITING, make_ask, wait_for_message
from bookwright.engine.states import approve_topic
from bookwright.engine.steps import (
    book_state_step,
    load_artifact_step,
    load_spec_step,
    save_artifact_step,
    write_file_step,
)
from bookwright.jobs.review.analysis import (
    chapter_scores,
    critical_path,
    fingerprint,
    graph,
    groups,
    locate,
    merge_and_rank,
    node_asks,
    parse_review,
    scores,
)
from bookwright.jobs.review.metrics import MEASURES
from bookwright.jobs.review.report import REPORT_FILES, report_json, report_markdown, svg_charts
from bookwright.model import Manuscript
from bookwright.model.review import Findings, NodeDef, ReviewSpec

WORKFLOW_NAME = "review"


@DBOS.step(name="review_clock")
def clock_step() -> float:
    return time.time()


@DBOS.step(name="review_plan")
def plan_step(only: list[str]) -> dict[str, Any]:
    """The graph as the settings say now, recorded: a replay uses the same graph."""
    from bookwright.engine.runtime import runtime

    review = runtime().settings.review
    nodes = graph(review, only or None)
    return {
        "nodes": {n: d.model_dump(mode="json") for n, d in nodes.items()},
        "groups": groups(nodes),
        "passage_words": review.passage_words,
        "timeout_s": review.node_timeout_s,
    }


@DBOS.step(name="review_measure")
def measure_step(book_id: str, name: str, target_words: int | None, needs: list[str]) -> dict:
    """One deterministic node over the stored manuscript and what its needs found."""
    from bookwright.engine.runtime import runtime

    store = runtime().store
    found = store.get_artifact(book_id, "manuscript")
    assert found is not None, book_id
    book = Manuscript.model_validate(found[1])
    earlier = {}
    for need in needs:
        got = store.get_artifact(book_id, f"analysis:{need}")
        earlier[need] = got[1] if got else {}
    return MEASURES[name](book, target_words, earlier)


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
def review_workflow(book_id: str) -> str:
    spec = ReviewSpec.model_validate(load_spec_step(book_id))
    book_state_step(book_id, status="processing", error=None, error_class=None)
    plan = plan_step(spec.nodes)
    nodes = {n: NodeDef.model_validate(d) for n, d in plan["nodes"].items()}
    book = Manuscript.model_validate(load_artifact_step(book_id, "manuscript"))
    text_hash = fingerprint(book.model_dump(mode="json"))
    ask = make_ask(book_id, spec, "review")
    results: dict[str, dict[str, Any]] = {}
    for group in plan["groups"]:
        for name in group:
            node = nodes[name]
            book_state_step(book_id, current_stage=f"review:{name}")
            inputs = fingerprint(
                node.model_dump(mode="json"),
                text_hash,
                spec.model_dump(mode="json", include={"target_words", "genre", "themes"}),
                [results[n]["inputs"] for n in node.needs],
            )
            kept = load_artifact_step(book_id, f"analysis:{name}")
            if kept and kept.get("inputs") == inputs:  # nothing it reads has changed
                results[name] = {**kept, "run": {**kept["run"], "cached": True, "asks": 0}}
                continue
            start = clock_step()
            if node.model:
                result = _ask_node(node, book, spec, results, plan, start, ask)
            else:
                result = measure_step(book_id, name, spec.target_words, node.needs)
                result["findings"] = [locate(book, f) for f in result["findings"]]
                result["run"] = {"asks": 0, "note": ""}
            seconds = round(clock_step() - start, 3)
            result["inputs"] = inputs
            result["run"] = {
                **result["run"],
                "name": name,
                "needs": node.needs,
                "model": node.model,
                "seconds": seconds,
                "cached": False,
                "findings": len(result["findings"]),
            }
            save_artifact_step(book_id, f"analysis:{name}", result)
            results[name] = result

    dimension_of = {n: d.dimension for n, d in nodes.items()}
    found = [f for name in nodes for f in results[name]["findings"]]
    ranked = merge_and_rank(found, dimension_of)
    save_artifact_step(book_id, "findings", Findings(findings=ranked).model_dump(mode="json"))
    if "findings" in spec.pause_at:
        book_state_step(book_id, current_stage="findings")
        wait_for_message(book_id, approve_topic("findings"), status="halted", halted_at="findings")
        book_state_step(book_id, status="processing", halted_at=None, **NOT_WAITING)
    final = Findings.model_validate(load_artifact_step(book_id, "findings")).findings

    book_state_step(book_id, current_stage="report")
    runs = [results[n]["run"] for group in plan["groups"] for n in group]
    path, longest = critical_path(nodes, {r["name"]: r["seconds"] for r in runs})
    report = {
        "title": book.title,
        "source_file": spec.source_file,
        "words": book.word_count,
        "chapters": len(book.chapters),
        "scores": scores(final, dimension_of, book.word_count),
        "chapter_scores": chapter_scores(final, book),
        "findings": [f.model_dump(mode="json") for f in final if not f.struck],
        "struck": [f.model_dump(mode="json") for f in final if f.struck],
        "nodes": runs,
        "groups": plan["groups"],
        "critical_path": {"nodes": path, "seconds": longest},
        "wall_seconds": round(sum(r["seconds"] for r in runs), 3),
        "measures": {n: results[n].get("measures", {}) for n in nodes if not nodes[n].model},
    }
    save_artifact_step(book_id, "report", report)
    write_file_step(REPORT_FILES["json"], book_id, report_json(report))
    write_file_step(REPORT_FILES["md"], book_id, report_markdown(report))
    for name, svg in svg_charts(report).items():
        write_file_step(name, book_id, svg)
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


def _ask_node(
    node: NodeDef,
    book: Manuscript,
    spec: ReviewSpec,
    results: dict[str, dict[str, Any]],
    plan: dict[str, Any],
    start: float,
    ask: Any,
) -> dict[str, Any]:
    """A model node: one ask per passage, until done or past its time."""
    earlier = [f for need in node.needs for f in results[need]["findings"]]
    questions = node_asks(node, book, spec.model_dump(mode="json"), earlier, plan["passage_words"])
    findings: list[dict[str, Any]] = []
    note, asked = "", 0
    for question in questions:
        if asked and clock_step() - start > plan["timeout_s"]:
            note = f"stopped after {asked} of {len(questions)} passages (node_timeout_s)"
            break
        answer = ask(question)
        asked += 1
        for problem in parse_review(answer, question.variables["text"]).problems:
            finding = {
                "node": node.name,
                "category": node.dimension,
                "chapter": question.chapter,
                **problem,
            }
            findings.append(locate(book, finding))
    return {"findings": findings, "run": {"asks": asked, "note": note}}
