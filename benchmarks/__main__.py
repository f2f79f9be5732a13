"""``python -m benchmarks [--quick] [--only mha,chunked,...] [--out DIR]`` (``make bench``).

Runs the benchmarks in turn, prints each markdown table, writes ``<name>.md`` and
``<name>.png`` per benchmark and ``README.md`` with all of them to the output directory
(``benchmarks/results``; with ``--quick``, whose numbers mean nothing, a temporary directory).
A full run into ``benchmarks/results`` also refreshes the "Benchmarks" section of the top-level
README (between its ``<!-- benchmarks:start -->`` / ``<!-- benchmarks:end -->`` markers).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from . import chunked, course, kv_cache, mha, training
from .common import RESULTS, TARGET_HEADER, THREADS, Result, environment, markdown_table

BENCHMARKS = {
    "mha": mha.run,
    "chunked": chunked.run,
    "kv_cache": kv_cache.run,
    "training": training.run,
    "course": course.run,
}
README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"


def summary(results: list[Result]) -> str:
    rows = [[r.title, *t.row()] for r in results for t in r.targets]
    return markdown_table(["benchmark", *TARGET_HEADER], rows)


def results_readme(results: list[Result], quick: bool, seconds: float) -> str:
    when = datetime.date.today().isoformat()
    mode = " (--quick: tiny sizes, one repeat; the numbers mean nothing)" if quick else ""
    parts = [
        "# Benchmark results",
        "",
        f"Latest run of `make bench`{mode}, {when}, {seconds:.0f} s. {environment()}.",
        "Contenders are interleaved; times are medians with their spread; a ratio's spread is that of "
        "the ratios measured round by round. The machine may be shared, so absolute times are noisy; "
        "the ratios are what to read.",
        "",
        "## Summary",
        "",
        summary(results),
        "",
    ]
    for r in results:
        parts += [r.markdown()]
    return "\n".join(parts)


def update_top_readme(results: list[Result]) -> bool:
    """Replace the text between the markers of the top-level README with the summary table."""
    if not README.exists():
        return False
    text = README.read_text()
    if START not in text or END not in text:
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    when = datetime.date.today().isoformat()
    block = (
        f"{START}\nLatest `make bench` ({when}; {environment()}):\n\n{summary(results)}\n\n"
        "Every table, its spread and plot: [benchmarks/results/README.md](benchmarks/results/README.md).\n"
        f"{END}"
    )
    README.write_text(head + block + tail)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: proves the code runs")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output directory (default: {RESULTS}; with --quick a temporary one)",
    )
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    if args.out is None:  # quick numbers mean nothing: never let them replace the real results
        args.out = Path(tempfile.mkdtemp(prefix="attn-bench-quick-")) if args.quick else RESULTS
    args.out.mkdir(parents=True, exist_ok=True)

    previous_threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    print(f"# benchmarks{' --quick' if args.quick else ''}: {environment()}\n", flush=True)
    results: list[Result] = []
    start = time.perf_counter()
    try:
        for name in names:
            t0, load_before = time.perf_counter(), os.getloadavg()[0]
            result = BENCHMARKS[name](args.quick, args.out)
            result.seconds = time.perf_counter() - t0
            result.notes.append(
                f"Took {result.seconds:.0f} s; load average (1 min) {load_before:.1f} before, "
                f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs (other programs were running "
                "if it exceeds the threads used)."
            )
            result.write(args.out)
            results.append(result)
            print(result.markdown(), f"({name}: {result.seconds:.1f} s)\n", flush=True)
    finally:
        torch.set_num_threads(previous_threads)
    seconds = time.perf_counter() - start
    (args.out / "README.md").write_text(results_readme(results, args.quick, seconds))
    print("## Summary\n\n" + summary(results) + f"\n\ntotal {seconds:.0f} s; results in {args.out}")
    full_run = not args.quick and names == list(BENCHMARKS) and args.out.resolve() == RESULTS.resolve()
    if full_run and update_top_readme(results):
        print(f"updated the Benchmarks section of {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
