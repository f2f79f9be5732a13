"""`make test`'s runner: every test stage, in two lanes that run at the same time.

The stages are the ones `make test-native` and `make test-kernels` run one after the other; here
they are spread over two lanes so the machine's cores are busy all the time:

- the **browser** lane: the browser suite (JupyterLab in headless Chromium). Much of its time is
  waiting (for a page to render, a kernel to answer, a widget's output to change), so it leaves
  most of a core free;
- the **compute** lane: the library tests (with the coverage gate) and every lesson under nbval,
  first with this machine's kernels, then under each other set of CPU kernels (KERNELS; the
  library tests marked ``kernel_independent`` run only the first time). Each stage uses every core
  (pytest-xdist; nbval gives each worker whole notebooks).

A lane that has finished its own stages takes the next stage not yet started from the other lane
(the browser suite ends first; its lane then takes compute stages), so both cores stay busy.

Every stage records progress in a fresh, throw-away directory (``ATTN_COURSE_DATA_DIR``), as the
Makefile's FRESH_DATA does. Each line a stage prints is shown as it comes, prefixed with its
lane, and kept in ``tests/results/logs/<stage>.log``; at the end a table gives each stage's result
and time, then what failed (pytest's summary lines of each failed stage: CI may show only the
end). A failed stage does not stop the other lane (one run reports every failure); the stages
after it in its own lane still run, since they check other things. The exit status is 1 if any
stage failed.

    python tools/run_tests.py --kernels "ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE" ...
    python tools/run_tests.py --list     # the plan, without running it
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parent.parent
INTERRUPTED = -1000  # the "exit status" of a stage stopped by an interrupt
LOGS = REPO / "tests" / "results" / "logs"

# The Makefile's NBVAL (passed with --nbval-args) is the one definition; this is its default.
NBVAL = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg"]
GROUPS = ("native", "browser", "kernels")
# Whole notebooks to a worker (a notebook's cells share one kernel and run in order).
NBVAL_XDIST = ["-n", "auto", "--dist", "loadfile"]
LIB_XDIST = ["-n", "auto"]
# The slowest tests (for nbval: cells) at the end of each stage's log: where a stage's time goes.
DURATIONS = ["--durations=15", "--durations-min=5"]
# One PyTorch thread per library-test worker: xdist already puts a worker on every core, and each
# worker's own OpenMP threads on top (they spin while they wait) made the stages beside another lane
# several times slower. The tests hold on any number of threads; the lessons set one themselves.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
# Tests whose outcome cannot depend on the CPU kernels (file formats, the message catalogue, the
# drift check, progress records, the benchmark harness) run once, with the native kernels.
KERNEL_DEPENDENT = ["-m", "not kernel_independent"]
# The browser suite in two workers, each with its own JupyterLab server and Chromium: a worker spends
# much of its time waiting, so two of them keep a core busy. Tests go to whichever worker is free
# (worksteal), so the long lessons do not queue up behind each other.
BROWSER_WORKERS = 2
# The coverage gate is on the library tests. (The lessons run in Jupyter kernels, other processes,
# which coverage does not follow unless told to; their code is the library's, tested here.)
COVERAGE = ["--cov=attn_lib", "--cov-report=term-missing:skip-covered", "--cov-fail-under=90"]


@dataclass
class Stage:
    """One pytest run (or any command): what it checks, its command, extra environment."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        return f"{env + ' ' if env else ''}{shlex.join(self.command)}"


@dataclass
class Result:
    stage: Stage
    lane: str
    returncode: int
    seconds: float
    log: Path


def parse_kernels(spec: str) -> dict[str, str]:
    """``"A=1 B=2"`` -> ``{"A": "1", "B": "2"}``; a word without ``=`` is a ValueError."""
    env = {}
    for word in spec.split():
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise ValueError(f"--kernels: expected NAME=VALUE words, got {word!r} in {spec!r}")
        env[name] = value
    if not env:
        raise ValueError(f"--kernels: expected NAME=VALUE words, got {spec!r}")
    return env


def browser_xdist(workers: int) -> list[str]:
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"--browser-workers: expected a positive int, got {workers!r}")
    return [] if workers == 1 else ["-n", str(workers), "--dist", "worksteal"]


