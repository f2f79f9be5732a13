"""(b) Attention at T=4096 without the T x T matrix: ``chunked_attention`` (online softmax over
key chunks) and ``tiled_attention`` (query blocks x key blocks) against the explicit
softmax(QKᵀ/√d)V and PyTorch's fused ``scaled_dot_product_attention``; and the memory of
training (forward + backward), explicit against tiled."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from attn_lib import scaled_dot_product_attention
from attn_lib.efficient import chunked_attention, measure_peak_memory, tiled_attention

from .common import Result, Spread, Target, interleave, markdown_table, per_round_ratios, save_figure

EXPLICIT = "explicit softmax(QKᵀ/√d)V"
LIBRARY = "attn_lib.scaled_dot_product_attention"
CHUNKED = "attn_lib.efficient.chunked_attention, C={}"
TILED = "attn_lib.efficient.tiled_attention, B_q={}, B_k={}"
FUSED = "torch F.scaled_dot_product_attention"
MiB = 2**20


def run(quick: bool, out_dir: Path) -> Result:
    B, H, T, Dh, chunk = (1, 2, 128, 16, 32) if quick else (1, 8, 4096, 64, 128)
    block = 32 if quick else 256  # tiled_attention's default block sizes, B_q = B_k
    chunked, chunked_large = CHUNKED.format(chunk), CHUNKED.format(4 * chunk)
    tiled = TILED.format(block, block)
    # The targets' tiling: taller query blocks (B_q = 2 B_k) read every key block half as often;
    # the score block is 2x the default's, still a small fraction of the output.
    tall = TILED.format(2 * block, block)
    repeats = 1 if quick else 5
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, T, Dh, generator=g) for _ in range(3))
    scale = 1.0 / math.sqrt(Dh)
    contenders = {
        EXPLICIT: lambda: torch.softmax((q * scale) @ k.transpose(-2, -1), dim=-1) @ v,
        LIBRARY: lambda: scaled_dot_product_attention(q, k, v)[0],
        chunked: lambda: chunked_attention(q, k, v, chunk_size=chunk),
        chunked_large: lambda: chunked_attention(q, k, v, chunk_size=4 * chunk),
        tiled: lambda: tiled_attention(q, k, v, block_q=block, block_k=block)[0],
        tall: lambda: tiled_attention(q, k, v, block_q=2 * block, block_k=block)[0],
        FUSED: lambda: F.scaled_dot_product_attention(q, k, v),
    }
    with torch.inference_mode():
        reference = contenders[EXPLICIT]()
        errors = {name: (fn() - reference).abs().max().item() for name, fn in contenders.items()}
        assert all(e <= 1e-5 for e in errors.values()), f"results differ from the explicit formula: {errors}"
        memory = {name: measure_peak_memory(fn) for name, fn in contenders.items()}
        times = interleave(contenders, repeats)
    stats = {name: Spread.of(t) for name, t in times.items()}
    training = _training_memory(q, k, v, block)
    score_bytes = B * H * T * T * 4  # one float32 (B, H, T, T) block

    rows = []
    for name, s in stats.items():
        rows.append(
            [
                name,
                f"{s.median * 1e3:.0f}",
                s.range(1e3, 0),
                f"{s.median / stats[EXPLICIT].median:.2f}",
                f"{memory[name] / MiB:.1f}",
                f"{memory[name] / memory[EXPLICIT]:.3f}",
                f"{errors[name]:.1e}",
            ]
        )
    table = markdown_table(
        [
            "contender",
            "median ms",
            "min–max ms",
            "time ÷ explicit",
            "peak MiB",
            "memory ÷ explicit",
            "max |err|",
        ],
        rows,
    )
    mem_ratio = memory[chunked] / memory[EXPLICIT]
    time_ratio = stats[chunked].median / stats[EXPLICIT].median
    targets = [
        Target(
            f"peak memory: chunked (C={chunk}) / explicit", mem_ratio, "≤ 0.125 (1/8)", mem_ratio <= 1 / 8
        ),
        Target(
            f"time: chunked (C={chunk}) / explicit",
            time_ratio,
            "≤ 1.5",
            time_ratio <= 1.5,
            Spread.of(per_round_ratios(times[chunked], times[EXPLICIT])),
        ),
    ]
    tiled_time = stats[tall].median / stats[FUSED].median
    tiled_mem = memory[tall] / memory[FUSED]
    train_ratio = training["tiled"] / training["explicit"]
    targets += [
        Target(
            f"forward time: tiled ({2 * block}×{block}) / torch fused SDPA",
            tiled_time,
            "≤ 1.5",
            tiled_time <= 1.5,
            Spread.of(per_round_ratios(times[tall], times[FUSED])),
        ),
        Target(
            f"forward peak memory: tiled ({2 * block}×{block}) / torch fused SDPA",
            tiled_mem,
            "≤ 2",
            tiled_mem <= 2,
        ),
        Target(
            "forward + backward peak memory: tiled / explicit",
            train_ratio,
            "≤ 0.125 (1/8)",
            train_ratio <= 1 / 8,
        ),
    ]
    fused_time = stats[FUSED].median / stats[chunked].median
    notes = [
        f"B={B}, {H} heads, T={T}, head_dim={Dh}, float32, torch.inference_mode(); "
        f"time: median of {repeats} interleaved rounds; memory: peak of CPU allocations seen by the "
        "PyTorch profiler (attn_lib.efficient.measure_peak_memory), deterministic.",
        f"One (B, H, T, T) float32 score matrix is {score_bytes / MiB:.0f} MiB; the explicit formula "
        f"keeps two (scores and weights): {2 * score_bytes / MiB:.0f} MiB in theory. "
        f"attn_lib.scaled_dot_product_attention overwrites the scores with the weights when autograd is "
        f"off (one block); chunked_attention holds one (B, H, T, C) block "
        f"= {B * H * T * chunk * 4 / MiB:.0f} MiB for C={chunk}, plus q·scale, the accumulator and the "
        "output. "
        f"C={chunk} is the chunk size of the targets; C={4 * chunk} shows how time and memory move with C. "
        f"tiled_attention is timed at its default blocks ({block}×{block}) and with query blocks twice as "
        f"tall ({2 * block}×{block}, the targets' tiling): each key block is then read T/{2 * block} times "
        f"instead of T/{block}, for one (B, H, {2 * block}, {block}) score block "
        f"= {B * H * 2 * block * block * 4 / MiB:.0f} MiB, reused in place at every step.",
        f"PyTorch's fused kernel (flash attention for the CPU) does the same online softmax in C++: "
        f"{fused_time:.2f}× the time of chunked_attention, {memory[FUSED] / MiB:.1f} MiB "
        "(little more than its output).",
        f"Training memory (forward + backward with requires_grad inputs, gradients included): explicit "
        f"{training['explicit'] / MiB:.0f} MiB (autograd keeps the (B, H, T, T) weights and the backward "
        f"builds T×T gradients), tiled {training['tiled'] / MiB:.0f} MiB (it keeps Q, K, V, the output and "
        "the log-sum-exp, and recomputes the weights block by block).",
    ]
    figure = _plot(stats, memory, (T, H, Dh, chunk, block), out_dir)
    return Result("chunked", f"Attention at T={T}: time and memory", table, targets, notes, figure)


def _training_memory(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, block: int) -> dict[str, int]:
    """Peak bytes of one forward + backward pass, explicit formula against tiled attention."""
    q, k, v = (t.detach().clone().requires_grad_() for t in (q, k, v))
    d_out = torch.randn_like(q)
    scale = 1.0 / math.sqrt(q.shape[-1])

    def explicit() -> None:
        out = torch.softmax((q * scale) @ k.transpose(-2, -1), dim=-1) @ v
        torch.autograd.grad(out, (q, k, v), d_out)

    def tiled() -> None:
        out = tiled_attention(q, k, v, block_q=block, block_k=block)[0]
        torch.autograd.grad(out, (q, k, v), d_out)

    return {"explicit": measure_peak_memory(explicit), "tiled": measure_peak_memory(tiled)}


def _plot(stats: dict[str, Spread], memory: dict[str, int], size, out_dir: Path) -> Path:
    T, H, Dh, chunk, block = size
    names = list(stats)
    labels = [
        "explicit\nformula",
        "attn_lib\nsdpa",
        f"chunked\nC={chunk}",
        f"chunked\nC={4 * chunk}",
        f"tiled\n{block}×{block}",
        f"tiled\n{2 * block}×{block}",
        "torch\nfused",
    ]
    colours = ["#d55e00", "#e69f00", "#009e73", "#56b4e9", "#cc79a7", "#f0e442", "#0072b2"]
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 3.8))
    for i, name in enumerate(names):
        s = stats[name]
        ax_t.bar(i, s.median * 1e3, color=colours[i])
        ax_t.errorbar(i, s.median * 1e3, [[(s.median - s.lo) * 1e3], [(s.hi - s.median) * 1e3]], color="k")
        ax_m.bar(i, memory[name] / MiB, color=colours[i])
        ax_m.text(i, memory[name] / MiB, f"{memory[name] / MiB:.0f}", ha="center", va="bottom", fontsize=8)
    for ax in (ax_t, ax_m):
        ax.set_xticks(range(len(names)), labels, fontsize=8)
    ax_t.set_ylabel("time (ms, median, bar = min–max)")
    ax_m.set_ylabel("peak memory (MiB, log scale)")
    ax_m.set_yscale("log")
    ax_t.set_title("time", fontsize=10)
    ax_m.set_title("memory: chunks never build the T×T matrix", fontsize=10)
    fig.suptitle(
        f"Attention, {H} heads, T={T}, head_dim={Dh}: same result, a fraction of the memory", fontsize=11
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, "chunked")
