"""Encoder and decoder layers: attention sub-layers and a feed-forward network, each
wrapped in a residual connection and LayerNorm.

Post-norm (the paper, ``norm_first=False``): ``x = LayerNorm(x + Sublayer(x))``.
Pre-norm (``norm_first=True``): ``x = x + Sublayer(LayerNorm(x))``, easier to train deep.
Letters: ``B`` batch, ``H`` heads, ``T`` target/self length, ``S`` source length, ``D`` d_model.
"""

from __future__ import annotations

import torch
from torch import nn

from ._limits import check_tensor_size
from .attention import check_bool, check_number
from .multihead import KVCache, MultiHeadAttention

__all__ = ["DecoderLayer", "EncoderLayer", "FeedForward"]


def check_size(name: str, value: object) -> int:
    """A positive int (not bool), else a named error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return value


def check_activations(name: str, x: object, d_model: int, like: torch.Tensor) -> torch.Tensor:
    """``x`` must be a float ``(B, T, d_model)`` tensor with the dtype and device of ``like``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, T, D), got {type(x).__name__}")
    if x.dim() != 3 or x.shape[-1] != d_model:
        raise ValueError(f"{name} must have shape (B, T, d_model={d_model}), got {tuple(x.shape)}")
    if x.dtype != like.dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but the layer's parameters are {like.dtype}; convert the "
            f"input ({name}.to({like.dtype})) or the layer (.to({x.dtype}))"
        )
    if x.device != like.device:
        raise ValueError(f"{name} is on device {x.device} but the layer is on {like.device}")
    return x


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``Linear(D, d_ff) -> ReLU -> Dropout -> Linear(d_ff, D)``.

    The same two-layer MLP is applied to every position separately: ``(B, T, D) -> (B, T, D)``.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.d_model = check_size("d_model", d_model)
        check_size("d_ff", d_ff)
        check_number("dropout", dropout, 0.0, 1.0, high_open=True)
        check_tensor_size(f"FeedForward(d_model={d_model}, d_ff={d_ff})", (d_ff, d_model))
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, T, D)`` -> ``(B, T, D)``."""
        check_activations("x", x, self.d_model, self.linear1.weight)
        return self.linear2(self.dropout(torch.relu(self.linear1(x))))  # (B, T, D)


class EncoderLayer(nn.Module):
    """Self-attention (Q = K = V = x) and feed-forward, each with residual + LayerNorm.

    Args:
        d_model, num_heads, d_ff: sizes; dropout: on sub-layer outputs and attention weights.
        norm_first: False = post-norm as in the paper, True = pre-norm.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
    ):
        super().__init__()
        check_bool("norm_first", norm_first)
        self.d_model = check_size("d_model", d_model)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` ``(B, T, D)``; ``mask`` bool, True = may attend (e.g. padding ``(B, 1, 1, T)``).

        Returns ``(x, weights)``: ``(B, T, D)`` and ``(B, H, T, T)`` if ``need_weights``.
        """
        check_activations("x", x, self.d_model, self.norm1.weight)
        if self.norm_first:
            h = self.norm1(x)
            a, w = self.self_attn(h, h, h, mask=mask, need_weights=need_weights)
            x = x + self.dropout(a)
            x = x + self.dropout(self.ff(self.norm2(x)))
        else:
            a, w = self.self_attn(x, x, x, mask=mask, need_weights=need_weights)
            x = self.norm1(x + self.dropout(a))
            x = self.norm2(x + self.dropout(self.ff(x)))
        return x, w


class DecoderLayer(nn.Module):
    """Masked self-attention -> cross-attention (Q from the decoder, K = V = encoder memory)
    -> feed-forward, each with residual + LayerNorm.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
    ):
        super().__init__()
        check_bool("norm_first", norm_first)
        self.d_model = check_size("d_model", d_model)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout)
        self.ff = FeedForward(d_model, d_ff, dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        need_weights: bool = False,
        cache: tuple[KVCache, KVCache] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Args:
            x: decoder input ``(B, T, D)``.
            memory: encoder output ``(B, S, D)``.
            self_mask: bool, True = may attend, broadcastable to ``(B, H, T, T)``; normally
                ``causal_mask(T)`` combined with the target padding mask.
            memory_mask: bool, broadcastable to ``(B, H, T, S)``; normally the source padding
                mask ``(B, 1, 1, S)``.
            cache: ``(self_cache, cross_cache)`` for step-by-step decoding.

        Returns ``(x (B, T, D), self_weights (B, H, T, T) | None, cross_weights (B, H, T, S) | None)``.
        """
        check_activations("x", x, self.d_model, self.norm1.weight)
        check_activations("memory", memory, self.d_model, self.norm1.weight)
        if cache is not None and not (
            isinstance(cache, (tuple, list))
            and len(cache) == 2
            and all(isinstance(c, KVCache) for c in cache)
        ):
            raise TypeError(
                "cache must be a (self_cache, cross_cache) pair of KVCache or None, got "
                f"{type(cache).__name__}"
            )
        self_cache, cross_cache = cache if cache is not None else (None, None)
        if self.norm_first:
            h = self.norm1(x)
            a, w_self = self.self_attn(h, h, h, self_mask, need_weights, cache=self_cache)
            x = x + self.dropout(a)
            h = self.norm2(x)
            a, w_cross = self.cross_attn(h, memory, memory, memory_mask, need_weights, cache=cross_cache)
            x = x + self.dropout(a)
            x = x + self.dropout(self.ff(self.norm3(x)))
        else:
            a, w_self = self.self_attn(x, x, x, self_mask, need_weights, cache=self_cache)
            x = self.norm1(x + self.dropout(a))
            a, w_cross = self.cross_attn(x, memory, memory, memory_mask, need_weights, cache=cross_cache)
            x = self.norm2(x + self.dropout(a))
            x = self.norm3(x + self.dropout(self.ff(x)))
        return x, w_self, w_cross
