"""Unattended runs behind a flaky provider: a retry budget instead of three tries, and a
book halted by an outage that probes its provider and resumes by itself. In process,
against real local HTTP servers (the scripted model behind the fault-injecting proxy)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from dbos import DBOS

from bookwright.engine.books import Books
from bookwright.engine.ids import book_workflow_id
from bookwright.engine.messages import resume_message
from bookwright.engine.outage import wait_for_provider, waits_for_provider
from bookwright.engine.runner import request_pause, run_book
from bookwright.errors import ConfigError
from bookwright.llm.client import CompletionRequest, LLMClient
from bookwright.llm.resilient import call_with_fallback
from bookwright.model import BookSpec
from bookwright.settings import LLMSettings, ProviderSettings, Settings
from tests.chaos_proxy import ChaosProxy, Faults
from tests.conftest import SMALL_BOOK, client
from tests.scripted_server import ScriptedServer

REQUEST = CompletionRequest("You name books.", "Write the title of this novel", 20, 0.5, 1)
TAGS = {"book_id": "b", "stage": "plan", "field": "plan.title", "role": "planner"}
# The small test book, in process and unjudged; the seed is pinned: it must complete.
SPEC = {**SMALL_BOOK, "temperature": 0.0, "judge": False}
# Small waits so the tests take seconds; the shape of the policy is the default's.
FAST = dict(backoff_s=0.01, backoff_max_s=0.05, jitter=0.0, probe_s=0.02, probe_max_s=0.1)


class Clock:
    """A fake clock that the fake sleep advances: the retry budget without real waits."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_default_policy_rides_out_more_than_three_faults(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    script = ["server", "rate_limit", "drop", "server", "server", "server", None]
    with ChaosProxy(upstream.base_url, Faults(retry_after_s=0), script=script) as proxy:
        llm, store = client(tmp_path, chaos=proxy.base_url)
        clock = Clock()
        policy = LLMSettings(backoff_s=1.0, jitter=0.0)  # default attempts and budget
        answer = call_with_fallback(
            llm, ["chaos:m"], REQUEST, TAGS, policy, sleep=clock.sleep, clock=clock
        )
    assert answer.text == "Title: The Salt Lantern"
    classes = [r["error_class"] for r in store.requests("b")]
    assert classes == ["server", "rate_limit", "network", "server", "server", "server", None]
    assert clock.now == pytest.approx(1 + 2 + 4 + 8 + 16 + 32)  # exponential backoff


