"""The dashboard's doors: which hosts it answers, which sites may change anything, and the
headers that keep its pages from being framed or made to run someone else's script.

- **Host** (DNS rebinding): a page on `evil.example` that resolves to 127.0.0.1 reaches the
  server with `Host: evil.example`; only the names the server is bound to are answered.
- **Origin** (cross-site requests): a form on any site can POST to a loopback server, and
  the browser says where it came from in `Origin` (or `Referer`); a request that changes
  anything is refused unless it comes from the server's own pages. Clients that are not
  browsers (curl, scripts) send neither header and are let through.
- **Headers**: a Content-Security-Policy that allows only the server's own scripts and
  styles, no framing, no sniffing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response

from bookwright.web.errors import error_response

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MIN_TOKEN_LENGTH = 16
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

Next = Callable[[Request], Awaitable[Response]]


def allowed_hosts(host: str) -> list[str]:
    """The Host names a server bound to `host` answers: the loopback names and `host`
    itself; every name when it listens on all addresses (0.0.0.0 or ::, where a token is
    required anyway)."""
    bare = host.strip("[]").lower()
    try:
        if ipaddress.ip_address(bare).is_unspecified:
            return ["*"]
    except ValueError:
        pass
    return list(dict.fromkeys([*LOOPBACK_HOSTS, bare]))


def check_token(token: str) -> str:
    """The token, stripped; ValueError when it is too short to be a secret."""
    token = token.strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(
            f"The token must be at least {MIN_TOKEN_LENGTH} characters (not counting spaces)"
        )
    return token


def install(app: FastAPI, hosts: Iterable[str]) -> None:
    """Add the three guards; call after every other middleware, so these run first."""
    names = {h.strip("[]").lower() for h in hosts}

    @app.middleware("http")
    async def same_origin(request: Request, call_next: Next) -> Response:
        if request.method not in SAFE_METHODS:
            origin = request.headers.get("origin") or _origin_of(request.headers.get("referer"))
            own = request.headers.get("host", "").lower()
            if origin is not None and _netloc(origin) != own:
                return error_response(
                    403,
                    "cross_site",
                    f"Refused a {request.method} sent from another site ({origin[:100]})",
                    "Use the dashboard's own pages, or a client that is not a browser",
                )
        return await call_next(request)

    @app.middleware("http")
    async def known_host(request: Request, call_next: Next) -> Response:
        host = _hostname(request.headers.get("host", ""))
        if "*" not in names and host not in names:
            response: Response = error_response(
                400,
                "unknown_host",
                f"This server does not answer for host {host[:100]!r}",
                f"Open it as http://localhost:{request.url.port or 8000}/, or serve with "
                "--host set to the name you use",
            )
        else:
            response = await call_next(request)
        response.headers.update(HEADERS)
        if response.headers.get("content-type", "").startswith("text/html"):
            # a page of the dashboard; a job's own HTML file brings a stricter one (no script)
            response.headers.setdefault("Content-Security-Policy", CSP)
        return response


def _hostname(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _netloc(origin: str) -> str | None:
    """`host[:port]` of an Origin; None for `null` (sandboxed frames, file:// pages)."""
    parts = urlsplit(origin)
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


def _origin_of(referer: str | None) -> str | None:
    if not referer:
        return None
    parts = urlsplit(referer)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "null"
