"""Shared test settings: hypothesis draws the same examples on every run and every machine.

``derandomize=True`` makes the property-based tests (``tests/test_fuzz.py`` and the
``@given`` tests elsewhere) deterministic in CI: a failure on one machine is a failure on
every machine, and re-running reproduces it. ``HYPOTHESIS_PROFILE=explore`` draws fresh
random examples instead, to search for new failures locally.

Progress: the checkers record into ``$ATTN_COURSE_DATA_DIR`` (``attn_lib.progress``). The tests
never touch the user's own directory: the tests in ``tests/`` (and the kernels or servers they
start) record into a throw-away directory of their own, and the lesson notebooks nbval runs
record into ``$ATTN_COURSE_DATA_DIR`` as ``make`` sets it (a fresh empty one), or into another
throw-away directory when it is not set. So lesson 00's stored table, the empty one, holds even
when the library tests have run checkers before it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

_DATA_DIR_ENV = "ATTN_COURSE_DATA_DIR"


def _throw_away_dir(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


if not os.environ.get(_DATA_DIR_ENV):  # a plain `pytest tests lessons`, without make
    os.environ[_DATA_DIR_ENV] = _throw_away_dir("attn-course-lessons-")
_LESSONS_DATA_DIR = os.environ[_DATA_DIR_ENV]
_TESTS_DATA_DIR = _throw_away_dir("attn-course-tests-")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Items under tests/ only (a conftest's hooks): their own directory from setup to teardown."""
    os.environ[_DATA_DIR_ENV] = _TESTS_DATA_DIR
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    finally:
        os.environ[_DATA_DIR_ENV] = _LESSONS_DATA_DIR  # what the lesson kernels started later inherit


settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
