"""The book's state machine: `waiting_for` parsed once, refusals as data, worded per face."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bookwright.engine.states import (
    Waiting,
    approve_topic,
    check_approve,
    check_resume,
    check_retry,
)
from bookwright.errors import EXIT_USAGE, Conflict, Next
from bookwright.web.errors import remedy_of, status_of


@dataclass
class Book:
    id: str = "b"
    status: str = "halted"
    waiting_for: str | None = None
    wait_token: str | None = "t1"


def test_waiting_for_round_trips_and_refuses_what_no_book_waits_for() -> None:
    assert Waiting.parse(None) == Waiting() and not Waiting.parse("").review
    review = Waiting.parse(approve_topic("outline"))
    assert review == Waiting("approve", "outline") and review.review
    assert review.stored == "approve:outline"
    assert Waiting.parse("resume").stored == "resume" and not Waiting.parse("resume").review
    with pytest.raises(ValueError, match="cannot wait for 'approve'"):
        Waiting.parse("approve")  # no stage: not a form any code writes


def test_a_book_halted_for_review_refuses_resume_and_each_face_words_the_remedy() -> None:
    book = Book(waiting_for="approve:harmonize")
    with pytest.raises(Conflict) as refused:
        check_resume(book)
    error = refused.value
    assert error.message == "Book 'b' is halted at harmonize for review"
    # Data: show the artifact under review (the manuscript, for harmonize), then approve.
    assert error.next == (Next("show", "b", "manuscript"), Next("approve", "b"))
    assert error.exit_code == EXIT_USAGE and status_of(error) == 409
    assert error.remedy == "`bookwright show b manuscript`, then `bookwright approve b`"
    assert (
        remedy_of(error) == "GET /api/books/b/artifacts/manuscript, then POST /api/books/b/approve"
    )
    assert check_approve(book) == Waiting("approve", "harmonize")


def test_approve_and_retry_refusals() -> None:
    with pytest.raises(Conflict, match="not waiting for approval") as refused:
        check_approve(Book(status="paused", waiting_for="resume"))
    assert refused.value.next == (Next("resume", "b"),)
    assert remedy_of(refused.value) == "POST /api/books/b/resume"
    with pytest.raises(Conflict):  # the API needs the wait's token to carry
        check_approve(Book(waiting_for="approve:outline", wait_token=None), token=True)
    check_approve(Book(waiting_for="approve:outline", wait_token=None))
    with pytest.raises(Conflict, match="only a completed book's chapters are retried"):
        check_retry(Book(status="failed"))
    check_retry(Book(status="completed"))
    check_resume(Book(status="failed", waiting_for="resume"))


def test_a_conflict_survives_pickling_with_its_next_steps() -> None:
    import pickle

    error = Conflict("no", (Next("resume", "x"),))
    again = pickle.loads(pickle.dumps(error))
    assert again.next == error.next and again.remedy == error.remedy == "`bookwright resume x`"
