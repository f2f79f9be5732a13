"""(e) The course itself: execution time and peak memory of every lesson notebook.

Each lesson runs in its own subprocess (``python -m benchmarks.course LESSON.ipynb``), which
executes the notebook with nbclient in a fresh kernel, in memory (the file is not rewritten),
and reports the wall time (kernel start included) and the kernel's peak resident memory
(``ru_maxrss`` of the reaped kernel process).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt

from .common import Result, Target, markdown_table, save_figure

ROOT = Path(__file__).resolve().parent.parent
LESSON_LIMIT_S = 60.0


def execute(path: Path) -> dict:
    """Execute one notebook in a fresh kernel; seconds, the kernel's peak RSS and any error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except Exception as err:  # a failing lesson is reported, not fatal for the other lessons
        error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1] if str(err).strip() else ''}"
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the reaped kernel process
    return {
        "lesson": path.stem,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_mib": usage.ru_maxrss / 1024,  # Linux: KiB, of the largest reaped child
        "error": error,
    }


def _run_in_subprocess(path: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.course", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        nan = float("nan")
        return {"lesson": path.stem, "seconds": nan, "cpu_seconds": nan, "peak_mib": nan, "error": tail[0]}
    return json.loads(lines[-1])


def _tiny_notebook(out_dir: Path) -> Path:
    """A two-cell notebook for --quick: the same machinery in a few seconds."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import torch\nx = torch.ones(512, 512)"),
        nbformat.v4.new_code_cell("print(float(x.sum()))"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    path = out_dir / "00_quick_check.ipynb"
    nbformat.write(nb, path)
    return path


def run(quick: bool, out_dir: Path) -> Result:
    lessons = [_tiny_notebook(out_dir)] if quick else sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
    start = time.perf_counter()
    results = [_run_in_subprocess(path) for path in lessons]
    wall = time.perf_counter() - start
    ok = [r for r in results if r["error"] is None]
    rows = [
        [
            r["lesson"],
            f"{r['seconds']:.1f}",
            f"{r['cpu_seconds']:.1f}",
            f"{r['peak_mib']:.0f}",
            "ok" if r["error"] is None else f"**failed**: {r['error']}"[:120],
        ]
        for r in results
    ]
    total = sum(r["seconds"] for r in ok)
    peak = max((r["peak_mib"] for r in ok), default=float("nan"))
    rows.append(
        [
            "**whole course**",
            f"**{total:.1f}**",
            f"**{sum(r['cpu_seconds'] for r in ok):.1f}**",
            f"**{peak:.0f}** (largest)",
            f"{len(ok)}/{len(results)} ok",
        ]
    )
    table = markdown_table(["lesson", "seconds", "kernel CPU s", "peak RSS MiB", "status"], rows)
    slowest = max(ok, key=lambda r: r["seconds"]) if ok else None
    targets = []
    if slowest is not None:
        targets.append(
            Target(
                f"slowest lesson ({slowest['lesson']}), seconds",
                slowest["seconds"],
                f"< {LESSON_LIMIT_S:.0f}",
                slowest["seconds"] < LESSON_LIMIT_S,
            )
        )
    notes = [
        "Each lesson executed once, top to bottom, in a fresh kernel (nbclient, in a subprocess; the "
        "notebook file is not rewritten). Seconds include starting the kernel; peak RSS is the kernel "
        f"process's maximum resident memory; kernel CPU s is the kernel's user + system time (less than "
        f"the seconds when it waits, e.g. for other programs). Wall time of the whole stage: {wall:.1f} s.",
        "Lessons set their own thread count (most use one thread so that printed numbers are reproducible).",
    ]
    if len(ok) != len(results):
        notes.append("Some lessons failed to execute; see the status column.")
    figure = _plot(results, out_dir) if ok else None
    return Result("course", "The course: time and memory of every lesson", table, targets, notes, figure)


def _plot(results: list[dict], out_dir: Path) -> Path:
    names = [r["lesson"] for r in results]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 0.9 + 0.4 * len(results)), sharey=True)
    y = range(len(results))
    ax_t.barh(y, [r["seconds"] for r in results], color="#2a9d8f")
    ax_t.axvline(LESSON_LIMIT_S, color="#e76f51", ls="--", lw=1, label="60 s limit")
    ax_t.set_xlabel("execution time (s, kernel start included)")
    ax_t.legend(fontsize=8, loc="lower right")
    ax_m.barh(y, [r["peak_mib"] for r in results], color="#264653")
    ax_m.set_xlabel("peak memory of the kernel (RSS, MiB)")
    ax_t.set_yticks(list(y), names, fontsize=8)
    ax_t.invert_yaxis()
    total = sum(r["seconds"] for r in results if r["error"] is None)
    slow = [r for r in results if not r["seconds"] < LESSON_LIMIT_S]
    verdict = (
        "every lesson runs in under a minute" if not slow else f"{len(slow)} lesson(s) take a minute or more"
    )
    fig.suptitle(f"The course: {verdict}; all lessons together take {total:.0f} s", fontsize=11)
    fig.tight_layout()
    return save_figure(fig, out_dir, "course")


if __name__ == "__main__":
    print(json.dumps(execute(Path(sys.argv[1]).resolve())))
