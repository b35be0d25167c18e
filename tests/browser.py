"""Headless Chromium (Debian's package) driven by playwright, for the HTML report tests.

No browser is downloaded (`playwright install` is never run): playwright launches /usr/bin/chromium
with a fresh profile and no network features. `Browser.open(path)` loads a page, waits until its
script says it is ready, and returns the console errors and page errors it saw.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str | None:
    found = os.environ.get("ARCHSIM_CHROMIUM") or next((p for p in CHROMIUM_CANDIDATES if Path(p).exists()), None)
    return found or shutil.which("chromium")


def why_unavailable() -> str | None:
    """None when the browser tests can run; else the reason to skip them."""
    if chromium_path() is None:
        return ("no Chromium at /usr/bin/chromium (Debian: apt-get install -y chromium chromium-driver; "
                ".ci/run installs it)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


class Browser:
    def __init__(self):
        from playwright.sync_api import sync_playwright

        self._profile = tempfile.mkdtemp(prefix="archsim-chromium-")
        self._pw = sync_playwright().start()
        self.context = self._pw.chromium.launch_persistent_context(
            self._profile, executable_path=chromium_path(), headless=True, args=ARGS, viewport=DESKTOP,
            offline=True)

        # One tab for every page: a new tab costs a renderer process (seconds on a busy machine), while
        # navigating the same tab from file to file reuses it.
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))

    def open(self, path: Path, viewport: dict = DESKTOP, timeout_ms: int = 20000):
        """(page, errors): the page loaded from `path` with its plots drawn, and every console error,
        page error and failed request seen on the way."""
        self.errors = []
        self.page.set_viewport_size(viewport)
        self.page.goto(Path(path).resolve().as_uri())
        self.page.wait_for_function("document.documentElement.getAttribute('data-ready') === '1'",
                                    timeout=timeout_ms, polling=50)
        return self.page, self.errors

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self._pw.stop()
            shutil.rmtree(self._profile, ignore_errors=True)
