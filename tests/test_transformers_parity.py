"""attn_lib's attention against what people actually run: Hugging Face ``transformers``' Llama and Mistral.

Weights are copied from ``LlamaAttention`` / ``MistralAttention`` built from a tiny random config (no
download) into :class:`attn_lib.MultiHeadAttention` with the same switches (``num_kv_heads``,
``rope``, ``window``); the outputs must be equal up to rounding, with causal, padding and sliding-window
masks, shifted positions and a cached one-token step. Computed in float64; the tolerance is float32's
because ``transformers``' rotary embedding computes its cos/sin in float32 whatever the input dtype
(``attn_lib.rope`` computes the angles in float64); a wrong pairing, head order or window is off by O(1).

``transformers`` is a development dependency (the ``dev`` extra), not one of the library's: without it
these tests are skipped locally; where ``CI`` is set they fail instead of skipping.
"""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn.functional as F

from attn_lib import KVCache, MultiHeadAttention, causal_mask, combine_masks, sliding_window_mask
from attn_lib.masks import to_additive_mask
from attn_lib.multihead import merge_heads, split_heads

if os.environ.get("CI"):
    import transformers
else:
    transformers = pytest.importorskip("transformers", reason="transformers is in the dev extra")

from transformers.models.llama.modeling_llama import LlamaAttention, LlamaRotaryEmbedding
from transformers.models.mistral.modeling_mistral import MistralAttention

D, H = 64, 4
TOL = {"rtol": 1e-5, "atol": 1e-6}  # float32 cos/sin in transformers' rotary embedding


def _config(kind: str, num_kv_heads: int, window: int | None = None):
    common = dict(
        hidden_size=D,
        num_attention_heads=H,
        num_key_value_heads=num_kv_heads,
        intermediate_size=128,
        num_hidden_layers=1,
        vocab_size=50,
        max_position_embeddings=256,
        attention_dropout=0.0,
    )
    if kind == "llama":
        config = transformers.LlamaConfig(**common)
    else:
        config = transformers.MistralConfig(sliding_window=window, **common)
    config._attn_implementation = "eager"  # the reference written out in Python: scores, mask, softmax
    return config


def _pair(kind: str, num_kv_heads: int, window: int | None = None, seed: int = 0):
    """An HF attention layer and an attn_lib one holding the same weights (float64)."""
    torch.manual_seed(seed)
    config = _config(kind, num_kv_heads, window)
    hf = (LlamaAttention if kind == "llama" else MistralAttention)(config, layer_idx=0).double().eval()
    with torch.no_grad():  # HF initialises biases off and weights small; make them all count
        for p in hf.parameters():
            p.normal_(0, 0.2)
    ours = MultiHeadAttention(D, H, bias=False, num_kv_heads=num_kv_heads, rope=10000.0, window=window)
    ours = ours.double().eval()
    with torch.no_grad():
        for name in ("q_proj", "k_proj", "v_proj"):
            getattr(ours, name).weight.copy_(getattr(hf, name).weight)
        ours.out_proj.weight.copy_(hf.o_proj.weight)
    return hf, ours, LlamaRotaryEmbedding(config)


def _hf_forward(hf, rotary, x, position_ids, mask):
    cos, sin = rotary(x, position_ids)  # (B, T, Dh) each
    bias = to_additive_mask(mask, torch.float64)  # HF eager adds a float mask (0 / -inf) to the scores
    return hf(x, position_embeddings=(cos, sin), attention_mask=bias)[0]


SHAPES = [(1, 1), (2, 7), (3, 16)]


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4], ids=["MQA", "GQA", "MHA"])
@pytest.mark.parametrize("B, T", SHAPES)
def test_equals_llama_attention_with_a_causal_mask(num_kv_heads: int, B: int, T: int):
    hf, ours, rotary = _pair("llama", num_kv_heads)
    x = torch.randn(B, T, D, dtype=torch.float64)
    positions = torch.arange(T)
    expected = _hf_forward(
        hf, rotary, x, positions.expand(B, T), causal_mask(T)[None, None].expand(B, 1, T, T)
    )
    got, _ = ours(x, x, x, mask=causal_mask(T), positions=positions)
    torch.testing.assert_close(got, expected, **TOL)


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4], ids=["MQA", "GQA", "MHA"])
def test_equals_llama_attention_with_padding_and_per_sequence_positions(num_kv_heads: int):
    hf, ours, rotary = _pair("llama", num_kv_heads, seed=1)
    B, T = 2, 9
    x = torch.randn(B, T, D, dtype=torch.float64)
    # the second sequence is left-padded by 3: its real tokens start at position 0
    real = torch.ones(B, T, dtype=torch.bool)
    real[1, :3] = False
    positions = torch.stack([torch.arange(T), (torch.arange(T) - 3).clamp(min=0)])  # (B, T)
    mask = combine_masks(causal_mask(T), real[:, None, None, :])  # (B, 1, T, T)
    mask = mask | torch.eye(T, dtype=torch.bool)  # a padded query sees itself (no empty row for HF)
    expected = _hf_forward(hf, rotary, x, positions, mask)
    got, _ = ours(x, x, x, mask=mask, positions=positions)
    torch.testing.assert_close(got[1, 3:], expected[1, 3:], **TOL)
    torch.testing.assert_close(got[0], expected[0], **TOL)


