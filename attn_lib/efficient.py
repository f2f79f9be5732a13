"""Attention without the T_q x T_k matrix: online softmax over key/value chunks, and
tools to measure what attention costs.

Letters: ``T_q``/``T_k`` query/key lengths, ``C`` chunk size, ``d_k``/``d_v`` widths,
``...`` leading batch dimensions such as ``(B, H)``.

The idea behind FlashAttention: softmax(s) v = sum_j exp(s_j - m) v_j / sum_j exp(s_j - m)
for *any* constant m. Walking over the keys chunk by chunk we keep, per query, a running
maximum ``m``, a running denominator ``l`` and a running numerator ``acc``; when a new
chunk raises the maximum from m to m', the old sums are rescaled by exp(m - m'). At the end
``acc / l`` is the exact attention output, yet only a ``(T_q, C)`` block of scores ever
exists at once.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator

import torch

from .attention import _check_tensor, broadcast_batch, check_mask

__all__ = [
    "chunked_attention",
    "measure_peak_memory",
    "measure_time",
    "online_softmax_steps",
    "operators_called",
]


def chunked_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    chunk_size: int = 256,
    scale: float | None = None,
) -> torch.Tensor:
    """Exact softmax(Q Kᵀ · scale) V computed over key/value chunks (online softmax).

    Args:
        query: ``(..., T_q, d_k)``; key: ``(..., T_k, d_k)``; value: ``(..., T_k, d_v)``.
        mask: bool, True = may attend, broadcastable to ``(..., T_q, T_k)``.
        chunk_size: keys processed at once (C); memory for scores is ``(..., T_q, C)``.
        scale: multiplies the scores; ``None`` means ``1 / sqrt(d_k)``.

    Returns:
        ``(..., T_q, d_v)``, equal to ``scaled_dot_product_attention(...)[0]`` up to float
        rounding; a query whose keys are all masked gets zeros, as there.
    """
    _check_tensor("query", query)
    _check_tensor("key", key)
    _check_tensor("value", value)
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(
            f"query has last dimension {query.shape[-1]} but key has {key.shape[-1]}; they must match (d_k)"
        )
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"key has length {key.shape[-2]} but value has {value.shape[-2]}; they must match")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
    T_q, T_k = query.shape[-2], key.shape[-2]
    batch = broadcast_batch(query, key, value)  # the leading dimensions, e.g. (B, H)
    if mask is not None:
        check_mask(mask, (*batch, T_q, T_k))
        mask = mask.expand(*mask.shape[:-1], T_k)  # a size-1 key axis becomes slicable
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale

    out_shape = (*batch, T_q, value.shape[-1])
    m = torch.full((*batch, T_q, 1), float("-inf"), dtype=query.dtype, device=query.device)  # running max
    denom = torch.zeros((*batch, T_q, 1), dtype=query.dtype, device=query.device)  # running sum of exp
    acc = torch.zeros(out_shape, dtype=query.dtype, device=query.device)  # running sum of exp * v
    q = query * scale  # fold the scale into the queries once
    # Without autograd, update the running sums in place: no second copy of a (T_q, C) block
    # (possible when the scores already carry every batch dimension, i.e. value adds none).
    inplace = not (torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value)))
    inplace = inplace and torch.broadcast_shapes(query.shape[:-2], key.shape[:-2]) == batch
    for start in range(0, T_k, chunk_size):
        end = min(start + chunk_size, T_k)
        s = q @ key[..., start:end, :].transpose(-2, -1)  # (..., T_q, C)
        if mask is not None:
            s = s.masked_fill(~mask[..., start:end], float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))  # (..., T_q, 1)
        m_safe = torch.where(torch.isfinite(m_new), m_new, torch.zeros_like(m_new))  # all masked so far
        rescale = torch.exp(m - m_safe)  # exp(old max - new max) <= 1; 0 while nothing was seen
        if inplace:
            p = s.sub_(m_safe).exp_()  # (..., T_q, C); masked scores give exactly 0
            denom.mul_(rescale).add_(p.sum(dim=-1, keepdim=True))
            acc.mul_(rescale).add_(p @ value[..., start:end, :])  # (..., T_q, d_v)
        else:
            p = torch.exp(s - m_safe)
            denom = denom * rescale + p.sum(dim=-1, keepdim=True)
            acc = acc * rescale + p @ value[..., start:end, :]
        m = m_new
        del s, p  # free this block before the next one is allocated: one (..., T_q, C) block at a time
    return acc / torch.where(denom == 0, torch.ones_like(denom), denom)  # fully masked rows: 0 / 1 = 0


def online_softmax_steps(scores: torch.Tensor, chunk_size: int) -> list[dict[str, list[float]]]:
    """Trace online softmax on one row of scores, chunk by chunk, for teaching.

    Returns one dict per chunk with the running ``max``, ``sum`` (denominator, relative to
    the running max) and the ``weights`` the row would have if it stopped there.
    """
    if scores.dim() != 1:
        raise ValueError(f"scores must be one row (T_k,), got shape {tuple(scores.shape)}")
    m, denom = float("-inf"), 0.0
    steps = []
    for start in range(0, scores.shape[0], chunk_size):
        chunk = scores[start : start + chunk_size].double()
        m_new = max(m, float(chunk.max()))
        denom = denom * math.exp(m - m_new) + float(torch.exp(chunk - m_new).sum())
        m = m_new
        seen = scores[: start + chunk.shape[0]].double()
        steps.append(
            {
                "max": [m],
                "sum": [denom],
                "weights": (torch.exp(seen - m) / denom).tolist(),
                "seen": [seen.shape[0]],
            }
        )
    return steps


def measure_time(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


@contextlib.contextmanager
def _quiet_stderr_fd() -> Iterator[None]:
    """Send what is written straight to file descriptor 2 (C++ logging) to /dev/null."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _profile(fn: Callable[[], object], profile_memory: bool) -> torch.profiler.profile:
    """Run ``fn`` under the PyTorch profiler (CPU) and return the finished profiler."""
    from torch.profiler import ProfilerActivity, profile

    prof = profile(activities=[ProfilerActivity.CPU], profile_memory=profile_memory)
    with _quiet_stderr_fd():  # the profiler's C++ side prints start/stop lines on fd 2
        prof.__enter__()
    try:
        fn()
    finally:
        with _quiet_stderr_fd():
            prof.__exit__(None, None, None)
    return prof


