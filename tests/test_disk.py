"""A full disk stops the book at the step that met it (exit 3); a damaged file is one line."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bookwright.cli import app
from tests.conftest import ROOT, SMALL, Workspace


def _mount_tmpfs(folder: Path, size: str) -> None:
    folder.mkdir(parents=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")


def _fill(folder: Path) -> Path:
    """Fill the filesystem under `folder` to the last byte."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
        try:
            while True:
                handle.write(b"\0")
        except OSError:
            pass
    return filler


def test_full_disk_stops_the_book_with_exit_3_and_resume_finishes_it(  # type: ignore[no-untyped-def]
    tmp_path: Path, slow, workspace: Workspace
) -> None:
    ws, _server = slow
    disk = tmp_path / "small-disk"
    _mount_tmpfs(disk, "48m")
    try:
        full = Workspace(disk / "home", ws.settings)
        book = ["write", *SMALL, "--model", "scripted:m", "--book-id", "full"]
        proc = subprocess.Popen(
            full.command(*book),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=full.env(),
            cwd=ROOT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            run = full.run("status", "full", "--json")
            if run.code == 0 and run.json()["llm"]["requests_sent"] >= 4:
                break
            time.sleep(0.3)
        filler = _fill(disk)
        _out, err = proc.communicate(timeout=90)
        assert proc.returncode == 3, err
        assert "No space left on the disk that holds" in err
        assert "bookwright resume full" in err and "Traceback" not in err
        filler.unlink()
        resumed = full.run("resume", "full")
        assert resumed.code == 0, resumed.err
        # The same manuscript as an undisturbed run of the same book.
        clean = workspace.run("write", *SMALL, "--model", "scripted:m", "--book-id", "full")
        assert clean.code == 0, clean.err
        ours = (full.home / "books" / "full" / "manuscript.md").read_text()
        assert ours == (workspace.home / "books" / "full" / "manuscript.md").read_text()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_damaged_store_is_one_line_naming_what_to_do(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "bookwright.sqlite").write_bytes(b"this is no database at all" * 200)
    result = CliRunner().invoke(app, ["status", "any"], env={"BOOKWRIGHT_HOME": str(home)})
    assert result.exit_code == 1, result.output
    assert "is damaged (file is not a database)" in result.output
    assert "bookwright restore FILE --force" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
