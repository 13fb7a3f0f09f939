"""Kill a writing process with SIGKILL at random moments and resume it until it completes."""

from __future__ import annotations

import random
import signal
import time

from tests.conftest import Workspace


def write_with_kills(
    ws: Workspace,
    args: list[str],
    book_id: str,
    kills: int,
    seed: int,
    min_s: float = 0.3,
    max_s: float = 3.0,
) -> int:
    """Run `write ARGS --book-id BOOK`, SIGKILL it `kills` times at random moments (each
    time resuming), then let the last resume finish. Returns the number of kills landed."""
    rng = random.Random(seed)
    proc = ws.start("write", *args, "--book-id", book_id)
    deadline = time.monotonic() + 60
    while ws.run("status", book_id, "--json").code != 0:  # the book exists: safe to kill
        assert time.monotonic() < deadline and proc.poll() in (None, 0)
        time.sleep(0.2)
    landed = 0
    for _ in range(kills):
        time.sleep(rng.uniform(min_s, max_s))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        landed += 1
        proc = ws.start("resume", book_id)
    assert proc.wait(timeout=900) == 0
    return landed
