"""(c) Generation with and without the key/value cache: ``greedy_decode(use_cache=...)``."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import torch

from attn_lib import Transformer, greedy_decode

from .common import Result, Spread, Target, interleave, markdown_table, per_round_ratios, save_figure

RECOMPUTE = "recompute the prefix (use_cache=False)"
CACHED = "KV cache (use_cache=True)"
FULL = dict(
    d_model=256, heads=4, layers=4, d_ff=1024, vocab=1000, S=32, B=1, lengths=[32, 64, 128, 256], repeats=5
)
QUICK = dict(d_model=32, heads=2, layers=2, d_ff=64, vocab=50, S=8, B=1, lengths=[4, 8, 16], repeats=1)


def run(quick: bool, out_dir: Path) -> Result:
    c = QUICK if quick else FULL
    d_model, heads, layers, d_ff, vocab = c["d_model"], c["heads"], c["layers"], c["d_ff"], c["vocab"]
    S, B, lengths, repeats = c["S"], c["B"], c["lengths"], c["repeats"]
    torch.manual_seed(0)
    model = Transformer(
        vocab,
        vocab,
        d_model=d_model,
        num_heads=heads,
        num_encoder_layers=1,
        num_decoder_layers=layers,
        d_ff=d_ff,
        max_len=max(lengths) + 1,
    ).eval()
    src = torch.randint(3, vocab, (B, S), generator=torch.Generator().manual_seed(0))
    eos = 2  # the end token, made impossible by its output bias: every run makes exactly n tokens
    with torch.no_grad():
        model.generator.bias[eos] = -1e9

    def generate(n: int, use_cache: bool):
        return lambda: greedy_decode(model, src, max_len=n, bos_id=1, eos_id=eos, use_cache=use_cache)

    curve: dict[str, list[float]] = {RECOMPUTE: [], CACHED: []}
    last_times: dict[str, list[float]] = {}
    for n in lengths:
        plain, cached = generate(n, False)(), generate(n, True)()
        assert plain.shape == (B, n + 1), plain.shape
        assert torch.equal(plain, cached), f"the cache changed the generated tokens (n={n})"
        times = interleave(
            {RECOMPUTE: generate(n, False), CACHED: generate(n, True)},
            repeats if n == lengths[-1] else max(1, min(3, repeats)),
            warmup=0,  # the two calls above were the warm-up
        )
        for name, t in times.items():
            curve[name].append(Spread.of(t).median)
        last_times = times
    n = lengths[-1]
    stats = {name: Spread.of(t) for name, t in last_times.items()}
    speedup = stats[RECOMPUTE].median / stats[CACHED].median
    rows = [
        [
            name,
            f"{s.median:.2f}",
            s.range(1, 2),
            s.iqr(1, 2),
            f"{n * B / s.median:.0f}",
            f"{stats[RECOMPUTE].median / s.median:.2f}",
        ]
        for name, s in stats.items()
    ]
    table = markdown_table(["contender", "median s", "min–max s", "IQR s", "tokens/s", "speed-up"], rows)
    targets = [
        Target(
            f"speed-up of the cache, {n} tokens",
            speedup,
            "≥ 3",
            speedup >= 3,
            Spread.of(per_round_ratios(last_times[RECOMPUTE], last_times[CACHED])),
        )
    ]
    params = sum(p.numel() for p in model.parameters())
    notes = [
        f"attn_lib.Transformer: {layers} decoder layers, 1 encoder layer, d_model={d_model}, {heads} heads, "
        f"d_ff={d_ff}, vocabulary {vocab} ({params / 1e6:.1f} M parameters), batch {B}, source length {S}; "
        f"{n} tokens generated greedily (an EOS id the model cannot produce, so no early stop); median of "
        f"{repeats} interleaved rounds.",
        "Identical tokens with and without the cache, asserted for every length before timing.",
        "Without a cache, step t runs the decoder on all t tokens of the prefix (O(t) work per step, "
        "O(n²) in total); with it, only on the new token, whose query attends to the cached keys and values.",
    ]
    figure = _plot(lengths, curve, out_dir)
    return Result("kv_cache", f"KV cache: generating {n} tokens", table, targets, notes, figure)


def _plot(lengths: list[int], curve: dict[str, list[float]], out_dir: Path) -> Path:
    fig, (ax, ax_r) = plt.subplots(1, 2, figsize=(9, 3.6))
    for (name, values), colour in zip(curve.items(), ["#e76f51", "#2a9d8f"], strict=True):
        ax.plot(lengths, values, "o-", color=colour, label=name)
    ax.set_xlabel("tokens generated")
    ax.set_ylabel("time (s, median)")
    ax.set_title("total generation time", fontsize=10)
    ax.legend(fontsize=8)
    speedups = [a / b for a, b in zip(curve[RECOMPUTE], curve[CACHED], strict=True)]
    ax_r.plot(lengths, speedups, "o-", color="#264653")
    ax_r.axhline(1.0, color="grey", lw=0.8)
    ax_r.set_xlabel("tokens generated")
    ax_r.set_ylabel("speed-up (recompute ÷ cache)")
    ax_r.set_title("the cache pays more the longer the output", fontsize=10)
    ax_r.set_ylim(bottom=0)
    fig.suptitle(
        f"Greedy generation: the KV cache is {speedups[-1]:.1f}× faster at {lengths[-1]} tokens", fontsize=11
    )
    fig.tight_layout()
    return save_figure(fig, out_dir, "kv_cache")
