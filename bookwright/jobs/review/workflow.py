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
from bookwright.jobs.review.revise import (
    apply,
    best_version,
    decide,
    finding_key,
    fit,
    passage_of,
    revision_ask,
    stop_reason,
)
from bookwright.model import Manuscript
from bookwright.model.review import Finding, Findings, NodeDef, ReviewSpec

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
        "concurrency": review.concurrency,
        "revise": review.model_dump(
            mode="json",
            include={"levels", "passages_per_iteration", "min_gain", "plateau_iterations"},
        ),
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


@DBOS.step(name="review_spend")
def spend_step(book_id: str) -> float | None:
    """The share of the book's budget (dollars or tokens) left; None without a budget."""
    from bookwright.engine.runtime import runtime

    store = runtime().store
    book = store.get_book(book_id)
    if book is None or (book.budget_usd is None and book.max_tokens is None):
        return None
    tokens, usd = store.spend(book_id)
    shares = []
    if book.budget_usd:
        shares.append(1 - usd / book.budget_usd)
    if book.max_tokens:
        shares.append(1 - tokens / book.max_tokens)
    return max(0.0, min(shares)) if shares else None


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=None)
def review_workflow(book_id: str) -> str:
    spec = ReviewSpec.model_validate(load_spec_step(book_id))
    book_state_step(book_id, status="processing", error=None, error_class=None)
    plan = plan_step(spec.nodes)
    nodes = {n: NodeDef.model_validate(d) for n, d in plan["nodes"].items()}
    book = Manuscript.model_validate(load_artifact_step(book_id, "manuscript"))
    ask = make_ask(book_id, spec, "review")
    dimension_of = {n: d.dimension for n, d in nodes.items()}

    results = _analyse(book_id, spec, plan, nodes, book, ask, "")
    ranked = merge_and_rank([f for n in nodes for f in results[n]["findings"]], dimension_of)
    save_artifact_step(book_id, "findings", Findings(findings=ranked).model_dump(mode="json"))
    final = _approved(book_id, "findings" in spec.pause_at, "findings")
    struck = {finding_key(f) for f in final if f.struck}
    history = [_version(0, final, dimension_of, book, results, [], None)]
    stopped = ""
    if spec.revise:
        started = clock_step()  # the time limit is the revision's
        settings = plan["revise"]
        tried: dict[str, str] = {}
        current, current_findings = book, final
        while True:
            budget = spend_step(book_id)
            reason = stop_reason(
                history,
                spec,
                min_gain=settings["min_gain"],
                plateau=settings["plateau_iterations"],
                elapsed_s=clock_step() - started,
                budget_left=budget,
            )
            if reason is None:
                targets, _ = decide(
                    current_findings,
                    current,
                    settings["levels"],
                    tried,
                    settings["passages_per_iteration"],
                )
                if not targets:
                    reason = "no finding left that a revision can act on"
            if reason is not None:
                stopped = reason
                break
            iteration = len(history)
            book_state_step(book_id, current_stage=f"revision {iteration}")
            changes = []
            for target in targets:
                draft = passage_of(current, target)
                answer = ask(revision_ask(current, spec, target))
                text, note = fit(answer, len(draft.split()), spec.max_growth)
                for key in target.keys:
                    tried[key] = target.level
                if text.strip() and text.strip() != draft.strip():
                    current = apply(current, target, text)
                changes.append({**target.as_dict(), "note": note, "changed": text != draft})
            save_artifact_step(book_id, "manuscript", current.model_dump(mode="json"))
            results = _analyse(book_id, spec, plan, nodes, current, ask, f"revision {iteration}")
            found = [f for n in nodes for f in results[n]["findings"]]
            ranked = [
                f.model_copy(update={"struck": True}) if finding_key(f) in struck else f
                for f in merge_and_rank(found, dimension_of)
            ]
            save_artifact_step(
                book_id, "findings", Findings(findings=ranked).model_dump(mode="json")
            )
            current_findings = _approved(
                book_id, "revision" in spec.pause_at, f"revision {iteration}"
            )
            struck |= {finding_key(f) for f in current_findings if f.struck}
            history.append(
                _version(
                    iteration,
                    current_findings,
                    dimension_of,
                    current,
                    results,
                    changes,
                    _spent(budget, spend_step(book_id)),
                )
            )
        best = best_version(history)
        if best["iteration"] != history[-1]["iteration"]:  # never end worse than the best
            kept = Manuscript.model_validate(best["manuscript"])
            save_artifact_step(book_id, "manuscript", kept.model_dump(mode="json"))
            save_artifact_step(
                book_id, "findings", Findings(findings=best["found"]).model_dump(mode="json")
            )
        final, book, results = (
            best["found"],
            Manuscript.model_validate(best["manuscript"]),
            best["results"],
        )
        limit = settings["passages_per_iteration"]
        _, left = decide(final, book, settings["levels"], tried, limit)

    book_state_step(book_id, current_stage="report")
    report = _report(spec, book, final, nodes, plan, results, dimension_of)
    if spec.revise:
        report["revision"] = {
            "iterations": [
                {k: v for k, v in h.items() if k not in ("manuscript", "found", "results")}
                for h in history
            ],
            "best": best_version(history)["iteration"],
            "stopped": stopped,
            "words_start": history[0]["words"],
            "words_end": book.word_count,
            "growth": round(book.word_count / max(1, history[0]["words"]) - 1, 4),
            "max_growth": spec.max_growth,
            "left": left,
        }
    save_artifact_step(book_id, "report", report)
    write_file_step(REPORT_FILES["json"], book_id, report_json(report))
    write_file_step(REPORT_FILES["md"], book_id, report_markdown(report))
    for name, svg in svg_charts(report).items():
        write_file_step(name, book_id, svg)
    book_state_step(book_id, status="completed", current_stage=None)
    return "completed"


