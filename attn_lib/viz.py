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
from .i18n import N_, _

# ---- Palettes: the one place that defines the course's colours (all colour-blind safe) -------
# Categorical: Okabe & Ito (2008), distinguishable in every common colour-vision deficiency
# (tests/test_viz_palettes.py simulates protanopia, deuteranopia and tritanopia); lines that must
# be told apart also differ in marker or line style, or are labelled directly.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BLUE, ORANGE, GREEN, PINK, SKY_BLUE, VERMILLION, YELLOW, BLACK = OKABE_ITO
GREY, LIGHT_GREY, PALE_GREY, DARK_GREY = "#999999", "#d9d9d9", "#f0f0f0", "#555555"  # neutral
SEQUENTIAL_CMAP = "viridis"  # weights, probabilities, sizes: perceptually uniform, CVD safe
DIVERGING_CMAP = "RdBu_r"  # signed values around 0: blue-white-red, never red-green
BINARY_GREYS = "Greys"  # 0/1 matrices: reads the same in any colour vision
ANNOTATE_MAX_CELLS = 12  # heatmaps up to 12 x 12 print every cell's value in the cell


def text_colour_on(rgba: Sequence[float]) -> str:
    """``"black"`` or ``"white"``: whichever contrasts more with a cell of colour ``rgba`` (WCAG)."""
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgba[:3])
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 else "white"


def annotate_heatmap(
    ax: Axes, image, values: torch.Tensor, fmt: str = "{:.2f}", fontsize: float | None = None
) -> None:
    """Print each finite value in its cell of ``image`` (an ``imshow``), black or white for contrast.

    ``values`` ``(rows, cols)``; NaN cells (hidden, masked) are left to the caller. The font
    shrinks with the cells, so a 12 x 12 map still fits its numbers.
    """
    v = torch.as_tensor(values).detach().float().cpu()
    rows, cols = v.shape
    if fontsize is None:
        box = ax.get_window_extent() if ax.figure.get_dpi() else None
        cell_pt = min(box.width / cols, box.height / rows) * 72 / ax.figure.get_dpi() if box else 20
        fontsize = max(5.0, min(9.0, 0.33 * cell_pt))
    for i in range(rows):
        for j in range(cols):
            x = float(v[i, j])
            if x != x:  # NaN
                continue
            colour = text_colour_on(image.cmap(image.norm(x)))
            ax.text(
                j, i, fmt.format(round(x, 2) + 0.0), ha="center", va="center", fontsize=fontsize, color=colour
            )


def heatmap_table(
    values: torch.Tensor | Sequence[Sequence[float]],
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    decimals: int = 2,
) -> str:
    """The numbers of a ``(rows, cols)`` heatmap as a text table, rows as in the figure.

    For heatmaps too large to print their values in the cells: ``print(heatmap_table(w, q, k))``.
    """
    v = _as_2d(values)
    rows = [str(i) for i in range(v.shape[0])] if row_labels is None else [str(x) for x in row_labels]
    cols = [str(j) for j in range(v.shape[1])] if col_labels is None else [str(x) for x in col_labels]
    if len(rows) != v.shape[0] or len(cols) != v.shape[1]:
        raise ValueError(
            f"row_labels/col_labels must name the {v.shape[0]} rows and {v.shape[1]} columns, "
            f"got {len(rows)} and {len(cols)}"
        )
    cells = [["nan" if x != x else f"{round(x, decimals) + 0.0:.{decimals}f}" for x in r] for r in v.tolist()]
    width = max([len(c) for c in cols] + [len(c) for r in cells for c in r])
    left = max(len(r) for r in rows)
    lines = [" " * left + " " + " ".join(c.rjust(width) for c in cols)]
    lines += [r.ljust(left) + " " + " ".join(c.rjust(width) for c in cells[i]) for i, r in enumerate(rows)]
    return "\n".join(lines)


def _as_2d(weights: torch.Tensor | Sequence[Sequence[float]]) -> torch.Tensor:
    w = torch.as_tensor(weights).detach().float().cpu()
    if w.dim() != 2:
        raise ValueError(f"weights must be a 2-D (T_q, T_k) map, got shape {tuple(w.shape)}")
    return w


