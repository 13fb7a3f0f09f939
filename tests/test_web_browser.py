"""The dashboard in a real browser (Playwright driving Debian's Chromium) on a scripted
model that answers slowly (the embedded model's own books are tested elsewhere; here the
browser is the point): start a book that halts at the outline, watch its progress move
without a reload, retitle a chapter on the review page, approve, wait for the end,
download the EPUB."""

from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from tests.conftest import Served, Workspace
from tests.scripted_server import ScriptedServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TITLE_INPUT = """input[data-path='["chapters", 0, "title"]']"""
NEW_TITLE = "The Bottle Speaks"
# Records every value the live progress display shows, to prove it moved without a reload.
WATCH_PROGRESS = """() => {
  window.seen = [document.getElementById('percent').textContent];
  const percent = document.getElementById('percent');
  new MutationObserver(() => window.seen.push(percent.textContent))
    .observe(percent, {childList: true, characterData: true, subtree: true});
}"""
# The book stopped in one of these states, and nothing is queued or writing it any more.
STOPPED_IN = (
    "(states) => states.includes(document.getElementById('status').textContent)"
    " && document.getElementById('running').hidden"
)

pytestmark = [
    pytest.mark.timeout(900),  # a deadline for a slow machine
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Debian's chromium is not installed (`make test` installs it as root: "
        "apt-get install chromium)",
    ),
]


def wait_for(page, predicate: str, arg: object = None, timeout_s: float = 120) -> None:  # type: ignore[no-untyped-def]
    """Poll `predicate` (a JavaScript function of `arg`) until it is truthy.

    Playwright's `wait_for_function` evaluates its predicate with `eval` inside the page,
    which the dashboard's Content-Security-Policy (no 'unsafe-eval') rightly refuses;
    `page.evaluate` runs through the DevTools protocol, which the policy does not cover.
    """
    from playwright.sync_api import Error

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if page.evaluate(predicate, arg):
                return
        except Error as error:  # the page navigated while the predicate ran: ask again
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s} s: {predicate}")
        time.sleep(0.25)


def start_book(page, url: str, seed: int) -> None:  # type: ignore[no-untyped-def]
    page.goto(url)
    page.fill("textarea[name=premise]", "A lighthouse keeper finds a message in a bottle.")
    page.fill("input[name=genre]", "mystery")
    page.fill("input[name=book_id]", f"keeper-{seed}")
    for name, value in [
        ("chapters", 1),
        ("scenes_per_chapter", 1),
        ("words_per_scene", 50),
        ("characters", 1),
        ("locations", 1),
        ("seed", seed),
        ("temperature", 0),
        ("model", "scripted:m"),
    ]:
        page.fill(f"input[name={name}]", str(value))
    page.check("input[name=pause_at][value=outline]")
    page.click("button[type=submit]")
    wait_for(
        page,
        "() => location.pathname.startsWith('/books/') || document.getElementById('form-error')"
        "?.textContent",
    )
    assert page.url.endswith(f"/books/keeper-{seed}"), page.inner_text("#form-error")


def wait_until_stopped(page) -> str:  # type: ignore[no-untyped-def]
    stopped = ["completed", "failed", "halted", "paused"]
    wait_for(page, STOPPED_IN, stopped, timeout_s=900)
    return str(page.inner_text("#status"))


def test_dashboard_review_approve_and_download(tmp_path: Path) -> None:
    with ScriptedServer(delay_s=0.5) as server:  # slow enough to watch it move
        settings = tmp_path / "bookwright.toml"
        settings.write_text(f'[providers.scripted]\nbase_url = "{server.base_url}"\n')
        served = Served(Workspace(tmp_path / "home", settings))
        try:
            drive_the_dashboard(served, tmp_path)
        finally:
            assert served.stop() == 0


def drive_the_dashboard(served: Served, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True)
        seed = 3
        start_book(page, served.url, seed)
        page.evaluate(WATCH_PROGRESS)
        page.evaluate("window.sameDocument = true")
        status = wait_until_stopped(page)
        assert status == "halted", page.inner_text("#error")
        seen = [float(v) for v in page.evaluate("window.seen")]
        assert len(set(seen)) >= 2 and seen == sorted(seen), seen  # it moved, live
        assert page.evaluate("window.sameDocument")  # ...without reloading the page
        assert page.is_visible("#timeline li.halted[data-stage=outline]")

        page.click("#review")
        page.wait_for_url(f"**/books/keeper-{seed}/review")
        page.fill(TITLE_INPUT, NEW_TITLE)
        page.click("#approve")
        page.wait_for_url(f"**/books/keeper-{seed}")
        status = wait_until_stopped(page)
        assert status == "completed", page.inner_text("#error")

        assert page.inner_text("#chapters tr:first-child td:nth-child(2)") == NEW_TITLE
        assert page.inner_text("#percent") == "100"
        page.screenshot(path=str(tmp_path / "book-page.png"), full_page=True)
        if os.environ.get("BOOKWRIGHT_SCREENSHOTS"):  # to refresh docs/screenshots
            page.screenshot(
                path=str(Path(os.environ["BOOKWRIGHT_SCREENSHOTS"]) / "book-page.png"),
                full_page=True,
            )

        with page.expect_download() as download:
            page.click("a[href$='/export/epub']")
        epub = tmp_path / download.value.suggested_filename
        download.value.save_as(epub)
        browser.close()
    assert epub.name == f"keeper-{seed}.epub"
    with zipfile.ZipFile(epub) as archive:
        assert archive.read("mimetype") == b"application/epub+zip"
        text = " ".join(archive.read(n).decode() for n in archive.namelist() if n.endswith("html"))
    assert NEW_TITLE in text
    assert (tmp_path / "book-page.png").stat().st_size > 10_000
