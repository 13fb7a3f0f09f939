"""Fallback chains, per-role models, budgets, truncation and chaos, through the CLI in
subprocesses against real local HTTP servers (the scripted model, the chaos proxy)."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pytest

from tests.chaos_proxy import ChaosProxy, Faults
from tests.conftest import EMBEDDED_BOOK, SMALL, Workspace
from tests.scripted_server import ScriptedServer

ARGS = [*SMALL, "--temperature", "0"]


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def workspace(tmp_path: Path, settings: str) -> Workspace:
    path = tmp_path / "bookwright.toml"
    path.write_text(settings)
    return Workspace(tmp_path / "home", path)


FAST_RETRIES = "[llm]\nattempts = 2\nbackoff_s = 0.05\njitter = 0.0\nauto_resume = false\n"


def manuscript(ws: Workspace, book: str) -> str:
    out = ws.home / f"{book}.md"
    assert ws.run("export", book, "-o", str(out)).code == 0
    return out.read_text()


def test_fallback_chain_completes_on_the_second_server(tmp_path: Path) -> None:
    with ScriptedServer() as up:
        ws = workspace(
            tmp_path,
            f'[providers.down]\nbase_url = "{closed_url()}"\n'
            f'[providers.up]\nbase_url = "{up.base_url}"\n'
            f'{FAST_RETRIES}fallback = ["up:m"]\n',
        )
        run = ws.run("write", *ARGS, "--model", "down:m", "--book-id", "f")
        assert run.code == 0, run.err
        status = ws.run("status", "f", "--json").json()
        providers = status["llm"]["by_provider"]
        assert providers["up"]["answered"] == up.requests > 0
        assert providers["down"]["answered"] == 0 and providers["down"]["errors"] > 0
        assert status["llm"]["errors_by_class"] == {"network": providers["down"]["errors"]}
        assert status["llm"]["errors_recovered"] == providers["down"]["errors"]
        text = ws.run("status", "f").out
        assert "down: 0 answered" in text and "up:" in text  # the status says who served
        errors = ws.run("errors", "f", "--json").json()
        assert {(e["book_id"], e["provider"], e["error_class"]) for e in errors} == {
            ("f", "down", "network")
        }
        assert all(e["stage"] and e["role"] for e in errors)


def test_every_server_down_halts_with_each_servers_last_error(tmp_path: Path) -> None:
    with ScriptedServer(fail_status=503) as sick:
        ws = workspace(
            tmp_path,
            f'[providers.down]\nbase_url = "{closed_url()}"\n'
            f'[providers.sick]\nbase_url = "{sick.base_url}"\n'
            f'{FAST_RETRIES}fallback = ["sick:m"]\n',
        )
        run = ws.run("write", *ARGS, "--model", "down:m", "--book-id", "d")
        assert run.code == 3, run.err
        assert "down:m: network" in run.err and "sick:m: server" in run.err
        assert "scripted failure" in run.err and "bookwright resume d" in run.err
        assert sick.requests == 2  # attempts = 2, then the chain was exhausted

        sick.fail_status = None  # the outage ends: resume continues to the end
        resumed = ws.run("resume", "d")
        assert resumed.code == 0, resumed.err
        assert "Continuing at plan" in resumed.out


def test_roles_use_their_own_models(tmp_path: Path) -> None:
    with ScriptedServer() as plan, ScriptedServer() as edit:
        ws = workspace(
            tmp_path,
            f'[providers.plan]\nbase_url = "{plan.base_url}"\n'
            f'[providers.edit]\nbase_url = "{edit.base_url}"\n'
            '[llm.roles.editor]\nmodel = "edit:m"\n',
        )
        assert ws.run("write", *ARGS, "--model", "plan:m", "--book-id", "r").code == 0
        providers = ws.run("status", "r", "--json").json()["llm"]["by_provider"]
        # 2 chapters x 2 scenes: one edit request each, everything else on the book's model
        assert providers["edit"]["requests"] == 4 == edit.requests
        assert providers["plan"]["requests"] == plan.requests > 4


def test_max_tokens_halts_before_the_call_and_resume_raises_it(
    workspace: Workspace, scripted: ScriptedServer
) -> None:
    run = workspace.run(
        "write", *ARGS, "--model", "scripted:m", "--book-id", "t", "--max-tokens", "600"
    )
    assert run.code == 3, run.err
    assert "--max-tokens" in run.err
    status = workspace.run("status", "t", "--json").json()
    assert status["error_class"] == "budget" and status["llm"]["max_tokens"] == 600
    used = status["llm"]["prompt_tokens"] + status["llm"]["completion_tokens"]
    assert 0 < used <= 600
    sent = scripted.requests

    again = workspace.run("resume", "t")  # same limit: stops again before sending anything
    assert again.code == 3 and scripted.requests == sent

    resumed = workspace.run("resume", "t", "--max-tokens", "10000000")
    assert resumed.code == 0, resumed.err
    assert "Kept, not redone" in resumed.out or "Continuing at" in resumed.out


def test_budget_in_dollars_halts_and_resumes(tmp_path: Path) -> None:
    with ScriptedServer() as paid:  # a compatible server that declares its prices
        ws = workspace(
            tmp_path,
            f'[providers.paid]\nbase_url = "{paid.base_url}"\n'
            "input_usd_per_mtok = 150\noutput_usd_per_mtok = 600\n",
        )
        args = [*ARGS, "--model", "paid:m", "--book-id", "u"]
        run = ws.run("write", *args, "--budget-usd", "0.05")
        assert run.code == 3, run.err
        assert "--budget-usd" in run.err
        status = ws.run("status", "u", "--json").json()
        assert 0 < status["llm"]["cost_usd"] <= 0.05
        assert status["llm"]["by_stage"]["plan"]["cost_usd"] > 0
        resumed = ws.run("resume", "u", "--budget-usd", "50")
        assert resumed.code == 0, resumed.err
        final = ws.run("status", "u", "--json").json()["llm"]
        assert final["budget_usd"] == 50 and final["cost_usd"] > 0.05
        assert (
            abs(sum(s["cost_usd"] for s in final["by_stage"].values()) - final["cost_usd"]) < 1e-4
        )


def test_hosted_prices_come_from_the_price_table() -> None:
    from bookwright.llm.registry import ModelRef
    from bookwright.llm.usage import cost_usd

    ref = ModelRef("openai:gpt-4o-mini", "openai", "gpt-4o-mini", "hosted")
    assert 0 < cost_usd(ref, 1_000_000, 0) < cost_usd(ref, 1_000_000, 1_000_000)
    assert cost_usd(ModelRef("local", "local", "smollm2", "local"), 10**6, 10**6) == 0


def test_truncated_prose_is_continued_and_joined(tmp_path: Path) -> None:
    with ScriptedServer() as whole, ScriptedServer(truncate_words=25) as short:
        ws = workspace(
            tmp_path,
            f'[providers.whole]\nbase_url = "{whole.base_url}"\n'
            f'[providers.short]\nbase_url = "{short.base_url}"\n',
        )
        assert ws.run("write", *ARGS, "--model", "whole:m", "--book-id", "w").code == 0
        run = ws.run("write", *ARGS, "--model", "short:m", "--book-id", "s")
        assert run.code == 0, run.err
        assert manuscript(ws, "s") == manuscript(ws, "w")
        classes = Counter(e["error_class"] for e in ws.run("errors", "s", "--json").json())
        assert classes["truncated"] >= 8  # every draft and edit was cut at least once


@pytest.mark.slow
def test_chaos_book_completes_identical_with_every_fault_logged(tmp_path: Path) -> None:
    """The issue's fault mix in front of the scripted model: answers depend only on the
    prompt, so the manuscript must match a clean run to the byte."""
    faults = Faults(server=0.30, rate_limit=0.10, empty=0.10, malformed=0.05, stall=0.05, drop=0.02)
    faults.stall_s = 3.0
    with ScriptedServer() as upstream, ChaosProxy(upstream.base_url, faults) as proxy:
        ws = workspace(
            tmp_path,
            f'[providers.clean]\nbase_url = "{upstream.base_url}"\n'
            f'[providers.chaos]\nbase_url = "{proxy.base_url}"\n'
            "[llm]\nattempts = 15\nbackoff_s = 0.05\nbackoff_factor = 1.5\n"
            "backoff_max_s = 0.5\ntimeout_s = 2\n",
        )
        assert ws.run("write", *ARGS, "--model", "clean:m", "--book-id", "c").code == 0
        run = ws.run("write", *ARGS, "--model", "chaos:m", "--book-id", "x", timeout=600)
        assert run.code == 0, run.err
        assert manuscript(ws, "x") == manuscript(ws, "c")
        assert_every_fault_logged(ws, "x", proxy)


def assert_every_fault_logged(
    ws: Workspace, book: str, proxy: ChaosProxy, own: tuple[str, ...] = ()
) -> None:
    """Every injected fault is in the log under its class; the classes in `own` (and the
    answers a model gives empty or invalid) may also have faults of the model's own."""
    logged = Counter(e["error_class"] for e in ws.run("errors", book, "--json").json())
    expected = proxy.expected_classes()
    assert sum(expected.values()) >= 10, expected  # the chaos really happened
    for error_class, count in expected.items():
        if error_class in ("empty", "invalid_output", *own):
            assert logged[error_class] >= count, (error_class, logged, expected)
        else:
            assert logged[error_class] == count, (error_class, logged, expected)
    status = ws.run("status", book, "--json").json()
    assert status["llm"]["errors_by_class"] == dict(logged)