def plot_attention(
    weights: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = N_("attention weights"),
    ax: Axes | None = None,
    colorbar: bool = True,
    annotate: bool | None = None,
    vmax: float | None = 1.0,
) -> Axes:
    """Heatmap of one ``(T_q, T_k)`` attention map: rows are queries, columns keys.

    ``annotate``: print each weight in its cell; ``None`` (default) does so for maps up to
    ``ANNOTATE_MAX_CELLS`` x ``ANNOTATE_MAX_CELLS``. For larger maps, :func:`heatmap_table`
    gives the numbers as text.
    """
    w = _as_2d(weights)
    if annotate is None:
        annotate = max(w.shape) <= ANNOTATE_MAX_CELLS
    if ax is None:
        _fig, ax = plt.subplots(figsize=(1.0 + 0.45 * w.shape[1], 0.8 + 0.45 * w.shape[0]))
    im = ax.imshow(w.numpy(), cmap=SEQUENTIAL_CMAP, vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_title(_(title))
    ax.set_xlabel(_("key position (attended to)"))
    ax.set_ylabel(_("query position (attending)"))
    ax.set_xticks(range(w.shape[1]))
    ax.set_yticks(range(w.shape[0]))
    if key_labels is not None:
        ax.set_xticklabels(list(key_labels), rotation=90 if max(map(len, key_labels), default=0) > 2 else 0)
    if query_labels is not None:
        ax.set_yticklabels(list(query_labels))
    if annotate:
        annotate_heatmap(ax, im, w)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=_("weight"))
    return ax