def _spent(before: float | None, after: float | None) -> float | None:
    """The share of the budget an iteration took."""
    return None if before is None or after is None else before - after


def _approved(book_id: str, halt: bool, stage: str) -> list[Finding]:
    """The findings as the author left them: after a halt (`approve --edit` may strike
    some), or as saved."""
    if halt:
        book_state_step(book_id, current_stage=stage)
        wait_for_message(book_id, approve_topic("findings"), status="halted", halted_at="findings")
        book_state_step(book_id, status="processing", halted_at=None, **NOT_WAITING)
    return Findings.model_validate(load_artifact_step(book_id, "findings")).findings


def _version(
    iteration: int,
    found: list[Finding],
    dimension_of: dict[str, str],
    book: Manuscript,
    results: dict[str, dict[str, Any]],
    changes: list[dict[str, Any]],
    spent_share: float | None,
) -> dict[str, Any]:
    """One manuscript version of a revision: its scores, and what made it."""
    scored = scores(found, dimension_of, book.word_count)
    return {
        "iteration": iteration,
        "score": scored["overall"]["score"],
        "dimensions": {k: v["score"] for k, v in scored.items() if k != "overall"},
        "findings": scored["overall"]["findings"],
        "words": book.word_count,
        "changes": changes,
        "asks": sum(r["run"]["asks"] for r in results.values()),
        "spent_share": round(spent_share, 4) if spent_share is not None else None,
        "manuscript": book.model_dump(mode="json"),
        "found": found,
        "results": results,
    }


def _analyse(
    book_id: str,
    spec: ReviewSpec,
    plan: dict[str, Any],
    nodes: dict[str, NodeDef],
    book: Manuscript,
    ask: Any,
    stage: str,
) -> dict[str, dict[str, Any]]:
    """Every node over `book`, needs first. A node whose inputs are unchanged is kept as
    it is; a model node asks again only about the passages whose question changed. With
    `[review] concurrency` above 1, the nodes of one group that have work to do run at
    once, each a child workflow on the book's own queue."""
    text_hash = fingerprint(book.model_dump(mode="json"))
    results: dict[str, dict[str, Any]] = {}
    at_once = int(plan.get("concurrency", 1))  # a plan recorded before it: one at a time
    prefix = f"{stage + ': ' if stage else ''}review:"
    for group in plan["groups"]:
        todo: list[tuple[str, str, dict[str, Any] | None]] = []
        for name in group:
            node = nodes[name]
            if at_once == 1:
                book_state_step(book_id, current_stage=f"{prefix}{name}")
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
            if at_once == 1:
                needs = {n: results[n] for n in node.needs}
                results[name] = _run_node(book_id, spec, plan, node, book, ask, needs, inputs, kept)
            else:
                todo.append((name, inputs, kept))
        if not todo:
            continue
        book_state_step(book_id, current_stage=prefix + ", ".join(n for n, _, _ in todo))
        queue = review_queue_step(book_id, at_once)
        handles = [
            DBOS.enqueue_workflow(
                queue,
                review_node_workflow,
                book_id,
                plan,
                name,
                book.model_dump(mode="json"),
                {n: results[n] for n in nodes[name].needs},
                inputs,
                kept,
            )
            for name, inputs, kept in todo
        ]
        for (name, _, _), handle in zip(todo, handles, strict=True):
            results[name] = handle.get_result()
    return results


