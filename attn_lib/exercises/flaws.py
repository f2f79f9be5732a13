"""Flawed implementations, and hints, that the mistake tables of several lessons share.

A flawed function computes the right thing except for one mistake chosen by keyword flags;
``functools.partial(flawed, **flags)`` is then a :class:`~.core.Mistake` variant. The naive
softmax (lessons 01 and 02), the masked softmax (02 and 05) and scaled dot-product attention
(02, 04 and 06) serve several lessons, so they live here, with the hints about masks and the
softmax axis.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from ..i18n import N_


def _naive_softmax(scores: torch.Tensor) -> torch.Tensor:
    e = torch.exp(scores)  # overflows to inf for scores above ~88 (float32)
    return e / e.sum(dim=-1, keepdim=True)


_FILLS = {"-inf": float("-inf"), "zero": 0.0, "-1e9": -1e9}


def _flawed_masked_weights(
    scores: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    mode: str = "before",
    fill: str = "-inf",
    nan_rows: bool = False,
    dim: int = -1,
    in_place: bool = False,
) -> torch.Tensor:
    """Masked softmax with one chosen flaw.

    mode: "before" (right), "inverted" (blocks where mask is True), "after" (zeroes weights
    after the softmax), "ignore" (no mask). fill: the value of blocked scores. nan_rows: leave
    fully masked rows NaN. dim: the softmax axis. in_place: fill the caller's scores in place.
    """
    if mask is not None and mode in ("before", "inverted"):
        blocked = ~mask if mode == "before" else mask
        fill_with = scores.masked_fill_ if in_place else scores.masked_fill
        scores = fill_with(blocked, _FILLS[fill])
    weights = torch.softmax(scores, dim=dim)
    if not nan_rows:
        weights = torch.nan_to_num(weights)
    if mask is not None and mode == "after":
        weights = weights.masked_fill(~mask, 0.0)
    return weights


# The factor the scores are multiplied by, from d_k (the width of a key) and T_k (the number of keys).
_SCALES = {
    "sqrt": lambda d, t: 1 / math.sqrt(d),
    "none": lambda d, t: 1.0,
    "dk": lambda d, t: 1 / d,
    "mul": lambda d, t: math.sqrt(d),
    "tk": lambda d, t: 1 / math.sqrt(t),  # √T_k, the number of keys, instead of √d_k, their width
}


def _flawed_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scale: str = "sqrt",
    keys: str = "ok",
    use_values: bool = True,
    swap: bool = False,
    **mask_flaws: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention with one chosen flaw (keyword flags; see the mistakes below)."""
    kt = {
        "ok": lambda: k.transpose(-2, -1),
        "none": lambda: k,
        "T": lambda: k.T,
        "01": lambda: k.transpose(0, 1),
    }
    scores = (q @ kt[keys]()) * _SCALES[scale](q.shape[-1], k.shape[-2])
    weights = _flawed_masked_weights(scores, mask, **mask_flaws)
    out = weights @ v if use_values else weights
    return (weights, out) if swap else (out, weights)


_MASK_HINTS = {
    "inverted": (
        N_(
            "True means *may attend*: block where the mask is False, `scores.masked_fill(~mask, "
            "float('-inf'))`. (torch.nn.MultiheadAttention uses the opposite meaning; this course does not.)"
        )
    ),
    "after": (
        N_(
            "zeroing weights after the softmax leaves rows that no longer sum to 1; set the blocked "
            "*scores* to −inf before the softmax, so the remaining weights are renormalised."
        )
    ),
    "zero": (
        N_(
            "a score of 0 still gets weight exp(0) > 0; fill blocked scores with `float('-inf')`, whose "
            "weight is exactly 0."
        )
    ),
    "ignore": (
        N_("the mask is never used: `scores = scores.masked_fill(~mask, float('-inf'))` before the softmax.")
    ),
    "nan": (
        N_(
            "a row whose keys are all blocked is all −inf, and softmax gives 0/0 = NaN; the library's "
            "answer is zeros: `torch.nan_to_num(weights)` after the softmax."
        )
    ),
    "-1e9": (
        N_(
            "with a large negative number instead of −inf, a fully masked row gets *uniform* weights (every "
            "key equally); the library's answer is zeros: fill with `float('-inf')`, then "
            "`torch.nan_to_num(weights)`."
        )
    ),
    "dim": (
        N_(
            "each query's weights over the keys must sum to 1: the softmax runs over the last axis, "
            "`dim=-1` (the keys), not over the queries."
        )
    ),
}
