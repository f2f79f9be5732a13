"""Lesson 01 (attention as a soft lookup): ``attention_weights`` and ``soft_lookup``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention, softmax
from ..i18n import N_, _
from .core import Case, Exercise, Mistake, Out
from .flaws import _naive_softmax
from .inputs import _gen, _randn


def _solution_attention_weights(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    scores = keys @ query  # (n, d) @ (d,) -> (n,): one dot product per key
    return torch.softmax(scores, dim=-1)  # (n,): positive, sums to 1


def _expected_attention_weights(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    return softmax(keys @ query, dim=-1)


def _lookup_cases(seed: int, with_values: bool) -> list[Case]:
    g = _gen(seed)
    shapes = (  # (label, d_k, n, d_v, query std)
        (_("a small example: query (2,), keys (4, 2)"), 2, 4, 3, 1.0),
        ("query (16,), keys (7, 16)", 16, 7, 5, 0.5),
        (_("one key only: keys (1, 3)"), 3, 1, 2, 1.0),
        (
            _("a long query: the largest dot product is 500 (exp(500) overflows: subtract the max)"),
            8,
            5,
            4,
            0.0,
        ),
    )
    cases = []
    for label, d_k, n, d_v, std in shapes:
        query, keys = _randn(g, d_k, std=std), _randn(g, n, d_k)
        if std == 0.0:  # along key 0, long enough that query·key_0 = 500: exp(500) overflows float32
            query = keys[0] * 500 / keys[0].dot(keys[0])
        if with_values:
            label = _("{label}, values ({n}, {d_v})").format(label=label, n=n, d_v=d_v)
            cases.append(Case(label, (query, keys, _randn(g, n, d_v))))
        else:
            cases.append(Case(label, (query, keys)))
    return cases


_NAIVE_EXP_HINT = N_(
    "`torch.exp` of a score above ~88 is inf in float32, and inf/inf is NaN. Use `torch.softmax(scores, "
    "dim=-1)`, or subtract the largest score first (lesson 02 shows why that changes nothing else)."
)

_ATTENTION_WEIGHTS_MISTAKES = (
    Mistake(
        N_("no softmax (the raw dot products)"),
        N_(
            "the weights must be positive and sum to 1: apply `torch.softmax(scores, dim=-1)` to the dot "
            "products."
        ),
        lambda query, keys: keys @ query,
    ),
    Mistake(
        N_("divided by the sum instead of a softmax"),
        N_(
            "dot products can be negative, so dividing by their sum does not give weights; "
            "exponentiate first: "
            "`torch.softmax(scores, dim=-1)`."
        ),
        lambda query, keys: (keys @ query) / (keys @ query).sum(),
    ),
    Mistake(
        N_("scaled by √d (that is lesson 02)"),
        N_(
            "here the weights are `softmax(keys @ query)` with the plain dot product; the "
            "÷√d_k comes in lesson "
            "02."
        ),
        lambda query, keys: torch.softmax(keys @ query / math.sqrt(query.shape[-1]), dim=-1),
    ),
    Mistake(
        N_("softmax overflow (exp without subtracting the max)"),
        _NAIVE_EXP_HINT,
        lambda query, keys: _naive_softmax(keys @ query),
    ),
)


def _solution_soft_lookup(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    weights = torch.softmax(keys @ query, dim=-1)  # (n,): how much each key matches the query
    return weights @ values  # (n,) @ (n, d_v) -> (d_v,): a weighted mix of the values


def _expected_soft_lookup(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    out, _ = scaled_dot_product_attention(query[None], keys, values, scale=1.0)  # (1, d_v)
    return out[0]


_SOFT_LOOKUP_MISTAKES = (
    Mistake(
        N_("returned the weights, not the weighted sum of the values"),
        N_("the weights say how much of each value to take; finish with `weights @ values` (shape (d_v,))."),
        lambda query, keys, values: torch.softmax(keys @ query, dim=-1),
    ),
    Mistake(
        N_("mixed the keys instead of the values"),
        N_("keys decide the weights, values are what is returned: `weights @ values`, not `weights @ keys`."),
        lambda query, keys, values: torch.softmax(keys @ query, dim=-1) @ keys,
    ),
    Mistake(
        N_("no softmax (raw dot products as weights)"),
        N_(
            "turn the dot products into weights with `torch.softmax(keys @ query, dim=-1)` before mixing the "
            "values."
        ),
        lambda query, keys, values: (keys @ query) @ values,
    ),
    Mistake(
        N_("a hard lookup (only the best-matching value)"),
        N_(
            "a *soft* lookup mixes every value by its weight: `torch.softmax(keys @ query, dim=-1) @ values`."
        ),
        lambda query, keys, values: values[(keys @ query).argmax()],
    ),
    Mistake(
        N_("a plain average of the values (the query is ignored)"),
        N_("the weights must depend on the query: `torch.softmax(keys @ query, dim=-1)`."),
        lambda query, keys, values: values.mean(dim=0),
    ),
    Mistake(
        N_("softmax overflow (exp without subtracting the max)"),
        _NAIVE_EXP_HINT,
        lambda query, keys, values: _naive_softmax(keys @ query) @ values,
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "attention_weights",
        "01",
        N_("the soft-lookup weights of one query over n keys: softmax of the dot products, shape (n,)."),
        _solution_attention_weights,
        _expected_attention_weights,
        lambda: _lookup_cases(101, with_values=False),
        (Out("weights", "float", "(n,)"),),
        _ATTENTION_WEIGHTS_MISTAKES,
    ),
    Exercise(
        "soft_lookup",
        "01",
        N_("a soft dictionary lookup: the values mixed by the softmax weights of query·key, shape (d_v,)."),
        _solution_soft_lookup,
        _expected_soft_lookup,
        lambda: _lookup_cases(102, with_values=True),
        (Out("output", "float", "(d_v,)"),),
        _SOFT_LOOKUP_MISTAKES,
    ),
)
