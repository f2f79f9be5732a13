"""The Korean lessons (lessons/ko/) in JupyterLab in headless Chromium, as test_lessons.py does the English.

Every `make test` run checks a subset (SUBSET: the start lesson and lesson 02, with figures, widgets
and exercises); `-m browser_ko_all` (or `make test-browser-ko`) checks every Korean lesson. Each
lesson is opened in a fresh workspace, cleared and run, its errors, figures and widgets checked and
its controls operated, exactly as the English lessons are (the helpers of lab.py). Screenshots go to
tests/browser/results/ko/.

Korean must render as Korean, not as empty boxes. A learner's browser draws it with the system's
Korean font; this machine (like many CI images) has none, so the test browser gets the NanumGothic
font that the course already depends on (koreanize-matplotlib, for the figures) twice: as a system
font through fontconfig (conftest.py: form controls such as a dropdown's options need it) and as a
web font for Hangul only in the families of JupyterLab's font stacks; a check measures that Hangul
glyphs are drawn as distinct shapes.
"""

from __future__ import annotations

import functools
import importlib.util
import io
from pathlib import Path
from typing import Any

import pytest

from .lab import REPO, JupyterLab, check_notebook, count_stored_images

KO_LESSONS = sorted((REPO / "lessons" / "ko").glob("[0-9][0-9]_*.ipynb"))
# Checked on every run: how the course works (widgets, exercises, progress) and a lesson with
# figures, sliders and checked exercises. The rest: -m browser_ko_all / make test-browser-ko.
SUBSET = ("00_start_here", "02_scaled_dot_product")
ALL_MARK = "browser_ko_all"

pytestmark = pytest.mark.browser

HANGUL_RANGE = "U+1100-11FF, U+3130-318F, U+AC00-D7A3"
FONT_URL = "https://korean-font.test/NanumGothic.ttf"  # answered by page.route, never fetched
# Families in JupyterLab's font stacks that Linux does not have: Hangul falls back to them.
FONT_FAMILIES = ("Segoe UI", "consolas")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The subset on every run; every Korean lesson when -m names browser_ko_all."""
    if "ko_lesson" not in metafunc.fixturenames:
        return
    everything = ALL_MARK in (metafunc.config.option.markexpr or "")
    lessons = KO_LESSONS if everything else [p for p in KO_LESSONS if p.stem in SUBSET]
    marks = [pytest.mark.browser_ko_all] if everything else []
    metafunc.parametrize("ko_lesson", [pytest.param(p, id=f"ko-{p.stem}", marks=marks) for p in lessons])


def korean_font() -> Path:
    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("koreanize-matplotlib (the course's Korean font) is not installed", pytrace=False)
    font = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NanumGothic.ttf"
    assert font.is_file(), f"no {font}"
    return font


@functools.cache
def web_font() -> bytes:
    """NanumGothic as a browser accepts it: without the TSI* tables (hinting sources) that Chromium's
    font sanitizer rejects ("OTS parsing error: TSI3: zero-length table")."""
    from fontTools.ttLib import TTFont

    font = TTFont(korean_font())
    for tag in [tag for tag in font.keys() if tag.startswith("TSI")]:
        del font[tag]
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def serve_korean_font(page: Any) -> None:
    """Give the page NanumGothic for Hangul (as a system Korean font would)."""
    font = web_font()
    headers = {"Access-Control-Allow-Origin": "*"}  # fonts are fetched with CORS
    page.route(
        FONT_URL, lambda route: route.fulfill(status=200, body=font, content_type="font/ttf", headers=headers)
    )
    faces = "".join(
        f"@font-face {{ font-family: '{family}'; src: url('{FONT_URL}'); unicode-range: {HANGUL_RANGE}; }}"
        for family in FONT_FAMILIES
    )
    page.add_init_script(
        "document.addEventListener('DOMContentLoaded', () => {"
        f" const s = document.createElement('style'); s.textContent = {faces!r};"
        " document.head.appendChild(s); });"
    )


JS_HANGUL_DRAWN = r"""async () => {
    const cell = document.querySelector('.jp-MarkdownOutput') || document.body;
    const family = getComputedStyle(cell).fontFamily;
    await document.fonts.load(`24px ${family}`, '한국어');
    const draw = (ch) => {
        const c = document.createElement('canvas'); c.width = 32; c.height = 32;
        const g = c.getContext('2d'); g.font = `24px ${family}`; g.fillText(ch, 2, 26);
        return Array.from(g.getImageData(0, 0, 32, 32).data).join(',');
    };
    const glyphs = ['가', '한', '국', '어', '힣'].map(draw);
    return {family, distinct: new Set(glyphs).size, box: draw('\uE000') === glyphs[0]};
}"""


def test_korean_lesson_works_in_jupyterlab(
    ko_lesson: Path, jupyterlab: JupyterLab, page: Any, results_dir: Path
) -> None:
    out = results_dir / "ko"
    out.mkdir(parents=True, exist_ok=True)
    serve_korean_font(page)
    report = check_notebook(
        page,
        jupyterlab,
        f"lessons/ko/{ko_lesson.name}",
        results_dir=out,
        stored_images=count_stored_images(ko_lesson),
        accessibility=True,  # as test_lessons.py: axe audit, keyboard-only controls, dark theme
    )
    print(report.summary())
    drawn = page.evaluate(JS_HANGUL_DRAWN)  # the page still shows the lesson
    print(f"  Hangul drawn with {drawn['family']}: {drawn['distinct']} distinct glyphs of 5")
    failures = []
    if report.problems:
        failures.append(
            f"Korean lesson {ko_lesson.stem} does not work in JupyterLab as a learner uses it: "
            f"{report.headline()} "
            f"(screenshot: tests/browser/results/ko/{ko_lesson.stem}-failure.png)\n{report.summary()}"
        )
    if drawn["distinct"] != 5 or drawn["box"]:
        failures.append(
            f"Hangul is drawn as boxes in {ko_lesson.stem}: {drawn}; "
            f"see tests/browser/results/ko/{ko_lesson.stem}.png"
        )
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


def test_the_subset_is_there() -> None:
    """The lessons checked on every run exist (a renamed lesson must not silently drop out)."""
    missing = [name for name in SUBSET if not (REPO / "lessons" / "ko" / f"{name}.ipynb").exists()]
    assert not missing, f"Korean lessons of the every-run subset are missing: {missing}"
