"""attn_lib: the building blocks of Transformer attention, as taught in the course.

Mask convention everywhere: bool, True = may attend, broadcastable to (..., T_q, T_k),
as in ``torch.nn.functional.scaled_dot_product_attention``. ``torch.nn.MultiheadAttention``
reads bool masks the opposite way; convert with :func:`to_torch_mha_mask`.
"""

from .attention import scaled_dot_product_attention, softmax
from .layers import DecoderLayer, EncoderLayer, FeedForward
from .lm import DecoderOnlyLM, ablation_mask, induction_score, previous_token_score
from .masks import (
    causal_mask,
    combine_masks,
    padding_mask,
    sliding_window_mask,
    to_additive_mask,
    to_torch_mha_mask,
)
from .model import AttentionMaps, Decoder, Encoder, Transformer, greedy_decode
from .multihead import KVCache, MultiHeadAttention, merge_heads, sliding_window_attention, split_heads
from .positional import PositionalEncoding, sinusoidal_positional_encoding
from .rope import apply_rope

__all__ = [
    "AttentionMaps",
    "Decoder",
    "DecoderLayer",
    "DecoderOnlyLM",
    "Encoder",
    "EncoderLayer",
    "FeedForward",
    "KVCache",
    "MultiHeadAttention",
    "PositionalEncoding",
    "Transformer",
    "ablation_mask",
    "apply_rope",
    "causal_mask",
    "combine_masks",
    "greedy_decode",
    "induction_score",
    "merge_heads",
    "padding_mask",
    "previous_token_score",
    "scaled_dot_product_attention",
    "sinusoidal_positional_encoding",
    "sliding_window_attention",
    "sliding_window_mask",
    "softmax",
    "split_heads",
    "to_additive_mask",
    "to_torch_mha_mask",
]
