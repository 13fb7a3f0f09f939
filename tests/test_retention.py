"""`[retention]` applied by serve and worker: gc on a timer, with the settings' defaults."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from bookwright.safety.gc import Collection
from bookwright.safety.retention import DailyCleanup
from bookwright.settings import RetentionSettings, Settings


def test_the_daily_cleanup_runs_gc_with_the_settings_and_survives_a_failure(
    tmp_path: Path,
) -> None:
    settings = Settings(
        home=tmp_path,
        database_url=None,
        retention=RetentionSettings(older_than_days=7, keep_versions=2, every_hours=0.0001),
    )
    calls: list[dict[str, Any]] = []
    events: list[str] = []
    twice = threading.Event()

    def run(given: Settings, **kwargs: Any) -> Collection:
        calls.append(kwargs)
        if len(calls) == 1:
            raise OSError("disk busy")
        if len(calls) >= 3:
            twice.set()
        done = Collection(dry_run=False, bytes_before=2048, bytes_after=1024)
        done.lines.append("b: 3 versions")
        return done

    cleanup = DailyCleanup(settings, on_event=events.append, first_after_s=0.01, run=run)
    cleanup.start()
    assert twice.wait(10)
    cleanup.stop()
    assert calls[0] == {"older_than_s": 7 * 86400, "keep_versions": 2}
    assert events[0] == "daily gc failed: OSError: disk busy"
    assert "daily gc: 1 item(s) removed, 1024 bytes freed" in events
    assert cleanup.runs >= 2


def test_automatic_false_starts_nothing(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, database_url=None, retention=RetentionSettings(automatic=False)
    )
    cleanup = DailyCleanup(settings, first_after_s=0.0, run=lambda *a, **k: Collection(False))
    cleanup.start()
    cleanup.stop()
    assert cleanup.runs == 0 and cleanup._thread is None
