"""Shared by the benches that drive the CLI against the scripted local model server."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scripted_server import ScriptedServer  # noqa: E402

__all__ = ["ROOT", "ScriptedServer", "cli", "in_fresh_home", "run_cli", "settings_for"]


def settings_for(folder: Path, server: ScriptedServer, extra: str = "") -> Path:
    path = folder / "bookwright.toml"
    path.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n{extra}')
    return path


def cli(home: Path, settings: Path | None, *args: str) -> subprocess.CompletedProcess[str]:
    """`bookwright ARGS` against `home` (with `settings`, when given); never raises."""
    extra = ["--settings", str(settings)] if settings else []
    return subprocess.run(
        [sys.executable, "-m", "bookwright", *args, *extra],
        capture_output=True,
        text=True,
        env={**os.environ, "BOOKWRIGHT_HOME": str(home)},
        cwd=ROOT,
    )


def run_cli(home: Path, settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = cli(home, settings, *args)
    if proc.returncode != 0:
        raise SystemExit(f"bookwright {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def status(home: Path, settings: Path, book: str) -> dict[str, Any]:
    import json

    return json.loads(run_cli(home, settings, "status", book, "--json").stdout)


def in_fresh_home(
    prefix: str,
    model: str,
    keep: Path | None,
    measure: Callable[[Path, Path | None, str], dict[str, Any]],
) -> dict[str, Any]:
    """`measure(home, settings, model)` in a new temporary home, timed (`seconds`). With
    `model == "scripted"`, on the tests' scripted server (a dry run of a bench, not a
    measurement); `keep` copies the home there afterwards."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        settings = None
        if model == "scripted":
            server = stack.enter_context(ScriptedServer())
            settings, model = settings_for(folder, server), "scripted:m"
        started = time.monotonic()
        result = measure(folder / "home", settings, model)
        result["seconds"] = round(time.monotonic() - started, 1)
        if keep:
            shutil.copytree(folder / "home", keep, dirs_exist_ok=True)
    return result
