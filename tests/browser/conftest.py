"""Fixtures of the browser tests: one JupyterLab server and one headless Chromium for the session.

The lessons are copied to a temporary root, so running and saving them in the browser never
touches the repository. Without a Chromium the tests skip with a hint, or fail when CI=true.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import CHROMIUM_ARGS, HOW_TO_GET_CHROMIUM, REPO, RESULTS, JupyterLab, find_chromium, running_in_ci


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        why = HOW_TO_GET_CHROMIUM
        if os.environ.get("CHROMIUM"):
            why = f"CHROMIUM={os.environ['CHROMIUM']} is not an executable file; {why}"
        if running_in_ci():
            pytest.fail(f"CI=true but {why}", pytrace=False)
        pytest.skip(why)
    return path


@pytest.fixture(scope="session")
def results_dir() -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throw-away copy of the lessons folder (and the jupytext config): the root JupyterLab serves.

    Copies keep their modification times, so jupytext pairs .py and .ipynb as in the repository.
    """
    root = tmp_path_factory.mktemp("lab-root")
    # jupytext's server extension reads its config from the root down; without pyproject.toml's
    # [tool.jupytext] it would refuse paired lessons whose .ipynb is newer than the .py.
    for config in ("pyproject.toml", "jupytext.toml", ".jupytext.toml", ".jupytext"):
        if (REPO / config).is_file():
            shutil.copy2(REPO / config, root / config)
    shutil.copytree(
        REPO / "lessons",
        root / "lessons",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    (root / "scratch").mkdir()
    return root


@pytest.fixture(scope="session")
def jupyterlab(
    chromium_path: str, lab_root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    lab = JupyterLab(lab_root, tmp_path_factory.mktemp("lab-state"))
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def browser_context(browser: Any) -> Iterator[Any]:
    """A fresh profile (Playwright's new context) shared by the tests: one learner, many lessons."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    try:
        yield context
    finally:
        context.close()


@pytest.fixture
def page(browser_context: Any) -> Iterator[Any]:
    page = browser_context.new_page()
    try:
        yield page
    finally:
        page.close()
