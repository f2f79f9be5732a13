"""Lesson 00 (start here): ``normalise_rows``, a warm-up that shows how the checks report.

Softmax is "exponentiate, then normalise"; this exercise is the second half on its own, so
that lesson 00 can demonstrate a yellow, a red and a green box without giving away the
exercises of lessons 01-07.
"""

from __future__ import annotations

import torch

from ..i18n import N_, _
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen


def _solution_normalise_rows(x: torch.Tensor) -> torch.Tensor:
    return x / x.sum(dim=-1, keepdim=True)  # (..., n) / (..., 1): every row now sums to 1


def _expected_normalise_rows(x: torch.Tensor) -> torch.Tensor:
    total = x.sum(dim=-1, keepdim=True)  # (..., 1)
    return x / total


def _normalise_cases() -> list[Case]:
    g = _gen(100)

    def positive(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=g) + 0.1  # every entry > 0, so no row sums to 0

    return [
        Case(_("one row: x (4,)"), (torch.tensor([1.0, 2.0, 3.0, 4.0]),)),
        Case(_("x (3, 5): three rows"), (positive(3, 5),)),
        Case(_("a square x (3, 3)"), (positive(3, 3),)),
        Case(_("a batch: x (2, 3, 4)"), (positive(2, 3, 4),)),
        Case(_("one entry per row: x (3, 1)"), (positive(3, 1),)),
    ]


_NORMALISE_MISTAKES = (
    Mistake(
        N_("divided by the largest entry, not the sum"),
        N_(
            "after dividing by the maximum the largest entry is 1, but the row does not sum to 1: divide by "
            "`x.sum(dim=-1, keepdim=True)`."
        ),
        lambda x: x / x.amax(dim=-1, keepdim=True),
    ),
    Mistake(
        N_("divided by the total of all entries"),
        N_(
            "`x.sum()` adds up every entry of every row; each row needs its own sum: "
            "`x.sum(dim=-1, keepdim=True)`."
        ),
        lambda x: x / x.sum(),
    ),
    Mistake(
        N_("summed over the wrong axis (columns, not rows)"),
        N_("a row runs along the last axis: sum with `dim=-1`, not `dim=0` or `dim=-2`."),
        lambda x: x / x.sum(dim=0, keepdim=True),
        alternatives=(lambda x: x / x.sum(dim=-2, keepdim=True) if x.dim() > 1 else x / x.sum(),),
    ),
    Mistake(
        N_("keepdim forgotten (the sums do not line up with the rows)"),
        N_(
            "`x.sum(dim=-1)` drops the summed axis, so `x / sums` lines the sums up with the columns; "
            "`x.sum(dim=-1, keepdim=True)` keeps a size-1 axis that lines them up with the rows."
        ),
        lambda x: x / x.sum(dim=-1),
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "normalise_rows",
        "00",
        N_("a warm-up: divide every row of x (last axis) by its sum, so that each row sums to 1."),
        _solution_normalise_rows,
        _expected_normalise_rows,
        _normalise_cases,
        (Out("weights", "float", "x.shape"),),
        _NORMALISE_MISTAKES,
    ),
)
