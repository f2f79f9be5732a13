"""pytest settings for every run in this repository (tests/, lessons/ under nbval, the browser suite).

Progress: the checkers record into ``$ATTN_COURSE_DATA_DIR`` (``attn_lib.progress``). The tests
never touch the user's own directory, and every notebook starts from an empty record: the tests
in ``tests/`` (and the kernels or servers they start) record into a throw-away directory of their
own, and each lesson notebook nbval runs gets a fresh subdirectory of ``$ATTN_COURSE_DATA_DIR``
as ``make`` sets it (or of another throw-away directory when it is not set). So the stored
progress table of lesson 00 (English and Korean), the empty one, holds in any order of the run.

This lives at the top of the repository, not in ``tests/conftest.py``, because ``make test`` runs
the lessons on their own (``pytest lessons --nbval``), and pytest loads a conftest only for the
directories it collects and their parents.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_DATA_DIR_ENV = "ATTN_COURSE_DATA_DIR"


def _throw_away_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


if not os.environ.get(_DATA_DIR_ENV):  # a plain `pytest tests lessons`, without make
    os.environ[_DATA_DIR_ENV] = _throw_away_dir("attn-course-lessons-")
_LESSONS_DATA_DIR = os.environ[_DATA_DIR_ENV]
_TESTS_DATA_DIR = _throw_away_dir("attn-course-tests-")
_REPO = Path(__file__).resolve().parent
_TESTS_ROOT = _REPO / "tests"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Every item (this hook is not limited to tests/): its data directory from setup to teardown.

    nbval starts a notebook's kernel while its first cell is set up, so the kernel inherits the
    notebook's own directory.
    """
    path = Path(item.path).resolve()
    if path.is_relative_to(_TESTS_ROOT):
        os.environ[_DATA_DIR_ENV] = _TESTS_DATA_DIR
    else:
        name = str(path.relative_to(_REPO) if path.is_relative_to(_REPO) else path.name)
        os.environ[_DATA_DIR_ENV] = str(Path(_LESSONS_DATA_DIR) / name.replace(os.sep, "__"))
    try:
        return (yield)
    finally:
        os.environ[_DATA_DIR_ENV] = _LESSONS_DATA_DIR
