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

from .attention import check_mask


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


def _label_query_key_axes(
    ax: Axes,
    shape: tuple[int, int],
    query_labels: Sequence[str] | None,
    key_labels: Sequence[str] | None,
    title: str,
) -> None:
    """Ticks on every query row and key column, token labels if given, axis names and title."""
    ax.set_xticks(range(shape[1]))
    ax.set_yticks(range(shape[0]))
    if key_labels is not None:
        ax.set_xticklabels(list(key_labels), rotation=90 if max(map(len, key_labels), default=0) > 2 else 0)
    if query_labels is not None:
        ax.set_yticklabels(list(query_labels))
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position (attending)")
    ax.set_title(title)


def plot_mask(
    mask: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "mask (True = may attend)",
    ax: Axes | None = None,
    colorbar: bool = True,
) -> Axes:
    """Draw a bool ``(T_q, T_k)`` mask: a cell is "may attend" (True) or "blocked" (False).

    Broadcast a ``(B, 1, 1, T_k)`` padding mask to one sentence's ``(T_q, T_k)`` first.
    """
    from matplotlib.colors import ListedColormap

    m = torch.as_tensor(mask).detach().cpu()
    if m.dtype != torch.bool or m.dim() != 2:
        raise ValueError(
            f"mask must be a 2-D bool (T_q, T_k) tensor, got {m.dtype} of shape {tuple(m.shape)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 0.45 * m.shape[1], 0.8 + 0.45 * m.shape[0]))
    cmap = ListedColormap(["#d9d9d9", "#2a9d8f"])  # False = grey, True = teal
    im = ax.imshow(m.float().numpy(), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    _label_query_key_axes(ax, tuple(m.shape), query_labels, key_labels, title)
    ax.set_xticks([x - 0.5 for x in range(1, m.shape[1])], minor=True)  # white lines between cells
    ax.set_yticks([y - 0.5 for y in range(1, m.shape[0])], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    if colorbar:
        cbar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, ticks=[0.25, 0.75])
        cbar.ax.set_yticklabels(["False:\nblocked", "True:\nmay attend"])
    return ax


# ------------------------------------------------ lesson 05


def plot_masked_matrix(
    values: torch.Tensor,
    hidden: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = "",
    ax: Axes | None = None,
    hidden_text: str = "−∞",
    cbar_label: str = "score",
    cmap: str = "viridis",
    annotate: bool = True,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Axes:
    """Heatmap of a ``(T_q, T_k)`` matrix whose ``hidden`` cells are drawn grey and labelled
    ``hidden_text`` instead of coloured: ``-inf`` scores, NaN weights, or gradients that are
    exactly 0.

    The colour scale covers only the visible cells (unless ``vmin``/``vmax`` are given), so
    ``-inf`` does not squash it.
    """
    v = torch.as_tensor(values).detach().float().cpu()
    h = torch.as_tensor(hidden).detach().cpu().bool()
    if v.dim() != 2 or h.shape != v.shape:
        raise ValueError(
            f"values must be 2-D (T_q, T_k) and hidden the same shape, "
            f"got {tuple(v.shape)} and {tuple(h.shape)}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(1.5 + 0.55 * v.shape[1], 0.8 + 0.5 * v.shape[0]))
    shown = v.masked_fill(h, float("nan"))
    finite = shown[torch.isfinite(shown)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.numel() else (0.0, 1.0)
    lo, hi = lo if vmin is None else vmin, hi if vmax is None else vmax
    colours = plt.get_cmap(cmap).with_extremes(bad="#d9d9d9")  # NaN (hidden) cells: grey
    im = ax.imshow(shown.numpy(), cmap=colours, vmin=lo, vmax=hi if hi > lo else lo + 1.0, aspect="auto")
    for i in range(v.shape[0]):
        for j in range(v.shape[1]):
            if bool(h[i, j]):
                ax.text(j, i, hidden_text, ha="center", va="center", fontsize=8, color="#555555")
            elif annotate:
                x = float(v[i, j])
                dark = (x - lo) < 0.5 * (hi - lo)
                ax.text(
                    j, i, f"{x:.2f}", ha="center", va="center", fontsize=7, color="white" if dark else "black"
                )
    _label_query_key_axes(ax, tuple(v.shape), query_labels, key_labels, title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=cbar_label)
    return ax


# ------------------------------------------------ lesson 06


def blocked_cells(mask: torch.Tensor | None, T: int, S: int) -> torch.Tensor:
    """Bool ``(T, S)``: True where ``mask`` (bool, True = may attend, broadcastable to ``(T, S)``)
    blocks a cell; all False without a mask. Checked like every mask in ``attn_lib``."""
    if mask is None:
        return torch.zeros(T, S, dtype=torch.bool)
    return ~check_mask(mask, (T, S)).detach().cpu().expand(T, S)


def plot_alignment(
    weights: torch.Tensor,
    source_labels: Sequence[str],
    target_labels: Sequence[str],
    expected: Sequence[int | None] | None = None,
    title: str = "cross-attention weights",
    ax: Axes | None = None,
    colorbar: bool = True,
    mask: torch.Tensor | None = None,
    pad_label: str = "<pad>",
) -> Axes:
    """Heatmap of one cross-attention map ``(T, S)`` read as an alignment.

    Rows are target positions (decoder, the queries), columns source positions (encoder,
    the keys and values); every cell shows its weight. ``expected[i]`` is the source position
    target i is known to align with (or None): that cell gets a dashed orange frame.
    ``mask`` (bool, True = may attend, broadcastable to ``(T, S)``) greys out and labels
    the blocked cells (their weight is exactly 0). Padded source columns (labelled
    ``pad_label``) get grey tick labels.
    """
    from matplotlib.patches import Rectangle

    w = _as_2d(weights)
    T, S = w.shape
    if len(source_labels) != S or len(target_labels) != T:
        raise ValueError(
            f"weights are (T={T}, S={S}) but got {len(target_labels)} target_labels and "
            f"{len(source_labels)} source_labels"
        )
    if expected is not None and len(expected) != T:
        raise ValueError(
            f"expected must give one source position (or None) per target row, T={T}, got {len(expected)}"
        )
    blocked = blocked_cells(mask, T, S)  # (T, S)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.8 + 0.75 * S, 1.0 + 0.6 * T))
    plot_attention(w, target_labels, source_labels, title=title, ax=ax, colorbar=colorbar)
    ax.set_xlabel("source token (encoder position: key, value)")
    ax.set_ylabel("target token (decoder position: query)")
    short = max(map(len, source_labels), default=0) * S <= 48  # short labels fit without rotation
    ax.set_xticks(
        range(S), list(source_labels), rotation=0 if short else 45, ha="center" if short else "right"
    )
    for tick, label in zip(ax.get_xticklabels(), source_labels, strict=True):
        if label == pad_label:
            tick.set_color("#999999")
    for i in range(T):
        for j in range(S):
            if bool(blocked[i, j]):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor="#d9d9d9", edgecolor="white"))
                ax.text(j, i, "masked", ha="center", va="center", fontsize=8, color="#555555")
                continue
            v = float(w[i, j])
            ax.text(
                j, i, f"{v:.2f}", ha="center", va="center", fontsize=9, color="white" if v < 0.5 else "black"
            )
    for i, j in enumerate(expected or []):
        if j is None:
            continue
        if not 0 <= j < S:
            raise ValueError(f"expected[{i}] = {j} is not a source position in [0, {S - 1}]")
        ax.add_patch(
            Rectangle(
                (j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor="#f4a261", linestyle="--", linewidth=2
            )
        )
    return ax


# ------------------------------------------------ lesson 07
# ------------------------------------------------ lesson 08