def plan(
    python: str,
    kernels: Sequence[str],
    pytest_args: Sequence[str] = (),
    nbval: Sequence[str] = NBVAL,
    groups: Sequence[str] = GROUPS,
    browser_workers: int = BROWSER_WORKERS,
) -> dict[str, list[Stage]]:
    """The two lanes: lane name -> its stages, in the order they run (only the stages of ``groups``:
    ``native`` library tests and lessons, the ``browser`` suite, the other ``kernels`` sets)."""
    for group in groups:
        if group not in GROUPS:
            raise ValueError(f"--only: expected some of {list(GROUPS)}, got {group!r}")
    pytest = [python, "-m", "pytest"]
    extra = list(pytest_args)

    def library(*flags: str) -> list[str]:
        return [*pytest, "tests", "--ignore=tests/browser", *LIB_XDIST, *DURATIONS, *flags, *extra]

    def lessons(path: str, *flags: str) -> list[str]:
        return [*pytest, path, *nbval, *NBVAL_XDIST, *DURATIONS, "-q", *flags, *extra]

    english = ("lessons", "--ignore=lessons/ko")
    compute: list[Stage] = []
    if "native" in groups:
        compute += [
            Stage(
                "library tests (native kernels, coverage gate)", library("-q", *COVERAGE), dict(ONE_THREAD)
            ),
            Stage("English lessons under nbval (native kernels)", lessons(*english)),
            Stage("Korean lessons under nbval (native kernels)", lessons("lessons/ko")),
        ]
    # The Korean lessons' code is the English code (tests/test_korean_edition.py), so the other
    # kernel sets run the English lessons; `make nbval-ko` runs the Korean ones under all three.
    # The long nbval stages first, the short library stages last: whichever lane is left alone at
    # the end then has a minute or two to go, not four.
    specs = [(spec, parse_kernels(spec)) for spec in (kernels if "kernels" in groups else [])]
    compute += [
        Stage(f"English lessons under nbval ({spec})", lessons(*english, "-p", "no:cacheprovider"), env)
        for spec, env in specs
    ]
    compute += [
        Stage(
            f"library tests ({spec})",
            library(*KERNEL_DEPENDENT, "-q", "-p", "no:cacheprovider"),
            {**env, **ONE_THREAD},
        )
        for spec, env in specs
    ]
    browser = [
        Stage(
            "browser suite (JupyterLab in headless Chromium)",
            [
                *pytest,
                "tests/browser",
                *browser_xdist(browser_workers),
                "-v",  # a line per test as it ends: the lane's progress
                "--durations=20",
                "--durations-min=10",
                *extra,
            ],
        )
    ]
    lanes = {"browser": browser if "browser" in groups else [], "compute": compute}
    return {lane: stages for lane, stages in lanes.items() if stages}


