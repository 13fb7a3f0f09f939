"""What a worker says about the runs it takes: every run is reported taken and done once,
however its start and end fall between the worker's polls. DBOS's answers are scripted
here; tests/test_postgres_workers.py runs the real thing."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from bookwright.engine.worker import _TakenLog


def run(workflow_id: str, book: str, status: str, name: str = "book", at: int = 0) -> Any:
    return SimpleNamespace(
        workflow_id=workflow_id, name=name, status=status, created_at=at, input={"args": [book]}
    )


class ScriptedLog(_TakenLog):
    """`_runs` answers from `self.table`: workflow id -> (run, dequeued since last poll)."""

    def __init__(self) -> None:
        super().__init__("w")
        self.table: dict[str, tuple[Any, bool]] = {}

    def _runs(self, **where: Any) -> list[Any]:
        rows = [r for r, _ in self.table.values()]
        if "dequeued_after" in where:
            return [r for r, fresh in self.table.values() if fresh]
        if "status" in where:
            return [r for r in rows if r.status == where["status"]]
        return [r for r in rows if r.workflow_id in where["workflow_ids"]]

    def step(self, **runs: tuple[Any, bool]) -> list[str]:
        self.table = dict(runs)
        return self.poll()


def test_a_run_that_starts_and_ends_between_two_polls_is_reported() -> None:
    log = ScriptedLog()
    said = log.step(a=(run("a", "one", "SUCCESS"), True))
    assert said == ["worker w: writing one", "worker w: done with one (SUCCESS)"]
    assert log.step(a=(run("a", "one", "SUCCESS"), True)) == []  # the overlap: said once
    assert log.in_hand == {}


def test_a_run_that_ends_after_the_poll_that_saw_it_start_is_reported_done() -> None:
    log = ScriptedLog()
    assert log.step(a=(run("a", "one", "PENDING"), True)) == ["worker w: writing one"]
    # Next poll: it ended, and it was dequeued before this window: only its id finds it.
    said = log.step(a=(run("a", "one", "ERROR"), False))
    assert said == ["worker w: done with one (ERROR)"]
    assert log.in_hand == {}


def test_held_runs_in_order_and_one_taken_over_is_dropped() -> None:
    log = ScriptedLog()
    said = log.step(
        r=(run("r", "two", "PENDING", name="retry", at=2), False),  # recovered at launch
        b=(run("b", "one", "PENDING", at=1), True),
    )
    assert said == ["worker w: writing one", "worker w: retrying a chapter of two"]
    assert log.step(b=(run("b", "one", "PENDING", at=1), False)) == []  # r: elsewhere now
    assert log.in_hand == {"b": "one"}


def test_a_run_resumed_under_the_same_id_is_reported_again() -> None:
    log = ScriptedLog()
    log.step(a=(run("a", "one", "CANCELLED"), True))
    assert log.step(a=(run("a", "one", "PENDING"), True)) == ["worker w: writing one"]
    assert log.step(a=(run("a", "one", "SUCCESS"), False)) == ["worker w: done with one (SUCCESS)"]
    assert log.step() == [] and log.done == set()  # what it remembers stays small
