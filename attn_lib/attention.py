"""Scaled dot-product attention and the softmax it is built on.

Letters: ``T_q`` query length, ``T_k`` key/value length, ``d_k`` query/key width,
``d_v`` value width; ``...`` any leading batch dimensions, e.g. ``(B, H)``.

Mask convention (everywhere in ``attn_lib``): a *mask* is a bool tensor, ``True`` = may
attend, broadcastable to ``(..., T_q, T_k)``, exactly as ``attn_mask`` of
``torch.nn.functional.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["scaled_dot_product_attention", "softmax"]


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax, written out: ``exp(x - max) / sum(exp(x - max))``.

    Subtracting the maximum changes nothing mathematically (it cancels between numerator
    and denominator) but keeps every exponent ``<= 0``, so ``exp`` cannot overflow.

    Args:
        x: any float tensor.
        dim: the dimension that sums to 1.

    Returns:
        A tensor shaped like ``x``. A slice whose entries are all ``-inf`` (a query that may
        attend to nothing) gets all-zero weights instead of NaN.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor, got dtype {x.dtype}; use x.float()")
    x_max = x.amax(dim=dim, keepdim=True)
    x_max = torch.where(torch.isfinite(x_max), x_max, torch.zeros_like(x_max))
    e = torch.exp(x - x_max)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total == 0, torch.ones_like(total), total)


def _check_tensor(name: str, t: object, min_dim: int = 2) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dim() < min_dim:
        raise ValueError(
            f"{name} must have at least {min_dim} dimensions (..., T, d), got shape {tuple(t.shape)}"
        )
    return t


def check_mask(mask: object, target_shape: tuple[int, ...], name: str = "mask") -> torch.Tensor:
    """Validate a boolean attention mask against the score shape ``(..., T_q, T_k)``."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool torch.Tensor (True = may attend), got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must be a bool tensor (True = may attend), got dtype {mask.dtype}. "
            f"For a 0/1 mask pass {name}.bool(); for an additive float bias (0 / -inf) pass "
            f"{name} == 0 (to_additive_mask converts the other way, bool -> 0/-inf)."
        )
    try:
        broadcast = torch.broadcast_shapes(mask.shape, target_shape)
    except RuntimeError:
        broadcast = None
    if broadcast != torch.Size(target_shape):
        raise ValueError(
            f"{name} of shape {tuple(mask.shape)} does not broadcast to the attention scores "
            f"of shape {tuple(target_shape)} (..., T_q, T_k); a padding mask is (B, 1, 1, T_k), "
            "a causal mask (T_q, T_k)"
        )
    return mask


def broadcast_batch(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor) -> torch.Size:
    """The broadcast of the leading (batch) dimensions of query, key and value, e.g. ``(B, H)``."""
    try:
        return torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except RuntimeError as err:
        raise ValueError(
            f"the leading (batch) dimensions of query {tuple(query.shape)}, key "
            f"{tuple(key.shape)} and value {tuple(value.shape)} do not broadcast"
        ) from err


def scaled_dot_product_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    dropout_p: float = 0.0,
    scale: float | None = None,
    need_weights: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention(Q, K, V) = softmax(Q Kᵀ · scale) V, with scale = 1/√d_k by default.

    Args:
        query: ``(..., T_q, d_k)``.
        key: ``(..., T_k, d_k)``.
        value: ``(..., T_k, d_v)``.
        mask: bool, True = may attend, broadcastable to ``(..., T_q, T_k)``. Scores where it
            is False are set to ``-inf`` *before* the softmax, so their weights are exactly 0.
        dropout_p: dropout probability applied to the weights (0 = none).
        scale: multiplies the scores; ``None`` means ``1 / sqrt(d_k)``.
        need_weights: if False, runs PyTorch's fused kernel and returns ``(output, None)``.

    Returns:
        ``output`` ``(..., T_q, d_v)`` and ``weights`` ``(..., T_q, T_k)`` (or None).
        A query row whose keys are *all* masked gets zeros, both as weights and as output
        (never NaN).
    """
    _check_tensor("query", query)
    _check_tensor("key", key)
    _check_tensor("value", value)
    d_k, t_k = query.shape[-1], key.shape[-2]
    if key.shape[-1] != d_k:
        raise ValueError(
            f"query has last dimension {d_k} but key has {key.shape[-1]}; they must match (d_k). "
            f"query {tuple(query.shape)}, key {tuple(key.shape)}"
        )
    if value.shape[-2] != t_k:
        raise ValueError(
            f"key has length {t_k} (dim -2) but value has {value.shape[-2]}; every key needs "
            f"one value (T_k). key {tuple(key.shape)}, value {tuple(value.shape)}"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    batch = broadcast_batch(query, key, value)  # the leading dimensions, e.g. (B, H)
    if scale is None:
        scale = 1.0 / math.sqrt(d_k)
    row_ok = None
    if mask is not None:
        check_mask(mask, (*batch, query.shape[-2], t_k))
        row_ok = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1): may this query attend at all?
        if bool(row_ok.all()):
            row_ok = None
        else:  # let fully masked rows see everything, then zero them: no NaN on the way
            mask = mask | ~row_ok

    if not need_weights:
        out = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=dropout_p, scale=scale
        )
        if row_ok is not None:
            out = out * row_ok
        return out, None

    scores = (query * scale) @ key.transpose(-2, -1)  # (..., T_q, T_k); scaling q is T_k/d_k x cheaper
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    if scores.requires_grad:
        weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k), rows sum to 1
    else:  # no autograd: overwrite the scores rather than allocate a second (T_q, T_k) block
        weights = torch.softmax(scores, dim=-1, out=scores)
    if row_ok is not None:
        weights = weights * row_ok
    if dropout_p > 0.0:
        weights = F.dropout(weights, p=dropout_p)
    return weights @ value, weights  # (..., T_q, d_v), (..., T_q, T_k)
