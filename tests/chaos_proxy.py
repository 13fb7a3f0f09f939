"""A fault-injecting OpenAI-compatible proxy on 127.0.0.1.

It forwards `/v1/chat/completions` to a real upstream (the embedded model or the
scripted server) or, with the probability of each fault, answers the way a sick
provider does: a 5xx, a 429 with `Retry-After`, an answer with empty content, a
malformed JSON body, a stall longer than the client's timeout, or a connection
dropped without a response. Every fault it injects is recorded with its class, so a
test can compare them with bookwright's error log.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

# fault -> the error class bookwright must record it under
FAULT_CLASSES = {
    "server": "server",
    "rate_limit": "rate_limit",
    "empty": "empty",
    "malformed": "invalid_output",
    "stall": "timeout",
    "drop": "network",
}


@dataclass
class Faults:
    """Probability of each fault per request; the rest are forwarded untouched."""

    server: float = 0.0
    rate_limit: float = 0.0
    empty: float = 0.0
    malformed: float = 0.0
    stall: float = 0.0
    drop: float = 0.0
    retry_after_s: int = 1
    stall_s: float = 30.0
    seed: int = 7

    def pick(self, rng: random.Random) -> str | None:
        roll = rng.random()
        for name in FAULT_CLASSES:
            roll -= getattr(self, name)
            if roll < 0:
                return name
        return None


@dataclass
class ChaosProxy:
    upstream: str  # base URL ending in /v1
    faults: Faults = field(default_factory=Faults)
    script: list[str | None] = field(default_factory=list)  # faults of the first requests
    injected: Counter[str] = field(default_factory=Counter)
    forwarded: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=600)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with proxy._lock:
                    fault = proxy.script.pop(0) if proxy.script else proxy.faults.pick(proxy._rng)
                    if fault:
                        proxy.injected[fault] += 1
                proxy.handle(self, fault, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def expected_classes(self) -> Counter[str]:
        return Counter({FAULT_CLASSES[f]: n for f, n in self.injected.items()})

    def handle(self, h: BaseHTTPRequestHandler, fault: str | None, body: bytes) -> None:
        if fault == "drop":
            h.close_connection = True  # no status line at all: the client sees a reset
            return
        if fault == "stall":
            time.sleep(self.faults.stall_s)
            h.close_connection = True
            return
        if fault == "server":
            code = self._rng.choice([500, 502, 503])
            self._send(h, code, b'{"error": {"message": "injected server error"}}', fault=fault)
            return
        if fault == "rate_limit":
            self._send(
                h,
                429,
                b'{"error": {"message": "injected rate limit"}}',
                {"Retry-After": str(self.faults.retry_after_s)},
                fault,
            )
            return
        if fault == "malformed":
            self._send(h, 200, b'{"id": "chatcmpl-chaos", "object": "chat.', fault=fault)
            return
        response = self._client.post(
            self.upstream.rstrip("/") + h.path.removeprefix("/v1"),
            content=body,
            headers={
                k: v for k, v in h.headers.items() if k.lower() in ("authorization", "content-type")
            },
        )
        payload = response.content
        if fault == "empty" and response.status_code == 200:
            data = json.loads(payload)
            for choice in data.get("choices", []):
                choice["message"]["content"] = ""
                choice["finish_reason"] = "stop"
            payload = json.dumps(data).encode()
        if self._send(h, response.status_code, payload, fault=fault) and fault != "empty":
            with self._lock:
                self.forwarded += 1

    def _send(
        self,
        h: BaseHTTPRequestHandler,
        status: int,
        data: bytes,
        headers: dict[str, str] | None = None,
        fault: str | None = None,
    ) -> bool:
        """Answer; False when the client had gone."""
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        try:
            h.end_headers()
            h.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client's timeout ran out first (a loaded machine): what it saw, and
            # logged, is a timeout, whatever this answer was going to be.
            h.close_connection = True
            with self._lock:
                if fault:
                    self.injected[fault] -= 1
                self.injected["stall"] += 1
            return False
        return True

    def __enter__(self) -> ChaosProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._client.close()
