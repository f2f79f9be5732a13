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


# Scores and softmax of these are computed in float32 and returned in the input dtype, as
# PyTorch's kernels do: a softmax in float16 overflows where float32 does not.
HALF_DTYPES = (torch.float16, torch.bfloat16)


def check_dim(name: str, dim: object, ndim: int) -> int:
    """``dim`` as a non-negative index into a tensor with ``ndim`` dimensions, or a named error."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{name} must be an int (one dimension), got {type(dim).__name__} {dim!r}")
    size = max(ndim, 1)  # a 0-d tensor accepts dim 0 or -1, as in torch
    if not -size <= dim < size:
        raise ValueError(f"{name}={dim} is out of range for a tensor with {ndim} dimensions")
    return dim % size


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Numerically stable softmax, written out: ``exp(x - max) / sum(exp(x - max))``.

    Subtracting the maximum changes nothing mathematically (it cancels between numerator
    and denominator) but keeps every exponent ``<= 0``, so ``exp`` cannot overflow.

    Args:
        x: any float tensor; float16/bfloat16 are computed in float32 and returned in their dtype.
        dim: the dimension that sums to 1.

    Returns:
        A tensor shaped like ``x``. A slice whose entries are all ``-inf`` (a query that may
        attend to nothing) gets all-zero weights instead of NaN.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a float tensor, got dtype {x.dtype}; use x.float()")
    check_dim("dim", dim, x.dim())
    if x.numel() == 0:  # nothing to normalise (torch.softmax returns empty too)
        return torch.empty_like(x)
    if x.dtype in HALF_DTYPES:
        return softmax(x.float(), dim).to(x.dtype)
    x_max = x.amax(dim=dim, keepdim=True)
    x_max = torch.where(torch.isfinite(x_max), x_max, torch.zeros_like(x_max))
    e = torch.exp(x - x_max)
    total = e.sum(dim=dim, keepdim=True)
    return e / torch.where(total == 0, torch.ones_like(total), total)


def _check_tensor(name: str, t: object, min_dim: int = 2) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if not t.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor (float32, float64, float16 or bfloat16), got dtype "
            f"{t.dtype}; convert it with {name}.float()"
        )
    if t.dim() < min_dim:
        raise ValueError(
            f"{name} must have at least {min_dim} dimensions (..., T, d), got shape {tuple(t.shape)}"
        )
    return t


def check_same_dtype_device(**tensors: torch.Tensor) -> None:
    """Raise a named error unless every tensor has the dtype and device of the first one."""
    (first, t0), *rest = tensors.items()
    for name, t in rest:
        if t.dtype != t0.dtype:
            raise TypeError(
                f"{first} has dtype {t0.dtype} but {name} has {t.dtype}; they must match "
                f"(convert one, e.g. {name}.to({first}.dtype))"
            )
        if t.device != t0.device:
            raise ValueError(
                f"{first} is on device {t0.device} but {name} is on {t.device}; move them to one device"
            )


def check_number(
    name: str, value: object, low: float | None = None, high: float | None = None, high_open: bool = False
) -> float:
    """A real, finite Python number (not bool) in ``[low, high]`` (or ``[low, high)``), else a named error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if (low is not None and value < low) or (
        high is not None and (value >= high if high_open else value > high)
    ):
        bracket = ")" if high_open else "]"
        if low is not None and high is not None:
            expected = f"in [{low:g}, {high:g}{bracket}"
        elif low is not None:
            expected = f">= {low:g}"
        else:
            expected = f"{'<' if high_open else '<='} {high:g}"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return value


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_mask(
    mask: object,
    target_shape: tuple[int, ...],
    name: str = "mask",
    device: torch.device | None = None,
) -> torch.Tensor:
    """Validate a boolean attention mask against the score shape ``(..., T_q, T_k)``."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool torch.Tensor (True = may attend), got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must be a bool tensor (True = may attend), got dtype {mask.dtype}. "
            f"For a 0/1 mask pass {name}.bool(); for an additive float bias (0 / -inf) pass "
            f"{name} == 0 (to_additive_mask converts the other way, bool -> 0/-inf)."
        )
    if device is not None and mask.device != device:
        raise ValueError(f"{name} is on device {mask.device} but the scores are on {device}; move it there")
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
    check_same_dtype_device(query=query, key=key, value=value)
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
    dropout_p = check_number("dropout_p", dropout_p, 0.0, 1.0, high_open=True)
    check_bool("need_weights", need_weights)
    batch = broadcast_batch(query, key, value)  # the leading dimensions, e.g. (B, H)
    if scale is None:
        scale = 1.0 / math.sqrt(d_k) if d_k > 0 else 1.0  # d_k = 0: every score is 0 anyway
    else:
        scale = check_number("scale", scale)
    row_ok = None
    if mask is not None:
        check_mask(mask, (*batch, query.shape[-2], t_k), device=query.device)
        row_ok = mask.any(dim=-1, keepdim=True)  # (..., T_q, 1): may this query attend at all?
        if bool(row_ok.all()):
            row_ok = None
        else:  # let fully masked rows see everything, then zero them: no NaN on the way
            mask = mask | ~row_ok

    # PyTorch's fused kernel computes half inputs in float32 itself. Not for T_k = 0 (no keys:
    # every row fully masked): there its float16 output is now and then NaN (torch 2.13 on CPU,
    # queries of size ~1e4: a few runs in a hundred), so that case takes the explicit path below,
    # whose empty matmul gives exact zeros.
    if not need_weights and t_k > 0:
        out = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=dropout_p, scale=scale
        )
        if row_ok is not None:  # where, not a product: a fully masked row is 0 even if the kernel gave NaN
            out = torch.where(row_ok, out, 0.0)
        return out, None

    dtype = query.dtype
    if dtype in HALF_DTYPES:  # scores and softmax in float32, as PyTorch does: no overflow
        query, key, value = query.float(), key.float(), value.float()
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
    out = weights @ value  # (..., T_q, d_v)
    if not need_weights:
        return out.to(dtype), None
    return out.to(dtype), weights.to(dtype)  # (..., T_q, d_v), (..., T_q, T_k)
