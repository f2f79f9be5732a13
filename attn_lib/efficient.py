"""Attention without the T_q x T_k matrix: online softmax over key/value chunks, tiled
attention over query blocks x key blocks with a recomputing backward pass, and tools to
measure what attention costs.

Letters: ``T_q``/``T_k`` query/key lengths, ``C`` chunk size, ``B_q``/``B_k`` query/key block
sizes, ``d_k``/``d_v`` widths, ``...`` leading batch dimensions such as ``(B, H)``.

The idea behind FlashAttention: softmax(s) v = sum_j exp(s_j - m) v_j / sum_j exp(s_j - m)
for *any* constant m. Walking over the keys chunk by chunk we keep, per query, a running
maximum ``m``, a running denominator ``l`` and a running numerator ``acc``; when a new
chunk raises the maximum from m to m', the old sums are rescaled by exp(m - m'). At the end
``acc / l`` is the exact attention output, yet only a block of scores ever exists at once.

``chunked_attention`` walks over the keys only, for all queries at once: every step reads
all of Q and rescales the whole ``(T_q, d_v)`` accumulator, O(T_q * d) bytes moved for
O(T_q * C * d) arithmetic, which is slow when C is small. ``tiled_attention`` also splits
the queries into blocks (as FlashAttention does): a ``(B_q, d)`` query block and its
accumulator stay small (in the CPU cache) while the key blocks stream past. It returns the
log-sum-exp of every row, ``lse = m + log(l)``, which is all its backward pass keeps besides
Q, K, V and the output: the weights are recomputed block by block as exp(s - lse).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator

import torch
from torch.autograd.function import once_differentiable

from .attention import check_mask

__all__ = [
    "chunked_attention",
    "measure_peak_memory",
    "measure_time",
    "online_softmax_steps",
    "operators_called",
    "tiled_attention",
]

_HALF = (torch.float16, torch.bfloat16)


def _check_inputs(
    query: object, key: object, value: object, mask: object, scale: object
) -> tuple[torch.Size, float, torch.dtype]:
    """Validate query/key/value/mask/scale; return the batch shape, the scale and the dtype
    the scores and softmax are computed in (float32 for half-precision inputs)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(
                f"{name} must have at least 2 dimensions (..., T, d), got shape {tuple(t.shape)}"
            )
        if not t.is_floating_point():
            raise TypeError(
                f"{name} has dtype {t.dtype}; attention needs floating point "
                "(float16, bfloat16, float32 or float64): pass .float()"
            )
    assert (
        isinstance(query, torch.Tensor) and isinstance(key, torch.Tensor) and isinstance(value, torch.Tensor)
    )
    if not (query.dtype == key.dtype == value.dtype):
        raise TypeError(
            f"query, key and value must have the same dtype, got {query.dtype}, {key.dtype} and {value.dtype}"
        )
    if not (query.device == key.device == value.device):
        raise ValueError(
            f"query, key and value must be on the same device, got {query.device}, {key.device} "
            f"and {value.device}"
        )
    if key.shape[-1] != query.shape[-1]:
        raise ValueError(
            f"query has last dimension {query.shape[-1]} but key has {key.shape[-1]}; they must match (d_k)"
        )
    if value.shape[-2] != key.shape[-2]:
        raise ValueError(f"key has length {key.shape[-2]} but value has {value.shape[-2]}; they must match")
    try:
        batch = torch.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except RuntimeError as err:
        raise ValueError(
            f"the leading (batch) dimensions of query {tuple(query.shape)}, key "
            f"{tuple(key.shape)} and value {tuple(value.shape)} do not broadcast"
        ) from err
    if mask is not None:
        check_mask(mask, (*batch, query.shape[-2], key.shape[-2]))
        if mask.device != query.device:  # type: ignore[union-attr]
            raise ValueError(
                f"mask is on {mask.device} but query on {query.device}; move it with mask.to(query.device)"
            )  # type: ignore[union-attr]
    if scale is None:
        if query.shape[-1] == 0:
            raise ValueError(
                "query has last dimension 0 (d_k = 0): the default scale 1/sqrt(d_k) is undefined"
            )
        scale = 1.0 / math.sqrt(query.shape[-1])
    elif isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise ValueError(f"scale must be a finite number or None (1/sqrt(d_k)), got {scale!r}")
    compute = torch.float32 if query.dtype in _HALF else query.dtype
    return batch, float(scale), compute