def plot_attention_heads(
    weights: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = N_("attention per head"),
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
        plot_attention(w[h], query_labels, key_labels, title=_("head {h}").format(h=h), ax=ax, colorbar=False)
        if h % cols:
            ax.set_ylabel("")
    fig.suptitle(_(title))
    fig.tight_layout()
    return fig


# Lesson-specific plots go below, one section per lesson (helpers shared by several lessons above).
# ------------------------------------------------ lesson 01
# ---- lessons 01-04: query length, temperature, the √d_k measurements, positional encoding.
UNSCALED_COLOUR, SCALED_COLOUR, DK_COLOUR = VERMILLION, BLUE, GREEN  # ÷1, ÷√d_k, ÷d_k (Okabe & Ito)


def _as_1d(name: str, values: object) -> torch.Tensor:
    t = torch.as_tensor(values).detach().double().cpu()
    if t.dim() != 1 or t.numel() == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {tuple(t.shape)}")
    return t


def plot_query_length(
    lengths: torch.Tensor,
    weights: torch.Tensor,
    key_labels: Sequence[str],
    marked_length: float | None = None,
    direction_deg: float | None = None,
) -> Figure:
    """Lesson 01: how the length of a query sharpens its weights (its direction fixed).

    Args:
        lengths: ``(N,)`` query lengths ‖q‖.
        weights: ``(N, T_k)`` softmax weights of the query at each length.
        key_labels: the T_k key names.
        marked_length: a length to mark with a dotted line (the lesson's own query).
        direction_deg: the fixed direction, for the axis label.

    Left: every key's weight against the length. Right: the entropy of the weights (nats),
    from ln T_k (equal weights) towards 0 (one weight is 1).
    """
    import math

    L = _as_1d("lengths", lengths)
    w = torch.as_tensor(weights).detach().double().cpu()
    if w.dim() != 2 or w.shape[0] != L.numel() or w.shape[1] != len(key_labels):
        raise ValueError(
            f"weights must be (N, T_k) = ({L.numel()}, {len(key_labels)}) for {L.numel()} lengths and "
            f"{len(key_labels)} key_labels, got {tuple(w.shape)}"
        )
    entropy = torch.special.entr(w).sum(dim=1)  # (N,)
    where = (
        _(" (direction fixed at {direction_deg:.1f}°)").format(direction_deg=direction_deg)
        if direction_deg is not None
        else ""
    )
    fig, (ax_w, ax_h) = plt.subplots(1, 2, figsize=(10, 3.6))
    for j, name in enumerate(key_labels):
        ax_w.plot(L, w[:, j], color=OKABE_ITO[j % len(OKABE_ITO)], linewidth=2, label=name)
    ax_h.plot(L, entropy, color="black", linewidth=2)
    ax_h.axhline(
        math.log(w.shape[1]),
        color="grey",
        linestyle="--",
        label=_("ln {shape}: equal weights").format(shape=w.shape[1]),
    )
    ax_h.axhline(0, color="grey", linestyle=":", label=_("0: one weight is 1 (hard lookup)"))
    if marked_length is not None:
        for ax in (ax_w, ax_h):
            ax.axvline(
                marked_length,
                color="grey",
                linestyle=":",
                label=_("our query, ‖q‖ = {marked_length:.2f}").format(marked_length=marked_length),
            )
    ax_w.set_xlabel(_("query length ‖q‖{where}").format(where=where))
    ax_w.set_ylabel(_("attention weight"))
    ax_w.set_title(_("weight of each key"))
    ax_w.legend(fontsize=8, frameon=False, loc="center right")
    ax_h.set_xlabel(_("query length ‖q‖{where}").format(where=where))
    ax_h.set_ylabel(_("entropy of the weights (nats)"))
    ax_h.set_ylim(-0.05, math.log(w.shape[1]) + 0.15)
    ax_h.set_title(_("how spread the weights are"))
    ax_h.legend(fontsize=8, frameon=False, loc="center right")
    fig.suptitle(_("A longer query gives sharper weights: from the plain mean (length 0) to a hard lookup"))
    fig.tight_layout()
    return fig


def plot_temperature(scores: torch.Tensor, taus: torch.Tensor) -> Figure:
    """Lesson 02: the weights softmax(scores / τ) of a few ``scores`` ``(T_k,)`` against the
    temperatures ``taus`` ``(N,)`` (log axis), one curve per score, with the uniform 1/T_k."""
    from .attention import softmax

    x = _as_1d("scores", scores).float()
    t = _as_1d("taus", taus)
    if bool((t <= 0).any()):
        raise ValueError(f"taus must all be > 0 (a temperature divides the scores), got min {float(t.min())}")
    curves = torch.stack([softmax(x / float(tau)) for tau in t])  # (N, T_k)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    styles = ("-", "--", "-.", ":")
    for j in range(x.numel()):
        ax.plot(
            t.numpy(),
            curves[:, j].numpy(),
            color=OKABE_ITO[j % len(OKABE_ITO)],
            linestyle=styles[j % len(styles)],
            linewidth=2,
            label=_("score {x:+.1f}").format(x=float(x[j])),
        )
    ax.axhline(
        1 / x.numel(),
        color="grey",
        linestyle=":",
        linewidth=1,
        label=_("uniform 1/{numel}").format(numel=x.numel()),
    )
    ax.set_xscale("log")
    ax.set_xlabel(_("temperature τ (log scale)"))
    ax.set_ylabel(_("softmax(x / τ) weight"))
    ax.set_title(_("Low temperature: the largest score takes all; high temperature: uniform"))
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def plot_score_variance(d_ks: Sequence[int], var_raw: Sequence[float], var_scaled: Sequence[float]) -> Figure:
    """Lesson 02: measured Var(q·k) and Var(q·k/√d_k) against d_k (log-log), with y = d_k."""
    d = _as_1d("d_ks", d_ks)
    raw, scaled = _as_1d("var_raw", var_raw), _as_1d("var_scaled", var_scaled)
    if not raw.numel() == scaled.numel() == d.numel():
        raise ValueError(
            f"d_ks, var_raw and var_scaled must have the same length, got {d.numel()}, "
            f"{raw.numel()} and {scaled.numel()}"
        )
    ticks = [int(v) for v in d.tolist()]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    ax.plot(ticks, ticks, color="black", linestyle=":", linewidth=1.2, label=_("y = d_k (theory)"))
    ax.plot(ticks, raw.numpy(), "o-", color=UNSCALED_COLOUR, label=_("measured Var(q·k)"))
    ax.plot(ticks, scaled.numpy(), "s--", color=SCALED_COLOUR, label=_("measured Var(q·k / √d_k)"))
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.set_xticks(ticks, [str(v) for v in ticks])
    ax.set_yticks(ticks, [str(v) for v in ticks])
    ax.set_xlabel(_("d_k (query/key width)"))
    ax.set_ylabel(_("variance over the pairs"))
    ax.set_title(_("Var(q·k) grows like d_k; dividing by √d_k keeps it at 1"))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_scaling_curves(curves: dict, num_keys: int = 16, by_d_k: dict | None = None) -> Figure:
    """Lesson 02: the three medians of ``scaling_curves`` (largest weight, entropy,
    ‖∂p/∂z‖_F) against d_k, without and with ÷√d_k; ``by_d_k`` (same keys, optional) adds
    the curves of a division by d_k instead."""
    import math

    for name in ("d_k", "unscaled", "scaled"):
        if name not in curves:
            raise ValueError(f"curves must be the dict of scaling_curves(), it has no {name!r}")
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 3.8))
    panels = [
        ("max_weight", N_("largest weight (median)"), N_("largest weight")),
        ("entropy", N_("entropy in nats (median)"), N_("entropy")),
        ("grad_norm", N_(r"$\|\partial p/\partial z\|_F$ (median, log scale)"), N_("gradient size")),
    ]
    series = [
        ("unscaled", "softmax(q·k)", UNSCALED_COLOUR, "o-"),
        ("scaled", "softmax(q·k / √d_k)", SCALED_COLOUR, "s-"),
    ]
    if by_d_k is not None:
        series.append(("by_d_k", "softmax(q·k / d_k)", DK_COLOUR, "^--"))
    data = {**curves, "by_d_k": by_d_k}
    for ax, (key, ylabel, what) in zip(axes, panels, strict=True):
        for name, label, colour, style in series:
            y = torch.as_tensor(data[name][key]).double().clamp_min(1e-12)  # a log axis cannot show 0
            ax.plot(curves["d_k"], y.numpy(), style, color=colour, label=label, markersize=4)
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 4, 16, 64, 256, 1024], ["1", "4", "16", "64", "256", "1024"])
        if key == "grad_norm":
            ax.set_yscale("log")
        ax.set_xlabel(_("d_k (query/key width)"))
        ax.set_ylabel(_(ylabel))
        ax.set_title(_(what))
    axes[0].axhline(
        1 / num_keys,
        color="grey",
        linestyle=":",
        linewidth=1,
        label=_("uniform weights: 1/{num_keys}").format(num_keys=num_keys),
    )
    axes[0].legend(fontsize=8, frameon=False)
    axes[1].axhline(math.log(num_keys), color="grey", linestyle=":", linewidth=1)
    axes[1].text(
        64,
        math.log(num_keys) - 0.08,
        _("uniform: ln {num_keys}").format(num_keys=num_keys),
        fontsize=8,
        va="top",
        ha="center",
    )
    fig.suptitle(
        _(
            "Unscaled, the softmax saturates and its gradient vanishes as d_k grows;\n"
            "÷√d_k keeps all three in "
            "one range (a small drift below d_k ≈ 16)"
        )
        + (_("; ÷d_k flattens the weights to uniform") if by_d_k is not None else "")
    )
    fig.tight_layout()
    return fig


