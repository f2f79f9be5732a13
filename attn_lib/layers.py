"""Encoder and decoder layers: attention sub-layers and a feed-forward network, each
wrapped in a residual connection and LayerNorm.

Post-norm (the paper, ``norm_first=False``): ``x = LayerNorm(x + Sublayer(x))``.
Pre-norm (``norm_first=True``): ``x = x + Sublayer(LayerNorm(x))``, easier to train deep.
Letters: ``B`` batch, ``H`` heads, ``T`` target/self length, ``S`` source length, ``D`` d_model.
"""

from __future__ import annotations

import torch
from torch import nn

from .multihead import KVCache, MultiHeadAttention

__all__ = ["DecoderLayer", "EncoderLayer", "FeedForward"]


class FeedForward(nn.Module):
    """Position-wise feed-forward network: ``Linear(D, d_ff) -> ReLU -> Dropout -> Linear(d_ff, D)``.

    The same two-layer MLP is applied to every position separately: ``(B, T, D) -> (B, T, D)``.
    """

    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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
