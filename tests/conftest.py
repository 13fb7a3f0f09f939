from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bookwright.llm import LLMClient
from bookwright.settings import ProviderSettings, Settings
from bookwright.store import Store
from tests.pg_cluster import PgCluster, missing_reason
from tests.scripted_server import ScriptedServer

if TYPE_CHECKING:
    import httpx
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.out)


def skip_in_fast_check() -> None:
    """`make check` runs the tests that stay in this process; `make test` runs them all."""
    if os.environ.get("BOOKWRIGHT_FAST_CHECK"):
        pytest.skip("starts a bookwright process: `make test` runs it")


class Workspace:
    """A BOOKWRIGHT_HOME of its own, and the CLI run in a subprocess against it."""

    def __init__(self, home: Path, settings: Path | None = None) -> None:
        self.home = home
        self.settings = settings

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("BOOKWRIGHT_") and not k.endswith("_API_KEY")
        }
        env["BOOKWRIGHT_HOME"] = str(self.home)
        env.update(extra)
        return env

    def command(self, *args: str) -> list[str]:
        cmd = [sys.executable, "-m", "bookwright", *args]
        if (
            self.settings is not None
            and args
            and args[0]
            in {
                "write",
                "resume",
                "approve",
                "retry",
                "status",
                "list",
                "show",
                "export",
                "review",
                "adapt",
            }
        ):
            cmd += ["--settings", str(self.settings)]
        return cmd

    def run(self, *args: str, timeout: float = 300, process: bool = False, **env: str) -> Run:
        """The command, in this process unless `process` (or the test runs the embedded
        model, whose llama.cpp server belongs in a process of its own)."""
        if not (process or IN_PROCESS.off or _dbos_running()):
            return self.run_here(*args, **env)
        skip_in_fast_check()
        proc = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(**env),
            cwd=ROOT,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def run_here(self, *args: str, **env: str) -> Run:
        """`bookwright ARGS` in this process, as a user's shell would run it: the same
        environment (BOOKWRIGHT_HOME, no other BOOKWRIGHT_ or key variable), the output
        captured, and afterwards no DBOS, signal handler or exit left behind."""
        from click.testing import CliRunner
        from dbos import DBOS

        from bookwright.cli import run

        environ: dict[str, str | None] = {
            k: None for k in os.environ if k.startswith("BOOKWRIGHT_") or k.endswith("_API_KEY")
        }
        environ.update(BOOKWRIGHT_HOME=str(self.home), **env)
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        with CliRunner().isolation(env=environ) as (out, err, _):
            try:
                code = run(self.command(*args)[3:])
            except Exception:  # a crash, as the process would print it
                traceback.print_exc()
                code = 1
            finally:
                DBOS.destroy(workflow_completion_timeout_sec=0)
                for sig, handler in handlers.items():
                    signal.signal(sig, handler)
                sys.stdout.flush()
                sys.stderr.flush()
            return Run(code, out.getvalue().decode(), err.getvalue().decode())

    def start(self, *args: str, **env: str) -> subprocess.Popen[str]:
        skip_in_fast_check()
        return subprocess.Popen(
            self.command(*args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env(**env),
            cwd=ROOT,
            preexec_fn=interruptible,
        )


def _dbos_running() -> bool:
    """Whether this process already runs DBOS (the dashboard's app, in process): then the
    CLI beside it is another process, as it is for a user."""
    from dbos import _dbos

    return _dbos._dbos_global_instance is not None


class _InProcess:
    off = False  # set for a test on the embedded model (see `in_process` below)


IN_PROCESS = _InProcess()


@pytest.fixture(autouse=True)
def in_process(request: pytest.FixtureRequest) -> Iterator[None]:
    """`Workspace.run` runs the CLI in this process, except in a test on the embedded model."""
    IN_PROCESS.off = request.node.get_closest_marker("embedded") is not None
    yield
    IN_PROCESS.off = False


def interruptible() -> None:
    """In the child, before exec: Ctrl+C acts. A shell that runs the suite in the
    background (`make test &`, nohup, some CI runners) starts it with SIGINT ignored, and
    Python keeps an inherited SIG_IGN, so a test's SIGINT would otherwise do nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# Yesterday's policy, for tests of what a halt does: three tries, then halt and wait
# for a person (the default retries for minutes and resumes by itself).
HALT_FAST = "[llm]\nattempts = 3\nbackoff_s = 0.05\nauto_resume = false\n"


@pytest.fixture
def upstream() -> Iterator[ScriptedServer]:
    """A scripted server for tests that drive the LLM client directly."""
    with ScriptedServer() as server:
        yield server


def client(tmp_path: Path, **providers: str) -> tuple[LLMClient, Store]:
    """An LLM client over these providers (name -> base URL), recording into a new store."""
    settings = Settings(
        home=tmp_path,
        providers={name: ProviderSettings(base_url=url) for name, url in providers.items()},
    )
    store = Store(settings.store_url)
    return LLMClient(settings, recorder=store), store


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[tuple[Workspace, ScriptedServer]]:
    """A workspace on a scripted server that takes 0.25 s per answer, so that a pause,
    a signal or a kill can land while a book is being written."""
    with ScriptedServer(delay_s=0.25) as server:
        settings = tmp_path / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n{HALT_FAST}')
        yield Workspace(tmp_path / "home", settings), server


@pytest.fixture
def workspace(tmp_path: Path, scripted: ScriptedServer) -> Workspace:
    """A workspace whose settings declare the scripted server as provider `scripted`."""
    settings = tmp_path / "bookwright.toml"
    settings.write_text(f'[providers.scripted]\nbase_url = "{scripted.base_url}"\n')
    return Workspace(tmp_path / "home", settings)


SMALL_BOOK: dict[str, Any] = {
    "premise": "A lighthouse keeper finds a message in a bottle that predicts a wreck.",
    "chapters": 2,
    "scenes_per_chapter": 2,
    "words_per_scene": 60,
    "characters": 2,
    "locations": 2,
    "seed": 5,
}


def book_args(**changes: Any) -> list[str]:
    """`write` options for the small test book, with fields changed (or left out: None)."""
    fields = {**SMALL_BOOK, **changes}
    args: list[str] = []
    for name, value in fields.items():
        if value is not None:
            args += [f"--{name.replace('_', '-')}", str(value)]
    return args


SMALL = book_args()
SCRIPTED_SPEC: dict[str, Any] = {**SMALL_BOOK, "model": "scripted:m"}  # for in-process writes


def scripted_settings(home: Path, server: ScriptedServer) -> Settings:
    """Settings for a home whose provider `scripted` is this scripted server."""
    return Settings(home=home, providers={"scripted": ProviderSettings(base_url=server.base_url)})


# The embedded model's book, shared by its tests: one chapter of one short scene, the seed
# pinned (a field the model cannot answer keeps its best answer, so the book completes
# whatever the model writes), no judge (each test is about durability, not quality).
EMBEDDED_BOOK = [
    *book_args(
        chapters=1, scenes_per_chapter=1, words_per_scene=50, characters=1, locations=1,
        seed=3, genre="mystery", temperature=0,
    ),
    "--no-judge",
]  # fmt: skip
# llama.cpp's output depends on its thread count: every run that must equal the reference
# uses one thread (the workers' tests too), which also leaves a core to the other tests.
ONE_THREAD = "[embedded]\nthreads = 1\n"


@dataclass
class EmbeddedReference:
    """EMBEDDED_BOOK written once, undisturbed, on the embedded model: what a killed,
    resumed or recovered run of the same book must equal."""

    ws: Workspace
    book_id: str
    manuscript: bytes
    requests: int


@pytest.fixture(scope="session")
def embedded_reference(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedReference:
    root = tmp_path_factory.mktemp("embedded-reference")
    (root / "bookwright.toml").write_text(ONE_THREAD)
    ws = Workspace(root / "home", root / "bookwright.toml")
    run = ws.run("write", *EMBEDDED_BOOK, "--book-id", "reference", timeout=900, process=True)
    assert run.code == 0, run.err
    requests = ws.run("status", "reference", "--json", process=True).json()["llm"]["requests_sent"]
    path = root / "reference.md"
    exported = ws.run("export", "reference", "--format", "md", "-o", str(path), process=True)
    assert exported.code == 0, exported.err
    return EmbeddedReference(ws, "reference", path.read_bytes(), requests)


def epubcheck_command() -> list[str]:
    """The command that runs epubcheck; skips the test, saying why, where it cannot run."""
    found = shutil.which("epubcheck")
    if found is None:
        pytest.skip("epubcheck is not installed (apt-get install epubcheck; `make test` does)")
    jar = Path(found).resolve()
    if jar.suffix == ".jar":  # Debian's /usr/bin/epubcheck is the jar itself, run via binfmt
        java = shutil.which("java")
        if java is None:
            pytest.skip("epubcheck needs java, which is not installed")
        return [java, "-jar", str(jar)]
    return [found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`bookwright serve` in a subprocess, on a free loopback port."""

    def __init__(self, ws: Workspace, *args: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = ws.command("serve", "--port", str(self.port), *args)
        if ws.settings is not None:
            cmd += ["--settings", str(ws.settings)]
        self.proc = subprocess.Popen(
            cmd,
            env=ws.env(**env),
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=interruptible,
        )
        while True:
            assert self.proc.poll() is None, self.proc.communicate()[1]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)

    def stop(self, sig: int = signal.SIGINT) -> int:
        self.proc.send_signal(sig)
        self.proc.communicate(timeout=180)
        return self.proc.returncode


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`make test` runs `-n 4 --dist loadgroup`: each test on its own, except the embedded
    model's tests, which go together to one worker, first (they are the longest, they
    share one reference book, and two llama.cpp servers side by side halve each other).

    xdist 3.8 marks a group by renaming the test's node id, which pytest 9.2 no longer
    allows; so the group is read from the test's name, which a test marked `embedded` must
    carry (checked at collection).
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class EmbeddedTogether(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            name = nodeid.rsplit("::", 1)[-1]
            return "embedded" if "embedded" in name else super()._split_scope(nodeid)

    return EmbeddedTogether(config, log)


# Fixtures and modules whose tests start processes: `make check` (-m "not process") skips
# them. (A `workspace` runs its commands in process; a test that starts one in a process
# anyway is skipped there when it does.)
PROCESS_FIXTURES = {"slow", "cluster"}
PROCESS_MODULES = {
    "test_web_browser",
    "test_web_schemathesis",
    "test_postgres_workers",
    "test_control",
    "test_disk",
    "test_job_contract",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks the process tests; puts the embedded model's tests first (see the scheduler
    above), after checking that exactly they have `embedded` in their names."""
    items.sort(key=lambda item: item.get_closest_marker("embedded") is None)  # stable
    for item in items:
        if (item.get_closest_marker("embedded") is not None) != ("embedded" in item.name):
            raise pytest.UsageError(
                f"{item.nodeid}: a test on the embedded model (pytest.mark.embedded) and "
                "only such a test has `embedded` in its name (the xdist scheduler groups by it)"
            )
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""  # type: ignore[attr-defined]
        uses = set(getattr(item, "fixturenames", ()))
        if (
            uses & PROCESS_FIXTURES
            or module in PROCESS_MODULES
            or item.get_closest_marker("embedded")
        ):
            item.add_marker(pytest.mark.process)


def app_client(ws: Workspace, monkeypatch: pytest.MonkeyPatch, **web: int) -> TestClient:
    """The dashboard's app in process, on the workspace (its real queue and writers)."""
    from fastapi.testclient import TestClient

    from bookwright.settings import load_settings
    from bookwright.web.app import create_app

    monkeypatch.setenv("BOOKWRIGHT_HOME", str(ws.home))
    assert ws.settings is not None
    if web:
        lines = "".join(f"{k} = {v}\n" for k, v in web.items())
        ws.settings.write_text(ws.settings.read_text() + f"[web]\n{lines}")
    settings = load_settings(ws.settings)
    return TestClient(create_app(settings, settings_file=ws.settings), base_url="http://localhost")


def follow(client: TestClient | httpx.Client, book: str) -> list[dict]:
    """Read the book's event stream to its `end`; return the status objects it carried."""
    reports: list[dict] = []
    event = None
    with client.stream("GET", f"/api/books/{book}/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "status":
                reports.append(json.loads(line[len("data: ") :]))
            elif line.startswith("data: ") and event == "end":
                assert json.loads(line[len("data: ") :])["status"] == reports[-1]["status"]
                return reports
    raise AssertionError("the event stream closed without an `end` event")


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with PgCluster() as pg:
        yield pg


def write_in_process(settings: Settings, book_id: str | None = None, *, create: bool = True):  # type: ignore[no-untyped-def]
    """Write (or resume) a book in this process with DBOS, then release DBOS."""
    from dbos import DBOS

    from bookwright.engine.books import Books
    from bookwright.engine.runner import run_book
    from bookwright.model import BookSpec

    books = Books(settings)
    if create:
        book_id = books.create(BookSpec.model_validate(SCRIPTED_SPEC), book_id)
    assert book_id is not None
    try:
        return run_book(settings, book_id, resume=not create)
    finally:
        DBOS.destroy(workflow_completion_timeout_sec=0)
