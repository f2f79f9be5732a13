"""Lesson 11 (attention in today's LLMs): ``rope_attention``, ``repeat_kv``, ``window_mask``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.

Letters: ``B`` batch, ``H`` query heads, ``H_kv`` key/value heads, ``T`` positions, ``Dh`` head_dim.
"""

from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from ..i18n import N_, _
from ..masks import sliding_window_mask
from ..rope import apply_rope
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen, _randn

# ------------------------------------------------------------------ attention with RoPE


def _solution_rope_attention(q, k, v, positions, base=10000.0):
    Dh = q.shape[-1]
    freq = base ** (-torch.arange(0, Dh, 2, dtype=torch.float64) / Dh)  # (Dh/2,): w_i = base^(-2i/Dh)
    angles = positions.double()[:, None] * freq  # (T, Dh/2): pair i at position m turns by m * w_i
    angles = torch.cat([angles, angles], dim=-1)  # (T, Dh): dimension j pairs with j + Dh/2
    cos, sin = angles.cos().to(q.dtype), angles.sin().to(q.dtype)

    def rotate(x):  # (a, b) -> (a cos - b sin, b cos + a sin) for each pair (j, j + Dh/2)
        first, second = x.chunk(2, dim=-1)
        return x * cos + torch.cat([-second, first], dim=-1) * sin

    q, k = rotate(q), rotate(k)  # queries and keys only: values carry content, not position
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(Dh), dim=-1)  # (B, H, T, T)
    return weights @ v  # (B, H, T, Dh)


def _expected_rope_attention(q, k, v, positions, base=10000.0):
    q, k = apply_rope(q, positions, base), apply_rope(k, positions, base)
    return scaled_dot_product_attention(q, k, v, need_weights=False)[0]


