"""Sinusoidal positional encoding (Vaswani et al., 2017, section 3.5).

PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),  PE[pos, 2i+1] = cos(pos / 10000^(2i / d_model)).
Letters: ``B`` batch, ``T`` sequence length, ``D`` = d_model.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._limits import check_tensor_size

__all__ = ["PositionalEncoding", "sinusoidal_positional_encoding"]


def _check_positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def sinusoidal_positional_encoding(max_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The ``(max_len, d_model)`` table of sinusoidal encodings, float32.

    Even columns ``2i`` hold ``sin(pos * w_i)``, odd columns ``2i+1`` hold ``cos(pos * w_i)``,
    with frequencies ``w_i = base^(-2i / d_model)``: a pair of columns per frequency.
    ``d_model`` must be even (each frequency needs its sin and cos column).
    """
    _check_positive_int("max_len", max_len)
    _check_positive_int("d_model", d_model)
    if d_model % 2 != 0:
        raise ValueError(
            f"d_model must be even for sinusoidal positional encoding (a sin and a cos column per "
            f"frequency), got {d_model}"
        )
    if isinstance(base, bool) or not isinstance(base, (int, float)):
        raise TypeError(f"base must be a real number, got {type(base).__name__} {base!r}")
    if not (math.isfinite(base) and base > 1):
        raise ValueError(
            f"base must be a finite number > 1 (the wavelengths grow from 2π to base·2π; the paper "
            f"uses 10000), got {base}"
        )
    check_tensor_size(
        f"sinusoidal_positional_encoding(max_len={max_len}, d_model={d_model})", (max_len, d_model)
    )
    position = torch.arange(max_len, dtype=torch.float32)[:, None]  # (T, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (D/2,)
    freq = torch.exp(-math.log(base) * two_i / d_model)  # w_i = base^(-2i/D), (D/2,)
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * freq)  # (T, D/2)
    pe[:, 1::2] = torch.cos(position * freq)
    return pe


class PositionalEncoding(nn.Module):
    """Adds sinusoidal positional encodings to ``x`` ``(B, T, D)``, then applies dropout.

    Args:
        d_model: model width D (even).
        max_len: longest sequence supported.
        dropout: dropout probability after the addition (the paper uses 0.1).
    """

    pe: torch.Tensor

    def __init__(self, d_model: int, max_len: int = 512, dropout: float = 0.0):
        super().__init__()
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """``x`` ``(B, T, D)`` -> ``x + PE[start : start + T]``; ``start`` > 0 when decoding step by step."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (B, T, D), got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(f"x must have shape (B, T, D), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(
                f"x must be float activations (B, T, D), got dtype {x.dtype}: adding the encoding "
                "to integers would truncate it; embed token ids first, or use x.float()"
            )
        if x.device != self.pe.device:
            raise ValueError(
                f"x is on device {x.device} but this PositionalEncoding is on {self.pe.device}; "
                "move the module with .to(x.device)"
            )
        if isinstance(start, bool) or not isinstance(start, int) or start < 0:
            raise ValueError(
                f"start must be a non-negative int (the position of x's first token), got {start!r}"
            )
        T, D = x.shape[1], x.shape[2]
        if D != self.pe.shape[1]:
            raise ValueError(
                f"x has d_model={D} but this PositionalEncoding was built for {self.pe.shape[1]}"
            )
        if start + T > self.pe.shape[0]:
            raise ValueError(
                f"sequence positions up to {start + T} exceed max_len={self.pe.shape[0]}; "
                "build PositionalEncoding with a larger max_len"
            )
        return self.dropout(x + self.pe[start : start + T].to(x.dtype))  # (B, T, D)