class Printer:
    """Lines from several lanes, each whole and prefixed, to one stream."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.lock = threading.Lock()

    def line(self, lane: str, text: str) -> None:
        with self.lock:
            self.out.write(f"[{lane}] {text}\n")
            self.out.flush()


def slug(name: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in name.lower())
    return "-".join(part for part in keep.split("-") if part)[:80]


class Processes:
    """The stages' running commands, so that an interrupted run stops all of them.

    Each command runs in its own session (process group), with whatever it starts (kernels,
    JupyterLab, Chromium); :meth:`stop` ends every group and keeps new stages from starting.
    """

    def __init__(self) -> None:
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen] = set()

    def start(self, command: list[str], **kwargs: object) -> subprocess.Popen | None:
        with self._lock:
            if self.stopped.is_set():
                return None
            proc = subprocess.Popen(command, start_new_session=True, **kwargs)  # type: ignore[call-overload]
            self._running.add(proc)
            return proc

    def done(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._running.discard(proc)

    def stop(self, grace: float = 10) -> None:
        """SIGTERM every running group; SIGKILL what is left after ``grace`` seconds."""
        with self._lock:
            self.stopped.set()
            running = list(self._running)
        self._signal(running, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(p.poll() is None for p in running):
            time.sleep(0.2)
        self._signal(running, signal.SIGKILL)  # what is left of each group, the leader gone or not

    @staticmethod
    def _signal(running: list[subprocess.Popen], sig: int) -> None:
        for proc in running:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, sig)


def run_stage(
    stage: Stage, lane: str, printer: Printer, logs: Path, processes: Processes | None = None
) -> Result:
    """Run one stage in a fresh progress directory; its output line by line to the printer and its log."""
    processes = processes or Processes()
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{slug(stage.name)}.log"
    data_dir = tempfile.mkdtemp(prefix="attn-course-test-")
    env = {**os.environ, **stage.env, "ATTN_COURSE_DATA_DIR": data_dir, "PYTHONUNBUFFERED": "1"}
    printer.line(lane, f"=== {stage.name}: {stage.describe()}")
    start = time.monotonic()
    returncode = INTERRUPTED
    try:
        with log.open("w") as f:
            f.write(f"$ {stage.describe()}\n")
            proc = processes.start(
                stage.command,
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
            if proc is not None:
                assert proc.stdout is not None
                try:
                    for raw in proc.stdout:
                        text = raw.rstrip("\n")
                        f.write(text + "\n")
                        printer.line(lane, text)
                    returncode = proc.wait()
                finally:
                    processes.done(proc)
                if processes.stopped.is_set():
                    returncode = INTERRUPTED
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    seconds = time.monotonic() - start
    verdict = verdict_of(returncode, long=True)
    printer.line(lane, f"=== {stage.name}: {verdict} in {format_seconds(seconds)} (log: {shown(log)})")
    return Result(stage, lane, returncode, seconds, log)


def verdict_of(returncode: int, long: bool = False) -> str:
    if returncode == 0:
        return "passed"
    if returncode == INTERRUPTED:
        return "interrupted"
    return f"FAILED (exit status {returncode})" if long else "FAILED"


def run_lanes(
    lanes: dict[str, list[Stage]],
    printer: Printer,
    logs: Path,
    runner: Callable[..., Result] = run_stage,
    processes: Processes | None = None,
) -> list[Result]:
    """Each lane in its own thread, its stages in order; all results, in the plan's order.

    A lane whose own stages are done takes the next not-yet-started stage of another lane (the
    browser lane, once the browser suite is done, takes compute stages), so no core idles while
    work is left. Stages start in their lane's order. A failed stage does not stop anything. An
    interrupt (Ctrl-C, SIGTERM) stops every running stage and starts no more; the stages that did
    not run are not in the results.
    """
    processes = processes or Processes()
    queues = {lane: collections.deque(enumerate(stages)) for lane, stages in lanes.items()}
    lock = threading.Lock()
    results: dict[tuple[str, int], Result] = {}

    def next_stage(lane: str) -> tuple[str, int, Stage] | None:
        with lock:
            for owner in [lane, *(other for other in lanes if other != lane)]:
                if queues[owner]:
                    index, stage = queues[owner].popleft()
                    return owner, index, stage
            return None

    # Each lane says when it is done. (Not Thread.join: a KeyboardInterrupt that arrives during
    # join() can leave the thread looking finished while it still runs, and its result is lost.)
    finished = {lane: threading.Event() for lane in lanes}

    def work(lane: str) -> None:
        try:
            while not processes.stopped.is_set():
                taken = next_stage(lane)
                if taken is None:
                    return
                owner, index, stage = taken
                results[owner, index] = runner(stage, lane, printer, logs, processes)
        finally:
            finished[lane].set()

    def all_finished() -> bool:
        return all(event.is_set() for event in finished.values())

    for lane in lanes:
        threading.Thread(target=work, args=(lane,), name=lane, daemon=True).start()
    try:
        while not all_finished():
            time.sleep(0.2)
    except KeyboardInterrupt:
        printer.line("runner", "interrupted: stopping every running stage")
        processes.stop()
        deadline = time.monotonic() + 30
        while not all_finished() and time.monotonic() < deadline:
            time.sleep(0.2)
    return [results[key] for key in sorted(results, key=lambda k: (list(lanes).index(k[0]), k[1]))]


def shown(path: Path) -> str:
    """``path`` relative to the repository when it is inside it."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def format_seconds(seconds: float) -> str:
    m, s = divmod(round(seconds), 60)
    return f"{m} min {s:02d} s" if m else f"{s} s"


