"""Rotary position embedding (RoPE; Su et al., 2021, "RoFormer"), as Llama, Mistral and Qwen use it.

Instead of adding a position vector to the token (lesson 04), RoPE *rotates* each query and key:
their ``Dh`` dimensions are split into ``Dh/2`` pairs, and pair ``i`` of the vector at position
``m`` is turned by the angle ``m * w_i`` with ``w_i = base^(-2i/Dh)``. A rotation keeps the norm,
and the score of a rotated query at ``m`` with a rotated key at ``n`` depends on the positions
only through ``m - n``: ``R(m w)ᵀ R(n w) = R((n - m) w)``. Values are never rotated.

Two ways of pairing the dimensions are in use, with the same frequencies:

- ``"half"``: dimension ``j`` with ``j + Dh/2`` (Hugging Face's ``rotate_half``, GPT-NeoX, Llama in
  ``transformers``);
- ``"interleaved"``: dimension ``2i`` with ``2i + 1`` (the RoFormer paper, Meta's original Llama code).

They give the same attention scores up to a fixed permutation of the head dimensions (which
checkpoint converters apply to W^Q and W^K), not the same vectors.

Letters: ``B`` batch, ``H`` heads, ``T`` positions, ``Dh`` head_dim.
"""

from __future__ import annotations

import math

import torch

__all__ = ["PAIRINGS", "apply_rope", "rope_angles", "rope_cos_sin"]

PAIRINGS = ("half", "interleaved")


def _check_head_dim(head_dim: object) -> int:
    if isinstance(head_dim, bool) or not isinstance(head_dim, int):
        raise TypeError(f"head_dim must be an int, got {type(head_dim).__name__} {head_dim!r}")
    if head_dim <= 0 or head_dim % 2:
        raise ValueError(
            f"head_dim must be a positive even int (RoPE rotates pairs of dimensions), got {head_dim}"
        )
    return head_dim


def _check_base(base: object) -> float:
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        raise TypeError(f"base must be a real number, got {type(base).__name__} {base!r}")
    if not (math.isfinite(base) and base > 1):
        raise ValueError(f"base must be a finite number > 1 (Llama uses 10000, Llama 3 500000), got {base}")
    return float(base)


def _check_pairing(pairing: object) -> str:
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
    return str(pairing)


def _check_positions(positions: object) -> torch.Tensor:
    if isinstance(positions, int) and not isinstance(positions, bool):
        raise TypeError(
            f"positions must be a tensor of integer positions, e.g. torch.arange(T); got the int {positions} "
            "(for the positions 0..T-1 pass torch.arange(T))"
        )
    if not isinstance(positions, torch.Tensor):
        raise TypeError(
            f"positions must be a torch.Tensor of integer positions, got {type(positions).__name__}"
        )
    if positions.is_floating_point() or positions.is_complex() or positions.dtype == torch.bool:
        raise TypeError(f"positions must be an integer tensor (torch.long), got dtype {positions.dtype}")
    if positions.dim() == 0:
        raise ValueError(
            "positions must have at least one dimension, e.g. (T,) or (B, T); got a 0-dim tensor"
        )
    if positions.numel() and int(positions.min()) < 0:
        raise ValueError(f"positions must be >= 0, got a minimum of {int(positions.min())}")
    return positions


