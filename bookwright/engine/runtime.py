"""The process-wide runtime the workflows use: settings, store, model client.

DBOS is a process-wide singleton; so is this, and `Engine` is the only thing that sets it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bookwright.llm import LLMClient
from bookwright.settings import Settings
from bookwright.store import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    llm: LLMClient


_runtime: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("bookwright engine is not launched")
    return _runtime