# pytest's own summary lines of what failed ("FAILED tests/x.py::test - AssertionError: ...").
FAILURE_PREFIXES = ("FAILED ", "ERROR ")
MAX_FAILURES_SHOWN = 12
MAX_FAILURE_WIDTH = 400


def failures_in(log: Path) -> list[str]:
    """What a failed stage's log says failed, short enough to end the run's output with.

    CI may show only the end of a run, so the summary repeats pytest's "short test summary" lines
    (at most MAX_FAILURES_SHOWN, each cut at MAX_FAILURE_WIDTH characters). A log without such
    lines (the command itself failed) gives its last lines instead.
    """
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError as err:
        return [f"(log not readable: {err})"]
    found = [line for line in text if line.startswith(FAILURE_PREFIXES)]
    if not found:
        found = [line for line in text if line.strip()][-5:]
    shown_lines = [
        line if len(line) <= MAX_FAILURE_WIDTH else line[: MAX_FAILURE_WIDTH - 3] + "..."
        for line in found[:MAX_FAILURES_SHOWN]
    ]
    if len(found) > MAX_FAILURES_SHOWN:
        shown_lines.append(f"... and {len(found) - MAX_FAILURES_SHOWN} more (see the log)")
    return shown_lines


def summary(results: Sequence[Result], wall: float, interrupted: bool = False) -> str:
    width = max(len(r.stage.name) for r in results)
    lines = ["", "make test: every stage", ""]
    for r in results:
        verdict = verdict_of(r.returncode)
        lines.append(f"  {r.lane:<8} {r.stage.name:<{width}}  {verdict:<6}  {format_seconds(r.seconds):>12}")
    failed = [r for r in results if r.returncode not in (0, INTERRUPTED)]
    lines += ["", f"  wall time {format_seconds(wall)} (the two lanes at the same time)"]
    if failed:
        lines.append(f"  {len(failed)} stage(s) FAILED; what failed, and their logs:")
        for r in failed:
            lines.append(f"    {r.stage.name}: {shown(r.log)}")
            lines += [f"      {line}" for line in failures_in(r.log)]
    if any(r.returncode == INTERRUPTED for r in results) or interrupted:
        lines.append("  INTERRUPTED: not every stage ran to the end")
    elif not failed:
        lines.append("  every stage passed")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable, help="the Python of the course's venv")
    parser.add_argument(
        "--kernels",
        nargs="*",
        default=[],
        metavar="SPEC",
        help='other CPU kernel sets, each "NAME=VALUE ..." (the Makefile\'s KERNELS)',
    )
    parser.add_argument(
        "--pytest-args", default="", help="extra arguments for every pytest run (PYTEST_ARGS)"
    )
    parser.add_argument(
        "--nbval-args", default=shlex.join(NBVAL), help="nbval's arguments (the Makefile's NBVAL)"
    )
    parser.add_argument(
        "--only", nargs="+", default=list(GROUPS), metavar="GROUP", help=f"run only these of {list(GROUPS)}"
    )
    parser.add_argument(
        "--browser-workers",
        type=int,
        default=BROWSER_WORKERS,
        help="JupyterLab+Chromium pairs for the browser suite",
    )
    parser.add_argument("--list", action="store_true", help="print the plan and exit")
    args = parser.parse_args(argv)
    try:
        lanes = plan(
            args.python,
            args.kernels,
            shlex.split(args.pytest_args),
            shlex.split(args.nbval_args),
            args.only,
            args.browser_workers,
        )
    except ValueError as err:
        parser.error(str(err))
    if args.list:
        for lane, stages in lanes.items():
            print(f"{lane}:")
            for stage in stages:
                print(f"  {stage.name}\n    {stage.describe()}")
        return 0
    printer = Printer(sys.stdout)
    processes = Processes()

    def on_sigterm(signum: int, frame: object) -> None:  # CI's timeout: stop like Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    start = time.monotonic()
    results = run_lanes(lanes, printer, LOGS, processes=processes)
    interrupted = processes.stopped.is_set()
    print(summary(results, time.monotonic() - start, interrupted), flush=True)
    if interrupted:
        return 130
    return 0 if all(r.returncode == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
