"""Lesson 09 (a date translator): ``answer_span_share``, ``argmax_alignment`` and ``date_span_mask``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import datetime as dt

import torch

from .. import dates
from ..i18n import N_, _
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen, _randn

# ======================================================================== answer_span_share


def _solution_answer_span_share(weights: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    on_span = weights * span  # (T, S): the weights outside the span become 0
    return on_span.sum(dim=-1)  # (T,): summed over the source characters of each row


def _expected_answer_span_share(weights: torch.Tensor, span: torch.Tensor) -> torch.Tensor:
    # dates.span_share does the same for (B, H, T, S) maps, averaged over digits and batch
    return (weights * span).sum(-1)


def _span_share_cases() -> list[Case]:
    g = _gen(901)
    cases = []
    for label, fmt, date in (
        (_("'25 March 2019' (dmy_long), 11 rows x 13 characters"), "dmy_long", dt.date(2019, 3, 25)),
        (_("Korean form, 11 rows x 17 characters"), "korean", dt.date(1987, 11, 3)),
        (_("'the 2nd of september, 2041' (ordinal), 11 x 27"), "ordinal", dt.date(2041, 9, 2)),
    ):
        b = dates.held_out_batch([date], [fmt])
        S = b.src.shape[1]
        span = torch.zeros(11, S, dtype=torch.bool)
        span[:10] = dates._span_masks(b.spans, S)[0]  # row 10 (EOS) and the hyphens: all False
        weights = torch.softmax(_randn(g, 11, S, std=2.0), dim=-1)  # (T, S), rows sum to 1
        cases.append(Case(label, (weights, span)))
    return cases


_SPAN_SHARE_MISTAKES = (
    Mistake(
        N_("averaged over the span instead of summed"),
        N_(
            "the share is the *sum* of the row's weights on the span: `(weights * span).sum(dim=-1)`; a mean "
            "divides by the span's length."
        ),
        lambda w, s: (w * s).sum(-1) / s.sum(-1).clamp(min=1),
        alternatives=(lambda w, s: (w * s).mean(-1),),
    ),
    Mistake(
        N_("summed over the output rows instead of the source characters"),
        N_("each output row has its own share: sum over the last axis (`dim=-1`), giving shape (T,)."),
        lambda w, s: (w * s).sum(0),
    ),
    Mistake(
        N_("the mask inverted: the share *off* the answer span"),
        N_("True in `span` marks the answer; multiply by `span` itself, not `~span`."),
        lambda w, s: (w * ~s).sum(-1),
    ),
    Mistake(
        N_("the largest weight on the span instead of the total"),
        N_("add up every weight on the span: `.sum(dim=-1)`, not `.max(dim=-1)`."),
        lambda w, s: (w * s).max(-1).values,
    ),
    Mistake(
        N_("the span ignored: the whole row summed (always 1)"),
        N_("keep only the weights on the span before summing: `weights * span`."),
        lambda w, s: w.sum(-1),
    ),
)

# ======================================================================== argmax_alignment


def _solution_argmax_alignment(weights: torch.Tensor) -> torch.Tensor:
    return weights.argmax(dim=-1)  # (T, S) -> (T,): for each output row, the source position it reads most


def _alignment_cases() -> list[Case]:
    g = _gen(902)
    return [
        Case(_("weights (11, 13)"), (torch.softmax(_randn(g, 11, 13, std=3.0), -1),)),
        Case(_("weights (11, 23)"), (torch.softmax(_randn(g, 11, 23, std=3.0), -1),)),
        Case(_("square: weights (6, 6)"), (torch.softmax(_randn(g, 6, 6, std=3.0), -1),)),
        Case(_("one output row: weights (1, 9)"), (torch.softmax(_randn(g, 1, 9, std=3.0), -1),)),
    ]


_ALIGNMENT_MISTAKES = (
    Mistake(
        N_("argmax over the output rows (for each source character, the row that reads it most)"),
        N_("the alignment of an output row is a source position: argmax over the last axis, `dim=-1`."),
        lambda w: w.argmax(dim=0),
    ),
    Mistake(
        N_("argmin instead of argmax"),
        N_("the aligned position is where the weight is *largest*: `argmax`."),
        lambda w: w.argmin(dim=-1),
    ),
    Mistake(
        N_("returned the largest weight, not its position"),
        N_("`max(...).values` is the weight; the position is `argmax(dim=-1)` (or `max(...).indices`)."),
        lambda w: w.max(dim=-1).values,
    ),
    Mistake(
        N_("argmax of the whole flattened map (one number)"),
        N_("one position per output row: `weights.argmax(dim=-1)`, shape (T,)."),
        lambda w: w.argmax(),
    ),
)

# ======================================================================== date_span_mask


def _solution_date_span_mask(spans: torch.Tensor, S: int) -> torch.Tensor:
    positions = torch.arange(S)  # (S,)
    field = (positions >= spans[:, :1]) & (positions < spans[:, 1:])  # (3, S): year, month, day
    nothing = torch.zeros(S, dtype=torch.bool)  # the hyphens answer nothing
    rows = [field[0]] * 4 + [nothing] + [field[1]] * 2 + [nothing] + [field[2]] * 2  # YYYY-MM-DD
    return torch.stack(rows)  # (10, S)


def _expected_date_span_mask(spans: torch.Tensor, S: int) -> torch.Tensor:
    return dates._span_masks(spans[None], S)[0]


def _span_mask_cases() -> list[Case]:
    cases = []
    for label, fmt, date, extra in (
        ("'25 March 2019' (dmy_long), S = 13", "dmy_long", dt.date(2019, 3, 25), 0),
        (_("Korean form, S = 17"), "korean", dt.date(1987, 11, 3), 0),
        (_("'Sat 1 Jan 00' (dow_short) padded to S = 16"), "dow_short", dt.date(2000, 1, 1), 4),
    ):
        e = dates.render_date(date, fmt)
        cases.append(Case(label, (torch.tensor(e.spans), len(e.source) + extra)))
    return cases


def _with_rows(
    spans: torch.Tensor, S: int, order: tuple[int, ...], hyphen: int | None, inclusive: bool = False
):
    positions = torch.arange(S)
    end = spans[:, 1:] + (1 if inclusive else 0)
    field = (positions >= spans[:, :1]) & (positions < end)  # (3, S)
    nothing = torch.zeros(S, dtype=torch.bool)
    h1 = nothing if hyphen is None else field[order[0]]
    h2 = nothing if hyphen is None else field[order[1]]
    f0, f1, f2 = (field[i] for i in order)
    return torch.stack([f0] * 4 + [h1] + [f1] * 2 + [h2] + [f2] * 2)


_SPAN_MASK_MISTAKES = (
    Mistake(
        N_("end included: positions <= end (spans are [start, end), end excluded)"),
        N_("a span `[start, end)` stops *before* `end`: `positions < spans[:, 1:]`."),
        lambda spans, S: _with_rows(spans, S, (0, 1, 2), None, inclusive=True),
    ),
    Mistake(
        N_("the hyphen rows (4 and 7) are not all False"),
        N_("a hyphen has no source span: rows 4 and 7 must be all False."),
        lambda spans, S: _with_rows(spans, S, (0, 1, 2), 1),
    ),
    Mistake(
        N_("the fields in the wrong order (day and year swapped)"),
        N_(
            "`spans` is ordered year, month, day (`attn_lib.dates.FIELDS`), like the output `YYYY-MM-DD`: "
            "rows 0-3 use spans[0], rows 8-9 spans[2]."
        ),
        lambda spans, S: _with_rows(spans, S, (2, 1, 0), None),
    ),
    Mistake(
        N_("transposed: (S, 10) instead of (10, S)"),
        N_("one row per output character: stack the ten rows with `torch.stack(rows)` (dim 0)."),
        lambda spans, S: _solution_date_span_mask(spans, S).T,
    ),
    Mistake(
        N_("one row per field (3, S) instead of one per output character (10, S)"),
        N_(
            "repeat each field's row for its output characters: 4 x year, hyphen, 2 x month, hyphen, 2 x day."
        ),
        lambda spans, S: (torch.arange(S) >= spans[:, :1]) & (torch.arange(S) < spans[:, 1:]),
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "answer_span_share",
        "09",
        N_("the share of each row's attention on its answer span: weights (T, S), span bool (T, S) -> (T,)."),
        _solution_answer_span_share,
        _expected_answer_span_share,
        _span_share_cases,
        (Out("share", "float", "(T,)"),),
        _SPAN_SHARE_MISTAKES,
    ),
    Exercise(
        "argmax_alignment",
        "09",
        N_(
            "for each output row of a cross-attention map (T, S), the source position with the "
            "largest weight, "
            "shape (T,)."
        ),
        _solution_argmax_alignment,
        _solution_argmax_alignment,
        _alignment_cases,
        (Out("alignment", "long", "(T,)"),),
        _ALIGNMENT_MISTAKES,
    ),
    Exercise(
        "date_span_mask",
        "09",
        N_(
            "the (10, S) bool mask of the answer span of each output character YYYY-MM-DD, from the "
            "[start, end) spans (3, 2) of year, month and day."
        ),
        _solution_date_span_mask,
        _expected_date_span_mask,
        _span_mask_cases,
        (Out("span", "bool", "(10, S)"),),
        _SPAN_MASK_MISTAKES,
    ),
)