def rope_angles(
    positions: torch.Tensor, head_dim: int, base: float = 10000.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """The rotation angles ``m * w_i``: ``(..., Dh/2)`` for integer ``positions`` ``(...)``, in ``dtype``.

    ``w_i = base^(-2i/Dh)`` for ``i = 0 .. Dh/2 - 1``: pair 0 turns by one radian per position, the
    last pair almost not at all (wavelengths from 2π to about base·2π, as in lesson 04's table).
    """
    positions = _check_positions(positions)
    head_dim = _check_head_dim(head_dim)
    base = _check_base(base)
    two_i = torch.arange(0, head_dim, 2, dtype=torch.float64, device=positions.device)  # (Dh/2,)
    freq = base ** (-two_i / head_dim)  # w_i, (Dh/2,)
    # computed in float64: position * frequency stays accurate for long sequences (in float32 the
    # angle at position 4000 is off by ~2e-4 rad), then given in the dtype asked for
    return (positions.to(torch.float64)[..., None] * freq).to(dtype)  # (..., Dh/2)


def rope_cos_sin(
    positions: torch.Tensor,
    head_dim: int,
    base: float = 10000.0,
    pairing: str = "half",
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``cos`` and ``sin`` of the angles laid out over the ``Dh`` dimensions: each ``(..., Dh)``.

    With ``pairing="half"`` this is exactly what Hugging Face's rotary embedding returns
    (the ``Dh/2`` angles repeated twice); with ``"interleaved"`` each angle appears twice in a row.
    """
    pairing = _check_pairing(pairing)
    angles = rope_angles(positions, head_dim, base, torch.float64)  # (..., Dh/2)
    if pairing == "half":
        angles = torch.cat([angles, angles], dim=-1)  # (..., Dh): pair (j, j + Dh/2) shares angle j
    else:
        angles = angles.repeat_interleave(2, dim=-1)  # (..., Dh): pair (2i, 2i+1) shares angle i
    return angles.cos().to(dtype), angles.sin().to(dtype)


def _partner(x: torch.Tensor, pairing: str) -> torch.Tensor:
    """Each dimension's signed pair partner: rotating (a, b) gives (a cos - b sin, b cos + a sin)."""
    if pairing == "half":
        first, second = x.chunk(2, dim=-1)  # (..., Dh/2) each
        return torch.cat([-second, first], dim=-1)  # (..., Dh)
    even, odd = x[..., 0::2], x[..., 1::2]  # (..., Dh/2) each
    return torch.stack([-odd, even], dim=-1).flatten(-2)  # (..., Dh/2, 2) -> (..., Dh)


def apply_rope(
    x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0, pairing: str = "half"
) -> torch.Tensor:
    """Rotate the queries or keys ``x`` ``(..., T, Dh)`` by their ``positions``.

    Args:
        x: queries or keys, ``(B, H, T, Dh)`` (or any ``(..., T, Dh)``), floating point; never values.
        positions: integer positions, ``(T,)`` for every row alike or ``(B, T)`` per sequence (e.g. a
            decoding step at position ``t`` passes ``torch.tensor([t])``: forgetting that offset is
            the classic KV-cache bug). With ``x`` of shape ``(B, H, T, Dh)``, a ``(B, T)`` tensor is
            broadcast over the heads.
        base: the frequency base (10000 in RoFormer and Llama 2).
        pairing: ``"half"`` (Hugging Face, default) or ``"interleaved"`` (the paper); see the module.

    Returns:
        ``x`` rotated, same shape and dtype (computed in float32 for half-precision input, like
        PyTorch's attention kernels). ``x`` itself is not changed.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor of shape (..., T, Dh), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (queries or keys), got dtype {x.dtype}")
    if x.dim() < 2:
        raise ValueError(f"x must have shape (..., T, Dh), got {tuple(x.shape)}")
    pairing = _check_pairing(pairing)
    positions = _check_positions(positions)
    T, Dh = x.shape[-2], x.shape[-1]
    _check_head_dim(Dh)
    if positions.shape[-1] != T:
        raise ValueError(
            f"positions has {positions.shape[-1]} positions in its last dimension but x has T = {T} "
            f"(x {tuple(x.shape)}, positions {tuple(positions.shape)})"
        )
    if positions.dim() == 2 and x.dim() == 4:
        positions = positions[:, None, :]  # (B, T) -> (B, 1, T): the same positions for every head
    work = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x  # half: computed in float32
    cos, sin = rope_cos_sin(positions.to(x.device), Dh, base, pairing, work.dtype)  # (..., T, Dh)
    try:
        torch.broadcast_shapes(cos.shape, x.shape)
    except RuntimeError:
        raise ValueError(
            f"positions of shape {tuple(positions.shape)} do not broadcast against x {tuple(x.shape)}; "
            "pass (T,) or (B, T)"
        ) from None
    rotated = work * cos + _partner(work, pairing) * sin  # (..., T, Dh)
    return rotated.to(x.dtype)
