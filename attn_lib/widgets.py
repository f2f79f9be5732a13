"""The logic behind every widget of the course, as pure functions.

A notebook cell only wires ipywidgets controls to these functions; each function takes
plain numbers (the control values) and returns numbers or a matplotlib ``Figure``, so it
is tested by pytest without a browser. Sections follow the lessons.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

# ------------------------------------------------ lesson 00 (start here)

SOFTMAX_DEMO_OTHER_SCORES = (1.0, 0.0, -1.0)  # the fixed scores of items B, C, D in lesson 00's demo


def _check_finite_number(name: str, value: object) -> float:
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def _check_index(name: str, value: object, size: int, note: str = "") -> int:
    """``value`` as an index into ``size`` things: an int in ``[0, size)`` (``note`` says what it indexes)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"{name} must be an int in [0, {size - 1}]{note}, got {value!r}")
    return value


def _tied_with_max(weights: torch.Tensor, tolerance: float) -> list[int]:
    """Indices of the ``(n,)`` weights within ``tolerance`` of the largest: the winner and its ties."""
    top = float(weights.max())
    return [j for j in range(weights.numel()) if top - float(weights[j]) < tolerance]


def softmax_demo(score: float, others: tuple[float, ...] = SOFTMAX_DEMO_OTHER_SCORES) -> dict:
    """The softmax of the scores ``(score, *others)``; lesson 00's slider moves ``score``.

    Args:
        score: the score of item A (any finite number).
        others: the fixed scores of items B, C, ... (at least one, at most 25).

    Returns:
        A dict: ``labels`` (``"A"``, ``"B"``, ...), ``scores`` ``(N,)`` and ``weights`` ``(N,)``
        with ``weights[i] = exp(scores[i]) / Σ_j exp(scores[j])``: positive, summing to 1.
    """
    from .attention import softmax

    score = _check_finite_number("score", score)
    if not 1 <= len(others) <= 25:
        raise ValueError(f"others must hold 1 to 25 scores, got {len(others)}")
    rest = [_check_finite_number(f"others[{i}]", s) for i, s in enumerate(others)]
    scores = torch.tensor([score, *rest])  # (N,)
    return {
        "labels": [chr(ord("A") + i) for i in range(len(scores))],
        "scores": scores,
        "weights": softmax(scores, dim=-1),  # (N,)
    }


def plot_softmax_demo(score: float, others: tuple[float, ...] = SOFTMAX_DEMO_OTHER_SCORES) -> Figure:
    """Two bar charts: the scores (A's is ``score``) and their softmax weights."""
    demo = softmax_demo(score, others)
    labels, scores, weights = demo["labels"], demo["scores"], demo["weights"]
    colours = ["#e76f51"] + ["#2a9d8f"] * (len(labels) - 1)
    fig, (ax_s, ax_w) = plt.subplots(1, 2, figsize=(8.5, 3.4))

    ax_s.bar(labels, scores.numpy(), color=colours)
    ax_s.axhline(0, color="black", linewidth=0.8)
    low, high = min(-4.5, float(scores.min()) - 0.8), max(4.5, float(scores.max()) + 0.8)
    ax_s.set_ylim(low, high)
    for i, s in enumerate(scores.tolist()):
        ax_s.text(
            i, s + (0.15 if s >= 0 else -0.15), f"{s:+.1f}", ha="center", va="bottom" if s >= 0 else "top"
        )
    ax_s.set_xlabel("item")
    ax_s.set_ylabel("score (any real number)")
    ax_s.set_title("the input: scores")

    ax_w.bar(labels, weights.numpy(), color=colours)
    ax_w.set_ylim(0, 1.1)
    for i, w in enumerate(weights.tolist()):
        ax_w.text(i, w + 0.02, f"{w:.2f}", ha="center", va="bottom")
    ax_w.set_xlabel("item")
    ax_w.set_ylabel("weight (between 0 and 1)")
    ax_w.set_title(f"the output: softmax weights (sum = {float(weights.sum()):.2f})")

    share = float(weights[0])
    fig.suptitle(
        f"score of A = {float(scores[0]):+.1f}: A gets {share:.0%} of the weight, "
        f"the others share {1 - share:.0%}"
    )
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 01 (soft lookup)

