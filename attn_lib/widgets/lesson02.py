"""Widget logic of lesson 02 (scaled dot product): pure functions, tested by pytest."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _, display_width, pad
from ..viz import SCALED_COLOUR, UNSCALED_COLOUR  # Okabe-Ito vermillion and blue: colour-blind safe
from ._common import _check_positive_int

SCALING_DK_CHOICES = tuple(2**i for i in range(11))  # d_k = 1, 2, 4, ..., 1024: the slider of lesson 02


def scaling_demo(
    d_k: int, scaled: bool, seed: int = 0, num_keys: int = 16, num_draws: int = 1, power: float = 0.5
) -> dict:
    """One query against ``num_keys`` random keys: the softmax weights with or without ÷√d_k.

    Every entry of the query and the keys is drawn from N(0, 1), so a score q·k has variance
    d_k. The same ``seed`` gives the same query and keys for ``scaled=True`` and ``False``.

    Args:
        d_k: query/key width.
        scaled: divide the scores by √d_k before the softmax.
        seed: seeds the draws.
        num_keys: number of keys T_k.
        num_draws: N independent (query, keys) draws; every result has one row per draw.
        power: with ``scaled``, the scores are divided by ``d_k ** power``: 0.5 is the paper's
            √d_k; 1.0 divides by d_k (lesson 02's check-yourself question 5).

    Returns:
        A dict of tensors: ``query`` (N, d_k), ``keys`` (N, T_k, d_k), ``logits`` (N, T_k)
        the softmax input (q·k, divided by √d_k if scaled), ``weights`` (N, T_k),
        ``max_weight`` (N,), ``entropy`` (N,) in nats (ln T_k for uniform weights, 0 for
        one-hot), and ``grad_norm`` (N,): the Frobenius norm of the softmax Jacobian
        ∂weights/∂logits = diag(p) − p pᵀ, i.e. how strongly the weights respond when the
        scores move (exactly 0 for one-hot weights).
    """
    d_k = _check_positive_int("d_k", d_k)
    num_keys = _check_positive_int("num_keys", num_keys, minimum=2)
    num_draws = _check_positive_int("num_draws", num_draws)
    if isinstance(power, bool) or not isinstance(power, int | float) or not 0 <= power <= 2:
        raise ValueError(f"power must be a number in [0, 2] (0.5 divides by √d_k), got {power!r}")
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}")
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(num_draws, d_k, generator=gen)  # (N, d_k)
    keys = torch.randn(num_draws, num_keys, d_k, generator=gen)  # (N, T_k, d_k)
    logits = (keys @ query[:, :, None])[..., 0]  # (N, T_k, d_k) @ (N, d_k, 1) -> (N, T_k): q·k_j
    if scaled:
        logits = logits / d_k**power
    p = torch.softmax(logits, dim=-1)  # (N, T_k)
    # The Jacobian of a nearly one-hot p holds p_m (1 - p_m) ≈ 1e-5: in float32 that difference
    # keeps only two or three digits, which would differ from one CPU to the next. Computed in
    # float64 from the same float32 scores, it is accurate to the digits we print.
    p64 = torch.softmax(logits.double(), dim=-1)  # (N, T_k)
    jacobian = torch.diag_embed(p64) - p64[:, :, None] * p64[:, None, :]  # (N, T_k, T_k): ∂p_i/∂z_j
    return {
        "query": query,
        "keys": keys,
        "logits": logits,
        "weights": p,
        "max_weight": p.amax(dim=-1),
        "entropy": torch.special.entr(p64).sum(dim=-1).float(),  # −Σ p log p, with 0 log 0 = 0
        "grad_norm": torch.linalg.matrix_norm(jacobian).float(),  # Frobenius norm, (N,)
    }


def scaling_curves(
    d_ks: tuple[int, ...] = SCALING_DK_CHOICES,
    seed: int = 0,
    num_keys: int = 16,
    num_draws: int = 200,
    power: float = 0.5,
) -> dict:
    """Medians over ``num_draws`` draws of :func:`scaling_demo`'s statistics, for every d_k
    (``power``: "scaled" divides the scores by ``d_k ** power``, see :func:`scaling_demo`).

    Returns:
        ``{"d_k": list of d_k, "unscaled": stats, "scaled": stats}`` where ``stats`` maps
        ``max_weight``, ``entropy`` and ``grad_norm`` to a ``(len(d_ks),)`` tensor of medians,
        and ``saturated`` to the share of draws whose largest weight exceeds 0.99.
        Scaled and unscaled use the same draws.
    """
    result: dict = {"d_k": list(d_ks)}
    for name, scaled in (("unscaled", False), ("scaled", True)):
        runs = [scaling_demo(d, scaled, seed, num_keys, num_draws, power) for d in d_ks]
        stats = {
            k: torch.stack([r[k].median() for r in runs]) for k in ("max_weight", "entropy", "grad_norm")
        }
        stats["saturated"] = torch.stack([(r["max_weight"] > 0.99).float().mean() for r in runs])
        result[name] = stats
    return result


def query_norm_spread(
    d_ks: tuple[int, ...] = SCALING_DK_CHOICES, seed: int = 0, num_keys: int = 16, num_draws: int = 1000
) -> dict:
    """Why the *scaled* statistics still drift at small d_k: the length of the query.

    For one fixed query q and keys with N(0, 1) entries, the scaled scores q·k_j/√d_k are
    N(0, ‖q‖²/d_k) across the keys: their spread is ‖q‖²/d_k, not 1. Over draws of q,
    ‖q‖²/d_k has mean 1 but fluctuates strongly at small d_k (it is χ²(d_k)/d_k, standard
    deviation √(2/d_k)) and settles at 1 as d_k grows. Uses the draws of :func:`scaling_demo`.

    Returns:
        ``{"d_k": list, "q_sq_over_dk": {"median", "p10", "p90"}, "max_weight_scaled",
        "max_weight_fixed_norm"}``, every value a ``(len(d_ks),)`` float64 tensor:
        percentiles of ‖q‖²/d_k over the draws; the median largest weight with ÷√d_k (as in
        :func:`scaling_curves`); and the same with every query rescaled to ‖q‖ = √d_k, so
        that ‖q‖²/d_k = 1 exactly and the scaled scores are N(0, 1) at every d_k.
    """
    spread: dict[str, list[float]] = {"median": [], "p10": [], "p90": []}
    scaled_top, fixed_top = [], []
    for d in d_ks:
        demo = scaling_demo(d, True, seed, num_keys, num_draws)
        q = demo["query"].double()  # (N, d_k)
        ratio = q.pow(2).sum(-1) / d  # (N,): ‖q‖²/d_k, the variance of the scaled scores across keys
        for name, level in (("median", 0.5), ("p10", 0.1), ("p90", 0.9)):
            spread[name].append(float(ratio.quantile(level)))
        scaled_top.append(float(demo["max_weight"].double().median()))
        q_fixed = q / q.norm(dim=-1, keepdim=True) * d**0.5  # (N, d_k): ‖q‖ = √d_k exactly
        z = (demo["keys"].double() @ q_fixed[:, :, None])[..., 0] / d**0.5  # (N, T_k)
        fixed_top.append(float(torch.softmax(z, dim=-1).amax(-1).median()))
    return {
        "d_k": list(d_ks),
        "q_sq_over_dk": {k: torch.tensor(v, dtype=torch.float64) for k, v in spread.items()},
        "max_weight_scaled": torch.tensor(scaled_top, dtype=torch.float64),
        "max_weight_fixed_norm": torch.tensor(fixed_top, dtype=torch.float64),
    }


def table_header(first: tuple[str, int], groups: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> str:
    """The two header lines of a text table whose columns come in titled groups, lined up in any language.

    ``first`` is the leading column's ``(label, width)``; each group is ``(title, [(label, width), ...])``.
    Labels are right-aligned to their column (as numbers are), the columns of a group are joined by two
    spaces, the groups by ``" | "``, and each title is centred over its group. A row formatted with the
    same widths and separators lines up under it::

        print(table_header(("d_k", 4), [("unscaled", [("entropy", 8), ("||J||_F", 9)])]))
        print(f"{d:4d} | {entropy:8.3f}  {grad_norm:9.1e}")

    Widths are display columns (:func:`attn_lib.i18n.pad`: a Hangul syllable takes two), so the same
    call with Korean labels lines up too. A group whose titles are all ``""`` gives one line.

    Raises:
        ValueError: a label or title is wider than its column or group (it would push the columns
            out of line), or a width is not a positive int.
    """
    first_label, first_width = first
    heads, titles = [], []
    for title, columns in groups:
        cells = []
        for label, width in columns:
            _check_positive_int(f"the width of column {label!r}", width)
            if display_width(label) > width:
                raise ValueError(
                    f"column label {label!r} takes {display_width(label)} columns but its column is {width} "
                    "wide; widen the column (and the rows' format) to at least that"
                )
            cells.append(pad(label, width, ">"))
        head = "  ".join(cells)
        if display_width(title) > display_width(head):
            raise ValueError(
                f"group title {title!r} takes {display_width(title)} columns but its columns span "
                f"{display_width(head)}; widen the group's columns"
            )
        heads.append(head)
        titles.append(pad(title, display_width(head), "^"))
    if display_width(first_label) > first_width:
        raise ValueError(f"first column label {first_label!r} is wider than its width {first_width}")
    lines = [" | ".join([pad(first_label, first_width, ">"), *heads])]
    if any(title for title, _columns in groups):
        lines.insert(0, " | ".join([" " * first_width, *titles]).rstrip())
    return "\n".join(lines)


def plot_scaling_demo(d_k: int, scaled: bool, seed: int = 0, num_keys: int = 16) -> Figure:
    """Left: the weights p = softmax(z) of one query over ``num_keys`` random keys at this d_k
    (scores z scaled or not). Right: the gradient size ‖∂p/∂z‖_F against d_k (medians of 200
    draws of seed 0, with and without scaling) with this draw (``seed``) marked.
    """
    import math

    demo = scaling_demo(d_k, scaled, seed, num_keys)
    p = demo["weights"][0]  # (T_k,)
    top, ent, grad = float(demo["max_weight"][0]), float(demo["entropy"][0]), float(demo["grad_norm"][0])
    curves = scaling_curves(seed=0, num_keys=num_keys)  # medians of 200 draws; fixed, so they never move
    fig, (ax_w, ax_g) = plt.subplots(1, 2, figsize=(10, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})

    colours = [UNSCALED_COLOUR if j == int(p.argmax()) else SCALED_COLOUR for j in range(num_keys)]
    ax_w.bar(range(num_keys), p.numpy(), color=colours)
    ax_w.axhline(
        1 / num_keys,
        color="black",
        linestyle=":",
        linewidth=1,
        label=_("uniform: 1/{num_keys}").format(num_keys=num_keys),
    )
    ax_w.set_ylim(0, 1.05)
    ax_w.set_xticks(range(num_keys))
    ax_w.set_xlabel(_("key j"))
    ax_w.set_ylabel(_("attention weight"))
    ax_w.legend(loc="upper left", fontsize=8, frameon=False)
    ax_w.set_title(
        _("largest weight {top:.2f}, entropy {ent:.2f} nats (uniform: {log_num_keys:.2f})").format(
            top=top, ent=ent, log_num_keys=math.log(num_keys)
        )
    )

    for name, colour in (("unscaled", UNSCALED_COLOUR), ("scaled", SCALED_COLOUR)):
        label = "softmax(q·k / √d_k)" if name == "scaled" else "softmax(q·k)"
        median = curves[name]["grad_norm"].clamp_min(1e-12).numpy()  # a log axis cannot show 0: at 1e-12
        ax_g.plot(
            curves["d_k"],
            median,
            "o-",
            color=colour,
            markersize=3,
            label=_("{label}, median").format(label=label),
        )
    ax_g.plot([d_k], [max(grad, 1e-12)], "*", color="black", markersize=14, label=_("this draw"))
    ax_g.set_xscale("log", base=2)
    ax_g.set_xticks([1, 4, 16, 64, 256, 1024], ["1", "4", "16", "64", "256", "1024"])
    ax_g.set_yscale("log")
    ax_g.set_ylim(1e-12, 1.5)
    ax_g.set_xlabel(_("d_k (query/key width)"))
    ax_g.set_ylabel(_(r"$\|\partial p/\partial z\|_F$ (log scale)"))
    ax_g.legend(loc="lower left", fontsize=8, frameon=False)
    ax_g.set_title(_("gradient size of this draw: {grad:.2g}").format(grad=grad))

    how = (
        _("scores ÷ √d_k = ÷ {sqrt_d_k:.3g}").format(sqrt_d_k=math.sqrt(d_k))
        if scaled
        else _("unscaled scores")
    )
    kind = "scaled" if scaled else "unscaled"
    typical = ""
    if d_k in curves["d_k"]:  # how this draw compares with the median of 200 draws at this d_k
        typical = _(" (median of 200 draws: {max_weight:.0%})").format(
            max_weight=float(curves[kind]["max_weight"][curves["d_k"].index(d_k)])
        )
    if top > 0.99:
        verdict = _("saturated: one key takes {top:.0%} and the gradient is {grad:.2g}").format(
            top=top, grad=grad
        )
    elif top > 0.5:
        verdict = _("one key takes {top:.0%} in this draw{typical}").format(top=top, typical=typical)
    else:
        verdict = _("the weights are spread over several keys, the largest {top:.0%}{typical}").format(
            top=top, typical=typical
        )
    fig.suptitle(_("d_k = {d_k}, {how}: {verdict}").format(d_k=d_k, how=how, verdict=verdict))
    fig.tight_layout()
    return fig
