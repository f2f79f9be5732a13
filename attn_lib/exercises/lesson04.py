"""Lesson 04 (encoder self-attention): ``positional_encoding`` and ``self_attention``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from ..attention import scaled_dot_product_attention
from ..i18n import N_, _
from ..positional import sinusoidal_positional_encoding
from .core import Case, Exercise, Mistake, Out
from .flaws import _MASK_HINTS, _flawed_attention
from .inputs import _gen, _randn


def _solution_positional_encoding(max_len: int, d_model: int) -> torch.Tensor:
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (T, 1): positions 0 .. max_len - 1
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (D/2,): 2i = 0, 2, 4, ...
    angle = pos / 10000 ** (two_i / d_model)  # (T, D/2): one frequency per pair of columns
    pe = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)  # (T, D/2, 2): sin, cos of the same angle
    return pe.reshape(max_len, d_model)  # (T, D): columns sin, cos, sin, cos, ...


def _flawed_positional_encoding(
    max_len: int,
    d_model: int,
    *,
    base: float = 10000.0,
    exponent: str = "2i",
    layout: str = "interleaved",
    swap: bool = False,
    start: int = 0,
) -> torch.Tensor:
    """The sinusoidal table with one chosen flaw (keyword flags; see the mistakes below)."""
    pos = torch.arange(start, start + max_len, dtype=torch.float32)[:, None]  # (T, 1)
    if exponent == "per_column":  # column j gets its own frequency base^(-j/D)
        j = torch.arange(d_model, dtype=torch.float32)
        angle = pos / base ** (j / d_model)  # (T, D)
        first, second = torch.sin(angle[:, 0::2]), torch.cos(angle[:, 1::2])
    else:
        i = torch.arange(d_model // 2, dtype=torch.float32)
        power = 2 * i / d_model if exponent == "2i" else i / d_model
        angle = pos / base**power  # (T, D/2)
        first, second = torch.sin(angle), torch.cos(angle)
    if swap:
        first, second = torch.cos(angle), torch.sin(angle)
    if layout == "halves":
        return torch.cat([first, second], dim=-1)
    return torch.stack([first, second], dim=-1).reshape(max_len, d_model)


def _pe_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    return Mistake(name, hint, functools.partial(_flawed_positional_encoding, **flaw))


_PE_MISTAKES = (
    _pe_mistake(
        N_("sin and cos swapped"),
        N_(
            "even columns 2i hold the sine, odd columns 2i+1 the cosine: PE[pos, 2i] = sin(pos / "
            "10000^(2i/d_model))."
        ),
        swap=True,
    ),
    _pe_mistake(
        N_("wrong base (1000 instead of 10000)"),
        N_("the wavelengths grow geometrically up to 10000·2π: divide by `10000 ** (2i / d_model)`."),
        base=1000.0,
    ),
    _pe_mistake(
        N_("exponent i/d_model instead of 2i/d_model"),
        N_(
            "for the pair of columns (2i, 2i+1) the exponent is 2i / d_model: with `two_i = torch.arange(0, "
            "d_model, 2)` "
            "use `two_i / d_model`."
        ),
        exponent="i",
    ),
    _pe_mistake(
        N_("pairing of dimensions: each column gets its own frequency"),
        N_(
            "columns 2i and 2i+1 share one frequency 1/10000^(2i/d_model); compute the angles once per pair "
            "(`torch.arange(0, d_model, 2)`), then take their sin and their cos."
        ),
        exponent="per_column",
    ),
    _pe_mistake(
        N_("sin in the first half, cos in the second half (not interleaved)"),
        N_(
            "interleave: column 2i is sin, column 2i+1 is cos of the same angle (`pe[:, 0::2] = ...`, "
            "`pe[:, 1::2] = ...`, or `torch.stack([sin, cos], dim=-1).reshape(max_len, d_model)`)."
        ),
        layout="halves",
    ),
    _pe_mistake(
        N_("positions counted from 1"),
        N_("the first position is 0: `torch.arange(max_len)`, so row 0 is [0, 1, 0, 1, ...]."),
        start=1,
    ),
)


def _pe_cases() -> list[Case]:
    return [
        Case(_("max_len 50, d_model 16"), (50, 16)),
        Case(_("max_len 12, d_model 64"), (12, 64)),
        Case(_("max_len 7, d_model 6"), (7, 6)),
        Case(_("length 1: max_len 1, d_model 2"), (1, 2)),
    ]


def _solution_self_attention(
    x: torch.Tensor, W_q: torch.Tensor, W_k: torch.Tensor, W_v: torch.Tensor
) -> torch.Tensor:
    q, k, v = x @ W_q, x @ W_k, x @ W_v  # all three from the same x: (B, T, d_k), (B, T, d_k), (B, T, d_v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])  # (B, T, T): every position with every position
    return torch.softmax(scores, dim=-1) @ v  # (B, T, d_v)


def _expected_self_attention(
    x: torch.Tensor, W_q: torch.Tensor, W_k: torch.Tensor, W_v: torch.Tensor
) -> torch.Tensor:
    return scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v)[0]


def _self_attention_cases() -> list[Case]:
    g = _gen(402)

    def case(B: int, T: int, D: int, d_k: int, d_v: int) -> Case:
        args = (_randn(g, B, T, D), _randn(g, D, d_k, std=D**-0.5), _randn(g, D, d_k, std=D**-0.5))
        label = _("x ({B}, {T}, {D}), W_q and W_k ({D}, {d_k}), W_v ({D}, {d_v})").format(
            B=B, T=T, D=D, d_k=d_k, d_v=d_v
        )
        return Case((_("length 1: ") if T == 1 else "") + label, (*args, _randn(g, D, d_v, std=D**-0.5)))

    return [case(2, 5, 16, 4, 8), case(3, 7, 16, 8, 4), case(1, 1, 16, 4, 8), case(1, 4, 9, 4, 4)]


_SELF_ATTENTION_MISTAKES = (
    Mistake(
        N_("no projections (Q = K = V = x)"),
        N_(
            "self-attention uses the same *input* for all three, through three different matrices: "
            "`q, k, v = x @ W_q, x @ W_k, x @ W_v`."
        ),
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x, x, x)[0],
    ),
    Mistake(
        N_("scaled by √d_model instead of √d_k"),
        N_("the scale is the width of the keys, `k.shape[-1]` (d_k), not the width of x."),
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(
            x @ W_q, x @ W_k, x @ W_v, scale=x.shape[-1] ** -0.5
        )[0],
    ),
    Mistake(
        N_("no scaling (missing ÷√d_k)"),
        N_("divide the scores by `math.sqrt(d_k)` before the softmax."),
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v, scale=1.0)[0],
    ),
    Mistake(
        N_("returned the attention weights, not the output"),
        N_("finish with `weights @ v`: the output has one d_v-vector per position, shape (B, T, d_v)."),
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v)[1],
    ),
    Mistake(
        N_("softmax over the wrong axis"),
        _MASK_HINTS["dim"],
        lambda x, W_q, W_k, W_v: _flawed_attention(x @ W_q, x @ W_k, x @ W_v, dim=-2)[0],
    ),
    Mistake(
        N_("weights used transposed (x @ W.T)"),
        N_("the matrices are (d_model, d_k) and apply as `x @ W_q` (Q = X W^Q)."),
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x @ W_q.T, x @ W_k.T, x @ W_v.T)[0],
    ),
)


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "positional_encoding",
        "04",
        N_(
            "the sinusoidal table (max_len, d_model): PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), "
            "PE[pos, 2i+1] = cos(same angle)."
        ),
        _solution_positional_encoding,
        sinusoidal_positional_encoding,
        _pe_cases,
        (Out("pe", "float", "(max_len, d_model)"),),
        _PE_MISTAKES,
        atol=1e-4,
    ),
    Exercise(
        "self_attention",
        "04",
        N_(
            "single-head self-attention: Q, K, V all from x through W_q, W_k, W_v, scaled by √d_k; "
            "shape (B, T, d_v)."
        ),
        _solution_self_attention,
        _expected_self_attention,
        _self_attention_cases,
        (Out("output", "float", "(B, T, d_v)"),),
        _SELF_ATTENTION_MISTAKES,
        solution_imports="import math\n\nimport torch",
    ),
)
