"""Lesson 02 (scaled dot-product attention): ``scaled_dot_product_attention`` and ``stable_softmax``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from ..attention import scaled_dot_product_attention, softmax
from ..i18n import N_, _
from .core import Case, Exercise, Mistake, Out
from .flaws import _MASK_HINTS, _flawed_attention, _naive_softmax
from .inputs import _gen, _randn


def _solution_scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, d_k) @ (..., d_k, T_k) -> (..., T_q, T_k)
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k): each row sums to 1
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


def _expected_scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    out, weights = scaled_dot_product_attention(q, k, v)
    return out, weights


def _sdpa_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    return Mistake(name, hint, functools.partial(_flawed_attention, **flaw))


_SDPA_MISTAKES = (
    _sdpa_mistake(
        N_("no scaling (missing ÷√d_k)"),
        N_("divide the scores by `math.sqrt(d_k)`, with `d_k = q.shape[-1]`, before the softmax."),
        scale="none",
    ),
    _sdpa_mistake(
        N_("divided by d_k instead of √d_k"),
        N_("the scale is 1/√d_k: `/ math.sqrt(d_k)`, not `/ d_k`."),
        scale="dk",
    ),
    _sdpa_mistake(
        N_("divided by √T_k (the number of keys) instead of √d_k"),
        N_("d_k is the width of a query or key, `q.shape[-1]`, not the number of keys `k.shape[-2]`."),
        scale="tk",
    ),
    _sdpa_mistake(
        N_("multiplied by √d_k instead of dividing"),
        N_("the scores are *divided* by √d_k: `/ math.sqrt(d_k)`."),
        scale="mul",
    ),
    _sdpa_mistake(N_("softmax over the wrong axis"), _MASK_HINTS["dim"], dim=-2),
    _sdpa_mistake(
        N_("keys not transposed"),
        N_(
            "Q Kᵀ needs the keys transposed on their last two axes: `q @ k.transpose(-2, -1)` "
            "(T_k ≠ d_k here)."
        ),
        keys="none",
    ),
    _sdpa_mistake(
        N_("keys transposed with .T (it reverses every dimension of a batched tensor)"),
        N_(
            "on a batched tensor `k.T` reverses all dimensions; transpose only the last two: "
            "`k.transpose(-2, -1)` (or `k.mT`)."
        ),
        keys="T",
    ),
    _sdpa_mistake(
        N_("keys transposed on the wrong dimensions (the batch ones)"),
        N_("swap the last two axes, whatever the batch dimensions: `k.transpose(-2, -1)`."),
        keys="01",
    ),
    _sdpa_mistake(
        N_("weights not applied to V (returned the weights as the output)"),
        N_("the output is the weighted sum of the values: `output = weights @ v`, shape (..., T_q, d_v)."),
        use_values=False,
    ),
    _sdpa_mistake(
        N_("output and weights swapped"),
        N_("return them in the order `(output, weights)`."),
        swap=True,
    ),
)


def _sdpa_cases() -> list[Case]:
    g = _gen(202)

    def qkv(*lead: int, t_q: int, t_k: int, d_v: int) -> tuple[torch.Tensor, ...]:  # d_k = 16
        return _randn(g, *lead, t_q, 16), _randn(g, *lead, t_k, 16), _randn(g, *lead, t_k, d_v)

    return [  # no masks: they come in lesson 05 (exercise masked_attention_weights)
        Case(_("q (3, 16), k (5, 16), v (5, 4)"), qkv(t_q=3, t_k=5, d_v=4)),
        Case(_("batch B=2: q (2, 4, 16), k (2, 6, 16), v (2, 6, 8)"), qkv(2, t_q=4, t_k=6, d_v=8)),
        Case(
            _("batch and heads (B=2, H=3): q (2, 3, 4, 16), k (2, 3, 6, 16)"), qkv(2, 3, t_q=4, t_k=6, d_v=8)
        ),
        Case(_("T_q > T_k: q (2, 7, 16), k (2, 3, 16), v (2, 3, 5)"), qkv(2, t_q=7, t_k=3, d_v=5)),
        Case(_("length 1: q (1, 16), k (1, 16), v (1, 4)"), qkv(t_q=1, t_k=1, d_v=4)),
    ]


def _solution_stable_softmax(x: torch.Tensor) -> torch.Tensor:
    shifted = x - x.amax(dim=-1, keepdim=True)  # each row's largest entry becomes 0, so exp(...) <= 1
    e = torch.exp(shifted)  # no overflow; -inf entries give exactly 0
    return e / e.sum(dim=-1, keepdim=True)  # each row sums to 1


def _unnormalised(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x - x.amax(dim=-1, keepdim=True))


def _stable_softmax_cases() -> list[Case]:
    g = _gen(203)
    scales = torch.tensor([[1000.0], [0.0]])  # row 0 near 1000, row 1 near 0
    with_inf = _randn(g, 3, 4)
    with_inf[0, 1] = with_inf[2, 0] = with_inf[2, 3] = float("-inf")
    return [
        Case(_("x (3, 5)"), (_randn(g, 3, 5),)),
        Case(_("x (2, 3, 4): a batch of matrices"), (_randn(g, 2, 3, 4),)),
        Case(_("square x (4, 4)"), (_randn(g, 4, 4),)),
        Case(_("large logits, up to about ±1000: x (3, 5)"), (_randn(g, 3, 5, std=400.0),)),
        Case(
            _("rows on different scales: x (2, 4), row 0 near 1000, row 1 near 0"),
            (_randn(g, 2, 4) + scales,),
        ),
        Case(_("some −inf entries (blocked positions): x (3, 4)"), (with_inf,)),
        Case(_("one entry per row: x (3, 1)"), (_randn(g, 3, 1),)),
        Case(_("a 1-D x (6,)"), (_randn(g, 6),)),
    ]


_STABLE_SOFTMAX_MISTAKES = (
    Mistake(
        N_("the max is not subtracted (exp overflows)"),
        N_(
            "`torch.exp` of 1000 is inf and inf/inf is NaN; subtract each row's maximum first: "
            "`x - x.amax(dim=-1, keepdim=True)`."
        ),
        _naive_softmax,
    ),
    Mistake(
        N_("one global max instead of each row's max"),
        N_(
            "`x.max()` is the largest entry of the whole tensor: a row far below it underflows "
            "to 0/0. Use each "
            "row's max: `x.amax(dim=-1, keepdim=True)`."
        ),
        lambda x: _naive_softmax(x - x.max()),
    ),
    Mistake(
        N_("softmax over the wrong axis"),
        N_("normalise along the last axis: reduce with `dim=-1` (and `keepdim=True`)."),
        lambda x: torch.softmax(x, dim=0),
    ),
    Mistake(
        N_("max without keepdim=True"),
        N_(
            "`x.max(dim=-1).values` drops the reduced axis, so it lines up with the wrong axis "
            "of x; keep it: "
            "`x.amax(dim=-1, keepdim=True)`."
        ),
        lambda x: _naive_softmax(x - x.max(dim=-1).values),
    ),
    Mistake(
        N_("sum without keepdim=True"),
        N_(
            "`e.sum(dim=-1)` drops the reduced axis, so it divides the wrong entries; keep it: "
            "`e.sum(dim=-1, keepdim=True)`."
        ),
        lambda x: _unnormalised(x) / _unnormalised(x).sum(dim=-1),
    ),
    Mistake(
        N_("subtracted the min instead of the max"),
        N_(
            "subtracting the minimum makes every exponent ≥ 0, so large entries still overflow "
            "(and −inf entries "
            "give NaN); subtract the maximum."
        ),
        lambda x: _naive_softmax(x - x.amin(dim=-1, keepdim=True)),
    ),
    Mistake(
        N_("not normalised (exp without dividing by the sum)"),
        N_("divide by each row's sum so that it sums to 1: `e / e.sum(dim=-1, keepdim=True)`."),
        _unnormalised,
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "scaled_dot_product_attention",
        "02",
        N_(
            "softmax(Q Kᵀ / √d_k) V over any batch dimensions, returning (output (..., T_q, d_v), "
            "weights (..., T_q, T_k))."
        ),
        _solution_scaled_dot_product_attention,
        _expected_scaled_dot_product_attention,
        _sdpa_cases,
        (Out("output", "float", "(..., T_q, d_v)"), Out("weights", "float", "(..., T_q, T_k)")),
        _SDPA_MISTAKES,
        solution_imports="import math\n\nimport torch",
    ),
    Exercise(
        "stable_softmax",
        "02",
        N_("a softmax over the last axis that does not overflow for large inputs (subtract each row's max)."),
        _solution_stable_softmax,
        softmax,
        _stable_softmax_cases,
        (Out("result", "float", "x.shape"),),
        _STABLE_SOFTMAX_MISTAKES,
    ),
)