def measure_peak_memory(fn: Callable[[], object]) -> int:
    """Peak bytes of CPU tensor memory allocated while ``fn`` runs (beyond what existed before).

    Uses the PyTorch profiler's allocation events (one per allocation or free, with its time):
    a running sum of their sizes, in time order, whose maximum is the peak. Tensors that ``fn``
    returns count as allocated.
    """
    from torch._C._profiler import _EventType

    prof = _profile(fn, profile_memory=True)
    allocations = []
    nodes = list(prof.profiler.kineto_results.experimental_event_tree())
    while nodes:  # allocations are nested under the operator that made them
        node = nodes.pop()
        nodes.extend(node.children)
        if node.tag == _EventType.Allocation and node.extra_fields.device.type == "cpu":
            allocations.append((node.start_time_ns, node.extra_fields.alloc_size))  # size < 0: a free
    current = peak = 0
    for _, size in sorted(allocations, key=lambda a: a[0]):
        current += size
        peak = max(peak, current)
    return peak


def operators_called(fn: Callable[[], object]) -> list[str]:
    """Names of the PyTorch operators (``aten::...``) that ``fn()`` runs, each once, in order.

    Shows which kernel does the work, e.g. ``aten::_scaled_dot_product_flash_attention_for_cpu``
    for PyTorch's fused attention on the CPU, or ``aten::bmm`` and ``aten::_softmax`` for the
    explicit formula.
    """
    names: list[str] = []
    for e in sorted(_profile(fn, profile_memory=False).events(), key=lambda e: e.time_range.start):
        if e.name.startswith("aten::") and e.name not in names:
            names.append(e.name)
    return names