@DBOS.step(name="review_queue")
def review_queue_step(book_id: str, concurrency: int) -> str:
    """The book's own DBOS queue for analysing `concurrency` nodes at a time."""
    name = f"review-{book_id}"
    DBOS.register_queue(name, global_concurrency=concurrency, on_conflict="always_update")
    return name


@DBOS.workflow(name="review_node", max_recovery_attempts=None)
def review_node_workflow(
    book_id: str,
    plan: dict[str, Any],
    name: str,
    book: dict[str, Any],
    needs: dict[str, dict[str, Any]],
    inputs: str,
    kept: dict[str, Any] | None,
) -> dict[str, Any]:
    """One node of a group that runs at once: a child of the review's workflow."""
    spec = ReviewSpec.model_validate(load_spec_step(book_id))
    node = NodeDef.model_validate(plan["nodes"][name])
    ask = make_ask(book_id, spec, "review")
    return _run_node(
        book_id, spec, plan, node, Manuscript.model_validate(book), ask, needs, inputs, kept
    )


def _run_node(
    book_id: str,
    spec: ReviewSpec,
    plan: dict[str, Any],
    node: NodeDef,
    book: Manuscript,
    ask: Any,
    needs: dict[str, dict[str, Any]],
    inputs: str,
    kept: dict[str, Any] | None,
) -> dict[str, Any]:
    """One node over `book` (its needs' results given), timed and stored."""
    start = clock_step()
    if node.model:
        known = (kept or {}).get("passages", {})
        result = _ask_node(node, book, spec, needs, plan, start, ask, known)
    else:
        result = measure_step(book_id, node.name, spec.target_words, node.needs)
        result["findings"] = [locate(book, f) for f in result["findings"]]
        result["run"] = {"asks": 0, "note": ""}
    seconds = round(clock_step() - start, 3)
    result["inputs"] = inputs
    result["run"] = {
        **result["run"],
        "name": node.name,
        "needs": node.needs,
        "model": node.model,
        "seconds": seconds,
        "cached": False,
        "findings": len(result["findings"]),
    }
    save_artifact_step(book_id, f"analysis:{node.name}", result)
    return result


def _report(
    spec: ReviewSpec,
    book: Manuscript,
    final: list[Finding],
    nodes: dict[str, NodeDef],
    plan: dict[str, Any],
    results: dict[str, dict[str, Any]],
    dimension_of: dict[str, str],
) -> dict[str, Any]:
    runs = [results[n]["run"] for group in plan["groups"] for n in group]
    path, longest = critical_path(nodes, {r["name"]: r["seconds"] for r in runs})
    return {
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


def _ask_node(
    node: NodeDef,
    book: Manuscript,
    spec: ReviewSpec,
    results: dict[str, dict[str, Any]],
    plan: dict[str, Any],
    start: float,
    ask: Any,
    known: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """A model node: one ask per passage, until done or past its time. A passage whose
    question is the same as last time keeps last time's problems without asking."""
    earlier = [f for need in node.needs for f in results[need]["findings"]]
    questions = node_asks(node, book, spec.model_dump(mode="json"), earlier, plan["passage_words"])
    findings: list[dict[str, Any]] = []
    answered: dict[str, list[dict[str, Any]]] = {}
    note, asked, reused = "", 0, 0
    for question in questions:
        key = fingerprint(question.messages())
        if key in known:
            problems, reused = known[key], reused + 1
        else:
            if asked and clock_step() - start > plan["timeout_s"]:
                note = f"stopped after {asked} of {len(questions)} passages (node_timeout_s)"
                break
            answer = ask(question)
            asked += 1
            problems = parse_review(answer, question.variables["text"]).problems
        answered[key] = problems
        for problem in problems:
            finding = {
                "node": node.name,
                "category": node.dimension,
                "chapter": question.chapter,
                **problem,
            }
            findings.append(locate(book, finding))
    return {
        "findings": findings,
        "passages": answered,
        "run": {"asks": asked, "kept_passages": reused, "note": note},
    }