LOOKUP_COLOURS = ("#e76f51", "#2a9d8f", "#457b9d", "#e9c46a", "#8d6cab", "#6a994e", "#bc4749", "#577590")


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

    from .attention import scaled_dot_product_attention

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
    cut = " (arrow cut)" if length > 0.9 * lim else ""
    ax_k.text(
        -0.95 * lim, -0.95 * lim, f"query, length {length:.3g}{cut}", fontsize=9, weight="bold", va="bottom"
    )
    ax_k.set_xlim(-lim, lim)
    ax_k.set_ylim(-lim, lim)
    ax_k.set_aspect("equal")
    ax_k.grid(alpha=0.3)
    ax_k.set_xlabel("feature 1")
    ax_k.set_ylabel("feature 2")
    ax_k.set_title(f"keys (colours) and query = ({float(q[0]):.2f}, {float(q[1]):.2f})", fontsize=10)

    # middle: weights
    all_equal = float(w.max() - w.min()) < 1e-6
    tied = _tied_with_max(w, 1e-6)  # keys sharing the top weight
    bars = ax_w.bar(range(len(labels)), w.numpy(), color=colours)
    if not all_equal:
        for j in tied:
            bars[j].set_edgecolor("black")
            bars[j].set_linewidth(2)
    ax_w.axhline(
        1 / len(labels), color="black", linestyle=":", linewidth=1, label=f"equal weights, 1/{len(labels)}"
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
    ax_w.set_xlabel("key, with its score s = q·k")
    ax_w.set_ylabel("attention weight")
    ax_w.set_title(
        f"weights = softmax(scores s)\nentropy {state['entropy']:.2f} nats "
        f"(equal weights: {state['uniform_entropy']:.2f})",
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
    ax_v.plot(*mean.tolist(), "x", color="grey", markersize=10, mew=2, label="plain mean of the values")
    ax_v.plot(*out.tolist(), "*", color="black", markersize=17, label="output (weighted mean)")
    pad = 0.25 * float((v.max(dim=0).values - v.min(dim=0).values).max().clamp_min(1.0))
    ax_v.set_xlim(float(v[:, 0].min()) - 1.2 * pad, float(v[:, 0].max()) + 2.5 * pad)
    ax_v.set_ylim(float(v[:, 1].min()) - 1.5 * pad, float(v[:, 1].max()) + 1.5 * pad)
    ax_v.grid(alpha=0.3)
    ax_v.set_xlabel(value_names[0])
    ax_v.set_ylabel(value_names[1])
    ax_v.legend(loc="upper right", fontsize=8, frameon=False)
    ax_v.set_title(f"output = Σ w·v = ({float(out[0]):.2f}, {float(out[1]):.2f})", fontsize=10)

    top = state["max_weight"]
    if all_equal:
        verdict = "all weights are equal: the output is the plain mean of the values"
    elif len(tied) > 1:
        names = " and ".join(f'"{labels[j]}"' for j in tied)
        verdict = f"{names} tie ({top:.2f} each): equally like the query"
    elif top > 0.99:
        verdict = f'"{labels[best]}" takes {top:.1%} of the weight: almost a hard lookup'
    else:
        verdict = f'"{labels[best]}", the key most like the query, gets the largest weight ({top:.2f})'
    fig.suptitle(f"query at {float(angle_deg):.3g}°, length {length:.3g}: {verdict}")
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 02 (scaled dot product)

SCALING_DK_CHOICES = tuple(2**i for i in range(11))  # d_k = 1, 2, 4, ..., 1024: the slider of lesson 02


def scaling_demo(d_k: int, scaled: bool, seed: int = 0, num_keys: int = 16, num_draws: int = 1) -> dict:
    """One query against ``num_keys`` random keys: the softmax weights with or without ÷√d_k.

    Every entry of the query and the keys is drawn from N(0, 1), so a score q·k has variance
    d_k. The same ``seed`` gives the same query and keys for ``scaled=True`` and ``False``.

    Args:
        d_k: query/key width.
        scaled: divide the scores by √d_k before the softmax.
        seed: seeds the draws.
        num_keys: number of keys T_k.
        num_draws: N independent (query, keys) draws; every result has one row per draw.

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
    if not isinstance(scaled, bool):
        raise TypeError(f"scaled must be True or False, got {scaled!r}")
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(num_draws, d_k, generator=gen)  # (N, d_k)
    keys = torch.randn(num_draws, num_keys, d_k, generator=gen)  # (N, T_k, d_k)
    logits = (keys @ query[:, :, None])[..., 0]  # (N, T_k, d_k) @ (N, d_k, 1) -> (N, T_k): q·k_j
    if scaled:
        logits = logits / d_k**0.5
    p = torch.softmax(logits, dim=-1)  # (N, T_k)
    jacobian = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (N, T_k, T_k): ∂p_i/∂z_j
    return {
        "query": query,
        "keys": keys,
        "logits": logits,
        "weights": p,
        "max_weight": p.amax(dim=-1),
        "entropy": torch.special.entr(p).sum(dim=-1),  # −Σ p log p, with 0 log 0 = 0
        "grad_norm": torch.linalg.matrix_norm(jacobian),  # Frobenius norm, (N,)
    }


def scaling_curves(
    d_ks: tuple[int, ...] = SCALING_DK_CHOICES, seed: int = 0, num_keys: int = 16, num_draws: int = 200
) -> dict:
    """Medians over ``num_draws`` draws of :func:`scaling_demo`'s statistics, for every d_k.

    Returns:
        ``{"d_k": list of d_k, "unscaled": stats, "scaled": stats}`` where ``stats`` maps
        ``max_weight``, ``entropy`` and ``grad_norm`` to a ``(len(d_ks),)`` tensor of medians,
        and ``saturated`` to the share of draws whose largest weight exceeds 0.99.
        Scaled and unscaled use the same draws.
    """
    result: dict = {"d_k": list(d_ks)}
    for name, scaled in (("unscaled", False), ("scaled", True)):
        runs = [scaling_demo(d, scaled, seed, num_keys, num_draws) for d in d_ks]
        stats = {
            k: torch.stack([r[k].median() for r in runs]) for k in ("max_weight", "entropy", "grad_norm")
        }
        stats["saturated"] = torch.stack([(r["max_weight"] > 0.99).float().mean() for r in runs])
        result[name] = stats
    return result


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

    colours = ["#e76f51" if j == int(p.argmax()) else "#2a9d8f" for j in range(num_keys)]
    ax_w.bar(range(num_keys), p.numpy(), color=colours)
    ax_w.axhline(1 / num_keys, color="black", linestyle=":", linewidth=1, label=f"uniform: 1/{num_keys}")
    ax_w.set_ylim(0, 1.05)
    ax_w.set_xticks(range(num_keys))
    ax_w.set_xlabel("key j")
    ax_w.set_ylabel("attention weight")
    ax_w.legend(loc="upper left", fontsize=8, frameon=False)
    ax_w.set_title(f"largest weight {top:.2f}, entropy {ent:.2f} nats (uniform: {math.log(num_keys):.2f})")

    for name, colour in (("unscaled", "#e76f51"), ("scaled", "#2a9d8f")):
        label = "softmax(q·k / √d_k)" if name == "scaled" else "softmax(q·k)"
        median = curves[name]["grad_norm"].clamp_min(1e-12).numpy()  # a log axis cannot show 0: at 1e-12
        ax_g.plot(curves["d_k"], median, "o-", color=colour, markersize=3, label=f"{label}, median")
    ax_g.plot([d_k], [max(grad, 1e-12)], "*", color="black", markersize=14, label="this draw")
    ax_g.set_xscale("log", base=2)
    ax_g.set_xticks([1, 4, 16, 64, 256, 1024], ["1", "4", "16", "64", "256", "1024"])
    ax_g.set_yscale("log")
    ax_g.set_ylim(1e-12, 1.5)
    ax_g.set_xlabel("d_k (query/key width)")
    ax_g.set_ylabel(r"$\|\partial p/\partial z\|_F$ (log scale)")
    ax_g.legend(loc="lower left", fontsize=8, frameon=False)
    ax_g.set_title(f"gradient size of this draw: {grad:.2g}")

    how = f"scores ÷ √d_k = ÷ {math.sqrt(d_k):.3g}" if scaled else "unscaled scores"
    kind = "scaled" if scaled else "unscaled"
    typical = ""
    if d_k in curves["d_k"]:  # how this draw compares with the median of 200 draws at this d_k
        typical = f" (median of 200 draws: {float(curves[kind]['max_weight'][curves['d_k'].index(d_k)]):.0%})"
    if top > 0.99:
        verdict = f"saturated: one key takes {top:.0%} and the gradient is {grad:.2g}"
    elif top > 0.5:
        verdict = f"one key takes {top:.0%} in this draw{typical}"
    else:
        verdict = f"the weights are spread over several keys, the largest {top:.0%}{typical}"
    fig.suptitle(f"d_k = {d_k}, {how}: {verdict}")
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 03 (multi-head)

HEAD_MAP_TOKENS = ("the", "cat", "sat", "on", "the", "mat", "because", "it", "was", "tired")
HEAD_MAP_D_MODEL = 32  # the widget's num_heads choices are the divisors 1, 2, 4, 8 (16, 32)


def head_map(num_heads: int, head: int, seed: int = 0) -> dict:
    """The self-attention map of one head, for a fixed sentence and seeded random weights.

    The sentence is :data:`HEAD_MAP_TOKENS` (random token embeddings plus sinusoidal
    positions, ``d_model = 32``). W^Q and W^K are one random ``(32, 32)`` matrix each, the
    *same* whatever ``num_heads`` is: ``num_heads`` only decides how their output features
    are cut into heads (head i reads features ``i*Dh : (i+1)*Dh``, ``Dh = 32 / num_heads``).

    Args:
        num_heads: H, a divisor of 32.
        head: which head to show; a head ``>= num_heads`` does not exist and is clamped to
            the last head (``clamped`` says so).
        seed: seeds the embeddings and the weights.

    Returns:
        A dict: ``weights`` (T, T) of the shown head, ``all_weights`` (H, T, T), ``head``
        (the head shown), ``clamped`` (bool), ``num_heads``, ``head_dim``, ``d_model``,
        ``tokens`` (the T token strings).
    """
    from .attention import scaled_dot_product_attention
    from .multihead import split_heads
    from .positional import sinusoidal_positional_encoding

    D = HEAD_MAP_D_MODEL
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0 or D % num_heads:
        divisors = [h for h in range(1, D + 1) if D % h == 0]
        raise ValueError(f"num_heads must divide d_model={D}, i.e. be one of {divisors}; got {num_heads!r}")
    if isinstance(head, bool) or not isinstance(head, int) or head < 0:
        raise ValueError(f"head must be an int >= 0, got {head!r}")
    shown = min(head, num_heads - 1)
    gen = torch.Generator().manual_seed(seed)
    vocab = sorted(set(HEAD_MAP_TOKENS))
    embedding = torch.randn(len(vocab), D, generator=gen)  # (V, D)
    ids = torch.tensor([vocab.index(t) for t in HEAD_MAP_TOKENS])  # (T,)
    x = embedding[ids] + sinusoidal_positional_encoding(len(ids), D)  # (T, D)
    w_q = torch.randn(D, D, generator=gen) * 1.5 / D**0.5  # (D, D): all heads' W_i^Q side by side
    w_k = torch.randn(D, D, generator=gen) * 1.5 / D**0.5
    q = split_heads((x @ w_q)[None], num_heads)  # (1, T, D) -> (1, H, T, Dh)
    k = split_heads((x @ w_k)[None], num_heads)  # (1, T, D) -> (1, H, T, Dh)
    _, weights = scaled_dot_product_attention(q, k, k)  # (1, H, T, T); the values do not matter here
    return {
        "weights": weights[0, shown],
        "all_weights": weights[0],
        "head": shown,
        "clamped": shown != head,
        "num_heads": num_heads,
        "head_dim": D // num_heads,
        "d_model": D,
        "tokens": list(HEAD_MAP_TOKENS),
    }


def plot_head_map(num_heads: int, head: int, seed: int = 0) -> Figure:
    """The map of one head (from :func:`head_map`), and below it the d_model features of
    q and k cut into ``num_heads`` slices, the shown head's slice highlighted."""
    from matplotlib.patches import Rectangle

    from .viz import plot_attention

    r = head_map(num_heads, head, seed)
    H, Dh, D, h = r["num_heads"], r["head_dim"], r["d_model"], r["head"]
    fig, (ax_map, ax_strip) = plt.subplots(2, 1, figsize=(7.5, 6.4), gridspec_kw={"height_ratios": [6, 1]})
    words = r["tokens"]
    title = f"head {h} of {H}: softmax(q_h·k_h / √{Dh}), head_dim = d_model / num_heads = {D}/{H} = {Dh}"
    plot_attention(r["weights"], words, words, title=title, ax=ax_map)
    if r["clamped"]:
        ax_map.set_title(f"(there is no head {head} with {H} heads; showing head {h})\n{title}", fontsize=10)

    owner = torch.arange(D) // Dh  # (D,): the head that reads each feature
    ax_strip.imshow(owner[None].numpy(), cmap="tab10" if H <= 10 else "tab20", aspect="auto", alpha=0.35)
    ax_strip.add_patch(Rectangle((h * Dh - 0.5, -0.5), Dh, 1, fill=False, edgecolor="red", linewidth=2.5))
    for i in range(H):
        if H <= 8:
            ax_strip.text(i * Dh + (Dh - 1) / 2, 0, f"h{i}", ha="center", va="center", fontsize=8)
    ax_strip.set_xlim(-0.7, D - 0.3)
    ax_strip.set_ylim(0.6, -0.6)
    ax_strip.set_yticks([])
    ax_strip.set_xticks(sorted({0, h * Dh, (h + 1) * Dh - 1, D - 1}))
    ax_strip.set_xlabel(
        f"feature index of q and k (0 … {D - 1}): head {h} reads {h * Dh} … {(h + 1) * Dh - 1}"
    )
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 04 (encoder self-attention)


def encoder_attention_row(
    maps: list[torch.Tensor], sentence: int, token: int, layer: int, head: int | None = None
) -> torch.Tensor:
    """Where one token attends: row ``token`` of the encoder self-attention map of one
    sentence, layer and head.

    Args:
        maps: one ``(B, H, T, T)`` weight tensor per encoder layer (``Encoder(..., need_weights=True)``).
        sentence: index b of the sentence in the batch.
        token: query position i (the token that attends).
        layer: encoder layer l.
        head: head h, or None for the average over the heads.

    Returns:
        The ``(T,)`` weights of query ``token`` over the key positions (they sum to 1).
    """

    if not maps or any(not isinstance(m, torch.Tensor) or m.dim() != 4 for m in maps):
        raise ValueError("maps must be a non-empty list of (B, H, T, T) tensors, one per layer")
    layer = _check_index("layer", layer, len(maps))
    B, H, T, _ = maps[layer].shape
    sentence = _check_index("sentence", sentence, B)
    token = _check_index("token", token, T)
    w = maps[layer][sentence, :, token].detach().float()  # (H, T)
    if head is None:
        return w.mean(0)  # (T,)
    return w[_check_index("head", head, H)]  # (T,)


def plot_encoder_attention(
    maps: list[torch.Tensor],
    labels: list[list[str]],
    sentence: int,
    token: int,
    layer: int,
    head: int | None = None,
    pad_label: str = "<pad>",
) -> Figure:
    """The encoder self-attention map of one sentence (layer, head) with the chosen query
    row framed, and that row as bars: how much the token takes from every key.

    Args:
        maps: one ``(B, H, T, T)`` weight tensor per layer.
        labels: per sentence, its T token strings (padding included, written ``pad_label``).
        sentence, token, layer, head: as in :func:`encoder_attention_row`.
    """
    from matplotlib.patches import Rectangle

    from .viz import plot_attention

    row = encoder_attention_row(maps, sentence, token, layer, head)  # (T,)
    words = list(labels[sentence])
    T = row.numel()
    if len(words) != T:
        raise ValueError(f"labels[{sentence}] has {len(words)} tokens but the maps have T={T}")
    w = maps[layer][sentence].detach().float()  # (H, T, T)
    full = w.mean(0) if head is None else w[head]  # (T, T)
    head_name = "mean of heads" if head is None else f"head {head}"
    is_pad = [t == pad_label for t in words]

    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1.15, 1]})
    # a fixed 0..1 colour scale: an untrained, nearly uniform map must look nearly uniform
    plot_attention(full, words, words, title=f"layer {layer}, {head_name}", ax=ax_map, vmax=1.0)
    ax_map.add_patch(Rectangle((-0.5, token - 0.5), T, 1, fill=False, edgecolor="red", linewidth=2.5))

    colours = ["#bbbbbb" if p else "#2a9d8f" for p in is_pad]
    best = int(row.argmax())
    colours[best] = "#e76f51"
    ax_bar.bar(range(T), row.numpy(), color=colours)
    for j in range(T):
        note = "0 (pad)" if is_pad[j] else f"{float(row[j]):.2f}"
        ax_bar.text(j, float(row[j]) + 0.02, note, ha="center", va="bottom", fontsize=8)
    n_real = T - sum(is_pad)
    ax_bar.axhline(1.0 / n_real, color="black", linestyle=":", linewidth=1, label=f"uniform: 1/{n_real}")
    ax_bar.legend(loc="upper left", fontsize=8, frameon=False)
    ax_bar.set_xticks(range(T))
    ax_bar.set_xticklabels(words, rotation=90 if max(map(len, words)) > 2 else 0)
    ax_bar.set_ylim(0, 1.05)
    ax_bar.set_xlabel("key token (attended to)")
    ax_bar.set_ylabel("attention weight")
    ax_bar.set_title(f'row of query "{words[token]}" (position {token})')
    where = " (a padding position: it attends, but its output is never used)" if is_pad[token] else ""
    fig.suptitle(
        f'"{words[token]}" takes most from "{words[best]}" ({float(row[best]):.2f}; '
        f"uniform would be {1.0 / n_real:.2f}){where}"
    )
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 05 (masking, decoder)