def _rope_variant(pairing="half", same_angle=False, rotate_values=False, rotate_keys=True):
    def variant(q, k, v, positions, base=10000.0):
        Dh = q.shape[-1]
        if same_angle:  # every pair turns by m radians: one frequency for all pairs
            freq = torch.ones(Dh // 2, dtype=torch.float64)
        else:
            freq = base ** (-torch.arange(0, Dh, 2, dtype=torch.float64) / Dh)
        angles = positions.double()[:, None] * freq  # (T, Dh/2)
        if pairing == "half":
            angles = torch.cat([angles, angles], dim=-1)
        else:
            angles = angles.repeat_interleave(2, dim=-1)
        cos, sin = angles.cos().to(q.dtype), angles.sin().to(q.dtype)

        def rotate(x):
            if pairing == "half":
                first, second = x.chunk(2, dim=-1)
                partner = torch.cat([-second, first], dim=-1)
            else:
                partner = torch.stack([-x[..., 1::2], x[..., 0::2]], dim=-1).flatten(-2)
            return x * cos + partner * sin

        q2 = rotate(q)
        k2 = rotate(k) if rotate_keys else k
        v2 = rotate(v) if rotate_values else v
        weights = torch.softmax(q2 @ k2.transpose(-2, -1) / math.sqrt(Dh), dim=-1)
        return weights @ v2

    return variant


_ROPE_MISTAKES = (
    Mistake(
        N_("the values are rotated too"),
        N_(
            "rotate only the queries and the keys: the score q·k is what must depend on m − n; the values "
            "are the content that is mixed, and rotating them scrambles the output by its own position."
        ),
        _rope_variant(rotate_values=True),
    ),
    Mistake(
        N_("the wrong pairs are rotated: (2i, 2i+1) instead of (j, j + Dh/2)"),
        N_(
            "this exercise (like Llama in transformers and `attn_lib.apply_rope`'s default) pairs dimension "
            "j with j + Dh/2: `first, second = x.chunk(2, dim=-1)`, partner "
            "`torch.cat([-second, first], -1)`, "
            "and the angles `torch.cat([angles, angles], -1)`."
        ),
        _rope_variant(pairing="interleaved"),
    ),
    Mistake(
        N_("the same angle for all pairs"),
        N_(
            "each pair i has its own frequency w_i = base^(−2i/Dh) (pair 0 turns 1 radian per position, the "
            "last almost not at all); with one frequency for all pairs, positions 2π apart look identical."
        ),
        _rope_variant(same_angle=True),
    ),
    Mistake(
        N_("only the queries are rotated"),
        N_(
            "rotate the keys by their positions too: the score of R(m)q and R(n)k depends on m − n; with "
            "only one side rotated it depends on m alone."
        ),
        _rope_variant(rotate_keys=False),
    ),
)


def _rope_cases() -> list[Case]:
    g = _gen(1101)

    def case(B: int, H: int, T: int, Dh: int, start: int, label: str) -> Case:
        q, k, v = (_randn(g, B, H, T, Dh) for _ in range(3))
        return Case(
            _("{label}: q, k, v ({B}, {H}, {T}, {Dh}), positions {start}..{end}").format(
                label=label, B=B, H=H, T=T, Dh=Dh, start=start, end=start + T - 1
            ),
            (q, k, v, torch.arange(start, start + T)),
        )

    return [
        case(1, 2, 5, 8, 0, _("positions from 0")),
        case(2, 1, 4, 4, 7, _("shifted positions")),
        case(1, 1, 1, 2, 3, _("one position, one pair")),
        case(1, 3, 6, 16, 0, _("16 dimensions")),
    ]


# ------------------------------------------------------------------ GQA: repeat the KV heads


def _solution_repeat_kv(kv, num_heads):
    groups = num_heads // kv.shape[1]  # query heads per KV head
    # query head h uses KV head h // groups: each KV head repeated `groups` times *in a row*
    return kv.repeat_interleave(groups, dim=1)  # (B, H_kv, T, Dh) -> (B, H, T, Dh)


def _expected_repeat_kv(kv, num_heads):
    B, H_kv, T, Dh = kv.shape
    # transformers' repeat_kv: expand a new axis after the KV heads, then merge it into them
    return kv[:, :, None].expand(B, H_kv, num_heads // H_kv, T, Dh).reshape(B, num_heads, T, Dh)


_REPEAT_MISTAKES = (
    Mistake(
        N_("KV heads tiled (repeat) instead of repeated in a row (repeat_interleave)"),
        N_(
            "`kv.repeat(1, groups, 1, 1)` gives KV heads 0, 1, 0, 1: query head 1 then reads KV head 1 "
            "instead of 0. Query head h belongs to group h // groups: `kv.repeat_interleave(groups, dim=1)`."
        ),
        lambda kv, num_heads: kv.repeat(1, num_heads // kv.shape[1], 1, 1),
    ),
    Mistake(
        N_("repeated along the time axis (dim=2), then reshaped to (B, H, T, Dh)"),
        N_(
            "the heads are axis 1 of (B, H_kv, T, Dh): `kv.repeat_interleave(groups, dim=1)`. Repeating the "
            "positions and reshaping gives the right shape with positions mixed into the heads."
        ),
        lambda kv, num_heads: kv.repeat_interleave(num_heads // kv.shape[1], dim=2).reshape(
            kv.shape[0], num_heads, kv.shape[2], kv.shape[3]
        ),
    ),
    Mistake(
        N_("only the first KV head is used, for every query head"),
        N_(
            "that is multi-query attention made by accident: each of the H_kv heads serves its own group of "
            "H / H_kv query heads, `kv.repeat_interleave(num_heads // kv.shape[1], dim=1)`."
        ),
        lambda kv, num_heads: kv[:, :1].expand(-1, num_heads, -1, -1).clone(),
    ),
)


def _repeat_cases() -> list[Case]:
    g = _gen(1102)

    def case(B: int, H_kv: int, H: int, T: int, Dh: int, label: str) -> Case:
        return Case(f"{label}: kv ({B}, {H_kv}, {T}, {Dh}), num_heads {H}", (_randn(g, B, H_kv, T, Dh), H))

    return [
        case(1, 2, 4, 3, 2, _("GQA, 2 KV heads for 4")),
        case(2, 2, 6, 2, 3, _("GQA, 2 KV heads for 6")),
        case(1, 1, 3, 4, 2, _("MQA, one KV head")),
        case(1, 3, 3, 2, 2, _("MHA, as many KV heads as heads")),
    ]


# ------------------------------------------------------------------ the sliding window


def _solution_window_mask(T, window):
    i = torch.arange(T)[:, None]  # (T, 1) query positions
    j = torch.arange(T)[None, :]  # (1, T) key positions
    # window keys including the query itself: j in i - window + 1 .. i
    return (j <= i) & (j > i - window)  # (T, T), bool, True = may attend


def _expected_window_mask(T, window):
    return sliding_window_mask(T, T, window)


def _window_variant(low, causal=True):
    def variant(T, window):
        i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
        near = j >= i - window + low  # low = 1 right; 0: one key too many; 2: one too few
        return (j <= i) & near if causal else near & (j <= i + window - 1)

    return variant


_WINDOW_MISTAKES = (
    Mistake(
        N_("off by one: window + 1 keys (j >= i - window)"),
        N_(
            "the window counts the query's own key: query i sees keys i − window + 1 .. i, `window` keys in "
            "all (Mistral: kv > q − window). `j >= i - window` lets one key too many in."
        ),
        _window_variant(0),
    ),
    Mistake(
        N_("off by one: window − 1 keys (j > i - window + 1)"),
        N_("query i sees `window` keys including itself: i − window + 1 .. i, i.e. `j > i - window`."),
        _window_variant(2),
    ),
    Mistake(
        N_("the window is not causal (keys after the query are allowed)"),
        N_("a decoder's window looks back only: combine `j > i - window` with `j <= i`."),
        _window_variant(1, causal=False),
    ),
)


def _window_cases() -> list[Case]:
    return [
        Case(_("T = 6, window 3"), (6, 3)),
        Case(_("T = 5, window 1 (only itself)"), (5, 1)),
        Case(_("T = 4, window 4 (the causal mask)"), (4, 4)),
        Case(_("T = 9, window 2"), (9, 2)),
    ]


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "rope_attention",
        "11",
        N_(
            "attention with rotary positions: rotate each pair (j, j + Dh/2) of the queries and keys at "
            "position m by m * base^(-2i/Dh), leave the values alone, then softmax(q k^T / sqrt(Dh)) v."
        ),
        _solution_rope_attention,
        _expected_rope_attention,
        _rope_cases,
        (Out("output", "float", "(B, H, T, Dh)"),),
        _ROPE_MISTAKES,
        solution_imports="import math\n\nimport torch",
    ),
    Exercise(
        "repeat_kv",
        "11",
        N_(
            "grouped-query attention: repeat each of the H_kv key (or value) heads for its H / H_kv query "
            "heads, so that query head h reads KV head h // (H / H_kv)."
        ),
        _solution_repeat_kv,
        _expected_repeat_kv,
        _repeat_cases,
        (Out("kv_repeated", "float", "(B, H, T, Dh)"),),
        _REPEAT_MISTAKES,
    ),
    Exercise(
        "window_mask",
        "11",
        N_(
            "the causal sliding-window mask (T, T): query i may attend to the window keys i - "
            "window + 1 .. i "
            "(itself included), bool, True = may attend."
        ),
        _solution_window_mask,
        _expected_window_mask,
        _window_cases,
        (Out("mask", "bool", "(T, T)"),),
        _WINDOW_MISTAKES,
    ),
)
