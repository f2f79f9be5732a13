"""Lesson 06 (cross-attention): ``cross_attention`` and ``padding_mask``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ..attention import scaled_dot_product_attention
from ..i18n import N_, _
from ..masks import padding_mask
from .core import Case, Exercise, Mistake, Out
from .flaws import _flawed_attention
from .inputs import _gen, _randn


def _solution_cross_attention(
    decoder_x: torch.Tensor,
    encoder_out: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
) -> torch.Tensor:
    q = decoder_x @ W_q  # (B, T_dec, d_k): the decoder asks
    k = encoder_out @ W_k  # (B, T_enc, d_k): every source position answers ...
    v = encoder_out @ W_v  # (B, T_enc, d_v): ... with its value
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)  # (B, T_dec, T_enc)
    return weights @ v  # (B, T_dec, d_v)


def _expected_cross_attention(
    decoder_x: torch.Tensor,
    encoder_out: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
) -> torch.Tensor:
    return scaled_dot_product_attention(decoder_x @ W_q, encoder_out @ W_k, encoder_out @ W_v)[0]


def _cross_variant(q_from: str, k_from: str, v_from: str, **flaw: Any) -> Callable[..., torch.Tensor]:
    def variant(
        decoder_x: torch.Tensor,
        encoder_out: torch.Tensor,
        W_q: torch.Tensor,
        W_k: torch.Tensor,
        W_v: torch.Tensor,
    ) -> torch.Tensor:
        side = {"dec": decoder_x, "enc": encoder_out}
        return _flawed_attention(side[q_from] @ W_q, side[k_from] @ W_k, side[v_from] @ W_v, **flaw)[0]

    return variant


_CROSS_MISTAKES = (
    Mistake(
        N_("sides swapped: queries from the encoder, keys and values from the decoder"),
        N_(
            "the decoder asks, the encoder answers: `q = decoder_x @ W_q`, `k = encoder_out @ W_k`, "
            "`v = encoder_out @ W_v`; the output has one row per *decoder* position."
        ),
        _cross_variant("enc", "dec", "dec"),
    ),
    Mistake(
        N_("keys taken from the decoder"),
        N_("keys and values both come from the encoder output: `k = encoder_out @ W_k`."),
        _cross_variant("dec", "dec", "enc"),
    ),
    Mistake(
        N_("values taken from the decoder"),
        N_("keys and values both come from the encoder output: `v = encoder_out @ W_v`."),
        _cross_variant("dec", "enc", "dec"),
    ),
    Mistake(
        N_("self-attention on the decoder (the encoder output is never used)"),
        N_("cross-attention reads the *encoder*: keys and values from `encoder_out`."),
        _cross_variant("dec", "dec", "dec"),
    ),
    Mistake(
        N_("no scaling (missing ÷√d_k)"),
        N_("divide the scores by `math.sqrt(d_k)`, with `d_k = W_q.shape[1]`."),
        _cross_variant("dec", "enc", "enc", scale="none"),
    ),
    Mistake(
        N_("softmax over the decoder positions (wrong axis)"),
        N_("each decoder position's weights over the *source* positions sum to 1: `softmax(..., dim=-1)`."),
        _cross_variant("dec", "enc", "enc", dim=-2),
    ),
)


def _cross_cases() -> list[Case]:
    g = _gen(601)

    def case(B: int, t_dec: int, t_enc: int, extra: str = "") -> Case:
        D, d_k, d_v = 12, 8, 4
        args = (_randn(g, B, t_dec, D), _randn(g, B, t_enc, D))
        mats = (
            _randn(g, D, d_k, std=D**-0.5),
            _randn(g, D, d_k, std=D**-0.5),
            _randn(g, D, d_v, std=D**-0.5),
        )
        label = extra + f"decoder_x ({B}, {t_dec}, {D}), encoder_out ({B}, {t_enc}, {D}), d_k 8, d_v 4"
        return Case(label, (*args, *mats))

    return [
        case(2, 3, 6),
        case(1, 5, 2),
        case(2, 1, 4, _("one target position: ")),
        case(3, 4, 1, _("one source position: ")),
    ]


def _solution_padding_mask(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    is_real = tokens != pad_id  # (B, T): True for a real token, False for padding
    return is_real[:, None, None, :]  # (B, 1, 1, T): broadcasts over heads and queries, masks *keys*


def _padding_cases() -> list[Case]:
    return [
        Case(
            _("tokens (3, 6) padded with 0 on the right, pad_id 0"),
            (torch.tensor([[5, 3, 8, 4, 9, 7], [6, 4, 0, 0, 0, 0], [3, 3, 3, 9, 0, 0]]), 0),
        ),
        Case(
            _("pad_id 12, and 0 is a real token: tokens (2, 5)"),
            (torch.tensor([[0, 4, 12, 12, 12], [7, 0, 5, 9, 12]]), 12),
        ),
        Case(_("length 1: tokens (1, 1), no padding"), (torch.tensor([[4]]), 0)),
        Case(
            _("a row that is all padding: tokens (2, 4), pad_id 1"),
            (torch.tensor([[3, 1, 1, 1], [1, 1, 1, 1]]), 1),
        ),
    ]


_PADDING_MISTAKES = (
    Mistake(
        N_("inverted: True at the padding"),
        N_("True = *may attend*: True where the token is real, `tokens != pad_id`."),
        lambda tokens, pad_id: (tokens == pad_id)[:, None, None, :],
    ),
    Mistake(
        N_("shape (B, T): the mask cannot broadcast against the (B, H, T_q, T_k) scores"),
        N_("add the head and query axes: `mask[:, None, None, :]` -> (B, 1, 1, T)."),
        lambda tokens, pad_id: tokens != pad_id,
    ),
    Mistake(
        N_("shape (B, 1, T): the batch axis lines up with the heads"),
        N_(
            "scores are (B, H, T_q, T_k) and broadcasting aligns from the right: (B, 1, T) "
            "reads as (1, B, 1, "
            "T). "
            "Use (B, 1, 1, T): `mask[:, None, None, :]`."
        ),
        lambda tokens, pad_id: (tokens != pad_id)[:, None, :],
    ),
    Mistake(
        N_("masks the padded queries instead of the padded keys (shape (B, 1, T, 1))"),
        N_("padding must not be *attended to*, so the mask runs along the keys (last axis): (B, 1, 1, T)."),
        lambda tokens, pad_id: (tokens != pad_id)[:, None, :, None],
    ),
    Mistake(
        N_("pad id hard-coded as 0"),
        N_("compare with the argument: `tokens != pad_id`."),
        lambda tokens, pad_id: (tokens != 0)[:, None, None, :],
    ),
    Mistake(
        N_("a float 0/1 mask instead of bool"),
        N_("keep the comparison's bool result: `(tokens != pad_id)[:, None, None, :]`."),
        lambda tokens, pad_id: (tokens != pad_id)[:, None, None, :].float(),
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "cross_attention",
        "06",
        N_(
            "single-head cross-attention: queries from decoder_x, keys and values from encoder_out, scaled "
            "by √d_k; shape (B, T_dec, d_v)."
        ),
        _solution_cross_attention,
        _expected_cross_attention,
        _cross_cases,
        (Out("output", "float", "(B, T_dec, d_v)"),),
        _CROSS_MISTAKES,
        solution_imports="import math\n\nimport torch",
    ),
    Exercise(
        "padding_mask",
        "06",
        N_(
            "the (B, 1, 1, T) bool mask, True where a token is real (not pad_id), so no query attends to "
            "padding."
        ),
        _solution_padding_mask,
        padding_mask,
        _padding_cases,
        (Out("mask", "bool", "(B, 1, 1, T)"),),
        _PADDING_MISTAKES,
    ),
)
