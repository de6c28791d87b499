"""Debian's Chromium driven by Playwright (the live site is tests/conftest.py's live_server)."""
import os

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture
def browser():
    if not os.path.exists(CHROMIUM):
        from tests.conftest import missing_service

        missing_service(f"Chromium is not installed at {CHROMIUM} (run `make browser` as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
