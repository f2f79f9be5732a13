"""Widget logic of lesson 01 (soft lookup): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _
from ..viz import OKABE_ITO
from ._common import _check_finite_number, _tied_with_max

LOOKUP_COLOURS = OKABE_ITO  # colour-blind safe (Okabe & Ito), the same order as attn_lib.viz's figures


def query_from_angle(angle_deg: float, length: float) -> torch.Tensor:
    """The 2-D query ``length · (cos θ, sin θ)``, θ = ``angle_deg`` in degrees, shape ``(2,)``.

    0° points along the first axis, 90° along the second (counter-clockwise).
    """
    import math

    angle_deg = _check_finite_number("angle_deg", angle_deg)
    length = _check_finite_number("length", length)
    if length < 0:
        raise ValueError(f"length must be >= 0 (it is the query's norm ‖q‖), got {length}")
    theta = math.radians(angle_deg)
    return torch.tensor([length * math.cos(theta), length * math.sin(theta)])  # (2,)


def _lookup_tensors(keys: object, values: object) -> tuple[torch.Tensor, torch.Tensor]:
    k = torch.as_tensor(keys, dtype=torch.float32)
    v = torch.as_tensor(values, dtype=torch.float32)
    if k.dim() != 2 or k.shape[1] != 2:
        raise ValueError(f"keys must have shape (T_k, 2): one 2-D key per row; got {tuple(k.shape)}")
    if v.dim() != 2 or v.shape[0] != k.shape[0]:
        raise ValueError(
            f"values must have shape (T_k, d_v) with T_k = {k.shape[0]} rows (one per key); "
            f"got {tuple(v.shape)}"
        )
    return k, v


def lookup_state(angle_deg: float, length: float, keys: object, values: object) -> dict:
    """One soft lookup with a 2-D query given by its direction and length (lesson 01's widget).

    Args:
        angle_deg: direction of the query in degrees (see :func:`query_from_angle`).
        length: the query's length ‖q‖ >= 0.
        keys: ``(T_k, 2)``, one key per row (a tensor or nested lists).
        values: ``(T_k, d_v)``, one value per key.

    Returns:
        A dict: ``query`` ``(2,)``; ``scores`` ``(T_k,)`` = keys @ query; ``weights``
        ``(T_k,)`` = softmax(scores); ``output`` ``(d_v,)`` = weights @ values; ``best`` the
        index of the largest weight (= the largest score); ``max_weight`` and ``entropy``
        (−Σ w ln w, in nats) as floats; ``uniform_entropy`` = ln T_k, the entropy of equal
        weights; ``mean_value`` ``(d_v,)``, the plain mean of the values.
    """
    import math

    from ..attention import scaled_dot_product_attention

    k, v = _lookup_tensors(keys, values)
    query = query_from_angle(angle_deg, length)  # (2,)
    out, w = scaled_dot_product_attention(query[None], k, v, scale=1.0)  # (1, d_v), (1, T_k): unscaled
    weights = w[0]  # (T_k,)
    return {
        "query": query,
        "scores": k @ query,  # (T_k,)
        "weights": weights,
        "output": out[0],  # (d_v,)
        "best": int(weights.argmax()),
        "max_weight": float(weights.max()),
        "entropy": float(torch.special.entr(weights).sum()),  # −Σ w ln w, with 0 ln 0 = 0
        "uniform_entropy": math.log(k.shape[0]),
        "mean_value": v.mean(dim=0),
    }


def plot_soft_lookup(
    angle_deg: float,
    length: float,
    keys: object,
    values: object,
    labels: list[str] | tuple[str, ...],
    value_names: tuple[str, str] = ("value[0]", "value[1]"),
) -> Figure:
    """Lesson 01's picture of a soft lookup, in three panels.

    Left: the keys (arrows) and the query (black arrow) in the 2-D key space. Middle: the
    softmax weights, one bar per key. Right: the values (points, ``d_v = 2``), their plain
    mean (×) and the output (★), the weighted average, with a line to every value as thick
    as its weight.
    """
    k, v = _lookup_tensors(keys, values)
    if v.shape[1] != 2:
        raise ValueError(f"plot_soft_lookup draws 2-D values; values have d_v = {v.shape[1]}")
    if len(labels) != k.shape[0]:
        raise ValueError(f"labels must name the {k.shape[0]} keys, got {len(labels)} labels")
    state = lookup_state(angle_deg, length, k, v)
    length = float(length)
    q, w, out, best = state["query"], state["weights"], state["output"], state["best"]
    colours = [LOOKUP_COLOURS[j % len(LOOKUP_COLOURS)] for j in range(k.shape[0])]
    fig, (ax_k, ax_w, ax_v) = plt.subplots(
        1, 3, figsize=(11.5, 4.0), gridspec_kw={"width_ratios": [1, 1.1, 1]}
    )

    # left: key space, a fixed frame so that a growing query visibly grows
    lim = 2.6 * max(1.0, float(k.norm(dim=1).max()))
    ax_k.add_patch(plt.Circle((0, 0), 1.0, fill=False, linestyle=":", color="grey"))
    for j, (key, name) in enumerate(zip(k.tolist(), labels, strict=True)):
        ax_k.annotate(
            "", xy=key, xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": colours[j], "lw": 2}
        )
        ax_k.text(1.25 * key[0], 1.25 * key[1], name, color=colours[j], ha="center", va="center", fontsize=10)
    shown = q * min(1.0, 0.9 * lim / length) if length > 0 else q  # a query longer than the frame is cut
    if length > 0:
        ax_k.annotate(
            "",
            xy=shown.tolist(),
            xytext=(0, 0),
            arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 2.5},
        )
    else:
        ax_k.plot([0], [0], "o", color="black")
    cut = _(" (arrow cut)") if length > 0.9 * lim else ""
    ax_k.text(
        -0.95 * lim,
        -0.95 * lim,
        _("query, length {length:.3g}{cut}").format(length=length, cut=cut),
        fontsize=9,
        weight="bold",
        va="bottom",
    )
    ax_k.set_xlim(-lim, lim)
    ax_k.set_ylim(-lim, lim)
    ax_k.set_aspect("equal")
    ax_k.grid(alpha=0.3)
    ax_k.set_xlabel(_("feature 1"))
    ax_k.set_ylabel(_("feature 2"))
    ax_k.set_title(
        _("keys (colours) and query = ({q:.2f}, {q2:.2f})").format(q=float(q[0]), q2=float(q[1])), fontsize=10
    )

    # middle: weights
    all_equal = float(w.max() - w.min()) < 1e-6
    tied = _tied_with_max(w, 1e-6)  # keys sharing the top weight
    bars = ax_w.bar(range(len(labels)), w.numpy(), color=colours)
    if not all_equal:
        for j in tied:
            bars[j].set_edgecolor("black")
            bars[j].set_linewidth(2)
    ax_w.axhline(
        1 / len(labels),
        color="black",
        linestyle=":",
        linewidth=1,
        label=_("equal weights, 1/{labels}").format(labels=len(labels)),
    )
    for j, wj in enumerate(w.tolist()):
        ax_w.text(j, wj + 0.02, f"{wj:.2f}", ha="center", va="bottom", fontsize=9)
    ax_w.set_xticks(range(len(labels)))
    ax_w.set_xticklabels(
        [
            f"{name}\ns={round(s, 2) + 0.0:+.2f}"
            for name, s in zip(labels, state["scores"].tolist(), strict=True)
        ],
        fontsize=9,
    )
    ax_w.set_ylim(0, 1.25)
    ax_w.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax_w.legend(loc="upper center", fontsize=8, frameon=False)
    ax_w.set_xlabel(_("key, with its score s = q·k"))
    ax_w.set_ylabel(_("attention weight"))
    ax_w.set_title(
        _(
            "weights = softmax(scores s)\nentropy {entropy:.2f} nats (equal weights: {uniform_entropy:.2f})"
        ).format(entropy=state["entropy"], uniform_entropy=state["uniform_entropy"]),
        fontsize=10,
    )

    # right: value space
    for j, (val, name) in enumerate(zip(v.tolist(), labels, strict=True)):
        ax_v.plot(
            [out[0], val[0]], [out[1], val[1]], color=colours[j], linewidth=0.5 + 6 * float(w[j]), alpha=0.6
        )
        ax_v.plot(*val, "o", color=colours[j], markersize=9)
        ax_v.annotate(
            f"{name} ({val[0]:g}, {val[1]:g})",
            val,
            textcoords="offset points",
            xytext=(0, -9),
            ha="center",
            va="top",
            fontsize=9,
        )
    mean = state["mean_value"]
    ax_v.plot(*mean.tolist(), "x", color="grey", markersize=10, mew=2, label=_("plain mean of the values"))
    ax_v.plot(*out.tolist(), "*", color="black", markersize=17, label=_("output (weighted mean)"))
    pad = 0.25 * float((v.max(dim=0).values - v.min(dim=0).values).max().clamp_min(1.0))
    ax_v.set_xlim(float(v[:, 0].min()) - 1.2 * pad, float(v[:, 0].max()) + 2.5 * pad)
    ax_v.set_ylim(float(v[:, 1].min()) - 1.5 * pad, float(v[:, 1].max()) + 1.5 * pad)
    ax_v.grid(alpha=0.3)
    ax_v.set_xlabel(value_names[0])
    ax_v.set_ylabel(value_names[1])
    ax_v.legend(loc="upper right", fontsize=8, frameon=False)
    ax_v.set_title(
        _("output = Σ w·v = ({out:.2f}, {out2:.2f})").format(out=float(out[0]), out2=float(out[1])),
        fontsize=10,
    )

    top = state["max_weight"]
    if all_equal:
        verdict = _("all weights are equal: the output is the plain mean of the values")
    elif len(tied) > 1:
        names = " and ".join(f'"{labels[j]}"' for j in tied)
        verdict = _("{names} tie ({top:.2f} each): equally like the query").format(names=names, top=top)
    elif top > 0.99:
        verdict = _('"{labels}" takes {top:.1%} of the weight: almost a hard lookup').format(
            labels=labels[best], top=top
        )
    else:
        verdict = _('"{labels}", the key most like the query, gets the largest weight ({top:.2f})').format(
            labels=labels[best], top=top
        )
    fig.suptitle(
        _("query at {angle_deg:.3g}°, length {length:.3g}: {verdict}").format(
            angle_deg=float(angle_deg), length=length, verdict=verdict
        )
    )
    fig.tight_layout()
    return fig
