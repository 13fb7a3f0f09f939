"""The novel pipeline end to end through the CLI, in subprocesses, against a real local
HTTP server with scripted answers."""

from __future__ import annotations

import json

from tests.conftest import HALT_FAST, SMALL, Workspace

CONTRACT = {
    "book_id",
    "title",
    "status",
    "progress_percentage",
    "current_stage",
    "halted_at",
    "chapters",
    "scenes_total",
    "scenes_written",
    "llm",
    "retries",
    "updated_at",
    "estimated_completion",
}


def test_write_completes_and_status_follows_the_contract(workspace: Workspace) -> None:
    run = workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "b1")
    assert run.code == 0, run.err
    assert "Book id: b1" in run.out
    status = workspace.run("status", "b1", "--json").json()
    assert status.keys() >= CONTRACT
    assert status["status"] == "completed"
    assert status["progress_percentage"] == 100.0
    assert status["scenes_total"] == status["scenes_written"] == 4
    assert [c["status"] for c in status["chapters"]] == ["completed", "completed"]
    assert all(c["word_count"] > 0 for c in status["chapters"])
    assert {"number", "title", "status", "retry_count", "word_count"} <= status["chapters"][
        0
    ].keys()
    llm = status["llm"]
    assert {
        "requests_sent",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "errors_recovered",
        "errors_by_class",
    } <= llm.keys()
    assert llm["requests_sent"] > 0 and llm["completion_tokens"] > 0
    retries = status["retries"]
    assert (retries["edit_only"], retries["write_only"], retries["full_retry"]) == (0, 0, 0)
    # The scripted judge passes both chapters at the first attempt: no retry was paid for.
    assert (retries["verdicts"], retries["passed"], retries["judge_pass_rate"]) == (2, 2, 1.0)
    assert retries["failed_chapters"] == []
    assert set(retries["tokens_by_level"]) == {"first"} and retries["tokens_by_level"]["first"] > 0

    listed = workspace.run("list", "--json").json()
    assert [b["book_id"] for b in listed] == ["b1"]

    out = workspace.home / "book.md"
    export = workspace.run("export", "b1", "--format", "md", "-o", str(out))
    assert export.code == 0, export.err
    text = out.read_text()
    assert text.count("\n## Chapter ") == 2
    assert "* * *" in text  # scene break
    assert "DRAFT" not in text
    chapter = workspace.run("show", "b1", "chapter:1", "--json").json()
    assert chapter["title"] in text


def test_every_request_sent_is_counted(workspace: Workspace, scripted) -> None:  # type: ignore[no-untyped-def]
    assert workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "b2").code == 0
    status = workspace.run("status", "b2", "--json").json()
    assert status["llm"]["requests_sent"] == scripted.requests


def test_pause_at_outline_edit_and_approve(workspace: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    run = workspace.run(
        "write", *SMALL, "--model", "scripted:m", "--book-id", "p", "--pause-at", "outline"
    )
    assert run.code == 3, run.err
    assert "halted at outline" in run.err and "bookwright approve p" in run.err
    status = workspace.run("status", "p", "--json").json()
    assert (status["status"], status["halted_at"]) == ("halted", "outline")
    assert status["scenes_written"] == 0

    outline = workspace.run("show", "p", "outline", "--json").json()
    outline["chapters"][1]["title"] = "A Title The Author Chose"
    edited = tmp_path / "outline.json"
    edited.write_text(json.dumps(outline))

    broken = json.loads(json.dumps(outline))
    broken["chapters"][0]["title"] = "   "
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    refused = workspace.run("approve", "p", "--edit", str(bad))
    assert refused.code == 2
    assert "chapters.0.title" in refused.err and "nothing was changed" in refused.err
    assert (
        workspace.run("show", "p", "outline", "--json").json()["chapters"][0]["title"]
        == outline["chapters"][0]["title"]
    )
    assert workspace.run("status", "p", "--json").json()["status"] == "halted"

    approved = workspace.run("approve", "p", "--edit", str(edited))
    assert approved.code == 0, approved.err
    book = workspace.home / "p.md"
    assert workspace.run("export", "p", "-o", str(book)).code == 0
    assert "## Chapter 2: A Title The Author Chose" in book.read_text()


def test_pause_at_several_stages_and_approve_without_edit(workspace: Workspace) -> None:
    args = [
        "write",
        *SMALL,
        "--model",
        "scripted:m",
        "--book-id",
        "s",
        "--pause-at",
        "plan",
        "--pause-at",
        "export",
    ]
    assert workspace.run(*args).code == 3
    assert workspace.run("status", "s", "--json").json()["halted_at"] == "plan"
    resumed = workspace.run("resume", "s")
    assert resumed.code == 2 and "approve" in resumed.err  # a review halt needs approval
    assert workspace.run("approve", "s").code == 3
    assert workspace.run("status", "s", "--json").json()["halted_at"] == "export"
    assert not (workspace.home / "books" / "s" / "manuscript.md").exists()
    assert workspace.run("approve", "s").code == 0
    assert (workspace.home / "books" / "s" / "manuscript.md").exists()


def test_unfinished_book_exports_as_marked_draft(workspace: Workspace) -> None:
    assert (
        workspace.run(
            "write", *SMALL, "--model", "scripted:m", "--book-id", "d", "--pause-at", "scenes"
        ).code
        == 3
    )
    out = workspace.home / "d.md"
    run = workspace.run("export", "d", "-o", str(out))
    assert run.code == 0 and "DRAFT" in run.out
    assert "DRAFT" in out.read_text()


def test_server_down_halts_resumably_with_exit_3(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = tmp_path / "bookwright.toml"
    settings.write_text(f'[providers.down]\nbase_url = "http://127.0.0.1:{port}/v1"\n{HALT_FAST}')
    ws = Workspace(tmp_path / "home", settings)
    run = ws.run("write", *SMALL, "--model", "down:m", "--book-id", "x")
    assert run.code == 3, run.err
    assert "network" in run.err and "bookwright resume x" in run.err
    status = ws.run("status", "x", "--json").json()
    assert status["status"] == "halted"
    assert status["llm"]["errors_by_class"] == {"network": 3}  # three attempts, then halt
