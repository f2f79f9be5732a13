"""Attention masks: causal, padding, their combination, and conversions.

Letters: ``B`` batch, ``T_q``/``T_k`` query/key lengths.

Convention: a *mask* is a bool tensor, ``True`` = may attend, broadcastable to
``(..., T_q, T_k)``, as ``attn_mask`` of ``torch.nn.functional.scaled_dot_product_attention``.
Only an additive float tensor (0 where allowed, ``-inf`` where blocked) is called a *bias*.
"""

from __future__ import annotations

import torch

from ._limits import check_tensor_size

__all__ = [
    "causal_mask",
    "combine_masks",
    "padding_mask",
    "sliding_window_mask",
    "to_additive_mask",
    "to_torch_mha_mask",
]


def _check_length(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive length, got {value}")
    return value


def _check_bool_mask(name: str, mask: object) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must be a bool tensor (True = may attend), got dtype {mask.dtype}; "
            f"for a 0/1 mask use {name}.bool()"
        )
    return mask


def _check_device(device: object) -> torch.device | None:
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str, a torch.device or None, got {type(device).__name__}")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device {device!r} is not a device torch knows (e.g. 'cpu', 'cuda')") from err


def causal_mask(T_q: int, T_k: int | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """Bool ``(T_q, T_k)`` mask, True on and below the diagonal: query i may see keys j <= i.

    With ``T_k > T_q`` the queries are taken to be the *last* ``T_q`` of the ``T_k``
    positions, as when decoding with a cache of ``T_k - T_q`` earlier keys: the diagonal is
    aligned bottom-right, so query i sees keys ``j <= i + (T_k - T_q)`` and the last query
    sees every key. (PyTorch's ``scaled_dot_product_attention(..., is_causal=True)`` aligns
    it top-left instead: query i sees ``j <= i`` whatever ``T_k`` is.) With ``T_k < T_q``
    the diagonal is not shifted (query i sees keys ``j <= min(i, T_k - 1)``), so no row is
    fully masked.
    """
    T_q = _check_length("T_q", T_q)
    T_k = T_q if T_k is None else _check_length("T_k", T_k)
    device = _check_device(device)
    check_tensor_size(f"causal_mask(T_q={T_q}, T_k={T_k})", (T_q, T_k), torch.bool)
    offset = max(T_k - T_q, 0)
    return torch.ones(T_q, T_k, dtype=torch.bool, device=device).tril(diagonal=offset)


def sliding_window_mask(
    T_q: int, T_k: int | None, window: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """Bool ``(T_q, T_k)`` causal sliding-window mask: each query sees its last ``window`` keys.

    The window counts the query's own position: query at position ``p`` may attend to keys
    ``j`` with ``p - window < j <= p``, i.e. ``window`` keys including itself (``window=1``: only
    itself). This is Mistral's rule as ``transformers`` writes it (``kv_idx > q_idx -
    sliding_window`` and causal). ``window >= T_k`` gives exactly :func:`causal_mask`.

    Alignment is :func:`causal_mask`'s: with ``T_k > T_q`` the queries are the *last* ``T_q``
    of the ``T_k`` positions (bottom-right), so query ``i`` is position ``p = i + (T_k - T_q)``;
    with ``T_k < T_q`` no shift (``p = i``). ``T_k=None`` means ``T_k = T_q``.
    Combine with a padding mask by ``combine_masks(sliding_window_mask(...), padding_mask(...))``.
    """
    T_q = _check_length("T_q", T_q)
    T_k = T_q if T_k is None else _check_length("T_k", T_k)
    if isinstance(window, bool) or not isinstance(window, int):
        raise TypeError(
            f"window must be an int (keys per query, itself included), got {type(window).__name__}"
        )
    if window <= 0:
        raise ValueError(f"window must be >= 1 (keys per query, itself included), got {window}")
    device = _check_device(device)
    check_tensor_size(f"sliding_window_mask(T_q={T_q}, T_k={T_k})", (T_q, T_k), torch.bool)
    offset = max(T_k - T_q, 0)
    ones = torch.ones(T_q, T_k, dtype=torch.bool, device=device)
    # keys j <= p (causal) and j >= p - window + 1 (inside the window), p = i + offset
    return ones.tril(diagonal=offset) & ones.triu(diagonal=offset - window + 1)


def padding_mask(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Bool ``(B, 1, 1, T)`` mask, True where ``tokens`` is a real token (not ``pad_id``).

    Broadcasts over heads and query positions: no query attends to a padded key.

    Args:
        tokens: integer token ids ``(B, T)``.
        pad_id: the id used for padding.
    """
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}")
    if tokens.dim() != 2:
        raise ValueError(f"tokens must have shape (B, T), got shape {tuple(tokens.shape)}")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"tokens must hold integer ids, got dtype {tokens.dtype}")
    if isinstance(pad_id, bool) or not isinstance(pad_id, int):
        raise TypeError(f"pad_id must be one int token id, got {type(pad_id).__name__} {pad_id!r}")
    return (tokens != pad_id)[:, None, None, :]  # (B, T) -> (B, 1, 1, T)


def combine_masks(*masks: torch.Tensor | None) -> torch.Tensor | None:
    """Logical AND of bool masks (a position may be attended only if every mask allows it).

    ``None`` entries are skipped; the result broadcasts the inputs together, e.g.
    ``combine_masks(causal_mask(T), padding_mask(tgt, 0))`` is ``(B, 1, T, T)``.
    Returns None if every argument is None.
    """
    result: torch.Tensor | None = None
    for i, m in enumerate(masks):
        if m is None:
            continue
        _check_bool_mask(f"masks[{i}]", m)
        if result is None:
            result = m
            continue
        if m.device != result.device:
            raise ValueError(
                f"masks[{i}] is on device {m.device} but the masks before it are on {result.device}"
            )
        try:
            torch.broadcast_shapes(result.shape, m.shape)
        except RuntimeError as err:
            raise ValueError(
                f"masks[{i}] of shape {tuple(m.shape)} does not broadcast with the masks "
                f"before it, shape {tuple(result.shape)}"
            ) from err
        result = result & m
    return result


def to_additive_mask(mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Bool mask -> additive bias: 0.0 where True (may attend), ``-inf`` where False.

    Adding the bias to the scores before the softmax has the same effect as the mask.
    """
    mask = _check_bool_mask("mask", mask)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(
            f"dtype must be a float torch.dtype (the bias holds 0 and -inf), got {dtype!r}; "
            "e.g. torch.float32"
        )
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return bias.masked_fill(~mask, float("-inf"))


def to_torch_mha_mask(mask: torch.Tensor) -> torch.Tensor:
    """Bool mask in this library's meaning -> the meaning ``torch.nn.MultiheadAttention`` uses.

    Beware: ``torch.nn.MultiheadAttention`` (``attn_mask`` and ``key_padding_mask``) and
    ``torch.nn.Transformer`` read a bool mask the *opposite* way: True = **not** allowed to
    attend. ``torch.nn.functional.scaled_dot_product_attention`` and ``attn_lib`` read True
    = may attend. Passing one to the other silently attends to exactly the wrong keys; this
    function is the one place the meaning is flipped.

    For ``attn_mask`` pass a ``(T_q, T_k)`` mask; for ``key_padding_mask`` pass
    ``padding_mask(...)`` squeezed to ``(B, T_k)`` first.
    """
    return ~_check_bool_mask("mask", mask)
