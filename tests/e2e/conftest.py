"""Debian's Chromium driven by Playwright (the live site is tests/conftest.py's live_server)."""
import os
import time

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


# Reports every Content-Security-Policy violation to the console, where WatchedBrowser sees it.
CSP_REPORTER = """document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));"""


class WatchedBrowser:
    """The Playwright browser; every page opened through it is watched for CSP violations."""

    def __init__(self, browser):
        self._browser = browser
        self.csp_violations: list[str] = []

    def new_context(self, **kwargs):
        context = self._browser.new_context(**kwargs)
        context.add_init_script(CSP_REPORTER)
        context.on("console", self._console)
        return context

    def new_page(self, **kwargs):
        return self.new_context(**kwargs).new_page()

    def _console(self, message):
        if message.text.startswith("CSP violation") or "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture
def browser():
    """Chromium; a test fails if any of its pages broke the site's Content-Security-Policy."""
    if not os.path.exists(CHROMIUM):
        from tests.conftest import missing_service

        missing_service(f"Chromium is not installed at {CHROMIUM} (run `make browser` as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        watched = WatchedBrowser(p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS))
        yield watched
        watched.close()
        assert not watched.csp_violations, watched.csp_violations


def wait_for(page, expression: str, timeout: float = 30000) -> None:
    """Wait until a JavaScript expression is true, as ``page.wait_for_function`` does. That one
    runs its expression through the page's own eval, which the site's Content-Security-Policy
    forbids; ``page.evaluate`` goes through the debugger protocol instead."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout:.0f} ms: {expression}")
        page.wait_for_timeout(50)


def sign_up(page, base, username):
    """A new account through the sign-up page; the page is then signed in."""
    page.goto(f"{base}/signup")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "maple-letter-42")
    page.fill("input[name=password2]", "maple-letter-42")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
