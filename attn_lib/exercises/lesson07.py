"""Lesson 07 (a tiny Transformer): ``teacher_forcing_pair``, ``greedy_next_token`` and
``anti_diagonal_hit_rate``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import torch

from ..data import BOS, EOS
from ..i18n import N_, _
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen, _randn


def _solution_teacher_forcing_pair(
    answers: torch.Tensor, bos_id: int, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    B = answers.shape[0]
    bos = torch.full((B, 1), bos_id, dtype=answers.dtype)  # (B, 1)
    eos = torch.full((B, 1), eos_id, dtype=answers.dtype)  # (B, 1)
    tgt_in = torch.cat([bos, answers], dim=1)  # (B, L+1): BOS y_1 .. y_L, what the decoder reads
    tgt_out = torch.cat([answers, eos], dim=1)  # (B, L+1): y_1 .. y_L EOS, what it must predict
    return tgt_in, tgt_out


def _with_token(answers: torch.Tensor, token: int, at_start: bool) -> torch.Tensor:
    column = torch.full((answers.shape[0], 1), token, dtype=answers.dtype)
    return torch.cat([column, answers] if at_start else [answers, column], dim=1)


def _teacher_forcing_cases() -> list[Case]:
    g = _gen(701)

    def digits(B: int, L: int) -> torch.Tensor:  # random digit ids 3 .. 12, as in attn_lib.data
        return torch.randint(3, 13, (B, L), generator=g)

    return [
        Case(_("answers (3, 5), bos_id 1, eos_id 2"), (digits(3, 5), BOS, EOS)),
        Case(_("length 1: answers (2, 1), bos_id 1, eos_id 2"), (digits(2, 1), BOS, EOS)),
        Case(_("answers (2, 8), bos_id 20, eos_id 21"), (digits(2, 8), 20, 21)),
    ]


_TEACHER_FORCING_MISTAKES = (
    Mistake(
        N_("no shift: tgt_in equals tgt_out (the decoder would read the token it must predict)"),
        N_(
            "the input is the answer shifted one step right: `tgt_in` starts with BOS, "
            "`tgt_out` ends with EOS."
        ),
        lambda a, bos_id, eos_id: (_with_token(a, eos_id, False), _with_token(a, eos_id, False)),
    ),
    Mistake(
        N_("tgt_in and tgt_out swapped"),
        N_("return `(tgt_in, tgt_out)`: first BOS + answer, then answer + EOS."),
        lambda a, bos_id, eos_id: _solution_teacher_forcing_pair(a, bos_id, eos_id)[::-1],
    ),
    Mistake(
        N_("EOS forgotten in tgt_out (the model never learns to stop)"),
        N_("append EOS to the answer: `tgt_out = torch.cat([answers, eos], dim=1)`, shape (B, L+1)."),
        lambda a, bos_id, eos_id: (_with_token(a, bos_id, True), a),
    ),
    Mistake(
        N_("BOS appended at the end instead of the start"),
        N_("BOS is what the decoder reads *first*: `torch.cat([bos, answers], dim=1)`."),
        lambda a, bos_id, eos_id: (_with_token(a, bos_id, False), _with_token(a, eos_id, False)),
    ),
    Mistake(
        N_("BOS and EOS swapped"),
        N_("`tgt_in` starts with BOS (`bos_id`), `tgt_out` ends with EOS (`eos_id`)."),
        lambda a, bos_id, eos_id: (_with_token(a, eos_id, True), _with_token(a, bos_id, False)),
    ),
    Mistake(
        N_("BOS/EOS ids hard-coded instead of using bos_id and eos_id"),
        N_("use the arguments `bos_id` and `eos_id`: another vocabulary has other ids."),
        lambda a, bos_id, eos_id: (_with_token(a, BOS, True), _with_token(a, EOS, False)),
    ),
)


def _solution_greedy_next_token(logits: torch.Tensor) -> torch.Tensor:
    last = logits[:, -1, :]  # (B, t, V) -> (B, V): only the newest position predicts the next token
    return last.argmax(dim=-1)  # (B,): the id of the highest score


def _greedy_cases() -> list[Case]:
    g = _gen(702)
    return [
        Case(_("logits (2, 3, 13): B=2, t=3, V=13"), (_randn(g, 2, 3, 13, std=3.0),)),
        Case(_("logits (4, 6, 13)"), (_randn(g, 4, 6, 13, std=3.0),)),
        Case(_("one position so far: logits (3, 1, 7)"), (_randn(g, 3, 1, 7, std=3.0),)),
        Case(_("batch of 1: logits (1, 5, 9)"), (_randn(g, 1, 5, 9, std=3.0),)),
    ]


_GREEDY_MISTAKES = (
    Mistake(
        N_("a prediction for every position, not only the last"),
        N_(
            "only the last position predicts the *next* token: `logits[:, -1, :].argmax(dim=-1)`, shape (B,)."
        ),
        lambda logits: logits.argmax(dim=-1),
    ),
    Mistake(
        N_("the first position instead of the last"),
        N_("the newest position is the last one: `logits[:, -1, :]`."),
        lambda logits: logits[:, 0, :].argmax(dim=-1),
    ),
    Mistake(
        N_("indexed the batch instead of time (logits[-1])"),
        N_(
            "`logits[-1]` is the last *sequence* of the batch; take the last position of every sequence: "
            "`logits[:, -1, :]`."
        ),
        lambda logits: logits[-1].argmax(dim=-1),
    ),
    Mistake(
        N_("argmax over the wrong axis"),
        N_("pick the best token of each sequence: argmax over the vocabulary, `dim=-1`."),
        lambda logits: logits[:, -1, :].argmax(dim=0),
    ),
    Mistake(
        N_("returned the highest score, not its token id"),
        N_(
            "`max(...).values` is the score; the token is its index: `argmax(dim=-1)` (or "
            "`max(...).indices`)."
        ),
        lambda logits: logits[:, -1, :].max(dim=-1).values,
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "teacher_forcing_pair",
        "07",
        N_(
            "(tgt_in, tgt_out) for teacher forcing from answers (B, L): BOS + answer and answer + EOS, each "
            "(B, L+1)."
        ),
        _solution_teacher_forcing_pair,
        _solution_teacher_forcing_pair,
        _teacher_forcing_cases,
        (Out("tgt_in", "long", "(B, L+1)"), Out("tgt_out", "long", "(B, L+1)")),
        _TEACHER_FORCING_MISTAKES,
    ),
    Exercise(
        "greedy_next_token",
        "07",
        N_("one greedy decoding step: the id of the highest-scoring token at the last position, shape (B,)."),
        _solution_greedy_next_token,
        _solution_greedy_next_token,
        _greedy_cases,
        (Out("next_token", "long", "(B,)"),),
        _GREEDY_MISTAKES,
    ),
)


# ------------------------------------------------------------------ the anti-diagonal statistic


def _solution_anti_diagonal_hit_rate(weights: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    T = weights.shape[1]  # weights: (B, T, S), one cross-attention map per string
    i = torch.arange(T)  # (T,) output positions
    mirror = lengths[:, None] - 1 - i  # (B, T): the source position that holds output i's digit
    produces_digit = i < lengths[:, None]  # (B, T): not EOS, not padding
    top = weights.argmax(dim=-1)  # (B, T): the most-attended source position
    return (top == mirror)[produces_digit].float().mean()  # a float scalar


def _expected_anti_diagonal_hit_rate(weights: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    from ..widgets.lesson07 import anti_diagonal_hit_rate

    return anti_diagonal_hit_rate(weights, lengths)


def _reversal_maps(g: torch.Generator, lengths: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-attention-like maps (B, T = S + 1, S) over padded sources: most rows peak at L-1-i,
    some one step to the right, the rest anywhere; padded columns get weight 0."""
    L = torch.tensor(lengths)  # (B,)
    B, S = len(lengths), max(lengths)
    T = S + 1  # the digits and the EOS
    scores = _randn(g, B, T, S)  # (B, T, S)
    i, j = torch.arange(T)[:, None], torch.arange(S)  # (T, 1), (S,)
    mirror = L[:, None, None] - 1 - i  # (B, T, 1)
    kind = torch.rand(B, T, 1, generator=g)  # which rows peak where
    scores = (
        scores
        + 6.0 * ((j == mirror) & (kind < 0.6))
        + 6.0 * ((j == mirror + 1) & (kind >= 0.6) & (kind < 0.8))
    )
    scores = scores.masked_fill(j >= L[:, None, None], float("-inf"))  # padded source positions
    return torch.softmax(scores, dim=-1), L


