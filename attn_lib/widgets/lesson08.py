"""Widget logic of lesson 08 (efficient attention): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..i18n import _
from ..viz import BLUE, GREEN, GREY, ORANGE, SKY_BLUE, VERMILLION
from ._common import _check_positive_int


def format_bytes(n: float) -> str:
    """``536870912`` -> ``"512 MiB"``: bytes in the largest binary unit that keeps the number >= 1."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" or n == int(n) else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def score_memory(
    seq_len: int, chunk_size: int, num_heads: int = 8, batch: int = 1, bytes_per_element: int = 4
) -> dict[str, float]:
    """Bytes of attention scores that exist at once, for ``T_q = T_k = seq_len``.

    ``explicit``: the whole ``(B, H, T, T)`` score matrix of softmax(QKᵀ)V.
    ``chunked``: one ``(B, H, T, C)`` block of online softmax, ``C = min(chunk_size, T)``.
    ``ratio``: explicit / chunked = ``T / C``.
    """
    T = _check_positive_int("seq_len", seq_len)
    C = min(_check_positive_int("chunk_size", chunk_size), T)
    per_row = _check_positive_int("batch", batch) * _check_positive_int("num_heads", num_heads) * T
    per_row *= _check_positive_int("bytes_per_element", bytes_per_element)
    explicit, chunked = per_row * T, per_row * C
    return {"explicit": explicit, "chunked": chunked, "ratio": explicit / chunked}


