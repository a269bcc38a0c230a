"""Real headless Chromium for page tests: Debian's ``chromium`` driven by Playwright for Python
(Playwright's own browser download is unreachable here, so its ``executable_path``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("KANJO_CHROMIUM", "/usr/bin/chromium")
# screenshots the tests keep (git-ignored, under runs/)
ARTIFACTS = Path(__file__).resolve().parents[1] / "runs" / "test-artifacts"
LOCAL = ("file:", "data:", "about:", "blob:", "http://127.0.0.1", "http://localhost")


@contextmanager
def chromium_page(**context_options: Any) -> Iterator[Any]:
    """A Playwright page in headless Chromium that fails the test on any console error, page
    error or request leaving the machine (pages must be self-contained; a test server on the
    loopback address is local). Skips loudly where Chromium or Playwright is missing, except
    under CI, where it fails. ``context_options`` go to ``browser.new_context``."""
    missing = None
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        missing = f"no Chromium at {CHROMIUM} (make setup installs Debian's chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(f"BROWSER TEST SKIPPED: {missing}")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            context = browser.new_context(**{"viewport": {"width": 1200, "height": 900},
                                             **context_options})
            page = context.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))

            def local_only(route: Any) -> None:
                if route.request.url.startswith(LOCAL):
                    route.continue_()
                else:
                    problems.append(f"network request: {route.request.url}")
                    route.abort()

            page.route("**/*", local_only)
            yield page
            context.close()
        finally:
            browser.close()
    assert not problems, problems
