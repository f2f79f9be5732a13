"""The benchmark suite runs: ``python -m benchmarks --quick`` (tiny sizes, one repeat).

Benchmarks are not timed tests: nothing here checks a speed. What is checked is that every
benchmark produces its table and plot, and that the correctness checks inside the benchmarks
(same outputs, identical generated tokens, parameter counts) hold, since a failing check
makes the run exit with an error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # benchmarks/ is a folder of the repository, not an installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.common import Spread, interleave, markdown_table, per_round_ratios  # noqa: E402

# Tests of the benchmark harness: its tables, rounds and arguments.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

NAMES = ["mha", "chunked", "kv_cache", "training", "course"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path, str]:
    out = tmp_path_factory.mktemp("bench")
    readme_before = (ROOT / "README.md").read_text()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, out, readme_before


def test_quick_run_succeeds(quick_run):
    proc, _, _ = quick_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "## Summary" in proc.stdout


@pytest.mark.parametrize("name", NAMES)
def test_every_benchmark_writes_a_table_and_a_plot(quick_run, name):
    _, out, _ = quick_run
    table = (out / f"{name}.md").read_text()
    assert table.startswith("### ") and "|---|" in table
    png = (out / f"{name}.png").read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000


def test_results_readme_collects_every_table_and_the_summary(quick_run):
    _, out, _ = quick_run
    readme = (out / "README.md").read_text()
    assert "--quick" in readme and "set_num_threads(2)" in readme
    for name in NAMES:
        assert (out / f"{name}.md").read_text().strip() in readme
    targets = ["need_weights=False", "need_weights=True", "peak memory: chunked (C=", "time: chunked (C="]
    targets += ["forward time: tiled", "forward peak memory: tiled", "forward + backward peak memory: tiled"]
    targets += ["speed-up of the cache", "training steps/s", "slowest lesson"]
    for target in targets:
        assert target in readme, target


def test_benchmarks_report_their_correctness_checks(quick_run):
    _, out, _ = quick_run
    assert "Identical tokens with and without the cache" in (out / "kv_cache.md").read_text()
    assert "agree (assert_close) before timing" in (out / "mha.md").read_text()
    assert "| ok |" in (out / "course.md").read_text()


def test_quick_run_leaves_the_top_level_readme_alone(quick_run):
    _, _, before = quick_run
    assert (ROOT / "README.md").read_text() == before


def test_unknown_benchmark_name_is_refused():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "unknown benchmark(s) ['nope']" in proc.stderr


# ---------------------------------------------------------------- the measuring helpers


def test_spread_of_repeats():
    s = Spread.of([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (s.median, s.lo, s.hi, s.n) == (3.0, 1.0, 5.0, 5)
    assert (s.q1, s.q3) == (2.0, 4.0)
    assert s.range(1e3, 0) == "1000–5000"
    assert Spread.of([7.0]).iqr() == "7.0–7.0"
    with pytest.raises(ValueError, match="no measurements"):
        Spread.of([])


def test_interleave_takes_turns_and_rotates_who_goes_first():
    calls: list[str] = []
    contenders = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    times = interleave(contenders, repeats=3, warmup=1)
    assert calls == list("abc") + list("abc") + list("bca") + list("cab")
    assert {k: len(v) for k, v in times.items()} == {"a": 3, "b": 3, "c": 3}


def test_per_round_ratios_and_markdown_table():
    assert per_round_ratios([2.0, 3.0], [1.0, 6.0]) == [2.0, 0.5]
    assert markdown_table(["x", "y"], [[1, 2]]) == "| x | y |\n|---|---|\n| 1 | 2 |"