def _anti_diagonal_cases() -> list[Case]:
    g = _gen(703)
    return [
        Case(
            _("4 strings of lengths 8, 12, 10, 9: weights (4, 13, 12), lengths (4,)"),
            _reversal_maps(g, [8, 12, 10, 9]),
        ),
        Case(_("2 strings of lengths 3 and 6: weights (2, 7, 6)"), _reversal_maps(g, [3, 6])),
        Case(_("one string of length 5, no padding: weights (1, 6, 5)"), _reversal_maps(g, [5])),
        Case(_("6 strings of lengths 4 .. 9"), _reversal_maps(g, [4, 9, 6, 5, 8, 7])),
    ]


def _hits(weights: torch.Tensor, target: torch.Tensor, counted: torch.Tensor) -> torch.Tensor:
    return (weights.argmax(dim=-1) == target)[counted].float().mean()


def _positions(weights: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    i = torch.arange(weights.shape[1])
    return lengths[:, None] - 1 - i, i < lengths[:, None]  # mirror (B, T), produces_digit (B, T)


_ANTI_DIAGONAL_MISTAKES = (
    Mistake(
        N_("counted the EOS and padding positions too"),
        N_(
            "only positions i < L produce a digit; at i >= L there is no L-1-i to read. Keep them out: "
            "`hits[i < lengths[:, None]].float().mean()`."
        ),
        lambda w, L: (w.argmax(-1) == _positions(w, L)[0]).float().mean(),
    ),
    Mistake(
        N_("off by one: L - i instead of L - 1 - i"),
        N_("positions count from 0: the first output (i = 0) reads the last source digit, position L - 1."),
        lambda w, L: _hits(w, _positions(w, L)[0] + 1, _positions(w, L)[1]),
    ),
    Mistake(
        N_("one length for the whole batch (the padded width S) instead of each string's own L"),
        N_(
            "a shorter string is padded at the end, so its mirror is its own L - 1 - i: use "
            "`lengths[:, None]`."
        ),
        lambda w, L: _hits(
            w, w.shape[-1] - 1 - torch.arange(w.shape[1]).expand(w.shape[0], -1), _positions(w, L)[1]
        ),
    ),
    Mistake(
        N_("the mean weight on L - 1 - i instead of how often it is the most-attended position"),
        N_("the hit rate asks whether the argmax over the source positions (`dim=-1`) equals L - 1 - i."),
        lambda w, L: w.gather(-1, _positions(w, L)[0].clamp(min=0)[..., None])[..., 0][
            _positions(w, L)[1]
        ].mean(),
    ),
    Mistake(
        N_("counted a miss by one position as a hit"),
        N_("a hit is the argmax exactly at L - 1 - i; within one position is a weaker statistic."),
        lambda w, L: ((w.argmax(-1) - _positions(w, L)[0]).abs() <= 1)[_positions(w, L)[1]].float().mean(),
    ),
)

LESSON_EXERCISES = (
    *LESSON_EXERCISES,
    Exercise(
        "anti_diagonal_hit_rate",
        "07",
        N_(
            "the fraction of digit-producing output positions (i < L) whose most-attended source position is "
            "L - 1 - i, from cross-attention weights (B, T, S) and lengths (B,); a float scalar."
        ),
        _solution_anti_diagonal_hit_rate,
        _expected_anti_diagonal_hit_rate,
        _anti_diagonal_cases,
        (Out("hit_rate", "float", "()"),),
        _ANTI_DIAGONAL_MISTAKES,
    ),
)
