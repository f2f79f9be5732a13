"""Lesson 03 (multi-head attention): ``split_heads``, ``merge_heads`` and ``multi_head_attention``.

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
from ..multihead import MultiHeadAttention, merge_heads, split_heads
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen, _randn


def _solution_split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    x = x.view(B, T, num_heads, D // num_heads)  # (B, T, D) -> (B, T, H, Dh): cut the features into heads
    return x.transpose(1, 2)  # (B, T, H, Dh) -> (B, H, T, Dh): heads in front of time


def _split_cases() -> list[Case]:
    g = _gen(301)
    return [
        Case(_("x (2, 5, 12), 3 heads"), (_randn(g, 2, 5, 12), 3)),
        Case(_("x (3, 4, 8), 2 heads"), (_randn(g, 3, 4, 8), 2)),
        Case(_("length 1: x (1, 1, 8), 2 heads"), (_randn(g, 1, 1, 8), 2)),
        Case(_("one head: x (2, 4, 6), 1 head"), (_randn(g, 2, 4, 6), 1)),
        Case(_("head_dim 1: x (2, 3, 8), 8 heads"), (_randn(g, 2, 3, 8), 8)),
    ]


def _shape4(x: torch.Tensor, num_heads: int) -> tuple[int, int, int, int]:
    B, T, D = x.shape
    return B, T, num_heads, D // num_heads  # (B, T, H, Dh)


def _heads_first_shape(x: torch.Tensor, num_heads: int) -> tuple[int, int, int, int]:
    B, T, H, Dh = _shape4(x, num_heads)
    return B, H, T, Dh


_SPLIT_HEADS_MISTAKES = (
    Mistake(
        N_("view to (B, H, T, Dh) without the transpose (mixes positions and heads)"),
        N_(
            "the features of one position are contiguous, so first `view(B, T, H, Dh)`, then "
            "`transpose(1, 2)`; "
            "viewing straight to (B, H, T, Dh) cuts across positions."
        ),
        lambda x, num_heads: x.reshape(_heads_first_shape(x, num_heads)),
    ),
    Mistake(
        N_("forgot the transpose (returned (B, T, H, Dh))"),
        N_("after `view(B, T, H, Dh)` move the heads in front of time: `.transpose(1, 2)` -> (B, H, T, Dh)."),
        lambda x, num_heads: x.reshape(_shape4(x, num_heads)),
    ),
    Mistake(
        N_("features cut in the wrong order (head_dim before heads: heads interleaved)"),
        N_(
            "head i owns the consecutive features i·Dh … (i+1)·Dh − 1: `view(B, T, H, Dh)`, "
            "not `view(B, T, Dh, "
            "H)`."
        ),
        lambda x, num_heads: x.reshape(*x.shape[:2], x.shape[2] // num_heads, num_heads).permute(0, 3, 1, 2),
    ),
    Mistake(
        N_("batch and heads folded into one dimension (B·H, T, Dh)"),
        N_("keep batch and heads apart: the expected layout is (B, H, T, Dh)."),
        lambda x, num_heads: _solution_split_heads(x, num_heads).reshape(
            -1, x.shape[1], x.shape[2] // num_heads
        ),
    ),
)


def _solution_merge_heads(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    x = x.transpose(1, 2)  # (B, H, T, Dh) -> (B, T, H, Dh): positions first again
    return x.reshape(B, T, H * Dh)  # (B, T, H, Dh) -> (B, T, D): the heads side by side (concatenation)


def _merge_cases() -> list[Case]:
    g = _gen(302)
    return [
        Case(_("x (2, 3, 5, 4): B=2, H=3, T=5, Dh=4"), (_randn(g, 2, 3, 5, 4),)),
        Case(_("x (1, 4, 3, 2): B=1, H=4, T=3, Dh=2"), (_randn(g, 1, 4, 3, 2),)),
        Case(_("length 1: x (1, 2, 1, 3)"), (_randn(g, 1, 2, 1, 3),)),
        Case(_("one head: x (2, 1, 4, 6)"), (_randn(g, 2, 1, 4, 6),)),
    ]


_MERGE_HEADS_MISTAKES = (
    Mistake(
        N_("merged without the transpose (mixes positions and heads)"),
        N_("bring positions in front of heads before flattening: `x.transpose(1, 2).reshape(B, T, H * Dh)`."),
        lambda x: x.reshape(x.shape[0], x.shape[2], -1),
    ),
    Mistake(
        N_("heads merged in the wrong order (head_dim before heads: heads interleaved)"),
        N_(
            "the concatenation puts head 0's Dh features first, then head 1's, ...: (B, T, H, Dh) -> (B, T, "
            "H·Dh), "
            "not (B, T, Dh, H)."
        ),
        lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], -1),
    ),
    Mistake(
        N_("view on the transposed tensor (not contiguous)"),
        N_(
            "after a transpose the memory is not in order: use `.reshape(B, T, H * Dh)` or "
            "`.contiguous().view(...)`."
        ),
        lambda x: x.transpose(1, 2).view(x.shape[0], x.shape[2], -1),
    ),
    Mistake(
        N_("not merged (returned (B, T, H, Dh))"),
        N_("after the transpose, flatten the last two axes: `.reshape(B, T, H * Dh)`."),
        lambda x: x.transpose(1, 2),
    ),
    Mistake(
        N_("heads concatenated in reverse order"),
        N_("keep the heads in order 0, 1, ..., H−1: no flip."),
        lambda x: _solution_merge_heads(x.flip(1)),
    ),
)


def _solution_multi_head_attention(
    x_q: torch.Tensor,
    x_kv: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor,
    num_heads: int,
) -> torch.Tensor:
    q = split_heads(x_q @ W_q, num_heads)  # (B, T_q, D) -> (B, H, T_q, Dh)
    k = split_heads(x_kv @ W_k, num_heads)  # (B, T_k, D) -> (B, H, T_k, Dh)
    v = split_heads(x_kv @ W_v, num_heads)  # (B, T_k, D) -> (B, H, T_k, Dh)
    out, _ = scaled_dot_product_attention(q, k, v)  # (B, H, T_q, Dh): every head at once, ÷√Dh
    return merge_heads(out) @ W_o  # (B, T_q, H·Dh) -> (B, T_q, D): concatenate, then W^O


def _expected_multi_head_attention(
    x_q: torch.Tensor,
    x_kv: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor,
    num_heads: int,
) -> torch.Tensor:
    mha = MultiHeadAttention(W_q.shape[0], num_heads, bias=False)
    with torch.no_grad():  # x @ W is nn.Linear with weight W.T
        for proj, w in ((mha.q_proj, W_q), (mha.k_proj, W_k), (mha.v_proj, W_v), (mha.out_proj, W_o)):
            proj.weight.copy_(w.T)
    out, _ = mha(x_q, x_kv, x_kv)
    return out


def _flawed_multi_head_attention(
    x_q: torch.Tensor,
    x_kv: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor,
    num_heads: int,
    *,
    split: str = "ok",
    merge: str = "ok",
    out_proj: bool = True,
    scale_by: str = "head_dim",
    transposed_weights: bool = False,
) -> torch.Tensor:
    """Functional multi-head attention with one chosen flaw (keyword flags; see the mistakes below)."""
    B, D = x_q.shape[0], x_q.shape[-1]
    H = 1 if split == "ignored" else num_heads
    Dh = D // H

    def heads(t: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, H, T, Dh)
        if split == "no_transpose":
            return t.reshape(B, H, t.shape[1], Dh)
        return t.reshape(B, t.shape[1], H, Dh).transpose(1, 2)

    proj = (lambda w: w.T) if transposed_weights else (lambda w: w)
    q, k, v = heads(x_q @ proj(W_q)), heads(x_kv @ proj(W_k)), heads(x_kv @ proj(W_v))
    scale = 1 / math.sqrt(D if scale_by == "d_model" else Dh)
    weights = torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1)  # (B, H, T_q, T_k)
    out = weights @ v  # (B, H, T_q, Dh)
    if merge == "no_transpose":
        out = out.reshape(B, -1, D)
    elif merge == "interleaved":
        out = out.permute(0, 2, 3, 1).reshape(B, -1, D)
    else:
        out = out.transpose(1, 2).reshape(B, -1, D)
    return out @ proj(W_o) if out_proj else out


def _mha_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    return Mistake(name, hint, functools.partial(_flawed_multi_head_attention, **flaw))


_MHA_MISTAKES = (
    _mha_mistake(
        N_("heads split with view but without the transpose (mixes positions and heads)"),
        N_(
            "split as `t.view(B, T, H, Dh).transpose(1, 2)` (your `my_split_heads`, or "
            "`attn_lib.split_heads`)."
        ),
        split="no_transpose",
    ),
    _mha_mistake(
        N_("heads merged without the transpose (mixes positions and heads)"),
        N_("merge as `out.transpose(1, 2).reshape(B, T_q, D)` (or `attn_lib.merge_heads`)."),
        merge="no_transpose",
    ),
    _mha_mistake(
        N_("heads merged in the wrong order (heads interleaved)"),
        N_("concatenate head 0's features, then head 1's, ...: `out.transpose(1, 2).reshape(B, T_q, D)`."),
        merge="interleaved",
    ),
    _mha_mistake(
        N_("output projection W_o forgotten"),
        N_("after concatenating the heads, multiply by W^O: `merge_heads(out) @ W_o`."),
        out_proj=False,
    ),
    _mha_mistake(
        N_("scores scaled by √d_model instead of √head_dim"),
        N_(
            "each head works in head_dim = d_model / num_heads dimensions, so divide its scores by √head_dim "
            "(what `scaled_dot_product_attention` does with each head's q and k)."
        ),
        scale_by="d_model",
    ),
    _mha_mistake(
        N_("weights used transposed (x @ W.T, as nn.Linear stores them)"),
        N_("here the matrices are applied as in the paper, Q = X W^Q: `x_q @ W_q`, not `x_q @ W_q.T`."),
        transposed_weights=True,
    ),
    _mha_mistake(
        N_("num_heads ignored (one head over the full d_model)"),
        N_(
            "split Q, K and V into `num_heads` heads of head_dim = d_model / num_heads each, "
            "attend per head, then merge."
        ),
        split="ignored",
    ),
)


def _mha_cases() -> list[Case]:
    g = _gen(303)

    def case(label: str, B: int, t_q: int, t_k: int | None, D: int, H: int) -> Case:
        x_q = _randn(g, B, t_q, D)
        x_kv = x_q.clone() if t_k is None else _randn(g, B, t_k, D)
        weights = tuple(_randn(g, D, D, std=D**-0.5) for _ in range(4))  # W_q, W_k, W_v, W_o: (D, D)
        return Case(label, (x_q, x_kv, *weights, H))

    return [
        case(_("self-attention: x (2, 5, 16), 4 heads (head_dim 4)"), 2, 5, None, 16, 4),
        case(_("cross: x_q (2, 3, 16), x_kv (2, 6, 16), 4 heads"), 2, 3, 6, 16, 4),
        case(_("d_model 8, 2 heads: x_q (1, 4, 8), x_kv (1, 7, 8)"), 1, 4, 7, 8, 2),
        case(_("one head: x_q (2, 3, 16), x_kv (2, 5, 16), num_heads 1"), 2, 3, 5, 16, 1),
        case(_("length 1: x_q (2, 1, 16), x_kv (2, 1, 16), 4 heads"), 2, 1, 1, 16, 4),
    ]


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "split_heads",
        "03",
        N_(
            "(B, T, D) -> (B, H, T, Dh): cut the features into num_heads consecutive slices, "
            "heads before time."
        ),
        _solution_split_heads,
        split_heads,
        _split_cases,
        (Out("result", "float", "(B, H, T, Dh)"),),
        _SPLIT_HEADS_MISTAKES,
    ),
    Exercise(
        "merge_heads",
        "03",
        N_("(B, H, T, Dh) -> (B, T, H·Dh): the inverse of split_heads, i.e. the concatenation of the heads."),
        _solution_merge_heads,
        merge_heads,
        _merge_cases,
        (Out("result", "float", "(B, T, H·Dh)"),),
        _MERGE_HEADS_MISTAKES,
    ),
    Exercise(
        "multi_head_attention",
        "03",
        N_(
            "multi-head attention with given (D, D) matrices: project (x @ W), split into heads, scaled "
            "dot-product attention per head, merge, then @ W_o; shape (B, T_q, D)."
        ),
        _solution_multi_head_attention,
        _expected_multi_head_attention,
        _mha_cases,
        (Out("output", "float", "(B, T_q, D)"),),
        _MHA_MISTAKES,
        solution_imports="from attn_lib import merge_heads, scaled_dot_product_attention, split_heads",
    ),
)
