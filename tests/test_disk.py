"""A full disk stops the book at the step that met it (exit 3); a damaged file is one line."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bookwright.cli import app
from tests.conftest import HALT_FAST, ROOT, SMALL, Workspace
from tests.scripted_server import ScriptedServer


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


def test_full_disk_stops_the_book_with_exit_3_and_resume_finishes_it(
    tmp_path: Path, workspace: Workspace
) -> None:
    disk = tmp_path / "small-disk"
    _mount_tmpfs(disk, "48m")
    # The fifth answer waits until the disk is full: the book meets the full disk when it
    # stores that answer, on any machine, rather than when a race lets it.
    with ScriptedServer(hold_after=4) as server:
        try:
            settings = tmp_path / "held.toml"
            settings.write_text(
                f'[providers.scripted]\nbase_url = "{server.base_url}"\n{HALT_FAST}'
            )
            full = Workspace(disk / "home", settings)
            book = ["write", *SMALL, "--model", "scripted:m", "--book-id", "full"]
            proc = subprocess.Popen(
                full.command(*book),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env=full.env(),
                cwd=ROOT,
            )
            deadline = time.monotonic() + 120
            while server.requests <= 4 and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server.requests > 4, "the book never sent its fifth request"
            filler = _fill(disk)
            server.release()
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
            server.release()
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
