"""Seeded random inputs for the cases of the exercises: every list of cases has its own generator."""

from __future__ import annotations

import torch


def _randn(g: torch.Generator, *shape: int, std: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * std


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)
