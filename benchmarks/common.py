"""What every benchmark shares: interleaved timing, medians with their spread, ratios,
markdown tables and figures."""

from __future__ import annotations

import platform
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from matplotlib.figure import Figure

THREADS = 2  # every benchmark runs with torch.set_num_threads(THREADS)
RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Spread:
    """Median of repeated measurements with their spread: min–max and quartiles."""

    median: float
    q1: float
    q3: float
    lo: float
    hi: float
    n: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        v = sorted(values)
        if not v:
            raise ValueError("no measurements")
        if len(v) >= 2:
            q1, _, q3 = statistics.quantiles(v, n=4, method="inclusive")
        else:
            q1 = q3 = v[0]
        return cls(statistics.median(v), q1, q3, v[0], v[-1], len(v))

    def range(self, scale: float = 1.0, digits: int = 1) -> str:
        """``"lo–hi"`` scaled (e.g. 1e3 for seconds -> ms)."""
        return f"{self.lo * scale:.{digits}f}–{self.hi * scale:.{digits}f}"

    def iqr(self, scale: float = 1.0, digits: int = 1) -> str:
        return f"{self.q1 * scale:.{digits}f}–{self.q3 * scale:.{digits}f}"


def interleave(
    contenders: dict[str, Callable[[], object]], repeats: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Wall-clock seconds of every contender, measured in turns.

    After ``warmup`` untimed calls of each, round r times every contender once; the order
    rotates from round to round so that no contender always runs first (or last).
    """
    names = list(contenders)
    for _ in range(warmup):
        for name in names:
            contenders[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            start = time.perf_counter()
            contenders[name]()
            times[name].append(time.perf_counter() - start)
    return times


def per_round_ratios(a: Sequence[float], b: Sequence[float]) -> list[float]:
    """``a[r] / b[r]`` for every round r: the spread of a ratio measured side by side."""
    return [x / y for x, y in zip(a, b, strict=True)]


@dataclass
class Target:
    """One goal of the issue, with what was measured."""

    what: str
    value: float
    goal: str
    met: bool
    spread: Spread | None = None  # of the per-round ratios, when the value is a ratio of times

    def row(self) -> list[str]:
        spread = "–" if self.spread is None else f"{self.spread.lo:.2f}–{self.spread.hi:.2f}"
        iqr = "–" if self.spread is None else f"{self.spread.q1:.2f}–{self.spread.q3:.2f}"
        return [self.what, f"{self.value:.3g}", spread, iqr, self.goal, "yes" if self.met else "**no**"]


TARGET_HEADER = ["target", "measured", "per-round min–max", "per-round IQR", "goal", "met"]


@dataclass
class Result:
    """What a benchmark reports: a table, targets, notes and a figure."""

    name: str
    title: str
    table: str
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figure: Path | None = None
    seconds: float = 0.0

    def markdown(self) -> str:
        parts = [f"### {self.title}", "", self.table]
        if self.targets:
            parts += ["", markdown_table(TARGET_HEADER, [t.row() for t in self.targets])]
        if self.notes:
            parts += [""] + [f"- {n}" for n in self.notes]
        if self.figure is not None:
            parts += ["", f"![{self.title}]({self.figure.name})"]
        return "\n".join(parts) + "\n"

    def write(self, out_dir: Path) -> Path:
        path = out_dir / f"{self.name}.md"
        path.write_text(self.markdown())
        return path


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def save_figure(fig: Figure, out_dir: Path, name: str) -> Path:
    path = out_dir / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def environment() -> str:
    """One line saying where the numbers come from."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not Linux
        pass
    return (
        f"torch {torch.__version__}, Python {platform.python_version()}, {cpu}, "
        f"torch.set_num_threads({THREADS}), CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )
