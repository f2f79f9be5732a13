"""Fixtures of the browser tests: one JupyterLab server and one headless Chromium for the session.

The lessons are copied to a temporary root, so running and saving them in the browser never
touches the repository. Without a Chromium the tests skip with a hint, or fail when CI=true.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

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


def korean_system_font(config_dir: Path) -> dict[str, str]:
    """Environment that gives Chromium the course's Korean font as a *system* font (fontconfig).

    A Korean learner's machine has a Korean system font; this one (like many CI images) has none,
    and Chromium would draw Hangul as empty boxes wherever a page does not bring its own font:
    form controls (a dropdown's options), the fixed-width output. The config includes the system's
    own fonts and adds the directory of NanumGothic, installed with koreanize-matplotlib (the font
    the figures use), so Chromium falls back to it for Hangul as it would to a system Korean font.
    """
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return {}
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    if not (fonts / "NanumGothic.ttf").is_file():
        return {}
    conf = config_dir / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
        f"  <dir>{escape(str(fonts))}</dir>\n"
        f"  <cachedir>{escape(str(config_dir / 'cache'))}</cachedir>\n"
        "</fontconfig>\n"
    )
    return {"FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="session")
def browser(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    env = {**os.environ, **korean_system_font(tmp_path_factory.mktemp("fontconfig"))}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS, env=env
        )
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
