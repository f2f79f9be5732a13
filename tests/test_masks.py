"""Masks: causal, padding, their combination, and the conversions to a bias and to torch's MHA meaning.

Convention: bool, True = may attend, broadcastable to ``(..., T_q, T_k)``.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import attn_lib
from attn_lib import (
    causal_mask,
    combine_masks,
    padding_mask,
    scaled_dot_product_attention,
    sliding_window_mask,
    to_additive_mask,
    to_torch_mha_mask,
)

Y, N = True, False  # Y = may attend, N = blocked


# ---------------------------------------------------------------- causal_mask


def test_causal_mask_is_true_on_and_below_the_diagonal():
    expected = torch.tensor([[Y, N, N, N], [Y, Y, N, N], [Y, Y, Y, N], [Y, Y, Y, Y]])
    assert torch.equal(causal_mask(4), expected)


def test_causal_mask_is_bool():
    assert causal_mask(3).dtype == torch.bool


def test_causal_mask_with_longer_keys_lets_query_i_see_keys_up_to_i_plus_offset():
    # 2 queries are the last 2 of 5 positions: query 0 is position 3, query 1 is position 4.
    expected = torch.tensor([[Y, Y, Y, Y, N], [Y, Y, Y, Y, Y]])
    assert torch.equal(causal_mask(2, 5), expected)


@pytest.mark.parametrize(("T_q", "T_k"), [(1, 1), (1, 4), (3, 3), (3, 7), (6, 8)])
def test_causal_mask_with_offset_equals_shifted_tril(T_q, T_k):
    expected = torch.ones(T_q, T_k, dtype=torch.bool).tril(diagonal=T_k - T_q)
    assert torch.equal(causal_mask(T_q, T_k), expected)


def test_causal_mask_with_longer_keys_is_aligned_bottom_right_unlike_torch_is_causal():
    q, k, v = torch.randn(3, 4), torch.randn(5, 4), torch.randn(5, 2)
    top_left = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    ours = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(3, 5))
    unshifted = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, attn_mask=torch.ones(3, 5, dtype=torch.bool).tril(diagonal=0)
    )
    torch.testing.assert_close(top_left, unshifted)  # is_causal = tril without a shift
    assert not torch.allclose(ours, top_left)


@pytest.mark.parametrize(("T_q", "T_k"), [(4, 1), (5, 3), (6, 5)])
def test_causal_mask_with_shorter_keys_is_not_shifted_and_masks_no_row_fully(T_q, T_k):
    mask = causal_mask(T_q, T_k)
    assert torch.equal(mask, torch.ones(T_q, T_k, dtype=torch.bool).tril())
    assert bool(mask.any(dim=-1).all())


def test_causal_mask_last_query_sees_every_key_when_keys_are_longer():
    assert bool(causal_mask(3, 8)[-1].all())


def test_causal_mask_is_built_on_the_requested_device():
    assert causal_mask(3, device="cpu").device == torch.device("cpu")


@pytest.mark.parametrize(("args", "name", "got"), [((0,), "T_q", 0), ((3, -1), "T_k", -1)])
def test_causal_mask_rejects_non_positive_lengths(args, name, got):
    with pytest.raises(ValueError, match=f"{name} must be a positive length, got {got}"):
        causal_mask(*args)


@pytest.mark.parametrize("bad", [2.0, True, "3"])
def test_causal_mask_rejects_non_int_lengths(bad):
    with pytest.raises(TypeError, match=f"T_q must be an int, got {type(bad).__name__}"):
        causal_mask(bad)


# ---------------------------------------------------------------- padding_mask


def test_padding_mask_has_shape_b_1_1_t():
    tokens = torch.tensor([[5, 6, 0], [7, 0, 0]])
    assert padding_mask(tokens, pad_id=0).shape == (2, 1, 1, 3)


def test_padding_mask_is_true_exactly_at_real_tokens():
    tokens = torch.tensor([[5, 6, 1], [7, 1, 1]])
    expected = torch.tensor([[Y, Y, N], [Y, N, N]])
    assert torch.equal(padding_mask(tokens, pad_id=1)[:, 0, 0], expected)


def test_padding_mask_broadcasts_over_heads_and_queries():
    tokens = torch.tensor([[5, 6, 0], [7, 0, 0]])
    full = torch.broadcast_to(padding_mask(tokens, 0), (2, 4, 5, 3))  # (B, H, T_q, T_k)
    assert torch.equal(full[:, :, :, 1], torch.tensor([Y, N])[:, None, None].expand(2, 4, 5))


def test_padding_mask_rejects_a_non_tensor():
    with pytest.raises(TypeError, match=r"tokens must be a torch\.Tensor, got list"):
        padding_mask([[1, 2]], 0)


def test_padding_mask_rejects_tokens_that_are_not_b_by_t():
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, T\), got shape \(3,\)"):
        padding_mask(torch.tensor([1, 2, 0]), 0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bool])
def test_padding_mask_rejects_non_integer_tokens(dtype):
    with pytest.raises(TypeError, match=f"tokens must hold integer ids, got dtype {dtype}"):
        padding_mask(torch.ones(2, 3, dtype=dtype), 0)


# ---------------------------------------------------------------- combine_masks


def test_combine_masks_of_nothing_is_none():
    assert combine_masks(None, None) is None


def test_combine_masks_skips_none():
    m = causal_mask(3)
    assert torch.equal(combine_masks(None, m, None), m)


def test_combine_masks_broadcasts_causal_and_padding_to_b_1_t_t():
    tokens = torch.tensor([[4, 5, 0], [6, 0, 0]])
    assert combine_masks(causal_mask(3), padding_mask(tokens, 0)).shape == (2, 1, 3, 3)


def test_combine_masks_is_logical_and():
    tokens = torch.tensor([[4, 5, 0], [6, 0, 0]])
    causal, pad = causal_mask(3), padding_mask(tokens, 0)
    assert torch.equal(combine_masks(causal, pad), causal[None, None] & pad)


def test_combine_masks_does_not_mutate_its_inputs():
    a, b = causal_mask(3), torch.tensor([Y, N, Y])
    a_before = a.clone()
    combine_masks(a, b)
    assert torch.equal(a, a_before)


def test_combine_masks_rejects_a_non_bool_mask_naming_its_position():
    with pytest.raises(
        TypeError, match=r"masks\[1\] must be a bool tensor .* got dtype torch.int64; .*\.bool\(\)"
    ):
        combine_masks(causal_mask(3), torch.ones(3, 3, dtype=torch.long))


def test_combine_masks_rejects_a_non_tensor():
    with pytest.raises(TypeError, match=r"masks\[0\] must be a bool torch.Tensor, got list"):
        combine_masks([[True]])


def test_combine_masks_rejects_masks_that_do_not_broadcast():
    with pytest.raises(
        ValueError, match=r"masks\[1\] of shape \(4, 4\) does not broadcast .* shape \(3, 3\)"
    ):
        combine_masks(causal_mask(3), causal_mask(4))


# ---------------------------------------------------------------- to_additive_mask


def test_to_additive_mask_is_zero_where_allowed_and_minus_inf_where_blocked():
    bias = to_additive_mask(torch.tensor([Y, N, Y]))
    assert torch.equal(bias, torch.tensor([0.0, float("-inf"), 0.0]))


def test_to_additive_mask_uses_the_requested_dtype():
    assert to_additive_mask(causal_mask(2), dtype=torch.float64).dtype == torch.float64


def test_adding_the_bias_before_softmax_equals_masking():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 4, 3, generator=g) for _ in range(3))
    mask = combine_masks(causal_mask(4), torch.tensor([[Y, Y, Y, N], [Y, Y, N, N]])[:, None, :])
    _, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    biased = torch.softmax(q @ k.transpose(-2, -1) / 3**0.5 + to_additive_mask(mask), dim=-1)
    torch.testing.assert_close(biased, weights)


def test_torch_sdpa_reads_the_bias_like_attn_lib_reads_the_mask():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 5, 4, generator=g) for _ in range(3))
    mask = causal_mask(5)
    ours, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=to_additive_mask(mask))
    torch.testing.assert_close(ours, ref)


def test_to_additive_mask_rejects_a_float_mask():
    with pytest.raises(TypeError, match=r"mask must be a bool tensor .* use mask\.bool\(\)"):
        to_additive_mask(torch.zeros(3))


# ---------------------------------------------------------------- to_torch_mha_mask


def test_to_torch_mha_mask_inverts_the_meaning():
    mask = causal_mask(3)
    assert torch.equal(to_torch_mha_mask(mask), ~mask)


def test_to_torch_mha_mask_twice_is_the_identity():
    mask = padding_mask(torch.tensor([[3, 0]]), 0)
    assert torch.equal(to_torch_mha_mask(to_torch_mha_mask(mask)), mask)


def test_to_torch_mha_mask_does_not_mutate_its_input():
    mask = causal_mask(3)
    to_torch_mha_mask(mask)
    assert torch.equal(mask, causal_mask(3))


def test_to_torch_mha_mask_rejects_a_non_bool_mask():
    with pytest.raises(TypeError, match=r"mask must be a bool tensor .*got dtype torch.float32"):
        to_torch_mha_mask(torch.ones(3, 3))


# ---------------------------------------------------------------- named errors (issue 12)


@pytest.mark.parametrize("dtype", [torch.bool, torch.int64, "float32"])
def test_to_additive_mask_rejects_a_dtype_that_cannot_hold_minus_inf(dtype):
    with pytest.raises(TypeError, match=r"dtype must be a float torch\.dtype"):
        to_additive_mask(causal_mask(3), dtype=dtype)


@pytest.mark.parametrize("pad_id", [torch.tensor([0, 1]), 2.5, None, True])
def test_padding_mask_rejects_a_pad_id_that_is_not_one_int(pad_id):
    with pytest.raises(TypeError, match="pad_id must be one int token id"):
        padding_mask(torch.tensor([[1, 2, 0]]), pad_id)


def test_causal_mask_rejects_an_unknown_device():
    with pytest.raises(ValueError, match="device 'nope' is not a device torch knows"):
        causal_mask(3, device="nope")


def test_combine_masks_rejects_masks_on_different_devices():
    with pytest.raises(ValueError, match=r"masks\[1\] is on device meta"):
        combine_masks(causal_mask(3), causal_mask(3, device="meta"))


# ---------------------------------------------------------------- sliding_window_mask


def test_sliding_window_of_3_lets_each_query_see_itself_and_the_two_keys_before():
    expected = torch.tensor(
        [
            [Y, N, N, N, N],
            [Y, Y, N, N, N],
            [Y, Y, Y, N, N],
            [N, Y, Y, Y, N],
            [N, N, Y, Y, Y],
        ]
    )
    assert torch.equal(sliding_window_mask(5, None, 3), expected)


def test_sliding_window_of_1_is_the_diagonal_only():
    assert torch.equal(sliding_window_mask(4, 4, 1), torch.eye(4, dtype=torch.bool))


def test_sliding_window_equals_transformers_mistral_rule_kv_greater_than_q_minus_window():
    # transformers.masking_utils.sliding_window_causal_mask_function: kv_idx > q_idx - w and kv_idx <= q_idx
    q = torch.arange(7)[:, None]
    kv = torch.arange(7)[None, :]
    for w in range(1, 9):
        assert torch.equal(sliding_window_mask(7, 7, w), (kv > q - w) & (kv <= q))


def test_sliding_window_with_cached_keys_is_aligned_bottom_right_like_causal_mask():
    # 2 queries are positions 3 and 4 of 5; window 2: position 3 sees keys 2, 3; position 4 sees 3, 4
    expected = torch.tensor([[N, N, Y, Y, N], [N, N, N, Y, Y]])
    assert torch.equal(sliding_window_mask(2, 5, 2), expected)


def test_sliding_window_combines_with_a_padding_mask_by_logical_and():
    tokens = torch.tensor([[5, 6, 7, 0]])
    combined = combine_masks(sliding_window_mask(4, 4, 2), padding_mask(tokens, 0))
    assert combined.shape == (1, 1, 4, 4)
    assert not combined[..., 3].any()  # the pad key is never attended
    assert torch.equal(combined[0, 0, :, :3], sliding_window_mask(4, 4, 2)[:, :3])


@settings(max_examples=60, deadline=None)
@given(
    T_q=st.integers(1, 12),
    extra=st.integers(0, 12),
    window=st.integers(1, 30),
)
def test_sliding_window_properties(T_q: int, extra: int, window: int):
    T_k = T_q + extra
    m = sliding_window_mask(T_q, T_k, window)
    causal = causal_mask(T_q, T_k)
    # it is the causal mask with the far past removed: never more than causal
    assert not (m & ~causal).any()
    # every query sees min(window, its position + 1) keys: itself and window - 1 before it
    positions = torch.arange(T_q) + extra
    assert torch.equal(m.sum(-1), torch.clamp(positions + 1, max=window))
    # the key at the query's own position is always allowed, so no row is all blocked
    assert m[torch.arange(T_q), positions].all()
    # a window at least as long as the keys is the causal mask
    if window >= T_k:
        assert torch.equal(m, causal)
    # the last T_q rows of the full (T_k, T_k) mask are the cached-step mask
    assert torch.equal(m, sliding_window_mask(T_k, T_k, window)[extra:])


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((4, 4, 0), ValueError, "window must be >= 1"),
        ((4, 4, 2.5), TypeError, "window must be an int"),
        ((4, 4, True), TypeError, "window must be an int"),
        ((0, 4, 2), ValueError, "T_q must be a positive length"),
        ((4, -1, 2), ValueError, "T_k must be a positive length"),
    ],
)
def test_sliding_window_bad_input_gets_an_error_naming_the_argument(args, error, match):
    with pytest.raises(error, match=match):
        sliding_window_mask(*args)


# ------------------------------------------------------------------ sizes a typo asks for


@pytest.mark.parametrize(
    ("build", "named"),
    [
        (lambda: causal_mask(10**6), "causal_mask(T_q=1000000, T_k=1000000)"),
        (lambda: causal_mask(3, 10**12), "causal_mask(T_q=3, T_k=1000000000000)"),
        (lambda: sliding_window_mask(10**6, None, 4), "sliding_window_mask(T_q=1000000, T_k=1000000)"),
        (
            lambda: attn_lib.sinusoidal_positional_encoding(10**9, 8),
            "sinusoidal_positional_encoding(max_len=1000000000, d_model=8)",
        ),
        (lambda: attn_lib.PositionalEncoding(8, max_len=10**9), "sinusoidal_positional_encoding(max_len="),
        (lambda: attn_lib.MultiHeadAttention(10**6, 2), "MultiHeadAttention(d_model=1000000)"),
        (lambda: attn_lib.FeedForward(8, 10**9), "FeedForward(d_model=8, d_ff=1000000000)"),
        (lambda: attn_lib.DecoderOnlyLM(10**9), "DecoderOnlyLM(vocab_size=1000000000, d_model=64)"),
        (lambda: attn_lib.DecoderOnlyLM(10, max_len=10**9), "DecoderOnlyLM(max_len=1000000000, d_model=64)"),
        (lambda: attn_lib.Transformer(5, 10**9), "Transformer(tgt_vocab_size=1000000000, d_model=64)"),
    ],
)
def test_a_typo_sized_tensor_is_refused_naming_the_call_instead_of_filling_the_memory(build, named):
    # Left to PyTorch: "DefaultCPUAllocator: can't allocate memory" (a raw RuntimeError), or, where
    # the system overcommits, a kernel that fills the RAM until it is killed.
    with pytest.raises(ValueError, match=r"more than the 2 GiB this library builds at once") as err:
        build()
    assert named in str(err.value)


def test_the_size_limit_leaves_what_the_course_builds_alone():
    assert causal_mask(4096).shape == (4096, 4096)  # 16 MB
    assert sliding_window_mask(8192, None, 256).shape == (8192, 8192)  # 64 MB
    assert attn_lib.sinusoidal_positional_encoding(4096, 512).shape == (4096, 512)
