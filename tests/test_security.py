"""What an attacker or a careless user can do, and what stops them: edits refused whole,
keys redacted everywhere, the dashboard's doors, bad bytes and odd names."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from bookwright.cli import app as cli_app
from bookwright.engine.books import BookLock, Books
from bookwright.errors import ProviderError
from bookwright.export.yw7 import Yw7Error, from_yw7
from bookwright.model import BookSpec
from bookwright.model.text import printable
from bookwright.redaction import redact
from bookwright.settings import ProviderSettings, Settings
from bookwright.web.app import create_app
from bookwright.web.guards import allowed_hosts
from tests.conftest import HALT_FAST, SMALL, Workspace
from tests.scripted_server import ScriptedServer

KEY = "vk-0123456789abcdef-secret"  # no pattern matches it: only the variable's value does


def in_process(home: Path, *args: str, **env: str):  # type: ignore[no-untyped-def]
    """The CLI in this process (for commands that never start a writer)."""
    return CliRunner().invoke(cli_app, list(args), env={"BOOKWRIGHT_HOME": str(home), **env})


# Data an author loses


def test_an_approve_refused_because_the_book_is_being_written_changes_nothing(
    workspace: Workspace, tmp_path: Path
) -> None:
    run = workspace.run(
        "write", *SMALL, "--model", "scripted:m", "--book-id", "k", "--pause-at", "outline"
    )
    assert run.code == 3, run.err
    outline = workspace.run("show", "k", "outline", "--json").json()
    outline["chapters"][0]["title"] = "The Edit That Was Refused"
    edit = tmp_path / "e2.json"
    edit.write_text(json.dumps(outline))

    with BookLock(workspace.home / "books" / "k", "k"):  # another approve is writing it
        refused = workspace.run("approve", "k", "--edit", str(edit))
    assert refused.code == 2
    assert "being written by another process" in refused.err
    assert "Saved your edit" not in refused.out
    assert workspace.run("show", "k", "outline", "--version", "2").code == 2  # no new version
    shown = workspace.run("show", "k", "outline", "--json").json()
    assert shown["chapters"][0]["title"] != "The Edit That Was Refused"


# Secrets


def test_a_declared_providers_key_is_redacted_everywhere(tmp_path: Path) -> None:
    with ScriptedServer(fail_status=500, echo_key=True) as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(
            f'[providers.echo]\nbase_url = "{server.base_url}"\napi_key_env = "ECHO_KEY"\n'
            f"{HALT_FAST}"
        )
        ws = Workspace(tmp_path / "home", settings)
        run = ws.run("write", *SMALL, "--model", "echo:m", "--book-id", "e", ECHO_KEY=KEY)
        assert server.requests >= 1  # the server did see the key, and echoed it
    assert run.code != 0
    assert "[redacted]" in run.err and KEY not in run.err + run.out
    status = ws.run("status", "e", "--json", ECHO_KEY=KEY)
    errors = ws.run("errors", "e", "--json", ECHO_KEY=KEY)
    assert "[redacted]" in status.out + errors.out
    assert KEY not in status.out + errors.out
    for path in (ws.home / "bookwright.sqlite", ws.home / "books" / "e" / "dbos.sqlite"):
        assert KEY.encode() not in _all_bytes(path), path


def _all_bytes(database: Path) -> bytes:
    """Every value in every table of an SQLite file (WAL included, through SQLite)."""
    with sqlite3.connect(database) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found = b""
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                found += b"|".join(v if isinstance(v, bytes) else str(v).encode() for v in row)
    return found


def test_every_configured_key_variable_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_VLLM_KEY", KEY)
    assert KEY in redact(f"server said: bad key {KEY}")  # not declared yet
    Settings(
        providers={"vllm": ProviderSettings(base_url="http://x/v1", api_key_env="MY_VLLM_KEY")}
    )
    assert redact(f"server said: bad key {KEY}") == "server said: bad key [redacted]"
    error = ProviderError(f"vllm:m failed (server): {KEY}", provider="vllm")
    assert KEY not in error.one_line() and KEY not in str(error)


# The dashboard's doors


@pytest.fixture
def web(tmp_path: Path) -> TestClient:
    settings = Settings(home=tmp_path / "home", database_url=None)
    return TestClient(create_app(settings), base_url="http://localhost:8000")


def test_only_the_hosts_the_server_is_bound_to_are_answered(web: TestClient) -> None:
    with web:
        assert web.get("/api/books").status_code == 200
        assert web.get("/api/books", headers={"Host": "127.0.0.1:8000"}).status_code == 200
        rebound = web.get("/api/books", headers={"Host": "evil.example:8000"})
        assert rebound.status_code == 400
        assert rebound.json()["error"]["type"] == "unknown_host"
    assert allowed_hosts("127.0.0.1") == ["localhost", "127.0.0.1", "::1"]
    assert "books.lan" in allowed_hosts("books.lan")
    assert allowed_hosts("0.0.0.0") == ["*"]  # all addresses: a token is required there


def test_a_post_from_another_site_is_refused(web: TestClient) -> None:
    spec = {"premise": "A keeper finds a bottle that predicts a wreck.", "model": "local"}
    with web:
        for header in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Referer": "http://evil.example/form.html"},
            {"Origin": "http://localhost:9999"},  # another port is another site
        ):
            refused = web.post("/api/books", json=spec, headers=header)
            assert refused.status_code == 403, header
            assert refused.json()["error"]["type"] == "cross_site"
        assert web.get("/api/books").json() == []  # nothing was created
        same = web.post("/api/books/none/pause", headers={"Origin": "http://localhost:8000"})
        assert same.status_code == 404  # the dashboard's own page gets through to the API
        assert web.post("/api/books/none/pause").status_code == 404  # curl sends no Origin


def test_pages_carry_a_content_security_policy_and_no_cdn(web: TestClient) -> None:
    with web:
        page = web.get("/")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "cdn" not in page.text.lower()
        assert web.get("/docs").status_code == 404  # Swagger UI came from a CDN
        assert web.get("/openapi.json").status_code == 200


def test_a_blank_or_short_token_is_refused(tmp_path: Path, workspace: Workspace) -> None:
    settings = Settings(home=tmp_path / "home", database_url=None)
    for token in (" ", "short"):
        with pytest.raises(ValueError, match="at least 16"):
            create_app(settings, token=token)
    served = workspace.run("serve", "--port", "1", BOOKWRIGHT_TOKEN="   ")
    assert served.code == 2 and "at least 16 characters" in served.err


def test_the_home_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "home"
    books = Books(Settings(home=home, database_url=None))
    book = books.create(BookSpec(premise="A keeper finds a bottle that predicts a wreck."), "p")
    for folder in (home, home / "books", home / "books" / book):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((home / "bookwright.sqlite").stat().st_mode) == 0o600


# Bad input


def test_a_title_has_a_length_limit(web: TestClient) -> None:
    with pytest.raises(ValueError, match="at most 200"):
        BookSpec(title="T" * 201, premise="A keeper finds a bottle that predicts a wreck.")
    with web:
        refused = web.post(
            "/api/books",
            json={"title": "T" * 1_000_000, "premise": "A keeper finds a bottle, and more."},
        )
    assert refused.status_code == 422


def test_markup_and_escape_sequences_are_printed_as_text(tmp_path: Path) -> None:
    home = tmp_path / "home"
    books = Books(Settings(home=home, database_url=None))
    spec = BookSpec(title="Salt [/] Lantern [bold]", premise="A keeper finds a bottle, and more.")
    book = books.create(spec, "m")
    books.store.put_artifact(book, "plan", {"text": "Dawn\x1b]0;pwned\x07 came [/] late."})
    assert books.store.get_artifact(book, "plan") == (1, {"text": "Dawn came [/] late."})
    listed = in_process(home, "list")
    assert listed.exit_code == 0, listed.output
    assert "[/]" in listed.output and "[bold]" in listed.output  # as text, in a wrapped cell
    shown = in_process(home, "show", "m", "plan")
    assert shown.exit_code == 0 and "Dawn came [/] late." in shown.output
    assert "\x1b" not in shown.output
    assert printable("a\x1b[2Jb\x9bc\td\n") == "abc\td\n"


def test_invalid_utf8_and_deep_json_are_exit_2(tmp_path: Path) -> None:
    home = tmp_path / "home"
    spec = tmp_path / "spec.toml"
    spec.write_bytes(b'premise = "A keeper \xff\xfe finds a bottle."\n')
    done = in_process(home, "write", str(spec))
    assert done.exit_code == 2 and "not UTF-8" in done.output
    settings = tmp_path / "bad.toml"
    settings.write_bytes(b"default_model = '\xff'\n")
    done = in_process(home, "list", "--settings", str(settings))
    assert done.exit_code == 2 and "not UTF-8" in done.output

    books = Books(Settings(home=home, database_url=None))
    books.create(BookSpec(premise="A keeper finds a bottle, and more."), "h")
    books.store.update_book("h", status="halted", waiting_for="approve:outline", wait_token="t")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"chapters": ["\xff"]}')
    done = in_process(home, "approve", "h", "--edit", str(bad))
    assert done.exit_code == 2 and "not UTF-8" in done.output
    bad.write_text("[" * 100_000 + "]" * 100_000)
    done = in_process(home, "approve", "h", "--edit", str(bad))
    assert done.exit_code == 2 and "nested too deeply" in done.output
    assert books.store.get_artifact("h", "outline") is None  # nothing was stored


def test_an_unreachable_postgres_is_a_clear_error(tmp_path: Path) -> None:
    url = "postgresql://writer:hunter22secret@127.0.0.1:1/books"
    done = in_process(tmp_path / "home", "list", BOOKWRIGHT_DATABASE_URL=url)
    assert done.exit_code == 2, done.output
    assert "Cannot open the database at postgresql://writer:***@127.0.0.1:1/books" in (done.output)
    assert "Traceback" not in done.output and "hunter22secret" not in done.output


def test_a_book_id_with_a_newline_is_refused(tmp_path: Path) -> None:
    done = in_process(
        tmp_path / "home", "write", "--premise", "A keeper finds a bottle.", "--book-id", "nl\n"
    )
    assert done.exit_code == 2 and "Invalid book id" in done.output
    assert not (tmp_path / "home" / "books").exists() or not os.listdir(tmp_path / "home" / "books")


def test_yw7_duplicate_ids_are_found_among_ten_thousand_scenes() -> None:
    scenes = "".join(
        f"<SCENE><ID>{i}</ID><BelongsToChID>1</BelongsToChID><SceneContent>x</SceneContent>"
        "</SCENE>\n"
        for i in [*range(1, 10_001), 5_000]
    )
    listed = "".join(f"<ScID>{i}</ScID>" for i in range(1, 10_001))
    xml = (
        "<YWRITER7><PROJECT><Title>t</Title></PROJECT>\n<SCENES>\n"
        f"{scenes}</SCENES><CHAPTERS><CHAPTER><ID>1</ID><Title>c</Title><Scenes>{listed}"
        "</Scenes></CHAPTER></CHAPTERS></YWRITER7>"
    )
    with pytest.raises(Yw7Error, match="scene ID 5000 appears twice") as found:
        from_yw7(xml.encode())
    assert found.value.line == 10_003
    project = from_yw7(
        xml.replace("<ID>5000</ID>", "<ID>10001</ID>", 1)
        .replace("<ScID>5000</ScID>", "<ScID>10001</ScID><ScID>5000</ScID>")
        .encode()
    )
    assert len(project.scenes) == 10_001