def _check_generation_step(model: torch.nn.Module, tgt: torch.Tensor, t: int, layer: int, head: int) -> None:
    if not isinstance(tgt, torch.Tensor) or tgt.dim() != 2 or tgt.shape[0] != 1:
        got = tuple(tgt.shape) if isinstance(tgt, torch.Tensor) else type(tgt).__name__
        raise ValueError(f"tgt must be one decoder input sequence of shape (1, T), got {got}")
    _check_index("t", t, tgt.shape[1], note=" (a position of tgt)")
    _check_index("layer", layer, len(model.decoder.layers))
    _check_index("head", head, model.decoder.layers[0].self_attn.num_heads)


@torch.no_grad()
def generation_prefix_attention(
    model: torch.nn.Module,
    src: torch.Tensor,
    tgt: torch.Tensor,
    t: int,
    layer: int = 0,
    head: int = 0,
    causal: bool = True,
) -> tuple[torch.Tensor, int]:
    """Decoder self-attention at generation step ``t``, computed from the prefix ``tgt[:, :t+1]`` only.

    Args:
        model: an :class:`attn_lib.Transformer`.
        src: source tokens ``(1, S)``.
        tgt: the decoder input ``(1, T)`` (BOS followed by the generated tokens).
        t: the step: the decoder has seen positions ``0..t`` and predicts token ``t + 1``.
        layer, head: which decoder layer and head to show.
        causal: False runs the decoder self-attention without the causal mask (padding
            only), to show what goes wrong: earlier rows then change as tokens are added.

    Returns:
        ``(weights, next_id)``: a ``(T, T)`` map whose rows and columns ``0..t`` are the
        weights of that step (everything else is NaN: those positions do not exist yet) and
        the id the model predicts next (argmax of the logits at position ``t``).
    """
    _check_generation_step(model, tgt, t, layer, head)
    if not isinstance(causal, bool):
        raise ValueError(f"causal must be True or False, got {causal!r}")
    was_training = model.training
    model.eval()
    prefix = tgt[:, : t + 1]  # (1, t+1): all the decoder has at step t
    src_mask = model.src_mask(src)  # (1, 1, 1, S) or None
    # causal AND padding (1, 1, t+1, t+1), or padding only (1, 1, 1, t+1) without the causal mask
    self_mask = model.tgt_mask(prefix) if causal else model.src_mask(prefix)
    x = model._embed(model.tgt_embed, prefix)  # (1, t+1, D): token embedding × √d_model + PE, as in decode
    x, self_maps, _ = model.decoder(x, model.encode(src), self_mask, src_mask, need_weights=True)
    logits = model.generator(x)  # (1, t+1, V)
    model.train(was_training)
    T = tgt.shape[1]
    out = torch.full((T, T), float("nan"))
    out[: t + 1, : t + 1] = self_maps[layer][0, head]  # (1, H, t+1, t+1) -> (t+1, t+1)
    return out, int(logits[0, -1].argmax())


