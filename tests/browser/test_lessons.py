"""Every lesson, in JupyterLab in headless Chromium, the way a learner uses it.

For each `lessons/NN_*.ipynb`: open it in a fresh workspace (no dialog, no notification may
appear), clear and Run All, wait for the kernel to go idle, then check that no cell shows an
error, every figure is an image on the page, every widget is rendered; finally operate every
kind of widget control the lesson has (slider, dropdown, checkbox, toggle, text box, ...) and
check that the output it drives changes. Screenshots go to tests/browser/results/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .lab import REPO, JupyterLab, check_notebook, count_stored_images

LESSONS = sorted((REPO / "lessons").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_lesson_works_in_jupyterlab(
    lesson: Path, jupyterlab: JupyterLab, page: Any, results_dir: Path
) -> None:
    report = check_notebook(
        page,
        jupyterlab,
        f"lessons/{lesson.name}",
        results_dir=results_dir,
        stored_images=count_stored_images(lesson),
        accessibility=True,
    )
    print(report.summary())
    if report.problems:
        pytest.fail(
            f"lesson {lesson.stem} does not work in JupyterLab as a learner uses it: {report.headline()} "
            f"(screenshot: tests/browser/results/{lesson.stem}-failure.png)\n{report.summary()}",
            pytrace=False,
        )
