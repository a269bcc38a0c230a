"""Headless Debian chromium driven by Playwright (its own browser download is unreachable).

``chromium_page()`` yields a page and fails the test on any console error or uncaught page
error; it skips when /usr/bin/chromium is missing (``make setup`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"  # gitignored


@contextmanager
def chromium_page(**context_options: Any) -> Iterator[Any]:
    """A fresh page in headless chromium; raises AssertionError on console errors at exit."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=["--no-sandbox"])
        try:
            context = browser.new_context(**context_options)
            page = context.new_page()
            page.on("console", lambda m: errors.append(f"console: {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            yield page
            context.close()
        finally:
            browser.close()
    assert not errors, "\n".join(errors)
