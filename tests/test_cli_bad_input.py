"""Bad input: exit 2, one clear line, and no book created."""

from __future__ import annotations

import pytest

from tests.conftest import SMALL, Workspace

CASES = {
    "unknown model": (["--model", "gpt4"], "Unknown model"),
    "unknown provider": (["--model", "nosuch:model"], "Unknown provider 'nosuch'"),
    "missing api key": (["--model", "openai:gpt-4o-mini"], "OPENAI_API_KEY"),
    "missing declared key": (["--model", "keyed:m"], "KEYED_TOKEN"),
    "zero chapters": (["--chapters", "0"], "chapters"),
    "unknown pause stage": (["--pause-at", "lunch"], "pause_at"),
    "bad book id": (["--book-id", "Not Valid!"], "Invalid book id"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_write_input_creates_nothing(case: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = tmp_path / "bookwright.toml"
    settings.write_text(
        '[providers.keyed]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "KEYED_TOKEN"\n'
    )
    ws = Workspace(tmp_path / "home", settings)
    flags, expected = CASES[case]
    run = ws.run("write", *SMALL, *flags)
    assert run.code == 2, run.err
    assert expected in run.err
    assert len(run.err.strip().splitlines()) <= 3  # one line, soft-wrapped at most
    assert ws.run("list", "--json").json() == []


def test_unknown_book_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(tmp_path / "home")
    for command in (
        ["status", "nope"],
        ["resume", "nope"],
        ["show", "nope", "plan"],
        ["approve", "nope"],
        ["export", "nope"],
    ):
        run = ws.run(*command)
        assert run.code == 2, command
        assert "No book 'nope'" in run.err and "bookwright list" in run.err


@pytest.mark.parametrize("content", [None, "this is = = not toml"])
def test_unreadable_settings_file(tmp_path, content) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "settings.toml"
    if content is not None:
        path.write_text(content)
    ws = Workspace(tmp_path / "home", path)
    run = ws.run("write", *SMALL)
    assert run.code == 2
    assert str(path) in run.err
    assert Workspace(tmp_path / "home").run("list", "--json").json() == []


def test_missing_premise_and_bad_spec_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(tmp_path / "home")
    assert ws.run("write").code == 2
    spec = tmp_path / "spec.toml"
    spec.write_text('premise = "A long enough premise here."\nchapters = "many"\n')
    run = ws.run("write", str(spec))
    assert run.code == 2 and "chapters" in run.err
    spec.write_text('premise = "A long enough premise here."\ncolour = "blue"\n')
    run = ws.run("write", str(spec))
    assert run.code == 2 and "colour" in run.err
    assert ws.run("list", "--json").json() == []


def test_spec_file_with_flags_winning(workspace: Workspace, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "book.toml"
    spec.write_text(
        'title = "From The File"\npremise = "A keeper and a bottle, at sea."\n'
        "chapters = 3\nscenes_per_chapter = 1\nwords_per_scene = 60\n"
        'characters = 1\nlocations = 1\nmodel = "scripted:m"\n'
    )
    run = workspace.run("write", str(spec), "--chapters", "1", "--book-id", "f")
    assert run.code == 0, run.err
    status = workspace.run("status", "f", "--json").json()
    assert status["title"] == "From The File"
    assert len(status["chapters"]) == 1


def test_existing_book_id_is_refused(workspace: Workspace) -> None:
    assert workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "e").code == 0
    again = workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "e")
    assert again.code == 2 and "bookwright resume e" in again.err
