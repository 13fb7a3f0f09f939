"""`[retention]` applied by the long-lived processes: `serve` and `worker` run `gc` with
the settings' defaults once a day, in a background thread, so a workspace that is never
cleaned by hand does not grow without end. `retention.automatic = false` turns it off."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bookwright.safety.gc import Collection, collect
from bookwright.settings import Settings

FIRST_AFTER_S = 600.0  # not at start: a restart loop must not become a gc loop


class DailyCleanup:
    """A daemon thread that runs `gc` every `retention.every_hours`."""

    def __init__(
        self,
        settings: Settings,
        on_event: Callable[[str], None] = lambda _line: None,
        first_after_s: float = FIRST_AFTER_S,
        run: Callable[..., Collection] = collect,
    ) -> None:
        self.settings = settings
        self.on_event = on_event
        self.first_after_s = first_after_s
        self.run = run
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.settings.retention.automatic:
            return
        self._thread = threading.Thread(target=self._loop, name="daily-gc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        wait = self.first_after_s
        while not self._stop.wait(wait):
            wait = self.settings.retention.every_hours * 3600
            retention = self.settings.retention
            try:
                result = self.run(
                    self.settings,
                    older_than_s=retention.older_than_days * 86400,
                    keep_versions=retention.keep_versions,
                )
            except Exception as error:  # the server or worker goes on; the next day retries
                self.on_event(f"daily gc failed: {type(error).__name__}: {error}")
                continue
            self.runs += 1
            if result.lines:
                self.on_event(
                    f"daily gc: {len(result.lines)} item(s) removed, {result.freed} bytes freed"
                )
