"""Validation helpers shared by the widget modules."""

from __future__ import annotations

import torch


def _check_finite_number(name: str, value: object) -> float:
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def _check_index(name: str, value: object, size: int, note: str = "") -> int:
    """``value`` as an index into ``size`` things: an int in ``[0, size)`` (``note`` says what it indexes)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"{name} must be an int in [0, {size - 1}]{note}, got {value!r}")
    return value


def _tied_with_max(weights: torch.Tensor, tolerance: float) -> list[int]:
    """Indices of the ``(n,)`` weights within ``tolerance`` of the largest: the winner and its ties."""
    top = float(weights.max())
    return [j for j in range(weights.numel()) if top - float(weights[j]) < tolerance]
