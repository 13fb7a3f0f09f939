"""Shared by the benches that drive the CLI against the scripted local model server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.scripted_server import ScriptedServer  # noqa: E402

__all__ = ["ROOT", "ScriptedServer", "run_cli", "settings_for"]


def settings_for(folder: Path, server: ScriptedServer, extra: str = "") -> Path:
    path = folder / "bookwright.toml"
    path.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n{extra}')
    return path


def run_cli(home: Path, settings: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bookwright", *args, "--settings", str(settings)],
        capture_output=True,
        text=True,
        env={**os.environ, "BOOKWRIGHT_HOME": str(home)},
        cwd=ROOT,
    )
    if proc.returncode != 0:
        raise SystemExit(f"bookwright {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def status(home: Path, settings: Path, book: str) -> dict[str, Any]:
    import json

    return json.loads(run_cli(home, settings, "status", book, "--json").stdout)