def generation_step_view(
    model: torch.nn.Module,
    src: torch.Tensor,
    tgt: torch.Tensor,
    t: int,
    vocab: list[str],
    layer: int = 0,
    head: int = 0,
    causal: bool = True,
) -> Figure:
    """Step ``t`` of generation: the decoder self-attention map of the positions that exist so far.

    Cells (i, j) with i, j <= t are coloured by weight; with ``causal`` their future cells
    (j > i) are grey, blocked by the causal mask (weight exactly 0). Rows and columns after
    ``t`` are hatched: those tokens are not generated yet. ``vocab[id]`` is the string of
    token ``id``. ``causal=False`` drops the causal mask (see
    :func:`generation_prefix_attention`).
    """
    from matplotlib.patches import Patch, Rectangle

    weights, next_id = generation_prefix_attention(model, src, tgt, t, layer, head, causal)  # (T, T)
    T = tgt.shape[1]
    words = [vocab[int(i)] for i in tgt[0]]
    shown = [w if i <= t else "?" for i, w in enumerate(words)]
    grid = weights.clone()
    if causal:
        grid[torch.ones(T, T, dtype=torch.bool).triu(1)] = float("nan")  # blocked cells: grey

    fig, ax = plt.subplots(figsize=(8, 5))
    cmap = plt.get_cmap("viridis").with_extremes(bad="#d9d9d9")  # NaN (blocked) cells: grey
    im = ax.imshow(grid.numpy(), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    not_yet = {"facecolor": "white", "edgecolor": "#999999", "hatch": "//"}
    if t + 1 < T:  # tokens after t do not exist yet: their rows (queries) and columns (keys)
        ax.add_patch(Rectangle((-0.5, t + 0.5), T, T - t - 1, **not_yet))
        ax.add_patch(Rectangle((t + 0.5, -0.5), T - t - 1, t + 1, **not_yet))
    ax.add_patch(Rectangle((-0.5, t - 0.5), t + 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    for i in range(t + 1):
        for j in range(t + 1 if not causal else i + 1):
            v = float(weights[i, j])
            ax.text(
                j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.5 else "black"
            )
    ax.set_xticks(range(T))
    ax.set_yticks(range(T))
    ax.set_xticklabels(shown)
    for tick, label in zip(ax.get_xticklabels(), shown, strict=True):
        tick.set_rotation(90 if len(label) > 2 else 0)  # words stand up, "?" stays upright
    ax.set_yticklabels(shown)
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position (attending)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight")
    handles = [
        Patch(**not_yet, label="not generated yet"),
        Patch(facecolor="none", edgecolor="red", linewidth=2, label=f"step {t}: the newest row"),
    ]
    if causal:
        handles.insert(0, Patch(facecolor="#d9d9d9", label="future key: masked, weight exactly 0"))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    seen = " ".join(words[: t + 1])
    mask_name = "causal mask on" if causal else "NO causal mask: earlier rows change as tokens are added"
    ax.set_title(
        f"step {t}: decoder input “{seen}” → predicts “{vocab[next_id]}”\n"
        f"decoder self-attention, layer {layer}, head {head}, {mask_name}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 06 (cross-attention)

TIE_TOLERANCE = 0.005  # two weights closer than this are reported as a tie, not as an argmax


def cross_attention_row(weights: torch.Tensor, target: int, head: int | None = None) -> torch.Tensor:
    """Where one decoder position looks in the source: row ``target`` of a cross-attention map.

    Args:
        weights: the cross-attention weights of one sentence, ``(T, S)`` or ``(H, T, S)``
            (e.g. ``cross_weights[b]`` of ``DecoderLayer(..., need_weights=True)``).
        target: the decoder (query) position i, in ``[0, T)``.
        head: for ``(H, T, S)`` weights, head h, or None for the mean over the heads.

    Returns:
        The ``(S,)`` weights of target position ``target`` over the source positions. They sum
        to 1 over the source and are exactly 0 on source padding that was masked.
    """
    if not isinstance(weights, torch.Tensor) or weights.dim() not in (2, 3):
        got = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(f"weights must be a (T, S) or (H, T, S) tensor of one sentence, got {got}")
    _check_index("target", target, weights.shape[-2], note=" (a decoder position)")
    w = weights.detach().float()
    if w.dim() == 2:
        if head is not None:
            raise ValueError(
                f"head={head!r} was given but weights {tuple(w.shape)} have no head axis (H, T, S)"
            )
        return w[target]  # (S,)
    if head is None:
        return w[:, target].mean(0)  # (H, S) -> (S,)
    H = w.shape[0]
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < H:
        raise ValueError(f"head must be None or an int in [0, {H - 1}], got {head!r}")
    return w[head, target]  # (S,)


def plot_cross_attention_row(
    weights: torch.Tensor,
    source_labels: list[str],
    target_labels: list[str],
    target: int,
    head: int | None = None,
    expected: list[int | None] | None = None,
    mask: torch.Tensor | None = None,
    pad_label: str = "<pad>",
) -> Figure:
    """One decoder position's attention over the source, in context.

    Left: the whole ``(T, S)`` cross-attention map (rows: target tokens, columns: source
    tokens) with the chosen row framed in red and the known alignment, if given, in dashed
    orange. Right: that row as bars over the source tokens. Weights within
    ``TIE_TOLERANCE`` of the largest are reported and coloured as a tie, since the argmax
    would pick the first of them by position alone.

    Args:
        weights, target, head: as in :func:`cross_attention_row`.
        source_labels: the S source token strings (padding written ``pad_label``).
        target_labels: the T target token strings.
        expected: per target position, the source position it is known to align with (or None).
        mask: the mask the weights were computed with (bool, True = may attend, broadcastable
            to ``(T, S)``, e.g. ``padding_mask(src, PAD)[b, 0]``); blocked cells are drawn as masked.
    """
    from matplotlib.patches import Patch, Rectangle

    from .viz import blocked_cells, plot_alignment

    row = cross_attention_row(weights, target, head)  # (S,)
    w = weights.detach().float()
    full = w if w.dim() == 2 else (w.mean(0) if head is None else w[head])  # (T, S)
    T, S = full.shape
    if len(source_labels) != S or len(target_labels) != T:
        raise ValueError(
            f"weights are (T={T}, S={S}) but got {len(target_labels)} target_labels and "
            f"{len(source_labels)} source_labels"
        )
    head_name = ""
    if w.dim() == 3 and w.shape[0] > 1:
        head_name = ", mean of heads" if head is None else f", head {head}"
    is_pad = [s == pad_label for s in source_labels]
    blocked_map = blocked_cells(mask, T, S)  # (T, S), True = blocked
    blocked = blocked_map[target].tolist()
    best = int(row.argmax())
    tied = _tied_with_max(row, TIE_TOLERANCE)  # best and near-equals
    want = None if expected is None else expected[target]

    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(11, 3.9), gridspec_kw={"width_ratios": [1.2, 1]})
    map_title = f"cross-attention map{head_name}"
    if mask is not None:
        map_title += f", mask: {int(blocked_map.sum())} cells blocked"
    plot_alignment(full, source_labels, target_labels, expected, map_title, ax_map, mask=mask)
    ax_map.add_patch(Rectangle((-0.5, target - 0.5), S, 1, fill=False, edgecolor="red", linewidth=2.5))

    colours = ["#bbbbbb" if p else "#2a9d8f" for p in is_pad]
    for j in tied:
        colours[j] = "#e76f51"
    bars = ax_bar.bar(range(S), row.numpy(), color=colours)
    if want is not None:
        bars[want].set_edgecolor("black")
        bars[want].set_linewidth(2)
    for j in range(S):
        note = "0 (masked)" if blocked[j] else f"{float(row[j]):.2f}" + (" (pad)" if is_pad[j] else "")
        ax_bar.text(j, float(row[j]) + 0.02, note, ha="center", va="bottom", fontsize=8)
    handles = [Patch(facecolor="#e76f51", label="largest weight" if len(tied) == 1 else "largest (a tie)")]
    if want is not None:
        handles.append(
            Patch(
                facecolor="white", edgecolor="black", linewidth=2, label="known alignment (dashed in the map)"
            )
        )
    if any(is_pad):
        handles.append(Patch(facecolor="#bbbbbb", label="source padding"))
    ax_bar.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)
    ax_bar.set_xticks(range(S))
    short = max(map(len, source_labels)) * S <= 48  # short labels fit without rotation
    ax_bar.set_xticklabels(source_labels, rotation=0 if short else 45, ha="center" if short else "right")
    ax_bar.set_ylim(0, 1.3)  # room for the legend above the bars
    ax_bar.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax_bar.set_xlabel("source token (encoder position)")
    ax_bar.set_ylabel("cross-attention weight")
    ax_bar.set_title(f'row of target "{target_labels[target]}": sums to 1 over the source')

    reads = " and ".join(f'"{source_labels[j]}" (position {j})' for j in tied)
    if len(tied) == 1:
        finding = f"reads source {reads} most, with weight {float(row[best]):.2f}"
    else:  # argmax would pick the first of them by position alone: say it is a tie
        finding = (
            f"reads {len(tied)} source tokens equally (a tie): {reads}, weight {float(row[best]):.2f} each"
        )
    title = f'target "{target_labels[target]}" (position {target}) {finding}'
    verdict = ""
    if want is not None:
        if tied == [want]:
            verdict = "that is its known alignment"
        elif want in tied:
            verdict = f'its known alignment, "{source_labels[want]}", is one of them'
        else:
            verdict = f'its known alignment is "{source_labels[want]}"'
    if verdict:
        title += ("\n" if len(title) + len(verdict) > 110 else "; ") + verdict
    pad_share = float(row[torch.tensor(is_pad)].sum())
    if pad_share >= 0.005:
        title += f"\n{pad_share:.0%} of its attention goes to source padding: mask it"
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 07 (tiny Transformer)

REVERSAL_MIN_HEIGHT = 3.2  # inches: the figure of a 1-digit input is not squashed


def run_reversal(
    model: torch.nn.Module,
    text: str,
    max_digits: int = 20,
    trained_lengths: tuple[int, int] | None = (8, 12),
) -> dict:
    """Reverse a typed digit string with a trained reversal model and collect its cross-attention.

    Args:
        model: an :class:`attn_lib.Transformer` trained on :mod:`attn_lib.data`'s reversal task.
        text: what the learner typed, e.g. ``"31415926"`` (spaces are ignored).
        max_digits: longer input is refused with a message (the positional table is finite).
        trained_lengths: ``(min_len, max_len)`` seen in training; outside it the result
            carries a note that the model was never trained on such lengths.

    Returns:
        A dict. ``ok`` False means the text was refused; ``message`` says why, in words.
        With ``ok`` True: ``source``, ``output``, ``expected`` (digit strings), ``correct`` (bool),
        ``src_labels`` (S source digits), ``out_labels`` (the tokens produced, ending in
        ``"<eos>"`` if the model stopped) and ``cross``, the cross-attention weights of every
        decoder layer while producing them, ``(layers, H, T_out, S)``.
    """
    from .data import BOS, EOS, encode, token_labels
    from .model import greedy_decode

    if not isinstance(text, str):
        return {"ok": False, "message": f"Please type digits (got {type(text).__name__})."}
    digits = "".join(text.split())
    if not digits:
        return {"ok": False, "message": "Type a few digits, e.g. 31415926."}
    bad = sorted({c for c in digits if c not in "0123456789"})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return {"ok": False, "message": f"Only the digits 0-9 are in the vocabulary; please remove {shown}."}
    pe = getattr(getattr(model, "pos", None), "pe", None)
    limit = max_digits if pe is None else min(max_digits, pe.shape[0] - 2)
    if len(digits) > limit:
        return {
            "ok": False,
            "message": f"{len(digits)} digits is too long for this demo; type at most {limit}.",
        }
    src = torch.tensor([encode(digits)])  # (1, S)
    ys = greedy_decode(model, src, len(digits) + 2, BOS, EOS)  # (1, 1 + n): BOS + output
    out_tokens = ys[0, 1:]  # (n,)
    if bool((out_tokens == EOS).any()):  # keep everything up to and including the first EOS
        out_tokens = out_tokens[: int((out_tokens == EOS).nonzero()[0, 0]) + 1]
    # One teacher-forced pass over BOS + output (minus its last token) gives, row by row,
    # exactly the attention each generation step used: causality makes later tokens irrelevant.
    was_training = model.training
    model.eval()
    maps = model.attention_maps(src, ys[:, : out_tokens.numel()])  # cross: layers x (1, H, T_out, S)
    model.train(was_training)
    cross = torch.stack([c[0] for c in maps.cross])  # (layers, H, T_out, S)
    output = "".join(t for t in token_labels(out_tokens) if t.isdigit())
    expected = digits[::-1]
    correct = output == expected and int(out_tokens[-1]) == EOS
    message = f"{digits} -> {output}  ({'correct' if correct else 'expected ' + expected})"
    if trained_lengths is not None and not trained_lengths[0] <= len(digits) <= trained_lengths[1]:
        lo, hi = trained_lengths
        message += f"\nNote: the model was trained on {lo}-{hi} digits only; you typed {len(digits)}."
    return {
        "ok": True,
        "message": message,
        "source": digits,
        "output": output,
        "expected": expected,
        "correct": correct,
        "src_labels": list(digits),
        "out_labels": token_labels(out_tokens),
        "cross": cross,
    }


def plot_reversal_attention(result: dict, layer: int = -1, title: str | None = None) -> Figure:
    """Cross-attention of one decoder layer for a :func:`run_reversal` result: one heatmap per
    head and their average, rows = output token being produced, columns = source digit.

    ``title`` replaces the default figure title (layer, input, output and whether it is correct).
    """
    from .viz import plot_attention

    if not isinstance(result, dict) or not result.get("ok"):
        raise ValueError("result must be a successful run_reversal(...) result (its 'ok' is True)")
    cross = result["cross"]  # (layers, H, T_out, S)
    n_layers, H = cross.shape[0], cross.shape[1]
    if isinstance(layer, bool) or not isinstance(layer, int) or not -n_layers <= layer < n_layers:
        raise ValueError(f"layer must be an int in [{-n_layers}, {n_layers - 1}], got {layer!r}")
    shown = layer % n_layers
    maps = [*cross[shown], cross[shown].mean(0)]  # H maps and the head average, each (T_out, S)
    names = [f"head {h}" for h in range(H)] + ["average of heads"]
    S, T = cross.shape[3], cross.shape[2]
    height = max(REVERSAL_MIN_HEIGHT, 1.4 + 0.28 * max(T, S))  # short inputs: still room for titles
    fig, axes = plt.subplots(1, H + 1, figsize=(min(3.2 * (H + 1), 12), height))
    for i, (ax, w, name) in enumerate(zip(axes, maps, names, strict=True)):
        plot_attention(w, result["out_labels"], result["src_labels"], title=name, ax=ax, colorbar=i == H)
        ax.set_xlabel("source digit")
        ax.set_ylabel("output being produced" if i == 0 else "")
    verdict = "correct" if result["correct"] else f"wrong, expected {result['expected']}"
    if title is None:
        title = f"decoder layer {shown} cross-attention: {result['source']} -> {result['output']} ({verdict})"
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 08 (efficient attention)


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
