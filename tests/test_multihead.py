"""Multi-head attention, split/merge of heads, and parity with ``torch.nn.MultiheadAttention``.

Our masks are bool True = may attend; ``torch.nn.MultiheadAttention`` reads bool True = may NOT
attend, so every mask handed to it goes through ``to_torch_mha_mask``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_lib import (
    KVCache,
    MultiHeadAttention,
    causal_mask,
    combine_masks,
    merge_heads,
    padding_mask,
    sliding_window_mask,
    split_heads,
    to_torch_mha_mask,
)
from attn_lib.multihead import sliding_window_attention

D, H = 8, 2
CASES = ["self", "self-causal", "self-padding", "self-causal-padding", "cross", "cross-padding"]


# ---------------------------------------------------------------- split_heads / merge_heads


def test_split_heads_gives_b_h_t_dh():
    assert split_heads(torch.zeros(2, 3, 8), 4).shape == (2, 4, 3, 2)


def test_split_heads_gives_head_h_the_features_h_dh_to_h_plus_1_dh():
    x = torch.arange(2 * 3 * 8).view(2, 3, 8)  # (B, T, D), every entry distinct
    heads = split_heads(x, 2)  # (B, H, T, Dh) with Dh = 4
    assert torch.equal(heads[:, 1], x[:, :, 4:8])


def test_split_heads_layout_on_a_small_integer_tensor():
    x = torch.tensor([[[0, 1, 2, 3, 4, 5], [10, 11, 12, 13, 14, 15]]])  # (B=1, T=2, D=6)
    expected = torch.tensor([[[[0, 1], [10, 11]], [[2, 3], [12, 13]], [[4, 5], [14, 15]]]])  # (1, 3, 2, 2)
    assert torch.equal(split_heads(x, 3), expected)


@settings(max_examples=25, deadline=None)
@given(B=st.integers(1, 3), T=st.integers(1, 5), H_=st.integers(1, 4), Dh=st.integers(1, 4))
def test_merge_heads_undoes_split_heads(B, T, H_, Dh):
    x = torch.randn(B, T, H_ * Dh)
    assert torch.equal(merge_heads(split_heads(x, H_)), x)


def test_merge_heads_gives_b_t_h_times_dh():
    assert merge_heads(torch.zeros(2, 4, 3, 5)).shape == (2, 3, 20)


def test_split_heads_rejects_wrong_rank():
    with pytest.raises(ValueError, match=r"split_heads expects x of shape \(B, T, D\), got shape \(3, 8\)"):
        split_heads(torch.zeros(3, 8), 2)


def test_merge_heads_rejects_wrong_rank():
    with pytest.raises(
        ValueError, match=r"merge_heads expects x of shape \(B, H, T, Dh\), got shape \(2, 3, 8\)"
    ):
        merge_heads(torch.zeros(2, 3, 8))


def test_split_heads_rejects_a_width_not_divisible_by_num_heads():
    with pytest.raises(ValueError, match=r"last dimension of x \(D=8\) is not divisible by num_heads=3"):
        split_heads(torch.zeros(1, 2, 8), 3)


@pytest.mark.parametrize("num_heads", [0, -2, 2.0, True])
def test_split_heads_rejects_a_num_heads_that_is_not_a_positive_int(num_heads):
    with pytest.raises(ValueError, match=f"num_heads must be a positive int, got {num_heads!r}"):
        split_heads(torch.zeros(1, 2, 8), num_heads)


@pytest.mark.parametrize("fn", [lambda x: split_heads(x, 2), merge_heads])
def test_split_and_merge_heads_reject_a_non_tensor(fn):
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor, got list"):
        fn([[[1.0, 2.0]]])


# ---------------------------------------------------------------- construction


def test_mha_rejects_d_model_not_divisible_by_num_heads():
    with pytest.raises(
        ValueError, match=r"d_model=10 is not divisible by num_heads=3.*num_heads in \[1, 2, 5, 10\]"
    ):
        MultiHeadAttention(10, 3)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 2), "d_model must be a positive int, got 0"),
        ((8, 0), "num_heads must be a positive int, got 0"),
        ((8.0, 2), "d_model must be a positive int, got 8.0"),
    ],
)
def test_mha_rejects_sizes_that_are_not_positive_ints(args, message):
    with pytest.raises(ValueError, match=message):
        MultiHeadAttention(*args)


def test_mha_rejects_dropout_outside_zero_one():
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        MultiHeadAttention(8, 2, dropout=1.5)


def test_mha_has_head_dim_d_model_over_num_heads():
    assert MultiHeadAttention(12, 3).head_dim == 4


# ---------------------------------------------------------------- parity with torch.nn.MultiheadAttention


def make_torch_mha(bias=True, seed=0, dtype=torch.float32):
    """A batch_first torch MHA with random (non-zero) biases, so copying them is checked too."""
    torch.manual_seed(seed)
    mha = nn.MultiheadAttention(D, H, batch_first=True, bias=bias).to(dtype)
    if bias:
        with torch.no_grad():
            mha.in_proj_bias.normal_()
            mha.out_proj.bias.normal_()
    return mha


@dataclass
class Case:
    query: torch.Tensor
    key: torch.Tensor
    value: torch.Tensor
    mask: torch.Tensor | None  # ours: True = may attend
    attn_mask: torch.Tensor | None  # torch: True = blocked, (T_q, T_k)
    key_padding_mask: torch.Tensor | None  # torch: True = blocked, (B, T_k)

    def inputs(self):
        return (self.query,) if self.query is self.key is self.value else (self.query, self.key, self.value)


def make_case(name, B=2, T_q=5, T_k=7, seed=0, grad=False, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    if name.startswith("self"):
        x = torch.randn(B, T_q, D, generator=g, dtype=dtype).requires_grad_(grad)
        q = k = v = x
        T_k = T_q
    else:
        q = torch.randn(B, T_q, D, generator=g, dtype=dtype).requires_grad_(grad)
        k = torch.randn(B, T_k, D, generator=g, dtype=dtype).requires_grad_(grad)
        v = torch.randn(B, T_k, D, generator=g, dtype=dtype).requires_grad_(grad)
    causal = causal_mask(T_q, T_k) if "causal" in name else None
    pad = None
    if "padding" in name:
        tokens = torch.ones(B, T_k, dtype=torch.long)
        tokens[0, -2:] = 0  # sequence 0 has 2 padded keys, sequence 1 has none
        pad = padding_mask(tokens, pad_id=0)  # (B, 1, 1, T_k)
    return Case(
        q,
        k,
        v,
        mask=combine_masks(causal, pad),
        attn_mask=None if causal is None else to_torch_mha_mask(causal),
        key_padding_mask=None if pad is None else to_torch_mha_mask(pad).squeeze(1).squeeze(1),
    )


def run_torch(mha, case, **kwargs):
    return mha(
        case.query,
        case.key,
        case.value,
        attn_mask=case.attn_mask,
        key_padding_mask=case.key_padding_mask,
        **kwargs,
    )


@pytest.mark.parametrize("name", CASES)
def test_mha_matches_torch_multihead_attention_outputs(name):
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case(name)
    out, _ = ours(case.query, case.key, case.value, mask=case.mask)
    torch.testing.assert_close(out, run_torch(theirs, case)[0])


@pytest.mark.parametrize("name", CASES)
def test_mha_head_averaged_weights_match_torch(name):
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case(name)
    _, weights = ours(case.query, case.key, case.value, mask=case.mask)
    torch.testing.assert_close(weights.mean(1), run_torch(theirs, case, average_attn_weights=True)[1])


@pytest.mark.parametrize("name", CASES)
def test_mha_per_head_weights_match_torch(name):
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case(name)
    _, weights = ours(case.query, case.key, case.value, mask=case.mask)  # (B, H, T_q, T_k)
    torch.testing.assert_close(weights, run_torch(theirs, case, average_attn_weights=False)[1])


@pytest.mark.parametrize("name", CASES)
def test_mha_without_weights_matches_torch(name):
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case(name)
    out, weights = ours(case.query, case.key, case.value, mask=case.mask, need_weights=False)
    ref, ref_weights = run_torch(theirs, case, need_weights=False)
    assert weights is None and ref_weights is None
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize("name", ["self-causal", "cross-padding"])
def test_mha_without_bias_matches_torch(name):
    theirs = make_torch_mha(bias=False)
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case(name)
    out, _ = ours(case.query, case.key, case.value, mask=case.mask)
    torch.testing.assert_close(out, run_torch(theirs, case)[0])


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("name", CASES)
def test_mha_input_gradients_match_torch(name, need_weights):
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    ours_case, ref_case = make_case(name, grad=True), make_case(name, grad=True)
    out, _ = ours(
        ours_case.query, ours_case.key, ours_case.value, mask=ours_case.mask, need_weights=need_weights
    )
    ref = run_torch(theirs, ref_case, need_weights=need_weights)[0]
    grad_out = torch.randn_like(ref)
    torch.testing.assert_close(
        torch.autograd.grad(out, ours_case.inputs(), grad_out),
        torch.autograd.grad(ref, ref_case.inputs(), grad_out),
    )


@pytest.mark.parametrize("name", CASES)
def test_mha_parameter_gradients_match_torch(name):
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case(name)
    out, _ = ours(case.query, case.key, case.value, mask=case.mask)
    ref = run_torch(theirs, case)[0]
    grad_out = torch.randn_like(ref)
    out.backward(grad_out)
    ref.backward(grad_out)
    ours_in_proj = torch.cat([p.weight.grad for p in (ours.q_proj, ours.k_proj, ours.v_proj)])
    ours_in_bias = torch.cat([p.bias.grad for p in (ours.q_proj, ours.k_proj, ours.v_proj)])
    torch.testing.assert_close(
        (ours_in_proj, ours_in_bias, ours.out_proj.weight.grad, ours.out_proj.bias.grad),
        (
            theirs.in_proj_weight.grad,
            theirs.in_proj_bias.grad,
            theirs.out_proj.weight.grad,
            theirs.out_proj.bias.grad,
        ),
    )


def test_mha_matches_torch_tightly_in_float64():
    theirs = make_torch_mha(dtype=torch.float64)
    ours = MultiHeadAttention.from_torch(theirs)
    case = make_case("self-causal-padding", dtype=torch.float64)
    out, _ = ours(case.query, case.key, case.value, mask=case.mask)
    torch.testing.assert_close(out, run_torch(theirs, case)[0], rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- the opposite mask meaning


def padding_only_case():
    """Cross-attention where each sequence has both real and padded keys (no row fully blocked)."""
    g = torch.Generator().manual_seed(3)
    q, kv = torch.randn(2, 4, D, generator=g), torch.randn(2, 6, D, generator=g)
    tokens = torch.tensor([[5, 5, 5, 0, 0, 0], [5, 5, 5, 5, 5, 0]])
    return q, kv, padding_mask(tokens, 0)  # (B, 1, 1, T_k)


def test_unconverted_attn_lib_mask_gives_torch_mha_different_results():
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    q, kv, pad = padding_only_case()
    wrong, _ = theirs(q, kv, kv, key_padding_mask=pad[:, 0, 0])  # our meaning, not converted
    out, _ = ours(q, kv, kv, mask=pad)
    assert not torch.allclose(wrong, out, atol=1e-3)


def test_unconverted_attn_lib_mask_makes_torch_mha_attend_to_exactly_the_padding():
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    q, kv, pad = padding_only_case()
    _, wrong_weights = theirs(q, kv, kv, key_padding_mask=pad[:, 0, 0], average_attn_weights=False)
    _, inverted_weights = ours(q, kv, kv, mask=~pad)
    torch.testing.assert_close(wrong_weights, inverted_weights)


def test_to_torch_mha_mask_makes_torch_mha_agree():
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    q, kv, pad = padding_only_case()
    ref, _ = theirs(q, kv, kv, key_padding_mask=to_torch_mha_mask(pad)[:, 0, 0])
    out, _ = ours(q, kv, kv, mask=pad)
    torch.testing.assert_close(out, ref)


# ---------------------------------------------------------------- from_torch


def test_from_torch_puts_in_proj_rows_into_q_k_v_projections():
    theirs = make_torch_mha()
    ours = MultiHeadAttention.from_torch(theirs)
    copied = torch.cat([ours.q_proj.weight, ours.k_proj.weight, ours.v_proj.weight])
    assert torch.equal(copied, theirs.in_proj_weight)


def test_from_torch_keeps_the_dtype():
    ours = MultiHeadAttention.from_torch(make_torch_mha(dtype=torch.float64))
    assert ours.q_proj.weight.dtype == torch.float64


def test_from_torch_copies_float64_weights_exactly():
    theirs = nn.MultiheadAttention(D, H, batch_first=True).double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_()  # values that float32 cannot hold exactly
    ours = MultiHeadAttention.from_torch(theirs)
    copied = torch.cat([ours.q_proj.bias, ours.k_proj.bias, ours.v_proj.bias])
    assert torch.equal(copied, theirs.in_proj_bias) and torch.equal(
        ours.out_proj.weight, theirs.out_proj.weight
    )


def test_from_torch_without_bias_has_no_bias():
    ours = MultiHeadAttention.from_torch(make_torch_mha(bias=False))
    assert ours.q_proj.bias is None and ours.out_proj.bias is None


def test_from_torch_rejects_a_module_that_is_not_mha():
    with pytest.raises(TypeError, match=r"mha must be a torch\.nn\.MultiheadAttention, got Linear"):
        MultiHeadAttention.from_torch(nn.Linear(4, 4))


def test_from_torch_rejects_batch_first_false():
    with pytest.raises(
        ValueError, match=r"mha has batch_first=False \(inputs \(T, B, D\)\).*batch_first=True"
    ):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H))


def test_from_torch_rejects_add_bias_kv():
    with pytest.raises(ValueError, match="mha uses add_bias_kv or add_zero_attn"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H, batch_first=True, add_bias_kv=True))


def test_from_torch_rejects_add_zero_attn():
    with pytest.raises(ValueError, match="mha uses add_bias_kv or add_zero_attn"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H, batch_first=True, add_zero_attn=True))


def test_from_torch_rejects_different_kdim():
    with pytest.raises(ValueError, match="mha has kdim/vdim different from embed_dim"):
        MultiHeadAttention.from_torch(nn.MultiheadAttention(D, H, batch_first=True, kdim=4, vdim=4))


# ---------------------------------------------------------------- our own behaviour


def small_mha(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return MultiHeadAttention(D, H, dropout=dropout).double()


def test_packed_self_attention_equals_separate_projections():
    mha = small_mha()
    x = torch.randn(2, 5, D, dtype=torch.float64)
    packed, _ = mha(x, x, x, mask=causal_mask(5))  # one (D -> 3D) matmul
    separate, _ = mha(x, x.clone(), x.clone(), mask=causal_mask(5))  # three matmuls
    torch.testing.assert_close(packed, separate)


@pytest.mark.parametrize("name", ["self-causal-padding", "cross-padding"])
def test_mha_output_is_the_same_with_and_without_weights(name):
    mha = small_mha()
    case = make_case(name, dtype=torch.float64)
    with_w, _ = mha(case.query, case.key, case.value, mask=case.mask)
    without_w, _ = mha(case.query, case.key, case.value, mask=case.mask, need_weights=False)
    torch.testing.assert_close(with_w, without_w)


def test_mha_weights_have_shape_b_h_t_q_t_k():
    mha = small_mha()
    case = make_case("cross", dtype=torch.float64)
    out, weights = mha(case.query, case.key, case.value)
    assert (out.shape, weights.shape) == ((2, 5, D), (2, H, 5, 7))


def test_mha_dropout_is_off_in_eval_mode():
    with_dropout = small_mha(dropout=0.5).eval()
    without = small_mha(dropout=0.0)
    x = torch.randn(2, 5, D, dtype=torch.float64)
    torch.testing.assert_close(with_dropout(x, x, x)[0], without(x, x, x)[0])


def test_mha_dropout_drops_weights_in_training_mode():
    mha = small_mha(dropout=0.5).train()
    x = torch.randn(2, 5, D, dtype=torch.float64)
    torch.manual_seed(0)
    _, weights = mha(x, x, x)
    assert bool((weights == 0).any())


def test_mha_with_a_growing_cache_equals_one_causal_pass():
    mha = small_mha()
    x = torch.randn(2, 6, D, dtype=torch.float64)
    full, _ = mha(x, x, x, mask=causal_mask(6))
    cache = KVCache()
    parts = []
    for lo, hi in [(0, 2), (2, 3), (3, 6)]:  # chunks of 2, 1 and 3 new positions
        chunk = x[:, lo:hi]
        parts.append(mha(chunk, chunk, chunk, mask=causal_mask(hi - lo, hi), cache=cache)[0])
    torch.testing.assert_close(torch.cat(parts, dim=1), full)


def test_kv_cache_length_counts_cached_positions():
    mha = small_mha()
    cache = KVCache()
    x = torch.randn(1, 3, D, dtype=torch.float64)
    lengths = [cache.length]
    mha(x, x, x, cache=cache)
    lengths.append(cache.length)
    assert lengths == [0, 3]


def test_static_kv_cache_is_reused_unchanged():
    mha = small_mha()
    q, memory = torch.randn(1, 2, D, dtype=torch.float64), torch.randn(1, 4, D, dtype=torch.float64)
    cache = KVCache(static=True)
    first, _ = mha(q, memory, memory, cache=cache)
    second, _ = mha(q, torch.zeros_like(memory), torch.zeros_like(memory), cache=cache)  # ignored
    torch.testing.assert_close(second, first)


# ---------------------------------------------------------------- properties


@settings(max_examples=30, deadline=None)
@given(data=st.data(), T=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_mha_self_attention_is_permutation_equivariant(data, T, seed):
    perm = torch.tensor(data.draw(st.permutations(range(T))))
    mha = small_mha(seed % 7)
    x = torch.randn(2, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    out, _ = mha(x, x, x)
    out_perm, _ = mha(x[:, perm], x[:, perm], x[:, perm])
    torch.testing.assert_close(out_perm, out[:, perm])


@settings(max_examples=30, deadline=None)
@given(data=st.data(), T=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_mha_self_attention_weights_permute_with_the_tokens(data, T, seed):
    perm = torch.tensor(data.draw(st.permutations(range(T))))
    mha = small_mha(seed % 7)
    x = torch.randn(2, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    _, w = mha(x, x, x)
    xp = x[:, perm]
    _, w_perm = mha(xp, xp, xp)
    torch.testing.assert_close(w_perm, w[:, :, perm][:, :, :, perm])


def causal_jacobian(T, seed, need_weights):
    """``|d out_i / d x_j|`` summed over batch and features: a ``(T, T)`` table (row i, column j)."""
    mha = small_mha(seed % 7)
    x = torch.randn(2, T, D, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    mask = causal_mask(T)

    def f(inp):
        return mha(inp, inp, inp, mask=mask, need_weights=need_weights)[0]

    jac = torch.autograd.functional.jacobian(f, x, vectorize=True)  # (B, T, D, B, T, D)
    return jac.abs().sum(dim=(0, 2, 3, 5))  # (T_out, T_in)


@settings(max_examples=25, deadline=None)
@given(T=st.integers(2, 6), seed=st.integers(0, 2**16), need_weights=st.booleans())
def test_causal_mask_blocks_gradient_from_future(T, seed, need_weights):
    jac = causal_jacobian(T, seed, need_weights)
    future = ~causal_mask(T)  # j > i
    assert torch.equal(jac[future], torch.zeros_like(jac[future]))


@pytest.mark.parametrize("need_weights", [True, False])
def test_causal_mask_lets_gradient_flow_from_the_past(need_weights):
    jac = causal_jacobian(5, seed=1, need_weights=need_weights)
    assert bool((jac[causal_mask(5)] > 0).all())


# ---------------------------------------------------------------- bad input to forward


@pytest.mark.parametrize("position", [0, 1, 2])
def test_mha_rejects_a_non_tensor_input(position):
    mha = small_mha()
    args = [torch.randn(1, 3, D, dtype=torch.float64) for _ in range(3)]
    args[position] = args[position].tolist()
    name = ("query", "key", "value")[position]
    with pytest.raises(TypeError, match=f"{name} must be a torch.Tensor, got list"):
        mha(*args)


def test_mha_rejects_inputs_of_the_wrong_width():
    mha = small_mha()
    x = torch.randn(1, 3, D + 1, dtype=torch.float64)
    with pytest.raises(
        ValueError, match=rf"query must have shape \(B, T, d_model={D}\), got \(1, 3, {D + 1}\)"
    ):
        mha(x, x, x)


def test_mha_rejects_key_and_value_of_different_lengths():
    mha = small_mha()
    q, k, v = (torch.randn(1, t, D, dtype=torch.float64) for t in (2, 3, 4))
    with pytest.raises(ValueError, match=r"key has length 3 but value has 4; they must match \(T_k\)"):
        mha(q, k, v)


def test_mha_rejects_a_mask_that_does_not_broadcast():
    mha = small_mha()
    x = torch.randn(2, 3, D, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"mask of shape \(4, 4\) does not broadcast .* \(2, 2, 3, 3\)"):
        mha(x, x, x, mask=causal_mask(4))


def test_mha_rejects_a_float_mask_and_says_how_to_convert():
    mha = small_mha()
    x = torch.randn(2, 3, D, dtype=torch.float64)
    with pytest.raises(TypeError, match=r"mask\.bool\(\).*to_additive_mask"):
        mha(x, x, x, mask=torch.ones(3, 3))


# ------------------------------------------------------- the packed QKV weight is kept, and stays right


def self_attention_output(mha: MultiHeadAttention, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return mha(x, x, x, need_weights=False)[0]


def separate_projections_output(mha: MultiHeadAttention, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return mha(x, x.clone(), x.clone(), need_weights=False)[0]  # q, k, v projected one by one


def test_mha_reuses_the_packed_qkv_weight_between_no_grad_calls():
    mha = MultiHeadAttention(D, H).eval()
    x = torch.randn(2, 5, D)
    self_attention_output(mha, x)
    packed = mha._packed[1]
    self_attention_output(mha, x)
    assert mha._packed[1] is packed


def test_mha_packed_weight_follows_an_optimizer_step():
    mha = MultiHeadAttention(D, H)
    x = torch.randn(2, 5, D)
    before = self_attention_output(mha, x)
    opt = torch.optim.SGD(mha.parameters(), lr=0.5)
    mha(x, x, x)[0].square().sum().backward()
    opt.step()
    after = self_attention_output(mha, x)
    assert (after - before).abs().max() > 1e-3  # the step changed the output...
    torch.testing.assert_close(after, separate_projections_output(mha, x))  # ...and the packed path saw it


def test_mha_packed_weight_follows_load_state_dict_and_in_place_writes():
    mha, other = MultiHeadAttention(D, H), MultiHeadAttention(D, H)
    x = torch.randn(2, 5, D)
    self_attention_output(mha, x)
    mha.load_state_dict(other.state_dict())
    torch.testing.assert_close(self_attention_output(mha, x), self_attention_output(other, x))
    with torch.no_grad():
        mha.k_proj.bias.add_(1.0)
    torch.testing.assert_close(self_attention_output(mha, x), separate_projections_output(mha, x))


def test_mha_packed_weight_follows_a_new_parameter_and_a_dtype_change():
    mha = MultiHeadAttention(D, H)
    x = torch.randn(2, 5, D)
    self_attention_output(mha, x)
    mha.v_proj.weight = nn.Parameter(torch.randn(D, D))
    torch.testing.assert_close(self_attention_output(mha, x), separate_projections_output(mha, x))
    mha = mha.double()
    torch.testing.assert_close(
        self_attention_output(mha, x.double()), separate_projections_output(mha, x.double())
    )


def test_mha_from_torch_after_a_call_gives_torch_numbers():
    theirs = nn.MultiheadAttention(D, H, batch_first=True).eval()
    ours = MultiHeadAttention.from_torch(theirs).eval()
    x = torch.randn(2, 5, D)
    self_attention_output(ours, x)
    with torch.no_grad():
        theirs.in_proj_weight.mul_(2.0)
    ours.load_state_dict(MultiHeadAttention.from_torch(theirs).state_dict())
    with torch.no_grad():
        ref, _ = theirs(x, x, x, need_weights=False)
    torch.testing.assert_close(self_attention_output(ours, x), ref)


def test_mha_gradients_reach_q_k_v_projections_after_no_grad_calls():
    mha = MultiHeadAttention(D, H)
    x = torch.randn(2, 5, D)
    self_attention_output(mha, x)  # fills the packed cache
    mha(x, x, x)[0].sum().backward()
    ref = MultiHeadAttention(D, H)
    ref.load_state_dict(mha.state_dict())
    ref(x, x.clone(), x.clone())[0].sum().backward()
    for name in ("q_proj", "k_proj", "v_proj"):
        torch.testing.assert_close(getattr(mha, name).weight.grad, getattr(ref, name).weight.grad)


def test_mha_built_under_inference_mode_works_and_follows_in_place_writes():
    x = torch.randn(2, 5, D)
    with torch.inference_mode():
        mha = MultiHeadAttention(D, H)  # inference tensors: no version counter
        before = self_attention_output(mha, x)
        mha.q_proj.weight.mul_(3.0)
        after = self_attention_output(mha, x)
        torch.testing.assert_close(after, separate_projections_output(mha, x))
    assert (after - before).abs().max() > 1e-4


def test_mha_deepcopy_and_pickle_do_not_carry_the_cache():
    import copy
    import pickle

    mha = MultiHeadAttention(D, H)
    x = torch.randn(2, 5, D)
    self_attention_output(mha, x)
    twin = copy.deepcopy(mha)
    assert twin._packed is None
    with torch.no_grad():
        twin.q_proj.weight.zero_()
    torch.testing.assert_close(self_attention_output(twin, x), separate_projections_output(twin, x))
    assert pickle.loads(pickle.dumps(mha))._packed is None


# ---------------------------------------------------------------- named errors


def test_mha_rejects_an_input_of_another_dtype_than_its_parameters():
    mha = MultiHeadAttention(D, H)
    x = torch.randn(2, 3, D, dtype=torch.float64)
    with pytest.raises(
        TypeError,
        match=r"query has dtype torch.float64 but this MultiHeadAttention's parameters are torch.float32",
    ):
        mha(x, x, x)


def test_mha_rejects_integer_inputs():
    x = torch.ones(2, 3, D, dtype=torch.long)
    with pytest.raises(TypeError, match=r"query has dtype torch.int64"):
        MultiHeadAttention(D, H)(x, x, x)


def test_mha_rejects_query_and_key_of_different_batch_sizes():
    q, kv = torch.randn(2, 3, D), torch.randn(1, 4, D)
    with pytest.raises(ValueError, match=r"same batch size B, got 2, 1 and 1"):
        MultiHeadAttention(D, H)(q, kv, kv)


def test_mha_rejects_a_cache_filled_with_another_layout():
    x = torch.randn(2, 1, D)
    cache = KVCache(key=torch.zeros(3, H, 4, D // H), value=torch.zeros(3, H, 4, D // H))
    with pytest.raises(
        ValueError, match=r"cache.key must have shape \(B=2, H=2, T_past, Dh=4\), got \(3, 2, 4, 4\)"
    ):
        MultiHeadAttention(D, H)(x, x, x, cache=cache)


def test_mha_rejects_a_cache_that_is_not_a_kv_cache():
    x = torch.randn(2, 1, D)
    with pytest.raises(TypeError, match="cache must be a KVCache or None, got dict"):
        MultiHeadAttention(D, H)(x, x, x, cache={})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"dropout": float("nan")}, "dropout must be finite"),
        ({"dropout": "0.1"}, "dropout must be a real number"),
        ({"bias": 1}, "bias must be True or False"),
    ],
)
def test_mha_rejects_bad_constructor_arguments_by_name(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        MultiHeadAttention(D, H, **kwargs)


def test_mha_rejects_need_weights_that_is_not_a_bool():
    x = torch.randn(2, 3, D)
    with pytest.raises(TypeError, match="need_weights must be True or False, got NoneType"):
        MultiHeadAttention(D, H)(x, x, x, need_weights=None)


# ---------------------------------------------------------------- today's switches: GQA/MQA, RoPE, window
# (parity with transformers' Llama/Mistral attention: tests/test_transformers_parity.py)


HS = 4  # heads of this section: D = 8 gives head_dim 2, and 2 KV heads are a real group


def _switch_input(B: int = 2, T: int = 7, seed: int = 0) -> torch.Tensor:
    torch.manual_seed(seed)
    return torch.randn(B, T, D, dtype=torch.float64)


@pytest.mark.parametrize("num_kv_heads", [1, 2])
def test_gqa_projects_keys_and_values_to_num_kv_heads_times_head_dim(num_kv_heads: int):
    mha = MultiHeadAttention(D, HS, num_kv_heads=num_kv_heads)
    assert mha.k_proj.weight.shape == (num_kv_heads * (D // HS), D)
    assert mha.v_proj.weight.shape == (num_kv_heads * (D // HS), D)
    assert mha.q_proj.weight.shape == (D, D)


def test_defaults_are_the_2017_module_with_the_same_parameters():
    old = MultiHeadAttention(D, HS)
    assert old.num_kv_heads == HS and old.rope_base is None and old.window is None
    assert {k: v.shape for k, v in old.state_dict().items()} == {
        k: v.shape for k, v in MultiHeadAttention(D, HS, num_kv_heads=HS).state_dict().items()
    }


@pytest.mark.parametrize("num_kv_heads", [1, 2, HS])
def test_gqa_equals_mha_whose_kv_heads_are_copied_in_groups(num_kv_heads: int):
    gqa = MultiHeadAttention(D, HS, num_kv_heads=num_kv_heads).double()
    mha = MultiHeadAttention(D, HS).double()
    Dh, groups = D // HS, HS // num_kv_heads
    with torch.no_grad():
        mha.q_proj.load_state_dict(gqa.q_proj.state_dict())
        mha.out_proj.load_state_dict(gqa.out_proj.state_dict())
        for name in ("k_proj", "v_proj"):
            src, dst = getattr(gqa, name), getattr(mha, name)
            for h in range(HS):  # query head h reads KV head h // groups
                kv = h // groups
                dst.weight[h * Dh : (h + 1) * Dh] = src.weight[kv * Dh : (kv + 1) * Dh]
                dst.bias[h * Dh : (h + 1) * Dh] = src.bias[kv * Dh : (kv + 1) * Dh]
    x = _switch_input()
    for need_weights in (True, False):
        torch.testing.assert_close(
            gqa(x, x, x, mask=causal_mask(7), need_weights=need_weights)[0],
            mha(x, x, x, mask=causal_mask(7), need_weights=need_weights)[0],
        )


@pytest.mark.parametrize("num_kv_heads", [1, 2, HS])
def test_the_cache_stores_only_the_kv_heads_and_steps_equal_the_whole_sequence(num_kv_heads: int):
    mha = MultiHeadAttention(D, HS, num_kv_heads=num_kv_heads, rope=10000.0).double().eval()
    x = _switch_input(T=6)
    full, _ = mha(x, x, x, mask=causal_mask(6))
    cache = KVCache()
    steps = [mha(x[:, t : t + 1], x[:, t : t + 1], x[:, t : t + 1], cache=cache)[0] for t in range(6)]
    assert cache.key.shape == (2, num_kv_heads, 6, D // HS)
    torch.testing.assert_close(torch.cat(steps, dim=1), full)


def test_rope_step_without_the_position_offset_differs_from_the_whole_sequence():
    # the classic bug: the cached step rotated as position 0 instead of t
    mha = MultiHeadAttention(D, HS, rope=10000.0).double().eval()
    x = _switch_input(T=5)
    full, _ = mha(x, x, x, mask=causal_mask(5))
    cache = KVCache()
    mha(x[:, :4], x[:, :4], x[:, :4], mask=causal_mask(4), cache=cache)
    wrong, _ = mha(x[:, 4:], x[:, 4:], x[:, 4:], cache=cache, positions=torch.tensor([0]))
    assert (wrong[:, 0] - full[:, 4]).abs().max() > 1e-3


def test_rope_scores_depend_only_on_the_offset_so_shifting_all_positions_changes_nothing():
    mha = MultiHeadAttention(D, HS, rope=10000.0).double()
    x = _switch_input()
    a, _ = mha(x, x, x, mask=causal_mask(7), positions=torch.arange(7))
    b, _ = mha(x, x, x, mask=causal_mask(7), positions=torch.arange(100, 107))
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("window", [1, 2, 3, 7, 20])
def test_window_equals_passing_the_sliding_window_mask(window: int):
    mha = MultiHeadAttention(D, HS, num_kv_heads=2, window=window).double()
    plain = MultiHeadAttention(D, HS, num_kv_heads=2).double()
    plain.load_state_dict(mha.state_dict())
    x = _switch_input(T=9)
    got, w = mha(x, x, x, mask=causal_mask(9))
    expected, _ = plain(x, x, x, mask=sliding_window_mask(9, 9, window))
    torch.testing.assert_close(got, expected)
    assert torch.equal(w[0, 0] > 0, sliding_window_mask(9, 9, window))  # blocked weights are exactly 0


def test_window_combines_with_a_padding_mask():
    mha = MultiHeadAttention(D, HS, window=3).double()
    x = _switch_input(B=2, T=6)
    pad = torch.ones(2, 1, 1, 6, dtype=torch.bool)
    pad[1, ..., 2] = False  # key 2 of sequence 1 is padding
    _, w = mha(x, x, x, mask=pad)
    assert (w[1, :, :, 2] == 0).all()
    assert torch.equal(w[0, 0] > 0, sliding_window_mask(6, 6, 3))


@pytest.mark.parametrize("num_kv_heads", [1, 2, HS])
@pytest.mark.parametrize("window, max_length", [(3, 3), (3, 5), (1, 1)])
def test_rolling_cache_keeps_max_length_entries_and_equals_the_unbounded_cache(
    num_kv_heads: int, window: int, max_length: int
):
    mha = MultiHeadAttention(D, HS, num_kv_heads=num_kv_heads, rope=10000.0, window=window).double().eval()
    x = _switch_input(B=2, T=11)
    bounded, unbounded = KVCache(max_length=max_length), KVCache()
    mha(x[:, :4], x[:, :4], x[:, :4], cache=bounded)  # a prefill longer than the window
    mha(x[:, :4], x[:, :4], x[:, :4], cache=unbounded)
    for t in range(4, 11):
        step = x[:, t : t + 1]
        a, _ = mha(step, step, step, cache=bounded)
        b, _ = mha(step, step, step, cache=unbounded)
        assert bounded.length == min(max_length, t + 1) and bounded.seen == t + 1
        torch.testing.assert_close(a, b)
    assert unbounded.length == 11


def test_rolling_cache_without_a_window_is_refused():
    mha = MultiHeadAttention(D, HS, window=4)
    x = torch.randn(1, 1, D)
    with pytest.raises(ValueError, match="max_length=3 drops keys this module still attends to"):
        mha(x, x, x, cache=KVCache(max_length=3))
    with pytest.raises(ValueError, match="window=None"):
        MultiHeadAttention(D, HS)(x, x, x, cache=KVCache(max_length=3))


def test_gradients_flow_through_rope_and_gqa_and_block_keys_outside_the_window():
    mha = MultiHeadAttention(D, HS, num_kv_heads=1, rope=10000.0, window=2).double()
    x = _switch_input(B=1, T=6).requires_grad_(True)
    out, _ = mha(x, x, x)
    (g,) = torch.autograd.grad(out[0, 5].sum(), x)
    assert (g[0, :4] == 0).all()  # keys 0..3 are outside the window of position 5: exactly 0
    assert (g[0, 4:].abs().sum(-1) > 0).all()


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"num_kv_heads": 3}, ValueError, "num_kv_heads=3 must divide num_heads=4"),
        ({"num_kv_heads": 0}, ValueError, "num_kv_heads must be None or a positive int"),
        ({"window": 0}, ValueError, "window must be None"),
        ({"window": 2.0}, ValueError, "window must be None"),
        ({"rope": "yes"}, TypeError, "rope must be None, a frequency base"),
        ({"rope": 0.5}, ValueError, "base must be a finite number > 1"),
        ({"rope": {"base": 100.0, "pairs": "half"}}, ValueError, "rope dict takes the keys"),
        ({"rope": {"pairing": "odd"}}, ValueError, "rope pairing must be one of"),
    ],
)
def test_bad_switches_get_an_error_naming_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        MultiHeadAttention(D, HS, **kwargs)


def test_bad_positions_and_cross_attention_with_rope_get_named_errors():
    x, mem = torch.randn(2, 3, D), torch.randn(2, 5, D)
    with pytest.raises(ValueError, match="rope=None"):
        MultiHeadAttention(D, HS)(x, x, x, positions=torch.arange(3))
    rope = MultiHeadAttention(D, HS, rope=10000.0)
    with pytest.raises(ValueError, match=r"positions must have shape \(T_q,\) or \(B, T_q\)"):
        rope(x, x, x, positions=torch.arange(4))
    with pytest.raises(TypeError, match="positions must be an integer tensor"):
        rope(x, x, x, positions=torch.arange(3.0))
    with pytest.raises(ValueError, match="rope and window are for self-attention"):
        rope(x, mem, mem)
    with pytest.raises(ValueError, match="max_length must be None"):
        KVCache(max_length=0)


@pytest.mark.parametrize(
    "T, window, block", [(17, 4, None), (16, 1, None), (9, 20, None), (30, 5, 3), (12, 3, 7)]
)
def test_banded_sliding_window_attention_equals_full_attention_with_the_window_mask(T, window, block):
    torch.manual_seed(T)
    q, k, v = torch.randn(3, 2, 3, T, 4, dtype=torch.float64).unbind(0)
    mask = sliding_window_mask(T, T, window)
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(sliding_window_attention(q, k, v, window, block), expected)


def test_banded_sliding_window_attention_of_no_tokens_is_empty_like_full_attention():
    q = torch.randn(2, 3, 0, 4, requires_grad=True)
    out = sliding_window_attention(q, q, q, 2)
    assert out.shape == (2, 3, 0, 4)  # was torch.cat's own error about an empty list
    assert out.shape == torch.nn.functional.scaled_dot_product_attention(q, q, q).shape
    out.sum().backward()
    assert q.grad is not None and q.grad.shape == q.shape


def test_banded_sliding_window_attention_names_bad_arguments():
    q = torch.randn(1, 1, 4, 2)
    with pytest.raises(ValueError, match="window must be an int >= 1"):
        sliding_window_attention(q, q, q, 0)
    with pytest.raises(ValueError, match="block_size must be None or a positive int"):
        sliding_window_attention(q, q, q, 2, 0)
    with pytest.raises(ValueError, match="q must be a tensor of shape"):
        sliding_window_attention(q[0], q, q, 2)