def plot_score_memory(
    seq_len: int,
    chunk_size: int,
    num_heads: int = 8,
    batch: int = 1,
    ram_bytes: int | None = None,
    max_len: int = 2**17,
) -> Figure:
    """Log-log plot of score memory against sequence length: explicit (slope 2) and chunked
    (slope 1 where T > C; for T <= C the single chunk is the whole matrix), with the chosen
    ``seq_len`` marked and, if given, the machine's RAM."""
    chosen = score_memory(seq_len, chunk_size, num_heads, batch)
    top = max(max_len, seq_len)
    lengths = [2**k for k in range(4, (top - 1).bit_length() + 1)]  # up to the power of 2 >= top
    mib = 2**20
    explicit = [score_memory(t, chunk_size, num_heads, batch)["explicit"] / mib for t in lengths]
    chunked = [score_memory(t, chunk_size, num_heads, batch)["chunked"] / mib for t in lengths]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.loglog(
        lengths, explicit, "-", color=VERMILLION, lw=2, label=_("explicit: the whole T×T matrix (slope 2)")
    )
    chunk_label = _("chunked: one T×min(T, {chunk_size}) block (slope 1 where T > {chunk_size})").format(
        chunk_size=chunk_size
    )
    ax.loglog(lengths, chunked, "--", color=BLUE, lw=2, label=chunk_label)
    ax.plot([seq_len], [chosen["explicit"] / mib], "o", color=VERMILLION, ms=9)
    ax.plot([seq_len], [chosen["chunked"] / mib], "s", color=BLUE, ms=9)
    ax.axvline(seq_len, color="grey", lw=0.8, ls=":")
    if ram_bytes is not None:
        ram_label = _("RAM of this machine ({format_bytes_ram_bytes})").format(
            format_bytes_ram_bytes=format_bytes(ram_bytes)
        )
        ax.axhline(ram_bytes / mib, color="k", lw=1, ls="--", label=ram_label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel(_("sequence length T (tokens, log scale)"))
    ax.set_ylabel(_("score memory (MiB, log scale)"))
    C = min(chunk_size, seq_len)
    if chosen["ratio"] > 1:
        chunk_text = _("one T×{C} chunk {format_bytes_chunked} ({ratio:.0f}× less)").format(
            C=C, format_bytes_chunked=format_bytes(chosen["chunked"]), ratio=chosen["ratio"]
        )
    else:  # C >= T: one chunk holds every key, nothing is saved
        chunk_text = _("C ≥ T: one chunk is the whole matrix, nothing saved")
    ax.set_title(
        _(
            "T = {seq_len}, {num_heads} heads, batch {batch}: explicit scores "
            "{format_bytes_explicit}, {chunk_text}"
        ).format(
            seq_len=seq_len,
            num_heads=num_heads,
            batch=batch,
            format_bytes_explicit=format_bytes(chosen["explicit"]),
            chunk_text=chunk_text,
        ),
        fontsize=10,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def step_cost(rows: int, keys: int, head_dim: int, bytes_per_element: int = 4) -> dict[str, float]:
    """Arithmetic and memory traffic of one online-softmax step: ``rows`` queries meet ``keys`` keys.

    ``flops``: the two matmuls, 2·rows·keys·d each (a multiply-add counts 2). ``bytes``: what the
    step reads and writes when nothing stays in the cache: the queries (rows·d), the key and
    value block (2·keys·d), the accumulator read and written (2·rows·d) and the score block
    written and read three times (scores, exp, weights: 6·rows·keys). ``intensity`` = flops /
    bytes, FLOPs per byte moved; for keys << d and rows >> keys it is about ``keys`` / 3.
    """
    n = _check_positive_int("rows", rows)
    c = _check_positive_int("keys", keys)
    d = _check_positive_int("head_dim", head_dim)
    b = _check_positive_int("bytes_per_element", bytes_per_element)
    flops = 4.0 * n * c * d
    moved = float(b * (n * d + 2 * c * d + 2 * n * d + 6 * n * c))
    return {"flops": flops, "bytes": moved, "intensity": flops / moved}


def tile_memory(
    seq_len: int,
    block_q: int,
    block_k: int,
    num_heads: int = 8,
    head_dim: int = 64,
    bytes_per_element: int = 4,
) -> dict[str, float]:
    """Bytes alive at once in tiled attention (T_q = T_k = ``seq_len``), beyond Q, K, V.

    ``scores``: one ``(H, B_q, B_k)`` block; ``query_block``: the scaled ``(H, B_q, d)`` queries
    and their accumulator (two of them); ``output``: the ``(H, T, d)`` result, which every method
    must hold; ``total``: their sum. Block sizes larger than T count as T.
    """
    T = _check_positive_int("seq_len", seq_len)
    bq = min(_check_positive_int("block_q", block_q), T)
    bk = min(_check_positive_int("block_k", block_k), T)
    h = _check_positive_int("num_heads", num_heads) * _check_positive_int(
        "bytes_per_element", bytes_per_element
    )
    d = _check_positive_int("head_dim", head_dim)
    parts = {"scores": h * bq * bk, "query_block": 2 * h * bq * d, "output": h * T * d}
    return {**{k: float(v) for k, v in parts.items()}, "total": float(sum(parts.values()))}


def plot_tile_choice(
    block_q: int,
    block_k: int,
    seconds: float,
    peak_bytes: float,
    fused_seconds: float,
    seq_len: int,
    num_heads: int = 8,
    head_dim: int = 64,
) -> Figure:
    """Two bars for one choice of block sizes: measured time against PyTorch's fused kernel, and
    the predicted memory (``tile_memory``, stacked by part) beside the measured peak."""
    mem = tile_memory(seq_len, block_q, block_k, num_heads, head_dim)
    mib = 2**20
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(9, 3.4))
    ax_t.bar([0, 1], [seconds * 1e3, fused_seconds * 1e3], color=[ORANGE, BLUE])
    ticks = [_("tiled") + f"\nB_q={block_q}, B_k={block_k}", _("torch fused")]
    ax_t.set_xticks([0, 1], ticks, fontsize=8)
    ax_t.set_ylabel(_("time (ms, this machine, now)"))
    ax_t.set_title(
        _("time: {value:.1f}× the fused kernel").format(value=seconds / fused_seconds), fontsize=10
    )
    bottom = 0.0
    labels = {
        "output": _("output (H, T, d)"),
        "query_block": _("query block + accumulator"),
        "scores": _("score block"),
    }
    for part, colour in zip(("output", "query_block", "scores"), (GREY, SKY_BLUE, ORANGE), strict=True):
        ax_m.bar(0, mem[part] / mib, bottom=bottom, color=colour, label=labels[part])
        bottom += mem[part] / mib
    ax_m.bar(1, peak_bytes / mib, color=GREEN, label=_("measured peak"))
    ax_m.set_xticks([0, 1], [_("predicted"), _("measured")], fontsize=8)
    ax_m.set_ylabel(_("memory (MiB)"))
    ax_m.set_title(
        _("memory: score block {format_bytes_scores}").format(
            format_bytes_scores=format_bytes(mem["scores"])
        ),
        fontsize=10,
    )
    ax_m.legend(fontsize=7, loc="upper left")
    ax_m.margins(y=0.25)
    fig.suptitle(
        _("T = {seq_len}, {num_heads} heads: bigger blocks mean fewer steps but a bigger score block").format(
            seq_len=seq_len, num_heads=num_heads
        ),
        fontsize=10,
    )
    fig.tight_layout()
    return fig
