"""Lesson 10 (decoder-only models and induction heads): ``previous_token_score``,
``induction_score`` and ``induction_targets``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import torch

from .. import lm
from ..i18n import N_, _
from ..masks import causal_mask
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen, _randn


def _causal_maps(g: torch.Generator, H: int, T: int) -> torch.Tensor:
    """``(H, T, T)`` random causal attention maps: rows sum to 1, zero above the diagonal."""
    scores = _randn(g, H, T, T, std=2.0).masked_fill(~causal_mask(T), float("-inf"))
    return torch.softmax(scores, dim=-1)


# ======================================================================== previous_token_score


def _solution_previous_token_score(weights: torch.Tensor) -> torch.Tensor:
    below = torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1)  # (H, T - 1): weights[h, q, q - 1]
    return below.mean(dim=-1)  # (H,): averaged over the queries 1 .. T - 1


def _expected_previous_token_score(weights: torch.Tensor) -> torch.Tensor:
    return lm.previous_token_score(weights)


def _previous_cases() -> list[Case]:
    g = _gen(1001)
    return [
        Case(_("4 heads, T = 8"), (_causal_maps(g, 4, 8),)),
        Case(_("2 heads, T = 13"), (_causal_maps(g, 2, 13),)),
        Case(_("1 head, T = 2 (one query has a predecessor)"), (_causal_maps(g, 1, 2),)),
    ]


def _diag(w: torch.Tensor, offset: int) -> torch.Tensor:
    return torch.diagonal(w, offset=offset, dim1=-2, dim2=-1)


_PREVIOUS_MISTAKES = (
    Mistake(
        N_("the main diagonal (each token's weight on itself)"),
        N_(
            "the previous token of query q is key q - 1: the diagonal *below* the main one, "
            "`torch.diagonal(weights, offset=-1, dim1=-2, dim2=-1)`."
        ),
        lambda w: _diag(w, 0).mean(-1),
    ),
    Mistake(
        N_("the diagonal above the main one (the next token, which the causal mask blocks)"),
        N_(
            "key q + 1 is in the future: its weight is always 0. Use `offset=-1` (key q - 1), not `offset=1`."
        ),
        lambda w: _diag(w, 1).mean(-1),
        alternatives=(lambda w: _diag(w.transpose(-1, -2), -1).mean(-1),),
    ),
    Mistake(
        N_("query 0 counted (divided by T instead of T - 1)"),
        N_(
            "query 0 has no previous token: average over the T - 1 queries that do, i.e. `.mean(-1)` of "
            "the sub-diagonal, not its sum divided by T."
        ),
        lambda w: _diag(w, -1).sum(-1) / w.shape[-1],
    ),
    Mistake(
        N_("summed instead of averaged"),
        N_("the score is a mean weight (between 0 and 1): `.mean(dim=-1)` of the sub-diagonal."),
        lambda w: _diag(w, -1).sum(-1),
    ),
)

# ======================================================================== induction_score


def _solution_induction_score(weights: torch.Tensor, period: int) -> torch.Tensor:
    T = weights.shape[-1]
    queries = torch.arange(period, T)  # the repeat: query q holds the same token as q - period
    keys = queries - period + 1  # the token that followed the earlier occurrence
    return weights[..., queries, keys].mean(dim=-1)  # (H,)


def _expected_induction_score(weights: torch.Tensor, period: int) -> torch.Tensor:
    return lm.induction_score(weights, period)


def _induction_cases() -> list[Case]:
    g = _gen(1002)
    return [
        Case(_("4 heads, [s s] with period 5 (T = 10)"), (_causal_maps(g, 4, 10), 5)),
        Case(_("2 heads, [s s s] with period 3 (T = 9)"), (_causal_maps(g, 2, 9), 3)),
        Case(_("1 head, period 7, T = 16"), (_causal_maps(g, 1, 16), 7)),
        Case(_("3 heads, period 2 (T = 6)"), (_causal_maps(g, 3, 6), 2)),
    ]


def _offset_score(w: torch.Tensor, period: int, back: int, first_query: int) -> torch.Tensor:
    T = w.shape[-1]
    q = torch.arange(max(first_query, back), T)
    return w[..., q, q - back].mean(-1)


_INDUCTION_MISTAKES = (
    Mistake(
        N_("off by one: the earlier occurrence itself (k = q - period), not the token after it"),
        N_(
            "the earlier copy of the current token sits at q - period; an induction head reads the token "
            "that *followed* it, at q - period + 1 (that token is the prediction)."
        ),
        lambda w, p: _offset_score(w, p, p, p),
    ),
    Mistake(
        N_("off by one the other way: k = q - period + 2"),
        N_("the token after the earlier occurrence is at q - period + 1."),
        lambda w, p: _offset_score(w, p, p - 2, p),
    ),
    Mistake(
        N_("the previous-token diagonal (k = q - 1), not the induction offset"),
        N_("that is layer 0's job; the induction offset depends on the period: k = q - period + 1."),
        lambda w, p: _offset_score(w, p, 1, p),
    ),
    Mistake(
        N_("the first occurrence included: queries from period - 1 on"),
        N_(
            "only a query in the repeat (q >= period) has an earlier occurrence to look back "
            "to: average over "
            "q = period .. T - 1."
        ),
        lambda w, p: _offset_score(w, p, p - 1, p - 1),
    ),
    Mistake(
        N_("summed over the queries instead of averaged"),
        N_("the score is a mean weight (between 0 and 1): `.mean(dim=-1)`."),
        lambda w, p: _offset_score(w, p, p - 1, p) * (w.shape[-1] - p),
    ),
)

# ======================================================================== induction_targets


def _solution_induction_targets(tokens: torch.Tensor) -> torch.Tensor:
    T = tokens.shape[0]
    same = tokens[:, None] == tokens[None, :]  # (T, T): same[q, j] = tokens[q] == tokens[j]
    targets = torch.zeros(T, T, dtype=torch.bool)
    targets[:, 1:] = same[:, :-1]  # key k = j + 1: the token after an occurrence j
    return targets & torch.ones(T, T, dtype=torch.bool).tril()  # only keys k <= q (earlier j < q)


def _targets_cases() -> list[Case]:
    return [
        Case(_("'abcab' (a repeat)"), (lm.encode_text("abcab"),)),
        Case(_("'the cat. the cat.'"), (lm.encode_text("the cat. the cat."),)),
        Case(_("'aab ab' (a token repeated at once)"), (lm.encode_text("aab ab"),)),
        Case(_("'xyz' (nothing repeats)"), (lm.encode_text("xyz"),)),
    ]


def _shifted(tokens: torch.Tensor, shift: int, causal: str) -> torch.Tensor:
    T = tokens.shape[0]
    same = tokens[:, None] == tokens[None, :]
    t = torch.zeros(T, T, dtype=torch.bool)
    if shift == 1:
        t[:, 1:] = same[:, :-1]
    elif shift == 0:
        t = same.clone()
    else:
        t[:, :-1] = same[:, 1:]
    ones = torch.ones(T, T, dtype=torch.bool)
    if causal == "tril":
        return t & ones.tril()
    if causal == "strict":
        return t & ones.tril(-1)
    return t


_TARGETS_MISTAKES = (
    Mistake(
        N_("the earlier occurrence itself, not the token after it"),
        N_(
            "mark key k when tokens[k - 1] equals the query's token: shift the comparison one column right "
            "(`targets[:, 1:] = same[:, :-1]`)."
        ),
        lambda x: _shifted(x, 0, "strict"),
        alternatives=(lambda x: _shifted(x, 0, "tril"),),
    ),
    Mistake(
        N_("the future included (no causal restriction k <= q)"),
        N_("a query can only attend to keys k <= q; keep `& causal` (a lower triangle, diagonal included)."),
        lambda x: _shifted(x, 1, "none"),
    ),
    Mistake(
        N_("shifted the wrong way: the token *before* an occurrence"),
        N_("the target follows the occurrence: key k = j + 1, so `targets[:, 1:] = same[:, :-1]`."),
        lambda x: _shifted(x, -1, "tril"),
        alternatives=(lambda x: _shifted(x, -1, "strict"),),
    ),
    Mistake(
        N_("the key at the query's own position left out (k < q instead of k <= q)"),
        N_(
            "when the token before the query equals the query ('aa'), key q itself follows an earlier "
            "occurrence: keep the diagonal (`tril()`, not `tril(-1)`)."
        ),
        lambda x: _shifted(x, 1, "strict"),
    ),
)

LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "previous_token_score",
        "10",
        N_("each head's mean attention on the key just before the query: weights (H, T, T) -> (H,)."),
        _solution_previous_token_score,
        _expected_previous_token_score,
        _previous_cases,
        (Out("score", "float", "(H,)"),),
        _PREVIOUS_MISTAKES,
    ),
    Exercise(
        "induction_score",
        "10",
        N_(
            "each head's mean attention on the token after the earlier occurrence (k = q - period + 1), "
            "over the repeated queries q >= period: weights (H, T, T), period -> (H,)."
        ),
        _solution_induction_score,
        _expected_induction_score,
        _induction_cases,
        (Out("score", "float", "(H,)"),),
        _INDUCTION_MISTAKES,
    ),
    Exercise(
        "induction_targets",
        "10",
        N_(
            "bool (T, T): True at (q, k) when k <= q and tokens[k - 1] == tokens[q], the token after an "
            "earlier occurrence of the query's token."
        ),
        _solution_induction_targets,
        lm.induction_targets,
        _targets_cases,
        (Out("targets", "bool", "(T, T)"),),
        _TARGETS_MISTAKES,
    ),
)
