"""make test's runner (tools/run_tests.py): which stages run where; a failure is reported, not hidden."""

from __future__ import annotations

import _thread
import importlib.util
import io
import os
import sys
import threading
import time
from pathlib import Path

import pytest

# Tests of the test runner's plan and bookkeeping.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

REPO = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("run_tests", REPO / "tools" / "run_tests.py")
assert _spec is not None and _spec.loader is not None
rt = importlib.util.module_from_spec(_spec)
sys.modules["run_tests"] = rt  # dataclasses look their module up
_spec.loader.exec_module(rt)

KERNELS = ["ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE", "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2"]


def _commands(lanes):
    return {s.name: s for stages in lanes.values() for s in stages}


def test_the_plan_has_a_browser_lane_and_a_compute_lane_with_every_stage():
    lanes = rt.plan("py", KERNELS)
    assert list(lanes) == ["browser", "compute"]
    assert [s.command[3] for s in lanes["browser"]] == ["tests/browser"]
    compute = lanes["compute"]
    assert len(compute) == 3 + 2 * len(KERNELS)
    native_lib, native_en, native_ko = compute[:3]
    assert native_lib.env == rt.ONE_THREAD and "--cov-fail-under=90" in native_lib.command
    assert (
        native_en.env == {} and "--nbval" in native_en.command and "--ignore=lessons/ko" in native_en.command
    )
    assert native_ko.env == {} and "--nbval" in native_ko.command and native_ko.command[3] == "lessons/ko"
    # Under the other kernels: the lessons (long) first, then the library tests (short), so the run
    # does not end with one lane alone on a long stage.
    n = len(KERNELS)
    nbval_stages, library_stages = compute[3 : 3 + n], compute[3 + n :]
    for spec, (lib, nb) in zip(KERNELS, zip(library_stages, nbval_stages, strict=True), strict=True):
        env = dict(word.split("=") for word in spec.split())
        assert lib.env == {**env, **rt.ONE_THREAD} and nb.env == env
        assert lib.command[lib.command.index("-m", 3) + 1] == "not kernel_independent"
        assert "--ignore=lessons/ko" in nb.command  # the English lessons; the Korean ones natively
        assert "--cov=attn_lib" not in lib.command + nb.command
    for stage in compute:
        if "--nbval" in stage.command:
            i = stage.command.index("--dist")
            assert stage.command[i + 1] == "loadfile"  # a notebook's cells stay in one kernel


def test_only_picks_groups_and_passes_pytest_and_nbval_arguments_through():
    lanes = rt.plan("py", KERNELS, ["-x"], ["--nbval", "--nbval-cell-timeout=5"], ["kernels"])
    assert list(lanes) == ["compute"]
    stages = lanes["compute"]
    assert len(stages) == 2 * len(KERNELS)
    assert all(s.command[-1] == "-x" for s in stages)
    assert "--nbval-cell-timeout=5" in stages[1].command
    assert list(rt.plan("py", KERNELS, groups=["browser"])) == ["browser"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernels": ["ATEN_CPU_CAPABILITY"]}, "expected NAME=VALUE words, got 'ATEN_CPU_CAPABILITY'"),
        ({"kernels": [" "]}, "expected NAME=VALUE words"),
        (
            {"kernels": [], "groups": ["lessons"]},
            "--only: expected some of ['native', 'browser', 'kernels'], got 'lessons'",
        ),
    ],
)
def test_a_bad_plan_is_refused_naming_what_was_given(kwargs, match):
    with pytest.raises(ValueError, match=match.replace("[", r"\[").replace("]", r"\]")):
        rt.plan("py", **kwargs)


def test_a_failed_stage_is_reported_and_the_other_stages_still_run(tmp_path):
    ran = []

    def fake(stage, lane, printer, logs, processes):
        ran.append(stage.name)
        code = 1 if stage.name == "b1" else 0
        return rt.Result(stage, lane, code, 1.0, REPO / "tests" / "results" / "logs" / f"{stage.name}.log")

    lanes = {
        "x": [rt.Stage("a1", ["true"]), rt.Stage("b1", ["false"]), rt.Stage("c1", ["true"])],
        "y": [rt.Stage("a2", ["true"])],
    }
    results = rt.run_lanes(lanes, rt.Printer(io.StringIO()), tmp_path, runner=fake)
    assert sorted(ran) == ["a1", "a2", "b1", "c1"]
    assert [r.stage.name for r in results] == ["a1", "b1", "c1", "a2"]  # the plan's order
    text = rt.summary(results, 75)
    assert "1 stage(s) FAILED" in text and "b1: tests/results/logs/b1.log" in text
    assert "wall time 1 min 15 s" in text
    assert "every stage passed" in rt.summary([results[0]], 3)


