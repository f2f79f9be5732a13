"""(d) Training speed of the tiny Transformer of lesson 07 against ``torch.nn.Transformer`` of
the same size, wrapped in the same embeddings, positional encoding and generator."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn

from attn_lib import PositionalEncoding, Transformer, causal_mask, to_torch_mha_mask
from attn_lib.data import PAD, VOCAB_SIZE, make_reversal_batch
from attn_lib.train import sequence_loss

from .common import Result, Spread, Target, interleave, markdown_table, per_round_ratios, save_figure

# lesson 07's model and batches
CONFIG = dict(d_model=64, num_heads=2, num_encoder_layers=2, num_decoder_layers=2, d_ff=128, max_len=32)
BATCH, MIN_LEN, MAX_LEN = 64, 8, 12
OURS = "attn_lib.Transformer"
THEIRS = "torch.nn.Transformer"


class TorchSeq2Seq(nn.Module):
    """``torch.nn.Transformer`` with the embeddings, positional encoding and generator of
    ``attn_lib.Transformer``, so that both models do the same work.

    ``nn.Transformer`` reads bool masks as True = blocked (see ``to_torch_mha_mask``).
    """

    def __init__(self, vocab: int, d_model: int, num_heads: int, num_encoder_layers: int,
                 num_decoder_layers: int, d_ff: int, max_len: int):  # fmt: skip
        super().__init__()
        self.d_model = d_model
        self.src_embed = nn.Embedding(vocab, d_model)
        self.tgt_embed = nn.Embedding(vocab, d_model)
        for embed in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embed.weight, mean=0.0, std=d_model**-0.5)
        self.pos = PositionalEncoding(d_model, max_len)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nested-tensor advice that does not apply to training
            self.transformer = nn.Transformer(
                d_model,
                num_heads,
                num_encoder_layers,
                num_decoder_layers,
                d_ff,
                dropout=0.0,
                batch_first=True,
            )
        self.generator = nn.Linear(d_model, vocab)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        scale = math.sqrt(self.d_model)
        src_pad, tgt_pad = src == PAD, tgt == PAD  # (B, S), (B, T): True = blocked, torch's meaning
        out = self.transformer(
            self.pos(self.src_embed(src) * scale),
            self.pos(self.tgt_embed(tgt) * scale),
            tgt_mask=to_torch_mha_mask(causal_mask(tgt.shape[1])),
            src_key_padding_mask=src_pad,
            tgt_key_padding_mask=tgt_pad,
            memory_key_padding_mask=src_pad,
        )
        return self.generator(out)  # (B, T, V)


def _trainer(model: nn.Module, batches: list, steps: int) -> Callable[[], float]:
    """``steps`` training steps (forward, loss, backward, clip, AdamW) per call."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.98))
    position = [0]

    def run() -> float:
        loss = torch.tensor(0.0)
        for _ in range(steps):
            src, tgt_in, tgt_out = batches[position[0] % len(batches)]
            position[0] += 1
            loss = sequence_loss(model(src, tgt_in), tgt_out, PAD)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
        return loss.item()

    return run


def run(quick: bool, out_dir: Path) -> Result:
    steps, repeats = (2, 1) if quick else (20, 9)
    g = torch.Generator().manual_seed(0)
    batches = [make_reversal_batch(BATCH, MIN_LEN, MAX_LEN, g) for _ in range(20)]
    torch.manual_seed(0)
    ours = Transformer(VOCAB_SIZE, VOCAB_SIZE, **CONFIG)
    torch.manual_seed(0)
    theirs = TorchSeq2Seq(
        VOCAB_SIZE,
        CONFIG["d_model"],
        CONFIG["num_heads"],
        CONFIG["num_encoder_layers"],
        CONFIG["num_decoder_layers"],
        CONFIG["d_ff"],
        CONFIG["max_len"],
    )
    n_ours = sum(p.numel() for p in ours.parameters())
    n_theirs = sum(p.numel() for p in theirs.parameters())
    final_norms = 2 * 2 * CONFIG["d_model"]  # nn.Transformer adds a LayerNorm after encoder and decoder
    assert n_theirs == n_ours + final_norms, (n_ours, n_theirs)
    losses = {OURS: _trainer(ours, batches, steps), THEIRS: _trainer(theirs, batches, steps)}
    first = {name: fn() for name, fn in losses.items()}  # warm-up, and both must train
    assert all(math.isfinite(v) for v in first.values()), first
    times = interleave(losses, repeats, warmup=0)
    stats = {name: Spread.of([steps / t for t in ts]) for name, ts in times.items()}  # steps per second
    ratio = stats[OURS].median / stats[THEIRS].median
    rows = [
        [name, f"{s.median:.1f}", s.range(1, 1), s.iqr(1, 1), f"{s.median / stats[THEIRS].median:.2f}"]
        for name, s in stats.items()
    ]
    table = markdown_table(["model", "steps/s (median)", "min–max", "IQR", "÷ torch"], rows)
    targets = [
        Target(
            "training steps/s: attn_lib / torch.nn.Transformer",
            ratio,
            "≥ 0.9",
            ratio >= 0.9,
            Spread.of(per_round_ratios(times[THEIRS], times[OURS])),
        )
    ]
    notes = [
        f"Lesson 07's model: d_model={CONFIG['d_model']}, {CONFIG['num_heads']} heads, "
        f"{CONFIG['num_encoder_layers']}+{CONFIG['num_decoder_layers']} layers, d_ff={CONFIG['d_ff']}, "
        f"dropout 0; batches of {BATCH} reversal strings of length {MIN_LEN}–{MAX_LEN} with padding masks. "
        f"{n_ours:,} parameters (torch: {n_theirs:,}, its two final LayerNorms).",
        f"One step = forward, masked cross-entropy, backward, gradient clipping, AdamW. Each round times "
        f"{steps} steps of each model on the same batches; median of {repeats} interleaved rounds after "
        "a warm-up round.",
    ]
    figure = _plot(stats, out_dir)
    return Result("training", "Training the tiny Transformer of lesson 07", table, targets, notes, figure)


def _plot(stats: dict[str, Spread], out_dir: Path) -> Path:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = list(stats)
    for i, (name, colour) in enumerate(zip(names, ["#2a9d8f", "#e76f51"], strict=True)):
        s = stats[name]
        ax.barh(i, s.median, color=colour)
        ax.errorbar(s.median, i, xerr=[[s.median - s.lo], [s.hi - s.median]], color="k", capsize=3)
        ax.text(s.median / 2, i, f"{s.median:.1f}", ha="center", va="center", color="white")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("training steps per second (median, bar = min–max)")
    ratio = stats[OURS].median / stats[THEIRS].median
    ax.set_title(
        f"Lesson 07's tiny Transformer trains at {ratio:.2f}× the speed of torch.nn.Transformer", fontsize=10
    )
    return save_figure(fig, out_dir, "training")