def _check_count(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (a block or chunk size, a number of repeats), or a named error."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def _full_mask(mask: torch.Tensor | None, T_q: int, T_k: int) -> torch.Tensor | None:
    """A view of ``mask`` whose last two axes are really T_q and T_k, so blocks can be sliced."""
    return None if mask is None else mask.expand(*mask.shape[:-2], T_q, T_k)


def chunked_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    chunk_size: int = 256,
    scale: float | None = None,
) -> torch.Tensor:
    """Exact softmax(Q Kᵀ · scale) V computed over key/value chunks (online softmax).

    Only the keys are chunked: every step works on all T_q queries at once (see the module
    docstring, and ``tiled_attention`` for query blocks too).

    Args:
        query: ``(..., T_q, d_k)``; key: ``(..., T_k, d_k)``; value: ``(..., T_k, d_v)``;
            floating point, one dtype. Half precision (float16, bfloat16) is computed in
            float32 and returned in the input dtype, as PyTorch does.
        mask: bool, True = may attend, broadcastable to ``(..., T_q, T_k)``.
        chunk_size: keys processed at once (C); memory for scores is ``(..., T_q, C)``.
        scale: multiplies the scores; ``None`` means ``1 / sqrt(d_k)``.

    Returns:
        ``(..., T_q, d_v)``, equal to ``scaled_dot_product_attention(...)[0]`` up to float
        rounding; a query whose keys are all masked gets zeros, as there.
    """
    batch, scale, compute = _check_inputs(query, key, value, mask, scale)
    _check_count("chunk_size", chunk_size)
    T_q, T_k = query.shape[-2], key.shape[-2]
    mask = _full_mask(mask, T_q, T_k)
    dtype, device = query.dtype, query.device

    out_shape = (*batch, T_q, value.shape[-1])
    m = torch.full((*batch, T_q, 1), float("-inf"), dtype=compute, device=device)  # running max
    denom = torch.zeros((*batch, T_q, 1), dtype=compute, device=device)  # running sum of exp
    acc = torch.zeros(out_shape, dtype=compute, device=device)  # running sum of exp * v
    q = query.to(compute) * scale  # fold the scale into the queries once
    # Without autograd, update the running sums in place: no second copy of a (T_q, C) block
    # (possible when the scores already carry every batch dimension, i.e. value adds none).
    inplace = not (torch.is_grad_enabled() and any(t.requires_grad for t in (query, key, value)))
    inplace = inplace and torch.broadcast_shapes(query.shape[:-2], key.shape[:-2]) == batch
    for start in range(0, T_k, chunk_size):
        end = min(start + chunk_size, T_k)
        k_c, v_c = key[..., start:end, :].to(compute), value[..., start:end, :].to(compute)  # (..., C, d)
        s = q @ k_c.transpose(-2, -1)  # (..., T_q, C)
        if mask is not None:
            s = s.masked_fill(~mask[..., start:end], float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))  # (..., T_q, 1)
        m_safe = torch.where(torch.isfinite(m_new), m_new, torch.zeros_like(m_new))  # all masked so far
        rescale = torch.exp(m - m_safe)  # exp(old max - new max) <= 1; 0 while nothing was seen
        if inplace:
            p = s.sub_(m_safe).exp_()  # (..., T_q, C); masked scores give exactly 0
            denom.mul_(rescale).add_(p.sum(dim=-1, keepdim=True))
            acc.mul_(rescale).add_(p @ v_c)  # (..., T_q, d_v)
        else:
            p = torch.exp(s - m_safe)
            denom = denom * rescale + p.sum(dim=-1, keepdim=True)
            acc = acc * rescale + p @ v_c
        m = m_new
        del s, p  # free this block before the next one is allocated: one (..., T_q, C) block at a time
    out = acc / torch.where(denom == 0, torch.ones_like(denom), denom)  # fully masked rows: 0 / 1 = 0
    return out.to(dtype)


