"""Lesson 05 (masking and decoder self-attention): ``causal_mask`` and ``masked_attention_weights``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import functools
from typing import Any

import torch

from ..attention import softmax
from ..i18n import N_, _
from ..masks import causal_mask, to_additive_mask
from .core import _INPLACE_HINT, INPLACE_MISTAKE, Case, Exercise, Mistake, Out
from .flaws import _MASK_HINTS, _flawed_masked_weights
from .inputs import _gen, _randn


def _solution_causal_mask(T: int) -> torch.Tensor:
    # True on and below the diagonal: query i may attend to keys j <= i (itself and the past).
    return torch.ones(T, T, dtype=torch.bool).tril()  # (T, T)


_CAUSAL_MISTAKES = (
    Mistake(
        N_("off by one: the diagonal is excluded (a position cannot see itself)"),
        N_("position i may attend to itself: `tril()` (diagonal=0), not `tril(-1)`."),
        lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),
    ),
    Mistake(
        N_("off by one: one step of the future is allowed"),
        N_("query i may see keys j <= i only: `tril()` (diagonal=0), not `tril(1)`."),
        lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
    ),
    Mistake(
        N_("inverted: True marks the blocked future (torch.nn.MultiheadAttention's meaning)"),
        N_(
            "in this course True = *may attend*: True on and below the diagonal, `torch.ones(T, T, "
            "dtype=torch.bool)"
            ".tril()`."
        ),
        lambda T: torch.ones(T, T, dtype=torch.bool).triu(1),
    ),
    Mistake(
        N_("upper triangle instead of lower (queries see the future)"),
        N_("row i is query i; it may see columns j <= i, the *lower* triangle: `tril()`, not `triu()`."),
        lambda T: torch.ones(T, T, dtype=torch.bool).triu(),
    ),
    Mistake(
        N_("a float 0/1 mask instead of bool"),
        N_("make it bool: `torch.ones(T, T, dtype=torch.bool).tril()` (or `.bool()`)."),
        lambda T: torch.ones(T, T).tril(),
    ),
    Mistake(
        N_("an additive 0/−inf bias instead of a bool mask"),
        N_(
            "the exercise asks for the bool *mask* (True = may attend); `attn_lib.to_additive_mask` turns it "
            "into the "
            "additive bias."
        ),
        lambda T: to_additive_mask(torch.ones(T, T, dtype=torch.bool).tril()),
    ),
)


def _solution_masked_attention_weights(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    scores = scores.masked_fill(~mask, float("-inf"))  # blocked -> -inf *before* the softmax (a new tensor)
    weights = torch.softmax(scores, dim=-1)  # exp(-inf) = 0: blocked weights are exactly 0
    return torch.nan_to_num(weights)  # a row with every key blocked: 0/0 = NaN -> 0


def _expected_masked_attention_weights(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _masked_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    alternatives = ()
    if flaw.get("mode") == "inverted":
        alternatives = (functools.partial(_flawed_masked_weights, nan_rows=True, **flaw),)
    return Mistake(name, hint, functools.partial(_flawed_masked_weights, **flaw), alternatives)


_MASKED_WEIGHTS_MISTAKES = (
    _masked_mistake(
        N_("mask applied after the softmax (zeroed weights)"), _MASK_HINTS["after"], mode="after"
    ),
    _masked_mistake(N_("masked scores filled with 0 instead of −inf"), _MASK_HINTS["zero"], fill="zero"),
    _masked_mistake(N_("mask inverted"), _MASK_HINTS["inverted"], mode="inverted"),
    _masked_mistake(N_("mask ignored"), _MASK_HINTS["ignore"], mode="ignore"),
    _masked_mistake(N_("softmax over the wrong axis"), _MASK_HINTS["dim"], dim=-2),
    _masked_mistake(N_("NaN for a fully masked row"), _MASK_HINTS["nan"], nan_rows=True),
    _masked_mistake(
        N_("uniform weights for a fully masked row (filled with −1e9, not −inf)"),
        _MASK_HINTS["-1e9"],
        fill="-1e9",
    ),
    _masked_mistake(INPLACE_MISTAKE, _INPLACE_HINT, in_place=True),
)


def _masked_weights_cases() -> list[Case]:
    g = _gen(502)
    mixed = torch.tensor(
        [[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 1, 1], [1, 1, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]]
    ).bool()
    padding = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])[:, None, :]  # (2, 1, 6)
    fully = torch.tensor([[True, True, False, True], [False] * 4, [True, False, False, False]])
    return [
        Case(
            _("scores (4, 6), mask (4, 6) with some keys blocked in each row"),
            (_randn(g, 4, 6, std=2.0), mixed),
        ),
        Case(
            _("scores (2, 3, 5, 5): batch and heads, causal mask (5, 5)"),
            (_randn(g, 2, 3, 5, 5, std=2.0), causal_mask(5)),
        ),
        Case(
            _("scores (2, 4, 6), padding mask (2, 1, 6): item 1 has 3 padded keys"),
            (_randn(g, 2, 4, 6, std=2.0), padding),
        ),
        Case(
            _("length 1: scores (1, 1), mask [[True]]"), (_randn(g, 1, 1), torch.ones(1, 1, dtype=torch.bool))
        ),
        Case(
            _("scores (3, 4), mask whose row 1 blocks every key (a fully masked row)"),
            (_randn(g, 3, 4, std=2.0), fully),
        ),
    ]


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "causal_mask",
        "05",
        N_("the (T, T) bool mask, True where query i may attend to key j, i.e. j <= i."),
        _solution_causal_mask,
        causal_mask,
        lambda: [Case(f"T = {t}" + (_(" (length 1)") if t == 1 else ""), (t,)) for t in (5, 1, 2, 8)],
        (Out("mask", "bool", "(T, T)"),),
        _CAUSAL_MISTAKES,
    ),
    Exercise(
        "masked_attention_weights",
        "05",
        N_(
            "attention weights from scores and a bool mask (True = may attend): blocked scores -> −inf "
            "before "
            "the softmax; a fully masked row gives zeros; the input is not modified."
        ),
        _solution_masked_attention_weights,
        _expected_masked_attention_weights,
        _masked_weights_cases,
        (Out("weights", "float", "scores.shape"),),
        _MASKED_WEIGHTS_MISTAKES,
    ),
)
