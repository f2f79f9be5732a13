"""Plotting helpers shared by the lessons: attention heatmaps with token labels.

Each function takes plain tensors/lists and returns a matplotlib ``Figure`` (or draws on
a given ``Axes``), so lessons and widgets stay thin and the plots are testable.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def _as_2d(weights: torch.Tensor | Sequence[Sequence[float]]) -> torch.Tensor:
    w = torch.as_tensor(weights).detach().float().cpu()
    if w.dim() != 2:
        raise ValueError(f"weights must be a 2-D (T_q, T_k) map, got shape {tuple(w.shape)}")
    return w


def plot_attention(
    weights: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "attention weights",
    ax: Axes | None = None,
    colorbar: bool = True,
    annotate: bool = False,
    vmax: float | None = 1.0,
) -> Axes:
    """Heatmap of one ``(T_q, T_k)`` attention map: rows are queries, columns keys."""
    w = _as_2d(weights)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 0.45 * w.shape[1], 0.8 + 0.45 * w.shape[0]))
    im = ax.imshow(w.numpy(), cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_title(title)
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position (attending)")
    ax.set_xticks(range(w.shape[1]))
    ax.set_yticks(range(w.shape[0]))
    if key_labels is not None:
        ax.set_xticklabels(list(key_labels), rotation=90 if max(map(len, key_labels), default=0) > 2 else 0)
    if query_labels is not None:
        ax.set_yticklabels(list(query_labels))
    if annotate:
        for i in range(w.shape[0]):
            for j in range(w.shape[1]):
                v = float(w[i, j])
                ax.text(
                    j,
                    i,
                    f"{v:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if v < 0.5 * (vmax or float(w.max())) else "black",
                )
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight")
    return ax


def plot_attention_heads(
    weights: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "attention per head",
    max_cols: int = 4,
) -> Figure:
    """One heatmap per head for ``weights`` of shape ``(H, T_q, T_k)``, side by side."""
    w = torch.as_tensor(weights).detach().float().cpu()
    if w.dim() != 3:
        raise ValueError(f"weights must be (H, T_q, T_k), got shape {tuple(w.shape)}")
    H = w.shape[0]
    cols = min(H, max_cols)
    rows = (H + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for h in range(rows * cols):
        ax = axes[h // cols][h % cols]
        if h >= H:
            ax.axis("off")
            continue
        plot_attention(w[h], query_labels, key_labels, title=f"head {h}", ax=ax, colorbar=False)
        if h % cols:
            ax.set_ylabel("")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# Lesson-specific plots go below, one section per lesson (helpers shared by several lessons above).
# ------------------------------------------------ lesson 01
# ------------------------------------------------ lesson 02
# ------------------------------------------------ lesson 03
# ------------------------------------------------ lesson 04
# ------------------------------------------------ lesson 05
# ------------------------------------------------ lesson 06
# ------------------------------------------------ lesson 07
# ------------------------------------------------ lesson 08