def test_the_summary_repeats_what_failed_since_ci_may_show_only_the_end(tmp_path):
    log = tmp_path / "b.log"
    log.write_text(
        "collected 3 items\n"
        "[gw0] [ 50%] FAILED tests/t.py::test_a\n"  # -v progress lines are not the summary
        "=== short test summary info ===\n"
        "FAILED tests/t.py::test_a - AssertionError: Run All had not finished after 180 s\n"
        f"ERROR tests/t.py::test_b - {'x' * 1000}\n"
        "=== 1 failed, 1 error in 3.0s ===\n"
    )
    quiet = tmp_path / "c.log"
    quiet.write_text("$ make something\nmake: *** No rule to make target 'something'.  Stop.\n\n")
    results = [
        rt.Result(rt.Stage("b", ["false"]), "x", 1, 3.0, log),
        rt.Result(rt.Stage("c", ["false"]), "y", 2, 1.0, quiet),
        rt.Result(rt.Stage("d", ["false"]), "y", 2, 1.0, tmp_path / "missing.log"),
    ]
    lines = rt.summary(results, 4).splitlines()
    failed = [line.strip() for line in lines if line.strip().startswith(("FAILED", "ERROR"))]
    assert failed[0] == "FAILED tests/t.py::test_a - AssertionError: Run All had not finished after 180 s"
    assert failed[1].startswith("ERROR tests/t.py::test_b - xxx") and failed[1].endswith("...")
    assert len(failed[1]) == rt.MAX_FAILURE_WIDTH and len(failed) == 2
    assert any("No rule to make target" in line for line in lines)  # no summary lines: the log's end
    assert any("log not readable" in line for line in lines)
    many = tmp_path / "many.log"
    many.write_text("".join(f"FAILED tests/t.py::test_{i}\n" for i in range(20)))
    text = rt.summary([rt.Result(rt.Stage("m", ["false"]), "x", 1, 1.0, many)], 1)
    assert text.count("FAILED tests/t.py::test_") == rt.MAX_FAILURES_SHOWN
    assert "... and 8 more (see the log)" in text


def test_a_stage_runs_with_its_environment_in_a_fresh_data_dir_that_is_removed(tmp_path):
    script = (
        "import os, sys; d = os.environ['ATTN_COURSE_DATA_DIR']; print('data', d); "
        "print('kernels', os.environ['ATEN_CPU_CAPABILITY']); print('exists', os.path.isdir(d)); sys.exit(3)"
    )
    stage = rt.Stage(
        "a stage: with/odd characters", [sys.executable, "-c", script], {"ATEN_CPU_CAPABILITY": "avx2"}
    )
    out = io.StringIO()
    result = rt.run_stage(stage, "compute", rt.Printer(out), tmp_path)
    assert result.returncode == 3
    lines = out.getvalue().splitlines()
    assert all(line.startswith("[compute] ") for line in lines)
    assert "[compute] kernels avx2" in lines and "[compute] exists True" in lines
    data = next(line.split(" ", 2)[2] for line in lines if line.startswith("[compute] data "))
    assert data != os.environ.get("ATTN_COURSE_DATA_DIR") and not os.path.exists(data)
    assert "FAILED (exit status 3)" in lines[-1]
    assert result.log.parent == tmp_path and result.log.name == "a-stage-with-odd-characters.log"
    assert "kernels avx2" in result.log.read_text()


def test_list_prints_the_plan_without_running_it(capsys):
    assert rt.main(["--list", "--kernels", *KERNELS, "--python", "PY"]) == 0
    out = capsys.readouterr().out
    assert "ATEN_CPU_CAPABILITY=avx2 MKL_CBWR=AVX2 PY -m pytest lessons" in out
    with pytest.raises(SystemExit) as exc:
        rt.main(["--list", "--kernels", "nonsense"])
    assert exc.value.code == 2


def test_an_interrupt_stops_the_running_stages_with_what_they_started_and_runs_no_more(tmp_path):
    """Ctrl-C (or CI's SIGTERM, turned into the same) ends every lane: no stage starts after it."""
    pid_file = tmp_path / "grandchild.pid"
    # A stage that starts a process of its own (as pytest starts kernels) and then waits.
    script = (
        "import subprocess, sys, time; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pid_file)!r}, 'w').write(str(c.pid)); print('started', flush=True); time.sleep(60)"
    )
    lanes = {
        "x": [
            rt.Stage("long", [sys.executable, "-c", script]),
            rt.Stage("after", [sys.executable, "-c", "pass"]),
        ],
        "y": [rt.Stage("other long", [sys.executable, "-c", "import time; time.sleep(60)"])],
    }
    out = io.StringIO()

    def interrupt_when_started():
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.3)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_when_started, daemon=True).start()
    start = time.monotonic()
    processes = rt.Processes()
    results = rt.run_lanes(lanes, rt.Printer(out), tmp_path, processes=processes)
    assert time.monotonic() - start < 30
    assert processes.stopped.is_set()
    assert [r.stage.name for r in results] == ["long", "other long"], out.getvalue()  # "after" never started
    assert all(r.returncode == rt.INTERRUPTED for r in results)
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(grandchild, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the stage's own child {grandchild} survived the interrupt")
    text = rt.summary(results, 5, interrupted=True)
    assert "INTERRUPTED" in text and "every stage passed" not in text and "interrupted" in text


def test_a_lane_that_is_done_takes_the_next_stage_of_the_other_lane(tmp_path):
    """The browser lane ends before the compute lane: it then runs compute stages, each once, in order."""
    started = []
    lock = threading.Lock()

    def fake(stage, lane, printer, logs, processes):
        with lock:
            started.append(stage.name)
        time.sleep(0.3 if stage.name == "browser suite" else 0.15)
        return rt.Result(stage, lane, 0, 0.1, logs / "x.log")

    compute = [rt.Stage(f"c{i}", ["true"]) for i in range(8)]
    lanes = {"browser": [rt.Stage("browser suite", ["true"])], "compute": compute}
    results = rt.run_lanes(lanes, rt.Printer(io.StringIO()), tmp_path, runner=fake)
    assert [r.stage.name for r in results] == ["browser suite"] + [
        f"c{i}" for i in range(8)
    ]  # the plan's order
    assert sorted(started) == sorted(r.stage.name for r in results)  # each stage ran once
    assert [name for name in started if name != "browser suite"] == [
        f"c{i}" for i in range(8)
    ]  # started in order
    taken = [r.stage.name for r in results if r.lane == "browser" and r.stage.name != "browser suite"]
    assert taken, "the browser lane stayed idle while compute stages waited"