def tiled_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None = None,
    block_q: int = 256,
    block_k: int = 256,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact softmax(Q Kᵀ · scale) V over query blocks x key blocks (FlashAttention's tiling).

    For each block of ``block_q`` queries, online softmax over blocks of ``block_k`` keys:
    one ``(..., B_q, B_k)`` block of scores exists at a time. Differentiable: the backward
    pass keeps Q, K, V, the output and the log-sum-exp (no T_q x T_k matrix) and recomputes
    the weights block by block.

    Args:
        query: ``(..., T_q, d_k)``; key: ``(..., T_k, d_k)``; value: ``(..., T_k, d_v)``;
            floating point, one dtype, broadcastable leading dimensions. Half precision
            (float16, bfloat16) is computed in float32 and returned in the input dtype.
        mask: bool, True = may attend, broadcastable to ``(..., T_q, T_k)``.
        block_q: queries per block (B_q); block_k: keys per block (B_k).
        scale: multiplies the scores; ``None`` means ``1 / sqrt(d_k)``.

    Returns:
        ``(output, lse)``: output ``(..., T_q, d_v)`` in the input dtype, equal to
        ``torch.nn.functional.scaled_dot_product_attention`` up to rounding; ``lse``
        ``(..., T_q)`` = log Σ_j exp(s_j), in float32 for half inputs. A query whose keys are
        all masked gets a zero output (as in the rest of ``attn_lib``) and ``lse = -inf``.
    """
    batch, scale, compute = _check_inputs(query, key, value, mask, scale)
    _check_count("block_q", block_q)
    _check_count("block_k", block_k)
    mask = _full_mask(mask, query.shape[-2], key.shape[-2])
    return _TiledAttention.apply(query, key, value, mask, block_q, block_k, scale, batch, compute)


def _blocks(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _scores(
    q_i: torch.Tensor, k_j: torch.Tensor, mask: torch.Tensor | None, i: slice, j: slice
) -> torch.Tensor:
    """One block of scores ``(..., B_q, B_k)``; ``q_i`` is already multiplied by the scale."""
    s = q_i @ k_j.transpose(-2, -1)  # (..., B_q, d) @ (..., d, B_k) -> (..., B_q, B_k)
    if mask is not None:
        s.masked_fill_(~mask[..., i, j], float("-inf"))  # weight exactly 0
    return s


class _TiledAttention(torch.autograd.Function):
    """Forward: online softmax per query block. Backward: recompute P = exp(S - lse) per block."""

    @staticmethod
    def forward(ctx, query, key, value, mask, block_q, block_k, scale, batch, compute):
        T_q, T_k, d_k, d_v = query.shape[-2], key.shape[-2], query.shape[-1], value.shape[-1]
        q = query.expand(*batch, T_q, d_k)  # (..., T_q, d_k), views: no copies
        k = key.expand(*batch, T_k, d_k)  # (..., T_k, d_k)
        v = value.expand(*batch, T_k, d_v)  # (..., T_k, d_v)
        out = torch.empty((*batch, T_q, d_v), dtype=query.dtype, device=query.device)
        lse = torch.empty((*batch, T_q), dtype=compute, device=query.device)
        # The blocks are written into one buffer per block shape, flattened to (N, rows, cols) with
        # N = prod(batch) so that bmm/baddbmm write in place: no block is allocated per step.
        N = math.prod(batch)
        buffers: dict[tuple[int, int], torch.Tensor] = {}
        for i in _blocks(T_q, block_q):
            q_i = (q[..., i, :].to(compute) * scale).reshape(N, i.stop - i.start, d_k)  # (N, B_q, d_k)
            n = q_i.shape[-2]
            m = torch.full((*batch, n, 1), float("-inf"), dtype=compute, device=q.device)  # running max
            denom = torch.zeros((*batch, n, 1), dtype=compute, device=q.device)  # running sum of exp
            acc = torch.zeros((*batch, n, d_v), dtype=compute, device=q.device)  # running sum of exp * v
            for j in _blocks(T_k, block_k):
                width = j.stop - j.start
                if (n, width) not in buffers:
                    buffers[(n, width)] = torch.empty((*batch, n, width), dtype=compute, device=q.device)
                s = buffers[(n, width)]  # (..., B_q, B_k)
                k_j = k[..., j, :].to(compute).reshape(N, width, d_k)  # (N, B_k, d_k), a view if k is
                torch.bmm(q_i, k_j.transpose(-2, -1), out=s.view(N, n, width))  # scores, in place
                if mask is not None:
                    s.masked_fill_(~mask[..., i, j], float("-inf"))  # weight exactly 0
                m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
                m_safe = m_new.masked_fill(m_new == float("-inf"), 0.0)  # nothing seen yet: subtract 0
                rescale = torch.exp(m - m_safe)  # <= 1; 0 before the first key that counts
                p = s.sub_(m_safe).exp_()  # (..., B_q, B_k), in place: the buffer now holds exp(s - m)
                denom.mul_(rescale).add_(p.sum(dim=-1, keepdim=True))
                acc.mul_(rescale)
                v_j = v[..., j, :].to(compute).reshape(N, width, d_v)  # (N, B_k, d_v)
                acc.view(N, n, d_v).baddbmm_(p.view(N, n, width), v_j)  # acc += p @ v_j, in place
                m = m_new
            out[..., i, :] = acc.div_(denom.masked_fill(denom == 0, 1.0))  # fully masked rows: 0 / 1 = 0
            lse[..., i] = (m + denom.log()).squeeze(-1)  # -inf where every key is masked
        ctx.save_for_backward(query, key, value, out, lse)
        ctx.setup = (mask, block_q, block_k, scale, batch, compute)
        return out, lse

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out, grad_lse):
        query, key, value, out, lse = ctx.saved_tensors
        mask, block_q, block_k, scale, batch, compute = ctx.setup
        T_q, T_k = query.shape[-2], key.shape[-2]
        q = query.expand(*batch, *query.shape[-2:]).to(compute)  # (..., T_q, d_k)
        k = key.expand(*batch, *key.shape[-2:]).to(compute)  # (..., T_k, d_k)
        v = value.expand(*batch, *value.shape[-2:]).to(compute)  # (..., T_k, d_v)
        d_out = torch.zeros_like(out, dtype=compute) if grad_out is None else grad_out.to(compute)
        d_out = d_out.expand(*batch, *out.shape[-2:])
        d_lse = None if grad_lse is None else grad_lse.to(compute).expand(*batch, T_q)
        # D_i = Σ_j P_ij dP_ij = dO_i · O_i, one number per query: (..., T_q, 1)
        delta = (d_out * out.to(compute)).sum(dim=-1, keepdim=True)
        if d_lse is not None:
            delta = delta - d_lse.unsqueeze(-1)  # d lse / d s_j = P_j: dS = P (dP - D + d_lse)
        lse_safe = lse.masked_fill(lse == float("-inf"), float("inf")).unsqueeze(-1)  # exp(-inf - inf) = 0
        dq, dk, dv = torch.zeros_like(q), torch.zeros_like(k), torch.zeros_like(v)
        for i in _blocks(T_q, block_q):
            q_i = q[..., i, :] * scale  # (..., B_q, d_k)
            do_i, delta_i, lse_i = d_out[..., i, :], delta[..., i, :], lse_safe[..., i, :]
            for j in _blocks(T_k, block_k):
                p = _scores(q_i, k[..., j, :], mask, i, j).sub_(lse_i).exp_()  # (..., B_q, B_k) = weights
                dv[..., j, :] += p.transpose(-2, -1) @ do_i  # (..., B_k, d_v)
                ds = (do_i @ v[..., j, :].transpose(-2, -1)).sub_(delta_i).mul_(p)  # (..., B_q, B_k)
                dq[..., i, :] += ds @ k[..., j, :]  # (..., B_q, d_k), times scale below
                dk[..., j, :] += ds.transpose(-2, -1) @ q_i  # (..., B_k, d_k), q_i carries the scale
                del p, ds
        dq.mul_(scale)
        grads = []
        for g, t in ((dq, query), (dk, key), (dv, value)):
            grads.append(g.sum_to_size(t.shape).to(t.dtype) if t.requires_grad else None)
        return (*grads, None, None, None, None, None, None)


def _check_callable(fn: object) -> None:
    if not callable(fn):
        raise TypeError(
            f"fn must be a function of no arguments (e.g. lambda: f(q, k, v)), got {type(fn).__name__}"
        )


def online_softmax_steps(scores: torch.Tensor, chunk_size: int) -> list[dict[str, list[float]]]:
    """Trace online softmax on one row of scores, chunk by chunk, for teaching.

    Returns one dict per chunk with the running ``max``, ``sum`` (denominator, relative to
    the running max) and the ``weights`` the row would have if it stopped there.
    """
    if not isinstance(scores, torch.Tensor):
        raise TypeError(
            f"scores must be a torch.Tensor (one row of scores, (T_k,)), got {type(scores).__name__}"
        )
    if not scores.is_floating_point():
        raise TypeError(f"scores must be a float tensor, got dtype {scores.dtype}; use scores.float()")
    if scores.dim() != 1:
        raise ValueError(f"scores must be one row (T_k,), got shape {tuple(scores.shape)}")
    _check_count("chunk_size", chunk_size, minimum=1)
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


CLOCKS = ("cpu", "wall")
"""What :func:`measure_time` can measure: CPU seconds of this process, or elapsed (wall-clock) seconds."""


def measure_time(
    fn: Callable[[], object], repeats: int = 5, warmup: int = 1, clock: str = "cpu"
) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``, after ``warmup`` calls.

    ``clock="cpu"`` (the default) counts the CPU time this process spends in the call
    (:func:`time.process_time`): the work the computation does. Time the machine gives to other
    programs meanwhile (a browser, another notebook, a test running beside it) is not counted, so a
    ratio of two measurements holds on a busy machine too. With one PyTorch thread (as in every
    lesson: ``torch.set_num_threads(1)``) it equals the elapsed time on a quiet machine; with more
    threads it is their sum. ``clock="wall"`` measures elapsed time (:func:`time.perf_counter`),
    what a user waits, including every interruption.
    """
    _check_callable(fn)
    _check_count("repeats", repeats, minimum=1)
    _check_count("warmup", warmup, minimum=0)
    if clock not in CLOCKS:
        raise ValueError(f"clock must be one of {list(CLOCKS)}, got {clock!r}")
    now = time.process_time if clock == "cpu" else time.perf_counter
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = now()
        fn()
        times.append(now() - t0)
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

    _check_callable(fn)
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
    _check_callable(fn)
    names: list[str] = []
    for e in sorted(_profile(fn, profile_memory=False).events(), key=lambda e: e.time_range.start):
        if e.name.startswith("aten::") and e.name not in names:
            names.append(e.name)
    return names