@pytest.mark.embedded
@pytest.mark.timeout(2700)  # a deadline for a slow machine: a write and up to two resumes
def test_chaos_in_front_of_the_embedded_model(tmp_path: Path) -> None:
    """The issue's chaos check: the real embedded model behind the fault-injecting proxy.
    Sampled answers re-asked after a fault differ, so instead of byte identity: every
    chapter and scene exists exactly once, and every fault is in the log by class."""
    from bookwright.llm.embedded import EmbeddedServer
    from bookwright.settings import EmbeddedSettings
    from bookwright.store import Store

    url, key = EmbeddedServer.endpoint(EmbeddedSettings())
    faults = Faults(server=0.30, rate_limit=0.10, empty=0.10, malformed=0.05, drop=0.02)
    faults.stall_s = 25.0  # past the timeout: each stall costs a timeout, so just one
    with ChaosProxy(f"{url}/v1", faults, script=[None, None, "stall"]) as proxy:
        ws = workspace(
            tmp_path,
            f'[providers.chaos]\nbase_url = "{proxy.base_url}"\napi_key_env = "CHAOS_KEY"\n'
            "[llm]\nattempts = 15\nbackoff_s = 0.1\nbackoff_factor = 1.5\n"
            "backoff_max_s = 1\ntimeout_s = 20\n",
        )
        args = [*EMBEDDED_BOOK, "--model", "chaos:smollm2", "--book-id", "e"]
        run = ws.run("write", *args, timeout=900, CHAOS_KEY=key)
        assert run.code == 0, run.err  # what the model cannot answer keeps its best answer
        status = ws.run("status", "e", "--json").json()
        assert [c["status"] for c in status["chapters"]] == ["completed"]
        store = Store(f"sqlite:///{ws.home / 'bookwright.sqlite'}")
        names = store.artifact_names("e")
        scenes = sorted(n for n in names if n.startswith("scene:"))
        assert scenes == ["scene:1:1"]
        for name in scenes:  # written once (plus the edit the model-free checks asked for)
            second = store.get_artifact("e", name, 2)
            assert second is None or "checks" in second[1], name
            assert store.get_artifact("e", name, 3) is None
        text = manuscript(ws, "e")
        for chapter in status["chapters"]:
            assert text.count(f"## Chapter {chapter['number']}: {chapter['title']}") == 1
        # A real answer can pass the timeout on a busy 2-core machine: a timeout of its own.
        assert_every_fault_logged(ws, "e", proxy, own=("timeout",))