@pytest.mark.parametrize("num_kv_heads", [1, 2])
def test_a_cached_one_token_step_equals_the_last_row_of_llama_on_the_whole_sequence(num_kv_heads: int):
    hf, ours, rotary = _pair("llama", num_kv_heads, seed=2)
    T = 6
    x = torch.randn(2, T, D, dtype=torch.float64)
    expected = _hf_forward(
        hf, rotary, x, torch.arange(T).expand(2, T), causal_mask(T)[None, None].expand(2, 1, T, T)
    )
    cache = KVCache()
    ours(x[:, :-1], x[:, :-1], x[:, :-1], mask=causal_mask(T - 1), cache=cache)  # prefill
    assert cache.key.shape == (2, num_kv_heads, T - 1, D // H)  # only the KV heads are stored
    step, _ = ours(x[:, -1:], x[:, -1:], x[:, -1:], cache=cache)  # position T - 1 taken from the cache
    torch.testing.assert_close(step[:, 0], expected[:, -1], **TOL)


@pytest.mark.parametrize("window", [1, 3, 5, 20])
@pytest.mark.parametrize("num_kv_heads", [1, 2, 4], ids=["MQA", "GQA", "MHA"])
def test_equals_mistral_attention_with_a_sliding_window(window: int, num_kv_heads: int):
    hf, ours, rotary = _pair("mistral", num_kv_heads, window=window, seed=3)
    B, T = 2, 12
    x = torch.randn(B, T, D, dtype=torch.float64)
    positions = torch.arange(T)
    # transformers builds Mistral's mask with sliding_window_causal_mask_function: kv > q - w, kv <= q
    hf_mask = sliding_window_mask(T, T, window)[None, None].expand(B, 1, T, T)
    expected = _hf_forward(hf, rotary, x, positions.expand(B, T), hf_mask)
    got, _ = ours(x, x, x, mask=causal_mask(T), positions=positions)  # the module adds the window itself
    torch.testing.assert_close(got, expected, **TOL)


@pytest.mark.parametrize("B, T, window", [(1, 5, 2), (2, 11, 4), (3, 16, 6)])
def test_equals_mistral_attention_with_a_window_and_a_padding_mask(B: int, T: int, window: int):
    hf, ours, rotary = _pair("mistral", 2, window=window, seed=6)
    x = torch.randn(B, T, D, dtype=torch.float64)
    real = torch.ones(B, 1, 1, T, dtype=torch.bool)
    real[-1, ..., T // 2] = False  # one padded key in the last sequence
    mask = combine_masks(causal_mask(T), real) | torch.eye(T, dtype=torch.bool)  # (B, 1, T, T)
    expected = _hf_forward(
        hf, rotary, x, torch.arange(T).expand(B, T), mask & sliding_window_mask(T, T, window)
    )
    got, _ = ours(x, x, x, mask=mask)  # positions default to 0..T-1; the module adds the window
    torch.testing.assert_close(got, expected, **TOL)


def test_mistral_window_built_by_transformers_own_mask_function_equals_ours():
    from transformers.masking_utils import sliding_window_causal_mask_function

    for window in (1, 2, 4, 9):
        fn = sliding_window_causal_mask_function(window)
        zero = torch.tensor(0)
        theirs = fn(zero, zero, torch.arange(9)[:, None], torch.arange(9)[None, :])  # (9, 9)
        assert torch.equal(sliding_window_mask(9, 9, window), theirs)


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4])
def test_rolling_cache_steps_equal_mistral_on_the_whole_sequence(num_kv_heads: int):
    window, T = 3, 10
    hf, ours, rotary = _pair("mistral", num_kv_heads, window=window, seed=4)
    x = torch.randn(1, T, D, dtype=torch.float64)
    expected = _hf_forward(
        hf, rotary, x, torch.arange(T)[None], sliding_window_mask(T, T, window)[None, None]
    )
    cache = KVCache(max_length=window)
    rows = []
    for t in range(T):
        out, _ = ours(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], cache=cache)
        assert cache.length <= window  # the rolling cache never holds more than w positions
        rows.append(out)
    torch.testing.assert_close(torch.cat(rows, dim=1), expected, **TOL)


# ---------------------------------------------------------------- PyTorch's own GQA


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4])
def test_gqa_equals_torch_scaled_dot_product_attention_with_enable_gqa(num_kv_heads: int):
    torch.manual_seed(5)
    mha = MultiHeadAttention(D, H, num_kv_heads=num_kv_heads).double().eval()
    x = torch.randn(3, 8, D, dtype=torch.float64)
    q = split_heads(mha.q_proj(x), H)  # (B, H, T, Dh)
    k = split_heads(mha.k_proj(x), num_kv_heads)  # (B, H_kv, T, Dh)
    v = split_heads(mha.v_proj(x), num_kv_heads)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(8), enable_gqa=True)
    expected = mha.out_proj(merge_heads(out))
    for need_weights in (True, False):
        got, _ = mha(x, x, x, mask=causal_mask(8), need_weights=need_weights)
        torch.testing.assert_close(got, expected, **TOL)
