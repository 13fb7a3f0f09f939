"""The other jobs over the API, as a dashboard or a script starts them: a book from
uploaded interviews, answers to its questions, an adaptation of it, and a review of an
uploaded manuscript; each written by the server's real writer subprocesses against the
scripted model server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Workspace, app_client, follow

CORPUS = Path(__file__).parent / "fixtures" / "sources"
READABLE = ["01-ada-lind.txt", "02-bert-hale.vtt", "03-clara-voss.md", "05-notes.md"]


@pytest.fixture
def client(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with app_client(workspace, monkeypatch) as c:
        yield c


def _uploads(*names: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (n, (CORPUS / n).read_bytes(), "text/plain")) for n in names]


@pytest.mark.slow
def test_a_book_from_uploaded_sources_answered_and_adapted_over_the_api(
    client: TestClient, workspace: Workspace
) -> None:
    form = {"title": "The Mill", "words_per_chapter": "60", "model": "scripted:m"}
    started = client.post(
        "/api/sources",
        data={**form, "book_id": "mill"},
        files=[*_uploads(*READABLE), ("files", ("../../escape.txt", b"Ada Lind: 1950.", "x"))],
    )
    assert started.status_code == 202, started.text
    assert started.json()["summary"].startswith("Read 5 sources")
    uploads = workspace.home / "uploads"
    saved = sorted(p.name for p in uploads.rglob("*") if p.is_file())
    assert saved == sorted([*READABLE, "escape.txt"])  # a path in a name is only a name
    assert follow(client, "mill")[-1]["status"] == "completed"
    asked = client.get("/api/books/mill/artifacts/questions").json()["questions"]
    assert asked, "the corpus plants a contradiction and a gap"
    numbers = [
        c["number"] for c in client.get("/api/books/mill/artifacts/storyline").json()["chapters"]
    ]
    before = {n: client.get(f"/api/books/mill/artifacts/chapter:{n}").json() for n in numbers}

    answered = client.post(
        "/api/books/mill/answers", data={"text": f"1. {asked[0]['text']} It was 1952."}
    )
    assert answered.status_code == 202, answered.text
    assert "answers 1 question" in answered.json()["summary"]
    assert follow(client, "mill")[-1]["status"] == "completed"
    left = client.get("/api/books/mill/artifacts/questions").json()["questions"]
    assert asked[0]["text"] not in [q["text"] for q in left]
    sources = client.get("/api/books/mill/artifacts/sources").json()
    assert "answers/answers.md" in [f["name"] for f in sources["files"]]
    kept = [n for n in numbers if n not in asked[0]["chapters"]]
    assert kept  # a chapter the answer does not touch keeps its version
    for n in kept:
        assert client.get(f"/api/books/mill/artifacts/chapter:{n}").json() == before[n]
    again = client.post("/api/books/mill/answers", data={"text": f"1. {asked[0]['text']} 1952."})
    assert again.status_code == 202  # other words: a new round, not a repeat
    assert follow(client, "mill")[-1]["status"] == "completed"

    adapted = client.post(
        "/api/adaptations",
        json={"book": "mill", "minutes": 3, "form": "short", "model": "scripted:m"},
    )
    assert adapted.status_code == 202, adapted.text
    screen = adapted.json()["book_id"]
    assert follow(client, screen)[-1]["status"] == "completed"
    assert client.get(f"/api/books/{screen}").json()["job"] == "adapt"
    files = client.get(f"/api/books/{screen}/files").json()
    assert {"screenplay.fountain", "screenplay.pdf", "screenplay.fdx", "storyboard.html"} <= set(
        files
    )
    assert "dbos.sqlite" not in files
    board = client.get(f"/api/books/{screen}/files/storyboard.html")
    assert board.status_code == 200 and board.headers["content-type"].startswith("text/html")
    assert board.headers["content-security-policy"].startswith("default-src 'none'")
    pdf = client.get(f"/api/books/{screen}/files/screenplay.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/api/books/{screen}/files/dbos.sqlite").status_code == 404
    assert client.get(f"/api/books/{screen}/files/..%2Fmill%2Fdbos.sqlite").status_code == 404
    page = client.get(f"/books/{screen}").text
    assert f"/api/books/{screen}/files/screenplay.pdf" in page
    sources_page = client.get("/books/mill").text
    assert "Questions for the author" in sources_page
    index = client.get("/").text
    assert 'data-action="/api/sources"' in index and "<option>mill</option>" in index


def test_a_review_of_an_uploaded_manuscript_and_refusals_that_keep_nothing(
    client: TestClient, workspace: Workspace
) -> None:
    text = (
        "# Chapter 1\n\n"
        + "The mill bell rang at six. Ada ran. " * 30
        + ("\n\n# Chapter 2\n\n" + "Bert counted the looms. Clara kept the book. " * 30)
    )
    started = client.post(
        "/api/reviews",
        data={"model": "scripted:m", "genre": "literary", "book_id": "draft"},
        files={"file": ("draft.md", text.encode(), "text/markdown")},
    )
    assert started.status_code == 202, started.text
    assert follow(client, "draft")[-1]["status"] == "completed"
    assert client.get("/api/books/draft").json()["job"] == "review"

    uploads = workspace.home / "uploads"
    before = sorted(uploads.iterdir())
    neither = client.post("/api/sources", data={"title": "Nothing"})
    assert neither.status_code == 400
    assert neither.json()["error"]["message"] == (
        "Give the material as `files` or as `path`: neither was sent"
    )
    unreadable = client.post(
        "/api/sources",
        data={"title": "Nothing"},
        files=[("files", ("notes.rtf", b"{\\rtf1 x}", "application/rtf"))],
    )
    assert unreadable.status_code == 400
    assert "can be read as a source" in unreadable.json()["error"]["message"]
    assert sorted(uploads.iterdir()) == before  # the refused upload is not kept
    assert [b["book_id"] for b in client.get("/api/books").json()] == ["draft"]
    not_ours = client.post("/api/books/draft/answers", data={"text": "1. Yes."})
    assert not_ours.status_code == 400 and "not a book from sources" in not_ours.text
    missing = client.post("/api/books/nobody/answers", data={"text": "1. Yes."})
    assert missing.status_code == 404
    unfinished = client.post("/api/adaptations", json={"book": "nobody"})
    assert unfinished.status_code == 400
