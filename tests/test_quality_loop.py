"""The quality loop end to end: scripted judge verdicts through the CLI and the real
engine (DBOS, SQLite), against the scripted local model server."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bookwright.store import Store
from tests.conftest import SMALL, Workspace
from tests.scripted_server import ScriptedServer

PROSE = 'prose | major | "{quote}" | the prose is flat'
DIALOGUE = 'dialogue | major | "{quote}" | the dialogue is stiff'
STRUCTURE = 'structure | critical | "{quote}" | the scene does not do what the outline says'


STOP = '[quality]\non_exhausted = "stop"\n'  # a chapter that fails stops the book


def start(
    tmp_path: Path, verdicts: dict[int, list[str]], settings: str = STOP, **server_options: bool
) -> tuple:
    server = ScriptedServer(verdicts=verdicts, **server_options).__enter__()
    path = tmp_path / "bookwright.toml"
    path.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n{settings}')
    return Workspace(tmp_path / "home", path), server


@pytest.fixture
def servers() -> Iterator[list[ScriptedServer]]:
    started: list[ScriptedServer] = []
    yield started
    for server in started:
        server.__exit__(None, None, None)


def store(ws: Workspace) -> Store:
    return Store(f"sqlite:///{ws.home / 'bookwright.sqlite'}")


def versions(ws: Workspace, book: str) -> dict[str, int]:
    db = store(ws)
    return {name: db.get_artifact(book, name)[0] for name in db.artifact_names(book)}  # type: ignore[index]


def requests(ws: Workspace, book: str) -> list[dict]:
    return store(ws).requests(book)


def write(ws: Workspace, book: str, *extra: str) -> None:
    run = ws.run("write", *SMALL, "--model", "scripted:m", "--book-id", book, *extra)
    assert run.code == 0, run.err


def test_edit_only_retry_keeps_the_drafts_and_sends_no_write(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {1: [PROSE]})
    servers.append(server)
    write(ws, "e")
    attempt_1 = [r for r in requests(ws, "e") if r["chapter"] == 1 and r["attempt"] == 1]
    assert attempt_1 and {r["retry_level"] for r in attempt_1} == {"edit"}
    assert not [r for r in attempt_1 if r["field"] in ("write", "continue")]
    seen = versions(ws, "e")
    assert seen["draft:1:1"] == seen["draft:1:2"] == 1  # kept, not regenerated
    assert seen["scene:1:1"] == seen["scene:1:2"] == 2  # edited again
    assert seen["scene:2:1"] == 1 and "scenelist:1" not in seen
    stats = ws.run("stats", "e", "--json").json()
    assert stats["retries"]["edit_only"] == 1 and stats["retries"]["full_retry"] == 0
    assert stats["retries"]["tokens_by_level"]["edit"] > 0
    assert stats["retries"]["judge_pass_rate"] == pytest.approx(2 / 3, abs=0.01)
    first, second = stats["chapters"]
    issues = first["issues"]  # the issues that caused the retry stay listed
    listed = [(i["verdict"], i["attempt_level"], i["scene"], i["category"]) for i in issues]
    assert listed == [(1, "first", 1, "prose"), (1, "first", 2, "prose")]  # one per scene
    assert [a["level"] for a in first["attempts"]] == [None, "edit"] and first["passed"]
    assert second["issues"] == [] and second["passed"]


def test_write_retry_then_escalation_to_full(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {1: [DIALOGUE, PROSE]})
    servers.append(server)
    write(ws, "w")
    levels = [a["level"] for a in ws.run("show", "w", "verdict:1", "--json").json()["attempts"]]
    # dialogue -> write; the second failure escalates to a full retry whatever its category
    assert levels == [None, "write", "full"]
    seen = versions(ws, "w")
    assert seen["draft:1:1"] == 3 and seen["scenelist:1"] == 1
    status = ws.run("status", "w", "--json").json()
    assert status["retries"]["write_only"] == 1 and status["retries"]["full_retry"] == 1
    assert status["chapters"][0]["retry_count"] == 2


def test_selective_retry_off_always_redoes_the_chapter(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {1: [PROSE]}, "[quality]\nselective = false\n")
    servers.append(server)
    write(ws, "f")
    levels = [a["level"] for a in ws.run("show", "f", "verdict:1", "--json").json()["attempts"]]
    assert levels == [None, "full"]


def test_a_failed_chapter_does_not_stop_independent_ones(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {1: [STRUCTURE] * 3})
    servers.append(server)
    args = [*SMALL, "--chapters", "3", "--model", "scripted:m", "--book-id", "i"]
    assert ws.run("write", *args, "--pause-at", "outline").code == 3
    outline = ws.run("show", "i", "outline", "--json").json()
    outline["chapters"][1]["depends_on"] = []  # chapter 2 no longer needs chapter 1
    edit = tmp_path / "outline.json"
    edit.write_text(json.dumps(outline))
    run = ws.run("approve", "i", "--edit", str(edit))
    assert run.code == 1, run.err
    assert "chapter 1 failed its quality checks after 3 attempts" in run.err
    assert "bookwright resume i" in run.err
    status = ws.run("status", "i", "--json").json()
    assert [c["status"] for c in status["chapters"]] == ["failed", "generated", "generated"]
    assert status["retries"]["failed_chapters"] == [1]
    last = ws.run("show", "i", "verdict:1", "--json").json()
    assert not last["verdict"]["passed"] and last["verdict"]["issues"][0]["category"] == "structure"

    resumed = ws.run("resume", "i")  # the judge's script is spent: the next round passes
    assert resumed.code == 0, resumed.err
    seen = versions(ws, "i")
    assert seen["chapter:2"] == 1 and seen["chapter:3"] == 1  # kept through the resume


def test_a_failed_chapter_can_be_kept_as_it_is(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    """`approve --chapter N` keeps a chapter that failed every attempt; the book goes on
    without paying for it again, and the stats say which chapter was kept."""
    ws, server = start(tmp_path, {1: [STRUCTURE] * 3})
    servers.append(server)
    run = ws.run("write", *SMALL, "--model", "scripted:m", "--book-id", "k")
    assert run.code == 1 and "bookwright approve k --chapter 1" in run.err
    before = ws.run("stats", "k", "--json").json()
    sent = len(requests(ws, "k"))
    wrong = ws.run("approve", "k", "--chapter", "2")  # written and passed: nothing to keep
    assert wrong.code == 2 and "Chapter 2 of 'k' has not failed (it is generated)" in wrong.err
    assert "Chapters that failed: 1" in wrong.err
    assert ws.run("approve", "k", "--chapter", "7").code == 2
    both = ws.run("approve", "k", "--chapter", "1", "--edit", str(tmp_path / "x.json"))
    assert both.code == 2 and "do not go together" in both.err

    kept = ws.run("approve", "k", "--chapter", "1")
    assert kept.code == 0, kept.err
    assert "Keeping chapter(s) 1 of k as they are" in kept.out
    status = ws.run("status", "k", "--json").json()
    assert status["status"] == "completed"
    assert [c["status"] for c in status["chapters"]] == ["completed", "completed"]
    assert (
        status["retries"]["accepted_chapters"] == [1] and not status["retries"]["failed_chapters"]
    )
    chapter_1 = [
        r for r in requests(ws, "k")[sent:] if r["chapter"] == 1 and r["stage"] == "chapters"
    ]
    assert chapter_1 == []  # not written, edited or judged again
    assert versions(ws, "k")["chapter:1"] == 1
    stats = ws.run("stats", "k", "--json").json()
    first = stats["chapters"][0]
    assert first["accepted"] and not first["passed"]
    assert first["issues"] == before["chapters"][0]["issues"]  # listed once, not twice
    manuscript = ws.run("show", "k", "manuscript", "--json").json()
    chapter = ws.run("show", "k", "chapter:1", "--json").json()
    assert manuscript["chapters"][0]["scenes"] == chapter["scenes"]
    again = ws.run("approve", "k", "--chapter", "1")
    assert again.code == 2 and "has not failed (it is completed)" in again.err


def test_a_chapter_retry_that_fails_can_be_kept(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {})
    servers.append(server)
    write(ws, "q")
    server.verdicts = {2: [PROSE] + [STRUCTURE] * 3}  # the first judgement is spent already
    retried = ws.run("retry", "q", "--chapter", "2", "--level", "full")
    assert retried.code == 0, retried.err
    status = ws.run("status", "q", "--json").json()
    assert status["status"] == "completed" and status["retries"]["failed_chapters"] == [2]
    sent = len(requests(ws, "q"))
    kept = ws.run("approve", "q", "--chapter", "2")
    assert kept.code == 0, kept.err
    status = ws.run("status", "q", "--json").json()
    assert [c["status"] for c in status["chapters"]] == ["completed", "completed"]
    assert status["retries"]["accepted_chapters"] == [2]
    assert len(requests(ws, "q")) == sent  # nothing to write: the book was complete


def test_unattended_books_keep_the_best_attempt(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    """quality.on_exhausted = "keep_best": a chapter that fails every attempt keeps its
    best-scoring one, and the book goes on instead of stopping."""
    verdicts = {1: [STRUCTURE, PROSE, STRUCTURE]}  # the second attempt is the least bad
    keep_best = '[quality]\non_exhausted = "keep_best"\n'
    ws, server = start(tmp_path, verdicts, keep_best, seed_in_prose=True)
    servers.append(server)
    write(ws, "b")
    record = ws.run("show", "b", "verdict:1", "--json").json()
    scores = [a["score"] for a in record["attempts"]]
    assert scores[1] > scores[0] and scores[1] > scores[2]  # neither the first nor the last
    assert len(scores) == 3 and record["accepted"] and not record["verdict"]["passed"]
    assert record["kept_attempt"] == 1
    assert record["verdict"]["score"] == max(scores)
    takes = [  # each attempt was a full one (structure, then the escalation): 3 versions
        [ws.run("show", "b", f"scene:1:{n}", "--version", str(v), "--json").json()["text"]
         for n in (1, 2)]
        for v in (1, 2, 3)
    ]  # fmt: skip
    assert takes[0] != takes[1] != takes[2]  # each attempt sampled anew
    assert ws.run("show", "b", "chapter:1", "--json").json()["scenes"] == takes[1]
    status = ws.run("status", "b", "--json").json()
    assert [c["status"] for c in status["chapters"]] == ["completed", "completed"]
    assert status["retries"]["accepted_chapters"] == [1]
    assert status["chapters"][0]["retry_count"] == 2
    stats = ws.run("stats", "b", "--json").json()
    judged = [i["verdict"] for i in stats["chapters"][0]["issues"]]
    assert judged == sorted(judged) and len(judged) == len(set(judged)) * 2  # 2 scenes each


def test_every_new_round_and_retry_samples_anew(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    """A seeded model gives the same answer to the same prompt and seed: a resumed round
    or a chapter retry that repeated earlier seeds would pay for the same text again."""
    ws, server = start(tmp_path, {1: [STRUCTURE] * 3})
    servers.append(server)
    assert ws.run("write", *SMALL, "--model", "scripted:m", "--book-id", "s").code == 1
    resumed = ws.run("resume", "s")  # the judge's script is spent: this round passes
    assert resumed.code == 0, resumed.err
    assert ws.run("status", "s", "--json").json()["chapters"][0]["retry_count"] == 3
    retried = ws.run("retry", "s", "--chapter", "1", "--level", "write")
    assert retried.code == 0, retried.err
    assert ws.run("status", "s", "--json").json()["chapters"][0]["retry_count"] == 4
    repeated = [sent for sent, n in Counter(server.sent).items() if n > 1]
    assert repeated == []


def test_retry_one_chapter_leaves_the_others_alone(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {})
    servers.append(server)
    write(ws, "r", "--chapters", "3")
    before = versions(ws, "r")
    run = ws.run("retry", "r", "--chapter", "2", "--level", "write")
    assert run.code == 0, run.err
    after = versions(ws, "r")
    changed = {n for n in after if after[n] != before.get(n)}
    assert {"chapter:2", "draft:2:1", "draft:2:2", "scene:2:1", "scene:2:2"} <= changed
    assert not {n for n in changed if n.endswith((":1", ":3")) and n.startswith("chapter:")}
    assert not [n for n in changed if n.startswith(("draft:1", "draft:3", "scene:3", "scene:1"))]
    assert after["manuscript"] == before["manuscript"] + 1

    cascade = ws.run("retry", "r", "--chapter", "2", "--level", "edit", "--cascade")
    assert cascade.code == 0, cascade.err
    final = versions(ws, "r")
    assert final["chapter:3"] == after["chapter:3"] + 1 and final["chapter:1"] == 1
    assert final["draft:2:1"] == after["draft:2:1"]  # edit level: drafts kept

    bad = ws.run("retry", "r", "--chapter", "9")
    assert bad.code == 2 and "no chapter 9" in bad.err


def test_bible_context_breakdown_and_harmonization(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {})
    servers.append(server)
    write(ws, "b", "--chapters", "3")
    bible = ws.run("show", "b", "bible", "--json").json()
    assert bible["facts"] and {f["from_chapter"] for f in bible["facts"]} == {1, 2, 3}
    writes = [r for r in requests(ws, "b") if r["field"] == "write"]
    assert len(writes) == 6
    for r in writes:
        breakdown = r["prompt_breakdown"]
        assert "chapter_outline" in breakdown["sections"]
        assert sum(breakdown["sections"].values()) <= breakdown["budget"]
    later = next(r for r in writes if r["chapter"] == 3)["prompt_breakdown"]["sections"]
    assert "facts" in later and "passages" in later  # retrieved from chapters 1 and 2
    harmony = ws.run("show", "b", "harmonization", "--json").json()
    assert harmony["changes"] == [] and harmony["open_questions"] == []


def test_parallel_chapters_run_on_the_books_own_queue(tmp_path, servers) -> None:  # type: ignore[no-untyped-def]
    ws, server = start(tmp_path, {})
    servers.append(server)
    write(ws, "p", "--chapters", "3", "--parallel-chapters", "3")
    status = ws.run("status", "p", "--json").json()
    assert [c["status"] for c in status["chapters"]] == ["completed"] * 3
    db = sqlite3.connect(ws.home / "books" / "p" / "dbos.sqlite")
    queued = db.execute(
        "SELECT count(*) FROM workflow_status WHERE queue_name = 'chapters-p'"
    ).fetchone()[0]
    assert queued == 3
