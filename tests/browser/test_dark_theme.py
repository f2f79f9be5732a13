"""Dark theme: every figure and check-result box stays legible under "JupyterLab Dark".

The per-lesson run (`test_lessons.py`) does the dark pass of each lesson in the page it has just run:
after the widgets have been moved, it switches JupyterLab to "JupyterLab Dark" as a learner does
(Settings > Theme; JupyterLab writes the setting into the test server's throw-away settings dir),
measures the contrast of every check-result box and widget label/readout (WCAG AA, at least 4.5:1),
reads every figure's pixels (no transparent background), takes `results/<lesson>-dark.png` and
switches back. That needs no page load and no kernel of its own; a
separate pass that opened every stored lesson again cost 25 to 80 s per lesson on this shared box.

This module holds what that pass cannot see, and the test of the checks themselves:
- every figure STORED in a lesson (including the static image of a widget, shown where no kernel
  runs: GitHub, nbviewer, an HTML export) is decoded here and must be opaque;
- a throw-away notebook with a dark-on-dark box, a see-through figure and the course's own result
  boxes must be judged right under the dark theme.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest

from . import a11y
from .lab import DARK_THEME, LIGHT_THEME, REPO, JupyterLab, NotebookChecker, NotebookReport

LESSONS = sorted((REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def transparent_share(png_b64: str) -> float:
    """Share of the pixels of a base64 PNG whose alpha is below 250 (0 for a PNG without alpha)."""
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(png_b64)))
    if "A" not in image.getbands() and "transparency" not in image.info:
        return 0.0
    alpha = image.convert("RGBA").getchannel("A")
    histogram = alpha.histogram()
    return sum(histogram[:250]) / (image.width * image.height)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_stored_figures_are_opaque(lesson: Path) -> None:
    """No stored figure lets a dark page show through it (no browser needed: the PNGs are decoded)."""
    nb = json.loads(lesson.read_text())
    bad = []
    for index, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                share = transparent_share(png if isinstance(png, str) else "".join(png))
                if share > a11y.MAX_TRANSPARENT_SHARE:
                    bad.append(f"cell {index + 1}: {100 * share:.0f} % of the figure is transparent")
    assert not bad, f"{lesson.name}: figures drawn on a transparent background:\n" + "\n".join(bad)


def _png(width: int, height: int, rgba: tuple[int, int, int, int]) -> str:
    """A one-colour PNG, base64: enough to test the transparency check without matplotlib."""
    row = b"\x00" + bytes(rgba) * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 6, 0, 0, 0])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


@pytest.mark.browser
def test_dark_checks_catch_a_dark_on_dark_box_and_a_see_through_figure(
    jupyterlab: JupyterLab, page: Any, results_dir: Path
) -> None:
    """Stored outputs, judged under the dark theme: two bad ones caught, ours and an opaque one pass."""
    from attn_lib.exercises.result import CheckResult

    bad_box = (
        '<div class="attn-check attn-check-fail" style="background: var(--jp-layout-color2); color: #202124">'
        "<b>✗ bad_box: not right yet</b></div>"
    )
    ours = [
        CheckResult(True, "all `3` inputs match *exactly*", "ours_pass"),
        CheckResult(False, "weights do not sum to 1: did you softmax over `dim=0`?", "ours_fail"),
        CheckResult(False, "replace `...` by your code", "ours_todo", status="todo"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    nb.cells = [
        nbformat.v4.new_code_cell("bad_box()", outputs=[_html_output(bad_box)]),
        nbformat.v4.new_code_cell("see_through()", outputs=[_png_output(_png(40, 30, (0, 0, 0, 0)))]),
        nbformat.v4.new_code_cell("opaque()", outputs=[_png_output(_png(40, 30, (255, 255, 255, 255)))]),
    ] + [
        nbformat.v4.new_code_cell(f"ours_{r.status}()", outputs=[_html_output(r._repr_html_())]) for r in ours
    ]
    nbformat.write(nb, jupyterlab.root_dir / "scratch" / "selftest_dark.ipynb")
    report = NotebookReport("scratch/selftest_dark.ipynb")
    checker = NotebookChecker(page, jupyterlab, "scratch/selftest_dark.ipynb", report)
    measured: dict[str, list] = {}
    try:
        checker.open()
        for theme in (LIGHT_THEME, DARK_THEME):
            checker.set_theme(theme)
            measured[theme] = checker.check_contrast()
            checker.check_figures_opaque()
        checker.screenshot(results_dir / "selftest_dark-dark.png", full=False)
    finally:
        checker.set_theme(LIGHT_THEME)
        jupyterlab.shutdown_sessions("scratch/selftest_dark.ipynb")
    text = report.summary() + "\n" + json.dumps(measured, indent=1, ensure_ascii=False)
    print(text)
    problems = [str(p) for p in report.problems]
    assert any("bad_box" in p and DARK_THEME in p for p in problems), text
    assert any(p.startswith("cell 2/6") and "transparent" in p and DARK_THEME in p for p in problems), text
    assert not any(p.startswith(("cell 3/6", "cell 4/6", "cell 5/6", "cell 6/6")) for p in problems), text
    ours_dark = [f for f in measured[DARK_THEME] if f["cell"] >= 3]
    assert ours_dark and all(f["ratio"] >= a11y.MIN_CONTRAST for f in ours_dark), ours_dark
    # the boxes follow the theme: dark page, dark box, light text
    dark = [
        max(int(f["bg"][i : i + 2], 16) for i in (1, 3, 5)) < 0x50 for f in ours_dark if f["tag"] != "code"
    ]
    assert dark and all(dark), ours_dark


def _html_output(html: str) -> Any:
    return nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "<box>"})


def _png_output(b64: str) -> Any:
    return nbformat.v4.new_output("display_data", data={"image/png": b64, "text/plain": "<Figure>"})
