"""Stopping a running book: `pause` from another terminal, a PAUSE file, Ctrl+C, SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import HALT_FAST, ROOT, SMALL, Workspace, interruptible
from tests.scripted_server import ScriptedServer


def start_and_wait_for_requests(ws: Workspace, book: str, n: int = 3) -> subprocess.Popen[str]:
    """Start writing `book` and return once `n` requests were sent; a start that dies or
    sends nothing for a minute fails the test with its stderr."""
    proc = subprocess.Popen(
        ws.command("write", *SMALL, "--model", "scripted:m", "--book-id", book),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ws.env(),
        cwd=ROOT,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        run = ws.run("status", book, "--json")
        if run.code == 0 and run.json()["llm"]["requests_sent"] >= n:
            return proc
        time.sleep(0.2)
    proc.kill()
    _out, err = proc.communicate()
    raise AssertionError(f"the book never started: write exit {proc.returncode}: {err[-1500:]}")


def test_fresh_writes_in_new_workspaces_all_start(tmp_path: Path, scripted: ScriptedServer) -> None:
    """Many fresh writes in a row, each in a new workspace with a `status` started beside it
    (someone watching from another terminal): each must send its first request. A write
    that opened a new workspace together with a `status` used to die on the schema race
    (store/migrate.py), which looked like a start that never sent anything."""
    settings = tmp_path / "bookwright.toml"
    settings.write_text(f'[providers.scripted]\nbase_url = "{scripted.base_url}"\n')
    for attempt in range(8):
        ws = Workspace(tmp_path / f"home-{attempt}", settings)
        sent_before = scripted.requests
        proc = subprocess.Popen(
            ws.command("write", *SMALL, "--model", "scripted:m", "--book-id", "s"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=ws.env(),
            cwd=ROOT,
        )
        watcher = ws.start("status", "s", "--json")
        deadline = time.monotonic() + 90  # generous: a stall, not a slow start, fails
        while scripted.requests == sent_before and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        started = scripted.requests > sent_before
        proc.kill()
        _out, err = proc.communicate()
        watcher.wait(timeout=60)
        assert started, f"write {attempt} sent no request (exit {proc.returncode}): {err[-1500:]}"


def finish(ws: Workspace, book: str) -> dict:
    resumed = ws.run("resume", book)
    assert resumed.code == 0, resumed.err
    assert "Continuing at" in resumed.out  # resume says where it goes on
    status = ws.run("status", book, "--json").json()
    assert status["status"] == "completed"
    return status


def test_pause_from_another_terminal_then_resume(slow) -> None:  # type: ignore[no-untyped-def]
    ws, server = slow
    proc = start_and_wait_for_requests(ws, "p")
    paused = ws.run("pause", "p")
    assert paused.code == 0 and "bookwright resume p" in paused.out
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "paused" in err and "bookwright resume p" in err
    status = ws.run("status", "p", "--json").json()
    assert status["status"] == "paused" and not status["running"]
    sent = status["llm"]["requests_sent"]
    time.sleep(1)
    assert ws.run("status", "p", "--json").json()["llm"]["requests_sent"] == sent  # stopped
    assert finish(ws, "p")["llm"]["requests_sent"] == server.requests  # nothing paid twice


def test_pause_file_in_the_book_folder(slow) -> None:  # type: ignore[no-untyped-def]
    ws, _ = slow
    proc = start_and_wait_for_requests(ws, "f")
    (ws.home / "books" / "f" / "PAUSE").touch()
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert ws.run("status", "f", "--json").json()["status"] == "paused"
    finish(ws, "f")
    assert not (ws.home / "books" / "f" / "PAUSE").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_first_interrupt_stops_gracefully(slow, sig: signal.Signals) -> None:  # type: ignore[no-untyped-def]
    ws, server = slow
    server.hold_after = 3  # the fourth answer waits: the book cannot finish before the signal
    proc = start_and_wait_for_requests(ws, "c", n=4)
    proc.send_signal(sig)
    time.sleep(0.5)
    server.release()
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err
    assert "bookwright resume c" in err
    status = ws.run("status", "c", "--json").json()
    assert status["status"] == "paused"
    final = finish(ws, "c")
    assert final["llm"]["requests_sent"] == server.requests
    assert final["llm"]["errors_by_class"] == {}  # a graceful stop abandons no call


def test_second_interrupt_stops_at_once_and_stays_resumable(slow) -> None:  # type: ignore[no-untyped-def]
    ws, server = slow
    server.hold_after = 3  # the fourth answer waits: the book cannot finish before the signals
    proc = start_and_wait_for_requests(ws, "d", n=4)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    server.release()
    assert proc.returncode == 3
    final = finish(ws, "d")
    assert final["llm"]["requests_sent"] <= server.requests + 1


def test_pause_refuses_a_book_that_is_not_running(workspace: Workspace) -> None:
    assert workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "n").code == 0
    run = workspace.run("pause", "n")
    assert run.code == 2 and "not running" in run.err


def test_errors_command_lists_failed_calls(tmp_path: Path) -> None:
    with ScriptedServer(fail_status=503) as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n{HALT_FAST}')
        ws = Workspace(tmp_path / "home", settings)
        run = ws.run("write", *SMALL, "--model", "scripted:m", "--book-id", "e")
        assert run.code == 3 and "server" in run.err
        errors = ws.run("errors", "e", "--json").json()
        assert len(errors) == 3 == server.requests
        assert {e["error_class"] for e in errors} == {"server"}
        assert errors[0]["stage"] == "plan" and errors[0]["provider"] == "scripted"
        table = ws.run("errors", "e")
        assert table.code == 0 and "server" in table.out


def wait_until(ws: Workspace, book: str, check, timeout: float = 120) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = ws.run("status", book, "--json")
        if run.code == 0 and check(run.json()):
            return run.json()
        time.sleep(0.2)
    raise AssertionError(f"{book} never reached the expected state")


def test_pause_and_failure_inside_a_chapter_resume(slow) -> None:  # type: ignore[no-untyped-def]
    """Chapters wait in their own workflow; resume must reach that one."""
    ws, server = slow
    server.delay_s = 0.6  # room to land the pause inside a chapter, not after the book
    proc = start_and_wait_for_requests(ws, "w")
    wait_until(ws, "w", lambda s: s["scenes_written"] >= 1)
    assert ws.run("pause", "w").code == 0
    proc.communicate(timeout=60)
    assert proc.returncode == 3
    server.fail_status = 503  # and the server goes down while the book is paused
    resumed = ws.run("resume", "w")
    assert resumed.code == 3 and "server" in resumed.err
    # what it skips, and where it goes on
    assert "Kept, not redone: plan, characters, locations, outline, scenes" in resumed.out
    assert re.search(r"Continuing at chapter \d, scene \d\.", resumed.out), resumed.out
    assert ws.run("status", "w", "--json").json()["current_stage"] == "chapters"
    server.fail_status = None
    final = finish(ws, "w")
    assert final["llm"]["errors_by_class"] == {"server": 3}
    assert final["llm"]["requests_sent"] == server.requests


def test_two_books_at_once_never_run_in_each_others_process(slow) -> None:  # type: ignore[no-untyped-def]
    ws, _ = slow
    first = start_and_wait_for_requests(ws, "a")
    second = start_and_wait_for_requests(ws, "b")
    second.send_signal(signal.SIGKILL)
    second.wait()
    resumed = ws.start("resume", "b")  # recovers b while a's process is running
    assert resumed.wait(timeout=180) == 0
    assert first.wait(timeout=180) == 0
    for book in ("a", "b"):
        status = ws.run("status", book, "--json").json()
        assert status["status"] == "completed", book


def test_rejected_api_key_stops_at_the_first_call_with_exit_2(tmp_path: Path) -> None:
    with ScriptedServer(fail_status=401) as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(
            f'[providers.keyed]\nbase_url = "{server.base_url}"\napi_key_env = "KEYED_TOKEN"\n'
        )
        ws = Workspace(tmp_path / "home", settings)
        run = ws.run(
            "write",
            *SMALL,
            "--model",
            "keyed:m",
            "--book-id",
            "k",
            KEYED_TOKEN="sk-wrong-but-long-enough",
        )
        assert run.code == 2, run.err
        assert "KEYED_TOKEN" in run.err and "bookwright resume k" in run.err
        assert "sk-wrong-but-long-enough" not in run.err
        assert server.requests == 1  # an auth error is not retried
        status = ws.run("status", "k", "--json").json()
        assert status["status"] == "halted" and status["error_class"] == "config"
        server.fail_status = None
        resumed = ws.run("resume", "k", KEYED_TOKEN="sk-now-right-and-long-enough")
        assert resumed.code == 0, resumed.err
