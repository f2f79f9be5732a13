"""Widget logic of lesson 08 (efficient attention): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

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
    ax.loglog(lengths, explicit, color="#e76f51", lw=2, label="explicit: the whole T×T matrix (slope 2)")
    chunk_label = f"chunked: one T×min(T, {chunk_size}) block (slope 1 where T > {chunk_size})"
    ax.loglog(lengths, chunked, color="#2a9d8f", lw=2, label=chunk_label)
    ax.plot([seq_len], [chosen["explicit"] / mib], "o", color="#e76f51", ms=9)
    ax.plot([seq_len], [chosen["chunked"] / mib], "o", color="#2a9d8f", ms=9)
    ax.axvline(seq_len, color="grey", lw=0.8, ls=":")
    if ram_bytes is not None:
        ram_label = f"RAM of this machine ({format_bytes(ram_bytes)})"
        ax.axhline(ram_bytes / mib, color="k", lw=1, ls="--", label=ram_label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("sequence length T (tokens, log scale)")
    ax.set_ylabel("score memory (MiB, log scale)")
    C = min(chunk_size, seq_len)
    if chosen["ratio"] > 1:
        chunk_text = f"one T×{C} chunk {format_bytes(chosen['chunked'])} ({chosen['ratio']:.0f}× less)"
    else:  # C >= T: one chunk holds every key, nothing is saved
        chunk_text = "C ≥ T: one chunk is the whole matrix, nothing saved"
    ax.set_title(
        f"T = {seq_len}, {num_heads} heads, batch {batch}: explicit scores "
        f"{format_bytes(chosen['explicit'])}, {chunk_text}",
        fontsize=10,
    )
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
