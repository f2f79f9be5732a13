"""Shared test settings: hypothesis draws the same examples on every run and every machine.

``derandomize=True`` makes the property-based tests (``tests/test_fuzz.py`` and the
``@given`` tests elsewhere) deterministic in CI: a failure on one machine is a failure on
every machine, and re-running reproduces it. ``HYPOTHESIS_PROFILE=explore`` draws fresh
random examples instead, to search for new failures locally.

Where the checkers record progress during a test run: see ``conftest.py`` at the top of the
repository.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