def test_the_retry_budget_ends_a_model_then_the_chain_goes_on(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    with ChaosProxy(upstream.base_url, Faults(server=1.0)) as sick:
        llm, store = client(tmp_path, sick=sick.base_url, up=upstream.base_url)
        clock = Clock()
        policy = LLMSettings(backoff_s=10.0, backoff_factor=1.0, jitter=0.0, retry_budget_s=45)
        answer = call_with_fallback(
            llm, ["sick:m", "up:m"], REQUEST, TAGS, policy, sleep=clock.sleep, clock=clock
        )
    assert answer.provider == "up"
    # Waits of 10 s fit four times in 45 s: five tries of the sick model, then the next.
    providers = [(r["provider"], r["error_class"]) for r in store.requests("b")]
    assert providers == [("sick", "server")] * 5 + [("up", None)]


def test_an_empty_answer_is_sent_again_before_it_is_handed_back(
    tmp_path: Path, upstream: ScriptedServer
) -> None:
    with ChaosProxy(upstream.base_url, script=["empty", "empty", None]) as proxy:
        llm, store = client(tmp_path, chaos=proxy.base_url)
        clock = Clock()
        answer = call_with_fallback(
            llm, ["chaos:m"], REQUEST, TAGS, LLMSettings(), sleep=clock.sleep, clock=clock
        )
    assert answer.text == "Title: The Salt Lantern"
    assert [r["error_class"] for r in store.requests("b")] == ["empty", "empty", None]


def test_auth_still_stops_at_once(tmp_path: Path) -> None:
    with ScriptedServer(fail_status=401) as locked:
        llm, _ = client(tmp_path, locked=locked.base_url)
        with pytest.raises(ConfigError):
            call_with_fallback(llm, ["locked:m"], REQUEST, TAGS, LLMSettings())
    assert locked.requests == 1


def book_settings(tmp_path: Path, url: str, **llm: object) -> Settings:
    return Settings(
        home=tmp_path / "home",
        providers={"chaos": ProviderSettings(base_url=url)},
        llm=LLMSettings(**{**FAST, **llm}),  # type: ignore[arg-type]
    )


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    yield
    DBOS.destroy()


def write(settings: Settings, book_id: str) -> tuple[Books, str]:
    books = Books(settings)
    books.create(BookSpec(**SPEC, model="chaos:m"), book_id)  # type: ignore[arg-type]
    return books, run_book(settings, book_id).status.value


def resume_and_finish(books: Books, book_id: str) -> str:
    """What `resume` sends, in this process (whose workflow waits for it); a halted
    workflow left waiting would keep the test process from exiting."""
    book = books.get(book_id)
    assert book.waiting_workflow and book.waiting_for and book.wait_token
    DBOS.send(
        book.waiting_workflow,
        resume_message(book.wait_token),
        topic=book.waiting_for,
        idempotency_key=book.wait_token,
    )
    return str(DBOS.retrieve_workflow(book_workflow_id(book_id)).get_result())


def test_a_book_halted_by_an_outage_resumes_by_itself(tmp_path: Path) -> None:
    outage = ["server"] * 7  # two tries of the call, then five failed probes
    with ScriptedServer() as upstream, ChaosProxy(upstream.base_url, script=outage) as proxy:
        settings = book_settings(tmp_path, proxy.base_url, attempts=2)
        books, status = write(settings, "outage")
    assert status == "completed"
    rows = books.store.requests("outage")
    probes = [r for r in rows if r["field"] == "probe"]
    assert [r["error_class"] for r in probes] == ["server"] * 5 + [None]
    assert probes[0]["stage"] == "plan" and probes[0]["role"] == "planner"
    report = books.status("outage")
    assert report.llm.errors_by_class == {"server": 7}
    assert report.llm.errors_recovered == 7
    assert report.provider_wait is None and report.error is None


def test_auto_resume_off_leaves_the_book_halted(tmp_path: Path) -> None:
    with ScriptedServer() as upstream, ChaosProxy(upstream.base_url, script=["server"] * 2) as p:
        settings = book_settings(tmp_path, p.base_url, attempts=2, auto_resume=False)
        books, status = write(settings, "off")
        assert status == "halted"
        assert books.get("off").error_class == "server"
        assert not [r for r in books.store.requests("off") if r["field"] == "probe"]
        assert resume_and_finish(books, "off") == "completed"  # the outage is over


def test_pause_stops_the_probing(tmp_path: Path) -> None:
    with ScriptedServer(fail_status=503) as down:
        quiet = book_settings(tmp_path, down.base_url, attempts=1, auto_resume=False)
        books, status = write(quiet, "p")
        assert status == "halted"  # as a watcher that died leaves it
        settings = book_settings(tmp_path, down.base_url, attempts=1)
        book = books.get("p")
        assert waits_for_provider(settings, book)
        assert request_pause(settings, books, "p") is False  # nobody writes it: paused
        assert books.get("p").status == "paused"
        assert not waits_for_provider(settings, books.get("p"))

        books.store.update_book("p", status="halted", pause_requested=False)
        seen: list[float] = []

        def sleep(seconds: float) -> None:  # the author types `pause` during the wait
            seen.append(seconds)
            books.store.update_book("p", pause_requested=True)

        llm = LLMClient(settings, recorder=books.store)
        assert wait_for_provider(settings, books.store, llm, "p", sleep=sleep) is False
        assert len(seen) == 1 and books.get("p").status == "paused"
        assert books.get("p").next_probe_at is None
        down.fail_status = None
        books.store.update_book("p", pause_requested=False)  # as `resume` does
        assert resume_and_finish(books, "p") == "completed"  # `resume` still continues it


def test_flaky_provider_book_completes_with_every_fault_logged(tmp_path: Path) -> None:
    """A share of each fault class on every request, the default attempts and a retry
    budget: the book completes, and the error log has every fault the proxy injected."""
    faults = Faults(server=0.20, rate_limit=0.10, empty=0.10, malformed=0.05, stall=0.03, drop=0.05)
    faults.retry_after_s, faults.stall_s = 0, 1.0
    with ScriptedServer() as upstream, ChaosProxy(upstream.base_url, faults) as proxy:
        settings = book_settings(tmp_path, proxy.base_url, timeout_s=0.5, retry_budget_s=30)
        books, status = write(settings, "flaky")
    assert status == "completed"
    logged = Counter(e["error_class"] for e in books.store.errors("flaky"))
    expected = proxy.expected_classes()
    assert sum(expected.values()) >= 10, expected  # the chaos really happened
    for error_class, count in expected.items():
        if error_class in ("empty", "invalid_output"):  # answers the checks refused add some
            assert logged[error_class] >= count, (error_class, logged, expected)
        else:
            assert logged[error_class] == count, (error_class, logged, expected)
    assert books.status("flaky").llm.errors_by_class == dict(logged)