def plot_positional_encoding(pe: torch.Tensor) -> Figure:
    """Lesson 04: the ``(T_max, D)`` sinusoidal table as a heatmap, one row per position."""
    table = _as_2d(pe)
    fig, ax = plt.subplots(figsize=(8, 4))
    im = ax.imshow(
        table.numpy(), cmap=DIVERGING_CMAP, vmin=-1, vmax=1, aspect="auto"
    )  # numbers: heatmap_table
    fig.colorbar(im, ax=ax, label=_("PE value"))
    ax.set_xlabel(_("dimension (even = sin, odd = cos; frequency falls to the right)"))
    ax.set_ylabel(_("position pos"))
    ax.set_title(_("Sinusoidal positional encoding: fast waves on the left, slow ones on the right"))
    fig.tight_layout()
    return fig


def plot_pe_dot_products(
    ks: torch.Tensor, dots: dict[int, torch.Tensor], formula: torch.Tensor | None = None
) -> Figure:
    """Lesson 04: PE[p]·PE[p+k] against the offset k, one curve per start position p
    (``dots[p]`` has the shape of ``ks``), and the formula Σ cos(k ωᵢ) if given."""
    k = _as_1d("ks", ks)
    if not dots:
        raise ValueError("dots must map at least one start position p to its curve PE[p]·PE[p+k]")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sizes = (9, 6, 3, 2)
    for n, (p, curve) in enumerate(dots.items()):
        c = _as_1d(f"dots[{p}]", curve)
        if c.numel() != k.numel():
            raise ValueError(f"dots[{p}] has {c.numel()} values but ks has {k.numel()}")
        ax.plot(
            k,
            c,
            marker="o",
            markersize=sizes[n % 4],
            linewidth=1,
            color=OKABE_ITO[n % 8],
            label=_("p = {p}").format(p=p),
        )
    if formula is not None:
        ax.plot(
            k, _as_1d("formula", formula), color="black", linestyle="--", linewidth=1, label=_("Σ cos(k ωᵢ)")
        )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_xlabel(_("offset k (positions; negative = before p)"))
    ax.set_ylabel(_("PE[p] · PE[p+k]"))
    starts = ", ".join(str(p) for p in dots)
    ax.set_title(
        _(
            "PE[p]·PE[p+k] depends only on k, and the same for ±k: the curves for p = {starts} coincide"
        ).format(starts=starts)
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_grad_norm_per_layer(
    grad_norms: dict[str, Sequence[float]],
    title: str = "",
    ylabel: str = N_("‖∂loss/∂(input of the layer)‖ (log scale)"),
) -> Figure:
    """Lesson 04: a gradient norm per layer (layer 0 = nearest the input), one line per
    variant (e.g. ``{"post-norm": [...], "pre-norm": [...]}``), log y axis."""
    if not grad_norms:
        raise ValueError("grad_norms must map a variant name to its per-layer gradient norms")
    fig, ax = plt.subplots(figsize=(7, 3.6))
    styles = ("o-", "s--", "^-.", "d:")
    for n, (name, values) in enumerate(grad_norms.items()):
        v = _as_1d(f"grad_norms[{name!r}]", values)
        ax.plot(range(v.numel()), v.numpy(), styles[n % 4], color=OKABE_ITO[n % 8], label=name)
    ax.set_yscale("log")
    ax.set_xlabel(_("encoder layer (0 = nearest the input)"))
    ax.set_ylabel(_(ylabel))
    ax.legend(frameon=False)
    ax.set_title(_(title) if title else _("gradient norm per layer"))
    fig.tight_layout()
    return fig


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
    ax.set_xlabel(_("key position (attended to)"))
    ax.set_ylabel(_("query position (attending)"))
    ax.set_title(_(title))


def plot_mask(
    mask: torch.Tensor,
    query_labels: Sequence[str] | None = None,
    key_labels: Sequence[str] | None = None,
    title: str = N_("mask (True = may attend)"),
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
        _fig, ax = plt.subplots(figsize=(1.5 + 0.45 * m.shape[1], 0.8 + 0.45 * m.shape[0]))
    cmap = ListedColormap([LIGHT_GREY, BLUE])  # False = grey, True = blue
    im = ax.imshow(m.float().numpy(), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    _label_query_key_axes(ax, tuple(m.shape), query_labels, key_labels, title)
    ax.set_xticks([x - 0.5 for x in range(1, m.shape[1])], minor=True)  # white lines between cells
    ax.set_yticks([y - 0.5 for y in range(1, m.shape[0])], minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    if colorbar:
        cbar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, ticks=[0.25, 0.75])
        cbar.ax.set_yticklabels([_("False:\nblocked"), _("True:\nmay attend")])
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
    cbar_label: str = N_("score"),
    cmap: str = SEQUENTIAL_CMAP,
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
        _fig, ax = plt.subplots(figsize=(1.5 + 0.55 * v.shape[1], 0.8 + 0.5 * v.shape[0]))
    shown = v.masked_fill(h, float("nan"))
    finite = shown[torch.isfinite(shown)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.numel() else (0.0, 1.0)
    lo, hi = lo if vmin is None else vmin, hi if vmax is None else vmax
    colours = plt.get_cmap(cmap).with_extremes(bad=LIGHT_GREY)  # NaN (hidden) cells: grey
    im = ax.imshow(shown.numpy(), cmap=colours, vmin=lo, vmax=hi if hi > lo else lo + 1.0, aspect="auto")
    for i, j in h.nonzero().tolist():
        ax.text(j, i, hidden_text, ha="center", va="center", fontsize=8, color=DARK_GREY)
    if annotate:
        annotate_heatmap(ax, im, shown, fontsize=7)  # the visible cells; hidden ones are NaN
    _label_query_key_axes(ax, tuple(v.shape), query_labels, key_labels, title)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=_(cbar_label))
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
    title: str = N_("cross-attention weights"),
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
        _fig, ax = plt.subplots(figsize=(1.8 + 0.75 * S, 1.0 + 0.6 * T))
    plot_attention(w, target_labels, source_labels, title=_(title), ax=ax, colorbar=colorbar, annotate=False)
    ax.set_xlabel(_("source token (encoder position: key, value)"))
    ax.set_ylabel(_("target token (decoder position: query)"))
    short = max(map(len, source_labels), default=0) * S <= 48  # short labels fit without rotation
    ax.set_xticks(
        range(S), list(source_labels), rotation=0 if short else 45, ha="center" if short else "right"
    )
    for tick, label in zip(ax.get_xticklabels(), source_labels, strict=True):
        if label == pad_label:
            tick.set_color(GREY)
    for i in range(T):
        for j in range(S):
            if bool(blocked[i, j]):
                ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=LIGHT_GREY, edgecolor="white"))
                ax.text(j, i, _("masked"), ha="center", va="center", fontsize=8, color=DARK_GREY)
    annotate_heatmap(ax, ax.images[0], w.masked_fill(blocked, float("nan")), fontsize=9)
    for i, j in enumerate(expected or []):
        if j is None:
            continue
        if not 0 <= j < S:
            raise ValueError(f"expected[{i}] = {j} is not a source position in [0, {S - 1}]")
        ax.add_patch(
            Rectangle(
                (j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor=ORANGE, linestyle="--", linewidth=2
            )
        )
    return ax


# ------------------------------------------------ lesson 07
# ---- lessons 05-07: the hand-set dictionary (06), the training curve and its learning rate (07).


def plot_dictionary(
    matrix: torch.Tensor,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str = N_("W^K, the hand-set dictionary"),
    ax: Axes | None = None,
) -> Axes:
    """Lesson 06: a 0/1 matrix ``(R, C)`` (rows = meanings, columns = source words), ones marked "1".

    Greys (black = 1, white = 0) with a colour bar, so it reads the same in any colour vision.
    """
    m = _as_2d(matrix)
    if m.shape != (len(row_labels), len(col_labels)):
        raise ValueError(
            f"matrix must be (len(row_labels), len(col_labels)) = ({len(row_labels)}, {len(col_labels)}), "
            f"got {tuple(m.shape)}"
        )
    if ax is None:
        _fig, ax = plt.subplots(figsize=(1.5 + 0.7 * m.shape[1], 1.0 + 0.5 * m.shape[0]))
    im = ax.imshow(m.numpy(), cmap=BINARY_GREYS, vmin=0.0, vmax=1.0, aspect="auto")
    annotate_heatmap(ax, im, m, fmt="{:g}", fontsize=10)  # every entry, 0s too
    ax.set_xticks(range(m.shape[1]), list(col_labels))
    ax.set_yticks(range(m.shape[0]), list(row_labels))
    ax.set_xlabel(_("source word (input of W^K)"))
    ax.set_ylabel(_("meaning (output of W^K)"))
    ax.set_title(_(title))
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=_("entry of W^K"))
    return ax


def plot_training_history(
    losses: Sequence[float],
    learning_rates: Sequence[float],
    reference_loss: float | None = None,
    title: str = N_("training"),
) -> Figure:
    """Lesson 07: the loss of every step (log scale) above, the learning rate of every step below.

    Args:
        losses: ``(steps,)`` training loss per step (nats per token).
        learning_rates: ``(steps,)`` the learning rate each step used (same length).
        reference_loss: a dashed line, e.g. ln V for a uniform guess over V tokens.
    """
    loss = _as_1d("losses", losses)
    lr = _as_1d("learning_rates", learning_rates)
    if loss.numel() != lr.numel():
        raise ValueError(
            f"losses and learning_rates must have one value per step, got {loss.numel()} and {lr.numel()}"
        )
    steps = range(1, loss.numel() + 1)
    fig, (ax_loss, ax_lr) = plt.subplots(
        2, 1, figsize=(8, 5), sharex=True, gridspec_kw={"height_ratios": [2, 1]}
    )
    ax_loss.plot(steps, loss.numpy(), lw=1, color=OKABE_ITO[0], label=_("training loss"))
    if reference_loss is not None:
        ax_loss.axhline(
            reference_loss,
            color=DARK_GREY,
            ls="--",
            lw=1,
            label=_("{reference_loss:.3f}: uniform guess").format(reference_loss=reference_loss),
        )
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel(_("cross-entropy per token\n(nats, log scale)"))
    ax_loss.legend()
    ax_loss.set_title(_(title))
    ax_lr.plot(steps, lr.numpy(), lw=1.5, color=OKABE_ITO[1])
    ax_lr.set_ylabel(_("learning rate"))
    ax_lr.set_xlabel(_("training step"))
    ax_lr.set_ylim(0, float(lr.max()) * 1.1)
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 08
