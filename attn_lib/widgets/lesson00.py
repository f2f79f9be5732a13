"""Widget logic of lesson 00 (start here): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _
from ..viz import BLUE, VERMILLION
from ._common import _check_finite_number

SOFTMAX_DEMO_OTHER_SCORES = (1.0, 0.0, -1.0)  # the fixed scores of items B, C, D in lesson 00's demo


def softmax_demo(score: float, others: tuple[float, ...] = SOFTMAX_DEMO_OTHER_SCORES) -> dict:
    """The softmax of the scores ``(score, *others)``; lesson 00's slider moves ``score``.

    Args:
        score: the score of item A (any finite number).
        others: the fixed scores of items B, C, ... (at least one, at most 25).

    Returns:
        A dict: ``labels`` (``"A"``, ``"B"``, ...), ``scores`` ``(N,)`` and ``weights`` ``(N,)``
        with ``weights[i] = exp(scores[i]) / Σ_j exp(scores[j])``: positive, summing to 1.
    """
    from ..attention import softmax

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
    colours = [VERMILLION] + [BLUE] * (len(labels) - 1)  # A stands out (Okabe & Ito)
    fig, (ax_s, ax_w) = plt.subplots(1, 2, figsize=(8.5, 3.4))

    ax_s.bar(labels, scores.numpy(), color=colours)
    ax_s.axhline(0, color="black", linewidth=0.8)
    low, high = min(-4.5, float(scores.min()) - 0.8), max(4.5, float(scores.max()) + 0.8)
    ax_s.set_ylim(low, high)
    for i, s in enumerate(scores.tolist()):
        ax_s.text(
            i, s + (0.15 if s >= 0 else -0.15), f"{s:+.1f}", ha="center", va="bottom" if s >= 0 else "top"
        )
    ax_s.set_xlabel(_("item"))
    ax_s.set_ylabel(_("score (any real number)"))
    ax_s.set_title(_("the input: scores"))

    ax_w.bar(labels, weights.numpy(), color=colours)
    ax_w.set_ylim(0, 1.1)
    for i, w in enumerate(weights.tolist()):
        ax_w.text(i, w + 0.02, f"{w:.2f}", ha="center", va="bottom")
    ax_w.set_xlabel(_("item"))
    ax_w.set_ylabel(_("weight (between 0 and 1)"))
    ax_w.set_title(_("the output: softmax weights (sum = {sum:.2f})").format(sum=float(weights.sum())))

    share = float(weights[0])
    fig.suptitle(
        _(
            "score of A = {scores:+.1f}: A gets {share:.0%} of the weight, the others share {value:.0%}"
        ).format(scores=float(scores[0]), share=share, value=1 - share)
    )
    fig.tight_layout()
    return fig
