"""The REST API in process (the app's real DBOS queue, real writer subprocesses against the
scripted model server), and `bookwright serve` as a real HTTP server in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import time
import zipfile
from collections.abc import Iterator
from io import BytesIO

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import SMALL_BOOK, Served, Workspace, app_client, follow
from tests.scripted_server import ScriptedServer

PREMISE = SMALL_BOOK["premise"]
SMALL_BOOK = {**SMALL_BOOK, "model": "scripted:m"}
ERROR_KEYS = {"status", "type", "message", "remedy", "details"}


@pytest.fixture
def client(workspace: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    with app_client(workspace, monkeypatch) as c:
        yield c


def assert_error(response: httpx.Response, status: int, kind: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == ERROR_KEYS
    assert body["error"]["status"] == status and body["error"]["type"] == kind
    assert body["error"]["message"]
    return body["error"]


def test_a_book_written_through_the_api_matches_the_cli(
    client: TestClient, workspace: Workspace, scripted: ScriptedServer
) -> None:
    # Answers in 0.1 s: at full speed the book could be done between two 0.5 s polls.
    scripted.delay_s = 0.1
    started = client.post("/api/books", json={**SMALL_BOOK, "book_id": "api"})
    assert started.status_code == 202, started.text
    assert started.json()["events_url"] == "/api/books/api/events"

    reports = follow(client, "api")
    progress = [r["progress_percentage"] for r in reports]
    assert progress == sorted(progress) and len(set(progress)) > 2  # it moved, live
    assert reports[-1]["status"] == "completed" and not reports[-1]["running"]

    api = client.get("/api/books/api").json()
    cli = workspace.run("status", "api", "--json").json()
    assert api == cli  # the status contract: one object for both faces
    assert [b["book_id"] for b in client.get("/api/books").json()] == ["api"]
    outline = client.get("/api/books/api/artifacts/outline").json()
    assert outline == workspace.run("show", "api", "outline", "--json").json()
    assert client.get("/api/books/api/errors").json() == []
    names = client.get("/api/books/api/artifacts").json()
    assert names[:4] == ["plan", "characters", "locations", "outline"] and "manuscript" in names

    md = client.get("/api/books/api/export/md")
    cli_md = workspace.home / "cli.md"
    assert workspace.run("export", "api", "-o", str(cli_md)).code == 0
    assert md.content == cli_md.read_bytes()
    assert md.headers["x-bookwright-draft"] == "false"
    assert 'filename="api.md"' in md.headers["content-disposition"]
    epub = client.get("/api/books/api/export/epub")
    assert epub.headers["content-type"] == "application/epub+zip"
    assert zipfile.ZipFile(BytesIO(epub.content)).read("mimetype") == b"application/epub+zip"
    chapters = zipfile.ZipFile(BytesIO(client.get("/api/books/api/export/json").content))
    assert len(chapters.namelist()) == 2

    runs = client.get("/api/runs").json()
    assert [(r["book_id"], r["status"], r["exit_code"]) for r in runs] == [("api", "SUCCESS", 0)]
    page = client.get("/books/api")
    assert page.status_code == 200 and api["title"] in page.text
    assert "/api/books/api/export/epub" in page.text
    assert "api" in client.get("/").text


def test_review_at_the_outline_edit_and_approve(client: TestClient) -> None:
    assert client.post("/api/books", json={**SMALL_BOOK, "book_id": "r", "pause_at": ["outline"]})
    halted = follow(client, "r")[-1]
    assert halted["status"] == "halted" and halted["halted_at"] == "outline"

    page = client.get("/books/r/review")
    assert page.status_code == 200
    assert """data-path='["chapters", 0, "title"]'""" in page.text
    outline = client.get("/api/books/r/artifacts/outline").json()

    refused = client.post("/api/books/r/approve", json={"artifact": {"chapters": []}})
    error = assert_error(refused, 422, "invalid_artifact")
    assert "The edited artifact is not a valid outline" in error["message"]
    assert "tmp" not in error["message"]
    assert client.get("/api/books/r").json()["status"] == "halted"  # nothing changed
    assert client.get("/api/books/r/artifacts/outline").json() == outline

    edited = json.loads(json.dumps(outline))
    edited["chapters"][0]["title"] = "The Keeper Reads the Sea"
    approved = client.post("/api/books/r/approve", json={"artifact": edited})
    assert approved.status_code == 202, approved.text
    assert_error(client.post("/api/books/r/approve"), 409, "book_locked")  # one approval
    final = follow(client, "r")[-1]
    assert final["status"] == "completed"
    assert final["chapters"][0]["title"] == "The Keeper Reads the Sea"
    old = client.get("/api/books/r/artifacts/outline", params={"version": 1}).json()
    assert old == outline
    assert [r["action"] for r in client.get("/api/runs", params={"book_id": "r"}).json()] == [
        "approve",
        "resume",
    ]


def test_retry_one_chapter_from_the_api(client: TestClient, workspace: Workspace) -> None:
    from bookwright.store import Store

    assert client.post("/api/books", json={**SMALL_BOOK, "book_id": "t", "pause_at": ["outline"]})
    assert follow(client, "t")[-1]["status"] == "halted"
    early = client.post("/api/books/t/chapters/1/retry", json={"level": "edit"})
    assert "only a completed book" in assert_error(early, 409, "conflict")["message"]
    assert client.post("/api/books/t/approve").status_code == 202
    assert follow(client, "t")[-1]["status"] == "completed"

    store = Store(f"sqlite:///{workspace.home / 'bookwright.sqlite'}")
    try:

        def versions() -> dict[str, int]:
            return {n: store.get_artifact("t", n)[0] for n in store.artifact_names("t")}  # type: ignore[index]

        before = versions()
        missing = client.post("/api/books/t/chapters/9/retry")
        assert "no chapter 9" in assert_error(missing, 404, "chapter_not_found")["message"]
        assert_error(
            client.post("/api/books/t/chapters/1/retry", json={"level": "x"}),
            422,
            "invalid_request",
        )
        started = client.post("/api/books/t/chapters/2/retry", json={"level": "write"})
        assert started.status_code == 202, started.text
        assert started.json()["action"] == "retry"
        assert follow(client, "t")[-1]["status"] == "completed"
        after = versions()
    finally:
        store.close()
    changed = {n for n in after if after[n] != before[n]}
    assert {"chapter:2", "draft:2:1", "draft:2:2", "scene:2:1", "scene:2:2"} <= changed
    assert not [n for n in changed if n.startswith(("chapter:1", "draft:1", "scene:1"))]
    assert after["manuscript"] == before["manuscript"] + 1
    runs = client.get("/api/runs", params={"book_id": "t"}).json()
    assert [(r["action"], r["exit_code"]) for r in runs] == [
        ("retry", 0),
        ("approve", 0),
        ("resume", 3),
    ]
    stats = client.get("/api/books/t/stats").json()
    assert stats == workspace.run("stats", "t", "--json").json()
    assert [c["chapter"] for c in stats["chapters"]] == [1, 2]
    page = client.get("/books/t").text
    assert 'id="retry-form"' in page and "verdicts passed" in page


def test_keep_a_failed_chapter_from_the_api(
    client: TestClient, scripted: ScriptedServer, workspace: Workspace
) -> None:
    with workspace.settings.open("a") as settings:  # the writers read it: stop on a failure
        settings.write('[quality]\non_exhausted = "stop"\n')
    scripted.verdicts = {1: ['structure | critical | "{quote}" | off the outline'] * 3}
    assert client.post("/api/books", json={**SMALL_BOOK, "book_id": "k"}).status_code == 202
    failed = follow(client, "k")[-1]
    assert failed["status"] == "failed" and failed["retries"]["failed_chapters"] == [1]

    def keep(*chapters: int, **more: object) -> httpx.Response:
        return client.post("/api/books/k/approve", json={"chapters": list(chapters), **more})

    refused = keep(2)  # chapter 2 passed
    assert "has not failed (it is generated)" in assert_error(refused, 409, "conflict")["message"]
    assert_error(keep(9), 404, "chapter_not_found")
    assert_error(keep(1, artifact={"chapters": []}), 400, "usage_error")
    assert_error(keep(), 422, "invalid_request")
    nobody = client.post("/api/books/nope/approve", json={"chapters": [1]})
    assert_error(nobody, 404, "book_not_found")
    assert client.get("/api/books/k/stats").json()["retries"]["accepted_chapters"] == []

    kept = keep(1)
    assert kept.status_code == 202, kept.text
    assert kept.json()["action"] == "accept" and kept.json()["run_id"]
    final = follow(client, "k")[-1]
    assert final["status"] == "completed"
    assert final["retries"]["accepted_chapters"] == [1] and not final["retries"]["failed_chapters"]
    stats = client.get("/api/books/k/stats").json()
    assert stats["chapters"][0]["accepted"] and not stats["chapters"][0]["passed"]
    runs = client.get("/api/runs", params={"book_id": "k"}).json()
    assert [(r["action"], r["exit_code"]) for r in runs] == [("accept", 0), ("resume", 1)]
    assert "kept as they are: 1" in client.get("/books/k").text


def test_pause_and_resume_from_the_api(slow, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ws, server = slow
    with app_client(ws, monkeypatch) as client:
        assert client.post("/api/books", json={**SMALL_BOOK, "book_id": "p"}).status_code == 202
        while client.get("/api/books/p").json()["llm"]["requests_sent"] < 3:
            time.sleep(0.2)
        paused = client.post("/api/books/p/pause")
        assert paused.status_code == 200 and paused.json()["running"]
        assert follow(client, "p")[-1]["status"] == "paused"
        assert_error(client.post("/api/books/p/pause"), 409, "conflict")
        assert client.post("/api/books/p/resume").status_code == 202
        assert_error(client.post("/api/books/p/resume"), 409, "book_locked")
        final = follow(client, "p")[-1]
        assert final["status"] == "completed"
        assert final["llm"]["requests_sent"] == server.requests  # nothing paid twice
        assert [r["exit_code"] for r in client.get("/api/runs").json()] == [0, 3]


def test_books_run_at_once_up_to_the_setting(slow, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    ws, _ = slow
    with app_client(ws, monkeypatch, max_running_books=2) as client:
        for book in ("q1", "q2", "q3"):
            started = client.post("/api/books", json={**SMALL_BOOK, "book_id": book})
            assert started.status_code == 202
        most_writing, saw_waiting = 0, False
        while True:
            runs = client.get("/api/runs").json()
            states = [r["status"] for r in runs]
            writing = sum(1 for b in client.get("/api/books").json() if b["running"])
            most_writing = max(most_writing, states.count("PENDING"), writing)
            saw_waiting |= states.count("PENDING") == 2 and "ENQUEUED" in states
            if states == ["SUCCESS"] * 3:
                break
            time.sleep(0.2)
        assert most_writing == 2 and saw_waiting  # two at once, the third queued
        assert {b["status"] for b in client.get("/api/books").json()} == {"completed"}


def test_one_error_shape_for_every_failure(client: TestClient) -> None:
    assert_error(client.get("/api/books/nope"), 404, "book_not_found")
    assert_error(client.get("/api/books/nope/events"), 404, "book_not_found")
    assert_error(client.get("/no/such/page"), 404, "not_found")
    assert_error(client.delete("/api/books"), 405, "method_not_allowed")
    short = assert_error(
        client.post("/api/books", json={"premise": "short"}), 422, "invalid_request"
    )
    assert short["details"][0]["loc"] == ["body", "premise"]
    assert_error(client.post("/api/books", json={**SMALL_BOOK, "pages": 3}), 422, "invalid_request")
    assert_error(client.post("/api/books", content=b"{"), 422, "invalid_request")
    unknown = client.post("/api/books", json={**SMALL_BOOK, "model": "nosuch:m"})
    assert_error(unknown, 400, "config_error")
    assert client.get("/api/books").json() == []  # refused before anything is recorded
    bad_id = client.post("/api/books", json={**SMALL_BOOK, "book_id": "Bad Id"})
    assert_error(bad_id, 422, "invalid_request")
    assert_error(client.get("/api/books/nope/export/pdf"), 422, "invalid_request")

    assert client.post("/api/books", json={**SMALL_BOOK, "book_id": "e"}).status_code == 202
    assert_error(client.post("/api/books", json={**SMALL_BOOK, "book_id": "e"}), 400, "usage_error")
    follow(client, "e")
    assert_error(client.post("/api/books/e/approve"), 409, "conflict")
    assert_error(client.post("/api/books/e/resume"), 409, "conflict")
    assert_error(client.post("/api/books/e/pause"), 409, "conflict")
    assert_error(client.get("/api/books/e/artifacts/nothing"), 400, "usage_error")
    assert_error(client.get("/api/books/e/export/md", params={"version": 9}), 400, "usage_error")


def test_openapi_schema_describes_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/books",
        "/api/books/{book_id}",
        "/api/books/{book_id}/events",
        "/api/books/{book_id}/pause",
        "/api/books/{book_id}/resume",
        "/api/books/{book_id}/approve",
        "/api/books/{book_id}/artifacts/{name}",
        "/api/books/{book_id}/errors",
        "/api/books/{book_id}/export/{fmt}",
    ):
        assert path in paths, path
    assert "ErrorBody" in schema["components"]["schemas"]
    assert "404" in paths["/api/books/{book_id}"]["get"]["responses"]


def test_serve_refuses_a_public_address_without_a_token(workspace: Workspace) -> None:
    run = workspace.run("serve", "--host", "0.0.0.0")
    assert run.code == 2
    assert "without a token" in run.err and "--token" in run.err


def test_with_a_token_every_request_needs_it(workspace: Workspace) -> None:
    served = Served(workspace, "--host", "127.0.0.1", BOOKWRIGHT_TOKEN="s3cret-token-01234")
    try:
        with httpx.Client(base_url=served.url) as http:
            for path in ("/api/books", "/", "/openapi.json", "/static/app.js", "/nope"):
                assert_error(http.get(path), 401, "unauthorized")
            assert_error(
                http.get("/api/books", headers={"Authorization": "Bearer wrong"}),
                401,
                "unauthorized",
            )
            ok = http.get("/api/books", headers={"Authorization": "Bearer s3cret-token-01234"})
            assert ok.status_code == 200 and ok.json() == []
            page = http.get("/", params={"token": "s3cret-token-01234"})  # a browser's first visit
            assert page.status_code == 200 and "bookwright_token" in page.headers["set-cookie"]
            assert http.get("/api/books").status_code == 200  # the cookie carries it now
    finally:
        assert served.stop() == 0


def start_and_wait_for_requests(served: Served, book: str, n: int = 3) -> None:
    """Start a book through the served API and return once it has sent `n` requests."""
    with httpx.Client(base_url=served.url) as http:
        assert http.post("/api/books", json={**SMALL_BOOK, "book_id": book}).status_code == 202
        while http.get(f"/api/books/{book}").json()["llm"]["requests_sent"] < n:
            time.sleep(0.2)


def test_a_killed_server_finishes_its_books_after_restart(slow) -> None:  # type: ignore[no-untyped-def]
    """kill -9 of the server and of the writer (a reboot): the queue comes back with it."""
    ws, _ = slow
    served = Served(ws)
    start_and_wait_for_requests(served, "k")
    served.stop(signal.SIGKILL)
    writer = int((ws.home / "books" / "k" / ".lock").read_text())
    os.kill(writer, signal.SIGKILL)
    assert ws.run("status", "k", "--json").json()["status"] == "processing"

    served = Served(ws)  # no request needed: DBOS recovers the supervise run
    try:
        with httpx.Client(base_url=served.url, timeout=30) as http:
            final = follow(http, "k")[-1]
            assert final["status"] == "completed"
            runs = http.get("/api/runs").json()
            assert [(r["status"], r["exit_code"]) for r in runs] == [("SUCCESS", 0)]
    finally:
        assert served.stop() == 0


def test_stopping_the_server_pauses_the_books_it_writes(slow) -> None:  # type: ignore[no-untyped-def]
    ws, server = slow
    served = Served(ws)
    start_and_wait_for_requests(served, "s")
    assert served.stop(signal.SIGTERM) == 0
    status = ws.run("status", "s", "--json").json()
    assert status["status"] == "paused" and not status["running"]
    assert ws.run("resume", "s").code == 0  # from a terminal, where it stopped
    final = ws.run("status", "s", "--json").json()
    assert final["llm"]["requests_sent"] == server.requests  # nothing paid twice
