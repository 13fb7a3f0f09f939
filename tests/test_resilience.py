"""Retries, backoff, Retry-After, fallback and the error log, against real local HTTP
servers: the scripted model behind a fault-injecting proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from bookwright.errors import ConfigError, PauseRequested, ProviderError
from bookwright.llm.client import CompletionRequest
from bookwright.llm.errors import classify
from bookwright.llm.resilient import backoff_delay, call_with_fallback
from bookwright.settings import LLMSettings
from tests.chaos_proxy import ChaosProxy, Faults
from tests.conftest import client
from tests.scripted_server import ScriptedServer

REQUEST = CompletionRequest("You name books.", "Write the title of this novel", 20, 0.5, 1)
TAGS = {"book_id": "b", "stage": "plan", "field": "plan.title", "role": "planner"}


class Sleeps:
    def __init__(self) -> None:
        self.total = 0.0

    def __call__(self, seconds: float) -> None:
        self.total += seconds


POLICY = LLMSettings(attempts=3, backoff_s=0.5, backoff_factor=2.0, jitter=0.0)


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    policy = LLMSettings(backoff_s=3.0, backoff_factor=2.0, backoff_max_s=10.0, jitter=0.25)
    assert [backoff_delay(policy, n, rng=lambda: 0.5) for n in range(4)] == [3, 6, 10, 10]
    assert backoff_delay(policy, 0, rng=lambda: 0.0) == pytest.approx(2.25)
    assert backoff_delay(policy, 0, rng=lambda: 1.0) == pytest.approx(3.75)
    assert backoff_delay(policy, 0, retry_after=30.0, rng=lambda: 0.5) == 30.0


def test_transient_faults_are_retried_and_logged(tmp_path: Path, upstream: ScriptedServer) -> None:
    with ChaosProxy(upstream.base_url, script=["rate_limit", "server", None]) as proxy:
        llm, store = client(tmp_path, chaos=proxy.base_url)
        sleeps = Sleeps()
        answer = call_with_fallback(llm, ["chaos:m"], REQUEST, TAGS, POLICY, sleep=sleeps)
    assert answer.text == "Title: The Salt Lantern"
    rows = store.requests("b")
    assert [r["error_class"] for r in rows] == ["rate_limit", "server", None]
    assert all(r["provider"] == "chaos" and r["stage"] == "plan" for r in rows)
    # Retry-After: 1 beats the 0.5 s first backoff; the second wait is 0.5 * 2.
    assert sleeps.total == pytest.approx(1.0 + 1.0)


def test_fallback_to_the_next_model_when_the_first_is_down(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    with ChaosProxy(upstream.base_url) as proxy:
        down = f"http://127.0.0.1:{_free_port()}/v1"
        llm, store = client(tmp_path, down=down, up=proxy.base_url)
        answer = call_with_fallback(llm, ["down:m", "up:m"], REQUEST, TAGS, POLICY, sleep=Sleeps())
    assert answer.provider == "up"
    classes = [(r["provider"], r["error_class"]) for r in store.requests("b")]
    assert classes == [("down", "network")] * 3 + [("up", None)]


def test_every_model_down_names_each_and_its_last_error(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    with ChaosProxy(upstream.base_url, Faults(server=1.0)) as proxy:
        down = f"http://127.0.0.1:{_free_port()}/v1"
        llm, _ = client(tmp_path, down=down, sick=proxy.base_url)
        with pytest.raises(ProviderError) as caught:
            call_with_fallback(llm, ["down:m", "sick:m"], REQUEST, TAGS, POLICY, sleep=Sleeps())
    message = caught.value.message
    assert "down:m: network" in message and "sick:m: server" in message
    assert "injected server error" in message
    assert caught.value.error_class == "server"


def test_auth_stops_at_once_and_a_rejected_model_moves_on(tmp_path: Path) -> None:
    with (
        ScriptedServer(fail_status=401) as locked,
        ScriptedServer(fail_status=404) as wrong,
        ScriptedServer() as good,
    ):
        llm, _ = client(tmp_path, locked=locked.base_url, wrong=wrong.base_url)
        with pytest.raises(ConfigError):
            call_with_fallback(llm, ["locked:m", "wrong:m"], REQUEST, TAGS, POLICY)
        assert locked.requests == 1 and wrong.requests == 0  # no retry, no fallback

        llm, _ = client(tmp_path / "2", wrong=wrong.base_url, good=good.base_url)
        answer = call_with_fallback(
            llm, ["wrong:m", "good:m"], REQUEST, TAGS, POLICY, sleep=Sleeps()
        )
        assert answer.provider == "good" and wrong.requests == 1  # config: not retried


def test_a_pause_interrupts_the_backoff_wait(tmp_path: Path, upstream: ScriptedServer) -> None:
    with ChaosProxy(upstream.base_url, Faults(server=1.0)) as proxy:
        llm, store = client(tmp_path, chaos=proxy.base_url)
        asked: list[int] = []

        def stopping() -> PauseRequested | None:
            asked.append(1)
            return PauseRequested("paused") if store.requests("b") else None

        with pytest.raises(PauseRequested):
            call_with_fallback(
                llm, ["chaos:m"], REQUEST, TAGS, POLICY, stopping=stopping, sleep=Sleeps()
            )
    assert len(store.requests("b")) == 1  # stopped during the first wait


def test_the_budget_check_runs_before_anything_is_sent(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    from bookwright.errors import BudgetExceeded

    llm, store = client(tmp_path, up=upstream.base_url)

    def refuse(model: str) -> None:
        raise BudgetExceeded(f"no money for {model}")

    with pytest.raises(BudgetExceeded):
        call_with_fallback(llm, ["up:m"], REQUEST, TAGS, POLICY, before_send=refuse)
    assert upstream.requests == 0 and store.requests("b") == []


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("server", "server"),
        ("rate_limit", "rate_limit"),
        ("malformed", "invalid_output"),
        ("stall", "timeout"),
        ("drop", "network"),
    ],
)
def test_each_injected_fault_gets_its_class(
    tmp_path: Path, upstream: ScriptedServer, fault: str, expected: str
) -> None:
    with ChaosProxy(upstream.base_url, Faults(stall_s=3.0), script=[fault]) as proxy:
        llm, store = client(tmp_path, chaos=proxy.base_url)
        with pytest.raises(ProviderError) as caught:
            llm.complete("chaos:m", REQUEST, TAGS, timeout_s=1.0)
    assert caught.value.error_class == expected
    assert [r["error_class"] for r in store.requests("b")] == [expected]


def test_an_empty_answer_is_returned_and_logged_as_empty(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    with ChaosProxy(upstream.base_url, script=["empty"]) as proxy:
        llm, store = client(tmp_path, chaos=proxy.base_url)
        answer = llm.complete("chaos:m", REQUEST, TAGS)
    assert answer.text == ""
    assert [r["error_class"] for r in store.requests("b")] == ["empty"]


def test_unknown_exceptions_are_classified_without_secrets() -> None:
    error_class, message = classify(RuntimeError("boom sk-abcdefghijklmnop"))
    assert error_class == "unknown" and "sk-abc" not in message


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port
