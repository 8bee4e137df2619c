"""Fixtures of the browser tests: one live server and one Chromium for the whole session, a
fresh browser context for each test.

Chromium is Debian's (/usr/bin/chromium), driven by Playwright's Python package; axe-core
comes from npm (`npm ci`). Without them the tests skip locally, with the reason, and fail in
CI (`need()`). They run with the SQLite run of the suite (`--database=sqlite`): the database
is not what they test, so the PostgreSQL run leaves them out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from support.app import need

from .harness import AXE, CHROMIUM, CHROMIUM_FLAGS, Backstage, LiveServer, start_server
from .weight import WEIGHTS, weight_summary, weight_table

HERE = Path(__file__).resolve().parent
NewContext = Callable[..., Any]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--database") != "postgresql":
        return
    browser_tests = [item for item in items if HERE in Path(str(item.path)).parents]
    if browser_tests:
        config.hook.pytest_deselected(items=browser_tests)
        items[:] = [item for item in items if item not in browser_tests]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The page weights: every page with `make weight` (WEIGHT_TABLE=1), else the heaviest."""
    if WEIGHTS:
        terminalreporter.write_sep("-", "page weight")
        full = os.environ.get("WEIGHT_TABLE") == "1"
        terminalreporter.write_line(weight_table(WEIGHTS) if full else weight_summary(WEIGHTS))


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    if not CHROMIUM.exists():
        need(f"Chromium is not at {CHROMIUM}: apt-get install chromium chromium-driver")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need("Playwright's Python package is not installed: make install")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    chromium = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def axe_script() -> Path:
    if not AXE.exists():
        need(f"axe-core is not installed ({AXE}): run `npm ci` (make install does)")
    return AXE


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(tmp_path_factory.mktemp("live"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def backstage(live_server: LiveServer) -> Backstage:
    return Backstage(live_server)


@pytest.fixture
def new_context(browser: Any, live_server: LiveServer) -> Iterator[NewContext]:
    """Makes fresh browser contexts (cookies, cache and storage of their own); all are closed
    when the test ends. A step that waits a minute for a page or an element fails (a real wait
    is a few seconds on the slowest machine here); pytest-timeout ends a test that hangs."""
    made: list[Any] = []

    def _new_context(
        locale: str = "en",
        *,
        javascript: bool = True,
        width: int = 320,
        height: int = 640,
        axe: Path | None = None,
    ) -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            java_script_enabled=javascript,
            viewport={"width": width, "height": height},
        )
        context.set_default_timeout(60_000)
        context.set_default_navigation_timeout(60_000)
        if axe is not None:
            context.add_init_script(path=str(axe))
        made.append(context)
        return context

    yield _new_context
    for context in made:
        context.close()


@pytest.fixture(scope="session")
def screenshot_folder() -> Path:
    folder = HERE.parents[1] / "screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    return folder
