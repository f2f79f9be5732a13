"""Efficient attention: chunked (online-softmax) attention, tiled attention and its backward
pass, the measuring tools, the KV cache, and the fused-kernel path of MultiHeadAttention.

Reference for exactness: ``torch.nn.functional.scaled_dot_product_attention`` (which, like
``attn_lib``, gives zeros to a query whose keys are all masked), max abs error <= 1e-5 in float32.
"""

from __future__ import annotations

import math
import re
import time

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_lib import (
    KVCache,
    MultiHeadAttention,
    Transformer,
    causal_mask,
    combine_masks,
    greedy_decode,
    scaled_dot_product_attention,
    to_torch_mha_mask,
)
from attn_lib.efficient import (
    chunked_attention,
    measure_peak_memory,
    measure_time,
    online_softmax_steps,
    operators_called,
    tiled_attention,
)

TOL = 1e-5
MiB = 2**20


def max_abs_err(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return (a - b).abs().max().item()


def qkv(*shape_q: int, T_k: int | None = None, d_v: int | None = None, seed: int = 0, grad: bool = False):
    """Random query (..., T_q, d_k), key (..., T_k, d_k), value (..., T_k, d_v)."""
    g = torch.Generator().manual_seed(seed)
    *batch, T_q, d_k = shape_q
    T_k = T_q if T_k is None else T_k
    d_v = d_k if d_v is None else d_v
    q = torch.randn(*batch, T_q, d_k, generator=g)
    k = torch.randn(*batch, T_k, d_k, generator=g)
    v = torch.randn(*batch, T_k, d_v, generator=g)
    return tuple(t.requires_grad_(grad) for t in (q, k, v))


def padding(lengths: list[int], T_k: int) -> torch.Tensor:
    """(B, 1, 1, T_k) padding mask, True on the first ``length`` keys of each row."""
    return (torch.arange(T_k)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]


# --------------------------------------------------------------------------- chunked_attention


@pytest.mark.parametrize("shape", [(1, 1, 6, 4), (2, 3, 10, 8), (3, 17, 16), (9, 5)])
@pytest.mark.parametrize("chunk_size", [1, 3, 4, 7, 1000])
def test_chunked_attention_equals_sdpa_without_mask(shape, chunk_size):
    q, k, v = qkv(*shape)
    expected = F.scaled_dot_product_attention(q, k, v)
    assert max_abs_err(chunked_attention(q, k, v, chunk_size=chunk_size), expected) <= TOL


@pytest.mark.parametrize("chunk_size", [1, 5, 64])
def test_chunked_attention_with_different_query_and_key_lengths_and_value_width(chunk_size):
    q, k, v = qkv(2, 4, 7, 8, T_k=23, d_v=5)
    out = chunked_attention(q, k, v, chunk_size=chunk_size)
    assert out.shape == (2, 4, 7, 5)
    assert max_abs_err(out, F.scaled_dot_product_attention(q, k, v)) <= TOL


@pytest.mark.parametrize("T_q, T_k", [(9, 9), (4, 11), (11, 11), (1, 13)])
@pytest.mark.parametrize("chunk_size", [1, 3, 8, 100])
def test_chunked_attention_causal_mask_including_cache_offset(T_q, T_k, chunk_size):
    q, k, v = qkv(2, 2, T_q, 8, T_k=T_k, seed=1)
    mask = causal_mask(T_q, T_k)  # with T_k > T_q: the queries are the last T_q positions
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert max_abs_err(chunked_attention(q, k, v, mask=mask, chunk_size=chunk_size), expected) <= TOL


@pytest.mark.parametrize("chunk_size", [1, 4, 6, 50])
def test_chunked_attention_padding_mask(chunk_size):
    q, k, v = qkv(3, 2, 7, 8, T_k=13, seed=2)
    mask = padding([13, 5, 1], 13)  # (B, 1, 1, T_k)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert max_abs_err(chunked_attention(q, k, v, mask=mask, chunk_size=chunk_size), expected) <= TOL


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 9])
def test_chunked_attention_causal_and_padding_combined(chunk_size):
    q, k, v = qkv(2, 3, 9, 4, seed=3)
    mask = combine_masks(causal_mask(9), padding([9, 4], 9))  # (B, 1, T, T)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert max_abs_err(chunked_attention(q, k, v, mask=mask, chunk_size=chunk_size), expected) <= TOL


@pytest.mark.parametrize("chunk_size", [1, 3, 16])
def test_chunked_attention_fully_masked_rows_give_zeros_not_nan(chunk_size):
    q, k, v = qkv(2, 6, 4, T_k=8, seed=4)
    mask = torch.rand(2, 6, 8, generator=torch.Generator().manual_seed(0)) > 0.5
    mask[0, 1] = False  # query 1 of batch 0 may attend to nothing
    mask[1, 4] = False
    mask[1, 5, :3] = False  # the first chunks are fully masked for this row, later ones not
    mask[1, 5, 3:] = True
    out = chunked_attention(q, k, v, mask=mask, chunk_size=chunk_size)
    assert not out.isnan().any()
    assert torch.equal(out[0, 1], torch.zeros(4)) and torch.equal(out[1, 4], torch.zeros(4))
    expected, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    assert max_abs_err(out, expected) <= TOL
    assert max_abs_err(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask)) <= TOL


def test_chunked_attention_every_key_masked():
    q, k, v = qkv(1, 5, 4, T_k=6)
    out = chunked_attention(q, k, v, mask=torch.zeros(5, 6, dtype=torch.bool), chunk_size=4)
    assert torch.equal(out, torch.zeros(1, 5, 4))


def test_chunked_attention_broadcasts_batch_dimensions_like_sdpa():
    g = torch.Generator().manual_seed(5)
    q, k = torch.randn(5, 4, generator=g), torch.randn(6, 4, generator=g)  # no batch dims
    v = torch.randn(3, 6, 2, generator=g)  # value adds a batch dimension
    expected, _ = scaled_dot_product_attention(q, k, v)
    for chunk_size in (1, 4, 6):
        assert max_abs_err(chunked_attention(q, k, v, chunk_size=chunk_size), expected) <= TOL


def test_chunked_attention_custom_scale():
    q, k, v = qkv(2, 5, 8, seed=6)
    expected = F.scaled_dot_product_attention(q, k, v, scale=0.7)
    assert max_abs_err(chunked_attention(q, k, v, chunk_size=2, scale=0.7), expected) <= TOL


def test_chunked_attention_does_not_modify_its_inputs():
    q, k, v = qkv(2, 9, 4, seed=7)
    mask = causal_mask(9)
    copies = [t.clone() for t in (q, k, v, mask)]
    with torch.inference_mode():  # the in-place path
        chunked_attention(q, k, v, mask=mask, chunk_size=2)
    for before, after in zip(copies, (q, k, v, mask), strict=True):
        assert torch.equal(before, after)


def test_chunked_attention_same_result_with_and_without_autograd():
    q, k, v = qkv(2, 2, 9, 8, seed=8, grad=True)
    mask = causal_mask(9)
    with_grad = chunked_attention(q, k, v, mask=mask, chunk_size=4)
    with torch.no_grad():
        without = chunked_attention(q, k, v, mask=mask, chunk_size=4)
    assert with_grad.requires_grad and not without.requires_grad
    assert max_abs_err(with_grad.detach(), without) <= 1e-6


@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding", "fully-masked-row"])
@pytest.mark.parametrize("chunk_size", [1, 3, 32])
def test_chunked_attention_gradients_match_sdpa(mask_kind, chunk_size):
    q, k, v = qkv(2, 2, 7, 4, T_k=10, seed=9, grad=True)
    mask = {
        "none": None,
        "causal": causal_mask(7, 10),
        "padding": padding([10, 3], 10),
        "fully-masked-row": causal_mask(7, 10) & torch.arange(7)[:, None].ne(2),  # row 2 sees nothing
    }[mask_kind]
    upstream = torch.randn(2, 2, 7, 4, generator=torch.Generator().manual_seed(1))
    ours = chunked_attention(q, k, v, mask=mask, chunk_size=chunk_size)
    grads = torch.autograd.grad((ours * upstream).sum(), (q, k, v))
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    ref_grads = torch.autograd.grad((ref * upstream).sum(), (q, k, v))
    assert max_abs_err(ours, ref) <= TOL
    for g, r in zip(grads, ref_grads, strict=True):
        assert not g.isnan().any()
        assert max_abs_err(g, r) <= TOL


@settings(max_examples=40, deadline=None)
@given(
    batch=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    T_q=st.integers(1, 12),
    T_k=st.integers(1, 20),
    d_k=st.integers(1, 9),
    chunk_size=st.integers(1, 25),
    masked=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_chunked_attention_property_equals_sdpa(batch, T_q, T_k, d_k, chunk_size, masked, seed):
    q, k, v = qkv(*batch, T_q, d_k, T_k=T_k, seed=seed)
    mask = None
    if masked:
        mask = torch.rand(*batch, T_q, T_k, generator=torch.Generator().manual_seed(seed)) > 0.4
    expected, _ = scaled_dot_product_attention(q, k, v, mask=mask)
    assert max_abs_err(chunked_attention(q, k, v, mask=mask, chunk_size=chunk_size), expected) <= TOL


@pytest.mark.parametrize("chunk_size", [0, -3, 2.5, True, "8", None])
def test_chunked_attention_rejects_bad_chunk_size(chunk_size):
    q, k, v = qkv(4, 2)
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int, got"):
        chunked_attention(q, k, v, chunk_size=chunk_size)


def test_chunked_attention_rejects_mismatched_widths():
    q, _, v = qkv(4, 8)
    with pytest.raises(
        ValueError, match=r"query has last dimension 8 but key has 6; they must match \(d_k\)"
    ):
        chunked_attention(q, torch.randn(4, 6), v)


def test_chunked_attention_rejects_key_value_length_mismatch():
    q, k, _ = qkv(4, 8)
    with pytest.raises(ValueError, match=r"key has length 4 but value has 5; they must match"):
        chunked_attention(q, k, torch.randn(5, 8))


def test_chunked_attention_rejects_batch_dimensions_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"leading \(batch\) dimensions .* do not broadcast"):
        chunked_attention(torch.randn(2, 4, 8), torch.randn(3, 4, 8), torch.randn(3, 4, 8))


@pytest.mark.parametrize("mask", [torch.ones(4, 4), torch.ones(4, 4, dtype=torch.long)])
def test_chunked_attention_rejects_non_bool_mask(mask):
    q, k, v = qkv(4, 8)
    with pytest.raises(TypeError, match=r"mask must be a bool tensor \(True = may attend\), got dtype"):
        chunked_attention(q, k, v, mask=mask)


def test_chunked_attention_rejects_mask_of_wrong_shape():
    q, k, v = qkv(4, 8)
    with pytest.raises(ValueError, match=r"mask of shape \(3, 4\) does not broadcast"):
        chunked_attention(q, k, v, mask=torch.ones(3, 4, dtype=torch.bool))


def test_chunked_attention_rejects_non_tensors_and_vectors():
    _, k, v = qkv(4, 8)
    with pytest.raises(TypeError, match=r"query must be a torch.Tensor, got list"):
        chunked_attention([[1.0]], k, v)
    with pytest.raises(ValueError, match=r"key must have at least 2 dimensions"):
        chunked_attention(torch.randn(4, 8), torch.randn(8), v)


# --------------------------------------------------------------------------- online_softmax_steps


# ---------------------------------------------------------------- tiled attention (query x key blocks)

DTYPE_TOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.bfloat16: 2e-2, torch.float16: 2e-3}


@pytest.mark.parametrize("dtype", list(DTYPE_TOL))
@pytest.mark.parametrize(
    ("T_q", "T_k", "block_q", "block_k"), [(37, 53, 8, 16), (64, 64, 64, 64), (5, 300, 256, 7)]
)
def test_tiled_attention_equals_sdpa_for_every_dtype_and_block_size(dtype, T_q, T_k, block_q, block_k):
    q, k, v = (t.to(dtype) for t in qkv(2, 3, T_q, 16, T_k=T_k, d_v=12))
    out, lse = tiled_attention(q, k, v, block_q=block_q, block_k=block_k)
    assert out.dtype == dtype and out.shape == (2, 3, T_q, 12)
    ref = F.scaled_dot_product_attention(q.double(), k.double(), v.double()).to(dtype)
    torch.testing.assert_close(out, ref, atol=DTYPE_TOL[dtype], rtol=DTYPE_TOL[dtype])
    assert lse.dtype == (torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype)


def test_tiled_attention_returns_the_log_sum_exp_of_every_row():
    q, k, v = qkv(2, 2, 19, 8, T_k=23, d_v=8)
    _, lse = tiled_attention(q, k, v, block_q=4, block_k=5)
    torch.testing.assert_close(lse, torch.logsumexp(q @ k.transpose(-2, -1) / math.sqrt(8), dim=-1))


@pytest.mark.parametrize(
    "mask_kind", ["causal", "causal_offset", "padding", "random_broadcast", "size1_key_axis"]
)
def test_tiled_attention_with_masks_equals_sdpa(mask_kind):
    T_q, T_k = (13, 29) if mask_kind != "causal" else (29, 29)
    q, k, v = qkv(2, 3, T_q, 8, T_k=T_k)
    masks = {
        "causal": causal_mask(T_q),
        "causal_offset": causal_mask(T_q, T_k),
        "padding": padding([29, 11], T_k),
        "random_broadcast": torch.rand(2, 1, T_q, T_k, generator=torch.Generator().manual_seed(1)) > 0.3,
        "size1_key_axis": torch.ones(2, 1, T_q, 1, dtype=torch.bool),
    }
    mask = masks[mask_kind]
    out, _ = tiled_attention(q, k, v, mask=mask, block_q=4, block_k=6)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(out, ref, atol=TOL, rtol=TOL)


def test_tiled_attention_fully_masked_rows_give_zeros_and_lse_minus_inf():
    q, k, v = qkv(1, 2, 10, 8, T_k=12)
    mask = torch.rand(1, 1, 10, 12, generator=torch.Generator().manual_seed(3)) > 0.4
    mask[..., 2, :] = False  # query 2 may attend to nothing
    out, lse = tiled_attention(q, k, v, mask=mask, block_q=3, block_k=4)
    assert torch.equal(out[..., 2, :], torch.zeros_like(out[..., 2, :]))  # exactly 0, as in attn_lib
    assert torch.isneginf(lse[..., 2]).all() and torch.isfinite(out).all()
    torch.testing.assert_close(
        out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=TOL, rtol=TOL
    )


def test_tiled_attention_with_no_keys_gives_zeros():
    q, k, v = qkv(1, 1, 4, 8, T_k=0)
    out, lse = tiled_attention(q, k, v)
    assert torch.equal(out, torch.zeros(1, 1, 4, 8)) and torch.isneginf(lse).all()


def test_tiled_attention_broadcasts_batch_dimensions_like_sdpa():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 1, 7, 8, generator=g)  # one query set shared by the heads
    k, v = torch.randn(1, 3, 9, 8, generator=g), torch.randn(3, 9, 8, generator=g)
    out, lse = tiled_attention(q, k, v, block_q=3, block_k=4)
    assert out.shape == (2, 3, 7, 8) and lse.shape == (2, 3, 7)
    ref = F.scaled_dot_product_attention(q.expand(2, 3, 7, 8), k.expand(2, 3, 9, 8), v.expand(2, 3, 9, 8))
    torch.testing.assert_close(out, ref, atol=TOL, rtol=TOL)


def test_tiled_attention_custom_scale():
    q, k, v = qkv(1, 2, 9, 8)
    out, _ = tiled_attention(q, k, v, scale=0.3, block_q=4, block_k=4)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=0.3), atol=TOL, rtol=TOL)


def test_tiled_attention_does_not_modify_its_inputs():
    q, k, v = qkv(1, 2, 9, 8, grad=True)
    mask = causal_mask(9)
    before = [t.detach().clone() for t in (q, k, v, mask)]
    out, _ = tiled_attention(q, k, v, mask=mask, block_q=4, block_k=4)
    out.sum().backward()
    for t, b in zip((q, k, v, mask), before, strict=True):
        assert torch.equal(t.detach(), b)


def test_half_precision_with_large_scores_gives_the_value_not_nan():
    """Scores of 256 * 256 * 80 / sqrt(80) overflow float16; PyTorch computes them in float32."""
    x = torch.full((1, 1, 2, 80), 256.0, dtype=torch.half)
    expected = F.scaled_dot_product_attention(x, x, x)
    assert torch.equal(expected, x)
    assert torch.equal(tiled_attention(x, x, x)[0], expected)
    assert torch.equal(chunked_attention(x, x, x), expected)
    xb = x.to(torch.bfloat16) * 64
    assert torch.equal(chunked_attention(xb, xb, xb), xb) and torch.equal(tiled_attention(xb, xb, xb)[0], xb)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_chunked_attention_equals_sdpa_for_every_dtype(dtype):
    q, k, v = (t.to(dtype) for t in qkv(2, 2, 21, 16, T_k=30))
    out = chunked_attention(q, k, v, mask=causal_mask(21, 30), chunk_size=7)
    ref = F.scaled_dot_product_attention(q.double(), k.double(), v.double(), attn_mask=causal_mask(21, 30))
    assert out.dtype == dtype
    torch.testing.assert_close(out, ref.to(dtype), atol=DTYPE_TOL[dtype], rtol=DTYPE_TOL[dtype])


def small_qkv64(grad: bool = True):
    g = torch.Generator().manual_seed(5)
    q = torch.randn(2, 2, 5, 3, generator=g, dtype=torch.float64)
    k = torch.randn(2, 2, 7, 3, generator=g, dtype=torch.float64)
    v = torch.randn(2, 2, 7, 2, generator=g, dtype=torch.float64)
    return tuple(t.requires_grad_(grad) for t in (q, k, v))


@pytest.mark.parametrize("masked", [False, True])
def test_tiled_attention_backward_passes_gradcheck_in_float64(masked):
    q, k, v = small_qkv64()
    mask = (torch.rand(2, 1, 5, 7, generator=torch.Generator().manual_seed(2)) > 0.4) if masked else None
    if mask is not None:
        mask[..., 0] = True  # every row keeps a key, so lse is finite and differentiable

    def both(a, b, c):
        return tiled_attention(a, b, c, mask=mask, block_q=2, block_k=3)  # output and lse

    assert torch.autograd.gradcheck(both, (q, k, v))


def test_tiled_attention_backward_gradcheck_with_fully_masked_rows_and_broadcast():
    q, k, v = small_qkv64()
    q1 = q[:, :1].detach().clone().requires_grad_()  # (2, 1, 5, 3): broadcast over the heads
    mask = torch.rand(1, 1, 5, 7, generator=torch.Generator().manual_seed(4)) > 0.5
    mask[..., 1, :] = False

    def output(a, b, c):
        return tiled_attention(a, b, c, mask=mask, block_q=2, block_k=3)[0]

    assert torch.autograd.gradcheck(output, (q1, k, v))


@pytest.mark.parametrize("masked", [False, True])
def test_tiled_attention_gradients_equal_autograd_through_the_explicit_formula(masked):
    q, k, v = qkv(2, 3, 33, 16, T_k=41, d_v=8, grad=True)
    mask = None
    if masked:
        mask = torch.rand(2, 1, 33, 41, generator=torch.Generator().manual_seed(6)) > 0.5
        mask[0, 0, 4] = False  # a fully masked row: zero output, zero gradient
    d_out = torch.randn(2, 3, 33, 8, generator=torch.Generator().manual_seed(7))
    out, _ = tiled_attention(q, k, v, mask=mask, block_q=8, block_k=16)
    grads = torch.autograd.grad(out, (q, k, v), d_out)
    ref, _ = scaled_dot_product_attention(q, k, v, mask=mask)  # the explicit formula, autograd
    ref_grads = torch.autograd.grad(ref, (q, k, v), d_out)
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-4)
    if masked:
        assert torch.equal(grads[0][0, :, 4], torch.zeros_like(grads[0][0, :, 4]))


def test_tiled_attention_half_precision_gradients_match_float32():
    q, k, v = qkv(1, 2, 20, 16, grad=True)
    qh, kh, vh = (t.detach().to(torch.bfloat16).requires_grad_() for t in (q, k, v))
    tiled_attention(qh, kh, vh, block_q=8, block_k=8)[0].sum().backward()
    assert qh.grad.dtype == torch.bfloat16
    F.scaled_dot_product_attention(
        *(t.detach().to(torch.bfloat16).float().requires_grad_() for t in (q, k, v))
    )
    ref = [t.detach().to(torch.bfloat16).float().requires_grad_() for t in (q, k, v)]
    F.scaled_dot_product_attention(*ref).sum().backward()
    for t, r in zip((qh, kh, vh), ref, strict=True):
        torch.testing.assert_close(t.grad.float(), r.grad, atol=3e-2, rtol=3e-2)


def test_tiled_attention_backward_keeps_no_t_by_t_matrix():
    """Training memory: explicit attention keeps (B, H, T, T) weights for autograd, tiled does not."""
    q, k, v = qkv(1, 4, 512, 32, grad=True)
    d_out = torch.randn(1, 4, 512, 32)

    def explicit():
        torch.autograd.grad(scaled_dot_product_attention(q, k, v)[0], (q, k, v), d_out)

    def tiled():
        torch.autograd.grad(tiled_attention(q, k, v, block_q=64, block_k=64)[0], (q, k, v), d_out)

    weights = 4 * 512 * 512 * 4  # one (1, 4, T, T) float32 matrix: 4 MiB
    assert measure_peak_memory(explicit) > 2 * weights
    assert measure_peak_memory(tiled) < weights / 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"block_q": 0}, ValueError, "block_q must be a positive int, got 0"),
        ({"block_k": 2.5}, ValueError, "block_k must be a positive int, got 2.5"),
        ({"block_q": True}, ValueError, "block_q must be a positive int"),
        ({"scale": float("nan")}, ValueError, "scale must be a finite number"),
        ({"scale": "0.1"}, ValueError, "scale must be a finite number"),
        ({"mask": torch.ones(9, 9)}, TypeError, "mask must be a bool tensor"),
        ({"mask": torch.ones(3, 9, dtype=torch.bool)}, ValueError, "does not broadcast"),
    ],
)
def test_tiled_attention_rejects_bad_arguments_by_name(kwargs, error, match):
    q, k, v = qkv(1, 2, 9, 8)
    with pytest.raises(error, match=match):
        tiled_attention(q, k, v, **kwargs)


@pytest.mark.parametrize("fn", [tiled_attention, chunked_attention])
def test_efficient_attention_rejects_bad_tensors_by_name(fn):
    q, k, v = qkv(1, 2, 9, 8)
    with pytest.raises(TypeError, match=re.escape("key must be a torch.Tensor, got list")):
        fn(q, [[1.0]], v)
    with pytest.raises(
        TypeError, match=re.escape("query has dtype torch.int64; attention needs floating point")
    ):
        fn(q.long(), k, v)
    with pytest.raises(TypeError, match=re.escape("value has dtype torch.bool")):
        fn(q, k, v > 0)
    with pytest.raises(
        TypeError, match=re.escape("same dtype, got torch.float32, torch.float64 and torch.float32")
    ):
        fn(q, k.double(), v)
    with pytest.raises(ValueError, match="query has last dimension 8 but key has 4"):
        fn(q, k[..., :4], v)
    with pytest.raises(ValueError, match="key has length 9 but value has 8"):
        fn(q, k, v[..., :8, :])
    with pytest.raises(ValueError, match="do not broadcast"):
        fn(q, torch.randn(3, 3, 9, 8), torch.randn(3, 3, 9, 8))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fn(torch.randn(8), k, v)
    with pytest.raises(ValueError, match="d_k = 0"):
        fn(q[..., :0], k[..., :0], v)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 8, 20])
def test_online_softmax_steps_end_at_softmax(chunk_size):
    scores = torch.tensor([0.5, 2.0, -1.0, 3.5, 0.0, 1.0, 7.0, -2.0])
    steps = online_softmax_steps(scores, chunk_size)
    assert len(steps) == math.ceil(8 / chunk_size)
    final = torch.tensor(steps[-1]["weights"], dtype=torch.float64)
    torch.testing.assert_close(final, torch.softmax(scores.double(), dim=0))
    assert steps[-1]["max"] == [7.0] and steps[-1]["seen"] == [8]


def test_online_softmax_steps_running_max_and_sum_are_those_of_the_prefix():
    scores = torch.tensor([1.0, -2.0, 4.0, 0.5, 3.0, 5.0, -1.0])
    for step in online_softmax_steps(scores, 2):
        seen = scores[: step["seen"][0]].double()
        assert step["max"][0] == seen.max().item()
        assert step["sum"][0] == pytest.approx(torch.exp(seen - seen.max()).sum().item(), rel=1e-12)
        assert sum(step["weights"]) == pytest.approx(1.0, rel=1e-12)


def test_online_softmax_steps_rejects_a_matrix():
    with pytest.raises(ValueError, match=r"scores must be one row \(T_k,\), got shape \(2, 3\)"):
        online_softmax_steps(torch.zeros(2, 3), 2)


# --------------------------------------------------------------------------- measuring tools


def explicit_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(Q Kᵀ / √d_k) V written out: the scores and the weights are two (T_q, T_k) blocks."""
    return torch.softmax((q / math.sqrt(q.shape[-1])) @ k.transpose(-2, -1), dim=-1) @ v


def test_measure_peak_memory_of_explicit_attention_matches_theory():
    q, k, v = qkv(1, 8, 512, 64)
    scores_bytes = 8 * 512 * 512 * 4  # one float32 (H, T, T) block: 8 MiB
    with torch.no_grad():
        peak = measure_peak_memory(lambda: explicit_attention(q, k, v))
    assert 2 * scores_bytes <= peak <= 2 * scores_bytes * 1.15  # scores + weights, plus small tensors


def test_measure_peak_memory_chunked_is_much_smaller_than_explicit():
    q, k, v = qkv(1, 8, 512, 64)
    with torch.no_grad():
        explicit = measure_peak_memory(lambda: explicit_attention(q, k, v))
        chunked = measure_peak_memory(lambda: chunked_attention(q, k, v, chunk_size=64))
    # one (H, T_q, 64) block = 1 MiB, plus q * scale, the accumulator, p @ v and the output (1 MiB each)
    assert chunked <= 5.5 * MiB
    assert chunked <= explicit / 3


def test_measure_peak_memory_sees_temporaries_inside_composite_operators():
    """PyTorch's math backend is one operator whose children allocate the scores and the weights;
    the peak must include both although the parent frees them before it returns."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    q, k, v = qkv(1, 8, 512, 64)

    def math_backend():
        with sdpa_kernel(SDPBackend.MATH):
            return F.scaled_dot_product_attention(q, k, v)

    with torch.no_grad():
        assert measure_peak_memory(math_backend) >= 16 * MiB  # two (8, 512, 512) float32 blocks
        assert measure_peak_memory(lambda: F.scaled_dot_product_attention(q, k, v)) < 2 * MiB  # flash


def test_measure_peak_memory_counts_what_is_returned_and_nothing_when_nothing_is_allocated():
    assert measure_peak_memory(lambda: torch.empty(1000, dtype=torch.float32)) == 4000
    assert measure_peak_memory(lambda: None) == 0
    x = torch.ones(10_000)
    assert measure_peak_memory(lambda: x.add_(1)) < 100  # in place: at most a scalar for the 1


def test_measure_time_calls_warmup_plus_repeats_and_returns_seconds():
    calls = []
    times = measure_time(lambda: calls.append(1), repeats=4, warmup=2)
    assert len(calls) == 6
    assert len(times) == 4 and all(t >= 0.0 for t in times)


def test_measure_time_counts_cpu_work_not_waiting_unless_asked_for_the_wall_clock():
    """A call that sleeps does no work: CPU time ~0 (other programs' time is not counted either)."""
    cpu = measure_time(lambda: time.sleep(0.05), repeats=2, warmup=0)
    wall = measure_time(lambda: time.sleep(0.05), repeats=2, warmup=0, clock="wall")
    assert max(cpu) < 0.02 and min(wall) >= 0.05
    x = torch.randn(300, 300)
    busy = min(measure_time(lambda: [x @ x for _ in range(20)], repeats=3))
    assert busy > 0  # work is counted


@pytest.mark.parametrize("clock", ["CPU", "process", None, 1])
def test_measure_time_refuses_an_unknown_clock(clock):
    with pytest.raises(ValueError, match=re.escape(f"clock must be one of ['cpu', 'wall'], got {clock!r}")):
        measure_time(lambda: None, clock=clock)


def test_operators_called_names_the_kernel_that_does_the_work():
    q, k, v = qkv(1, 2, 16, 8)
    fused = operators_called(lambda: F.scaled_dot_product_attention(q, k, v))
    assert fused[0] == "aten::scaled_dot_product_attention"
    assert "aten::_scaled_dot_product_flash_attention_for_cpu" in fused
    explicit = operators_called(lambda: explicit_attention(q, k, v))
    assert "aten::bmm" in explicit and "aten::_softmax" in explicit
    assert len(explicit) == len(set(explicit))  # each name once


def test_profiling_helpers_print_nothing(capfd):
    measure_peak_memory(lambda: torch.ones(3))
    operators_called(lambda: torch.ones(3))
    out, err = capfd.readouterr()
    assert out == "" and err == ""  # the profiler's own start/stop lines are silenced


def test_measure_peak_memory_still_stops_the_profiler_when_fn_raises():
    def boom():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        measure_peak_memory(boom)
    assert measure_peak_memory(lambda: torch.empty(10)) == 40  # a new profile starts cleanly


# --------------------------------------------------------------------------- KV cache


def random_model(
    d_model: int, heads: int, layers: int, vocab: int, seed: int, norm_first: bool
) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(
        vocab,
        vocab,
        d_model=d_model,
        num_heads=heads,
        num_encoder_layers=layers,
        num_decoder_layers=layers,
        d_ff=2 * d_model,
        max_len=64,
        pad_id=0,
        norm_first=norm_first,
    )
    return model.eval()


@pytest.mark.parametrize(
    "d_model, heads, layers, vocab, seed, norm_first",
    [(16, 2, 1, 5, 0, False), (32, 4, 2, 7, 1, True), (24, 3, 3, 4, 2, False), (64, 8, 2, 30, 3, True)],
)
def test_greedy_decode_with_cache_gives_identical_tokens(d_model, heads, layers, vocab, seed, norm_first):
    model = random_model(d_model, heads, layers, vocab, seed, norm_first)
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(3, vocab, (6, 9), generator=g)
    src[1, 5:] = 0  # padded source rows
    src[4, 2:] = 0
    plain = greedy_decode(model, src, max_len=20, bos_id=1, eos_id=2)
    cached = greedy_decode(model, src, max_len=20, bos_id=1, eos_id=2, use_cache=True)
    assert torch.equal(plain, cached)


def test_greedy_decode_with_cache_handles_rows_that_end_early():
    # a vocabulary of 4 makes EOS (id 2) likely early for some rows and late for others
    for seed in range(6):
        model = random_model(16, 2, 2, 4, seed, False)
        src = torch.randint(1, 4, (8, 6), generator=torch.Generator().manual_seed(seed))
        plain = greedy_decode(model, src, max_len=12, bos_id=1, eos_id=2)
        cached = greedy_decode(model, src, max_len=12, bos_id=1, eos_id=2, use_cache=True)
        assert torch.equal(plain, cached)
        ended = (plain == 2).any(dim=1)
        if ended.any() and not ended.all():
            after_eos = (plain == 2).long().cumsum(dim=1) - (plain == 2).long() > 0
            assert bool((plain[after_eos] == 0).all())  # padded with pad_id after EOS
            return
    pytest.fail("no seed produced a batch where some rows end and others do not")


def test_greedy_decode_never_generates_pad_so_both_paths_see_the_same_prefix():
    model = random_model(16, 2, 1, 6, 0, False)
    with torch.no_grad():
        model.generator.bias[0] = 100.0  # the model now prefers PAD (id 0) everywhere
    src = torch.randint(3, 6, (4, 5), generator=torch.Generator().manual_seed(0))
    for use_cache in (False, True):
        ys = greedy_decode(model, src, max_len=8, bos_id=1, eos_id=2, use_cache=use_cache)
        assert not (ys == 0).any()


def test_greedy_decode_with_cache_runs_to_max_len_without_eos():
    model = random_model(32, 4, 2, 10, 5, False)
    src = torch.randint(3, 10, (3, 7), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.generator.bias[9] = -1e9  # the end token 9 is never produced
    plain = greedy_decode(model, src, max_len=30, bos_id=1, eos_id=9)
    cached = greedy_decode(model, src, max_len=30, bos_id=1, eos_id=9, use_cache=True)
    assert plain.shape == (3, 31)
    assert torch.equal(plain, cached)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("step", [1, 3])
def test_multihead_attention_with_growing_cache_equals_full_causal_attention(need_weights, step):
    torch.manual_seed(0)
    mha = MultiHeadAttention(32, 4).eval()
    x = torch.randn(2, 10, 32)
    full, full_w = mha(x, x, x, mask=causal_mask(10), need_weights=True)
    cache = KVCache()
    outs = []
    with torch.no_grad():
        for t in range(0, 10, step):
            xt = x[:, t : t + step]  # the new positions only: query is key is value
            T_new = xt.shape[1]
            mask = causal_mask(T_new, t + T_new) if T_new > 1 else None
            out, w = mha(xt, xt, xt, mask=mask, need_weights=need_weights, cache=cache)
            assert cache.length == t + T_new
            if need_weights:  # the new rows of the full causal map
                torch.testing.assert_close(w, full_w[:, :, t : t + T_new, : t + T_new], atol=1e-6, rtol=1e-5)
            outs.append(out)
    torch.testing.assert_close(torch.cat(outs, dim=1), full, atol=1e-5, rtol=1e-5)


def test_static_cache_reuses_encoder_keys_and_values():
    torch.manual_seed(1)
    mha = MultiHeadAttention(16, 2).eval()
    memory = torch.randn(2, 5, 16)
    y = torch.randn(2, 4, 16)
    expected, _ = mha(y, memory, memory)
    cache = KVCache(static=True)
    with torch.no_grad():
        first, _ = mha(y[:, :1], memory, memory, cache=cache)
        k_first = cache.key
        rest = [mha(y[:, t : t + 1], memory, memory, cache=cache)[0] for t in range(1, 4)]
    assert cache.key is k_first and cache.length == 5  # computed once, never appended to
    torch.testing.assert_close(torch.cat([first, *rest], dim=1), expected)


# --------------------------------------------------------------------------- the fused kernel


class SdpaSpy:
    """Wraps torch.nn.functional.scaled_dot_product_attention and counts the calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.original = F.scaled_dot_product_attention

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.original(*args, **kwargs)


@pytest.fixture
def sdpa_spy(monkeypatch: pytest.MonkeyPatch) -> SdpaSpy:
    spy = SdpaSpy()
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention", spy)
    return spy


@pytest.mark.parametrize("self_attention", [True, False])
def test_need_weights_false_calls_pytorch_fused_kernel(sdpa_spy, self_attention):
    torch.manual_seed(0)
    mha = MultiHeadAttention(32, 4).eval()
    x = torch.randn(2, 6, 32)
    kv = x if self_attention else torch.randn(2, 9, 32)
    fused, none = mha(x, kv, kv, need_weights=False)
    assert sdpa_spy.calls == 1 and none is None
    explicit, weights = mha(x, kv, kv, need_weights=True)
    assert sdpa_spy.calls == 1  # the explicit path does not use the fused kernel
    assert weights.shape == (2, 4, 6, kv.shape[1])
    torch.testing.assert_close(fused, explicit, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(
    "mask",
    [
        causal_mask(7),
        padding([7, 3], 7),
        combine_masks(causal_mask(7), padding([7, 3], 7)),
        torch.ones(7, 7, dtype=torch.bool).index_fill_(0, torch.tensor([2]), False),  # a row sees nothing
    ],
    ids=["causal", "padding", "combined", "fully-masked-row"],
)
def test_need_weights_false_equals_need_weights_true_with_masks(sdpa_spy, mask):
    torch.manual_seed(1)
    mha = MultiHeadAttention(24, 3).eval()
    x = torch.randn(2, 7, 24)
    fused, _ = mha(x, x, x, mask=mask, need_weights=False)
    explicit, _ = mha(x, x, x, mask=mask, need_weights=True)
    assert sdpa_spy.calls == 1
    assert not fused.isnan().any()
    torch.testing.assert_close(fused, explicit, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("fast_path", [True, False])
def test_packed_self_attention_matches_torch_including_gradients(need_weights, fast_path):
    torch.manual_seed(2)
    theirs = nn.MultiheadAttention(48, 6, batch_first=True)
    ours = MultiHeadAttention.from_torch(theirs)
    x = torch.randn(3, 11, 48)
    mask = combine_masks(causal_mask(11), padding([11, 6, 2], 11))  # (B, 1, T, T)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    out, w = ours(x1, x1, x1, mask=mask, need_weights=need_weights)
    torch_mask = to_torch_mha_mask(mask).expand(3, 6, 11, 11).reshape(18, 11, 11)
    previous = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fast_path)  # training mode: torch takes its slow path anyway
    try:
        ref, ref_w = theirs(
            x2, x2, x2, attn_mask=torch_mask, need_weights=need_weights, average_attn_weights=False
        )
    finally:
        torch.backends.mha.set_fastpath_enabled(previous)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    if need_weights:
        torch.testing.assert_close(w, ref_w, atol=1e-6, rtol=1e-5)
    upstream = torch.randn_like(out)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad, atol=1e-5, rtol=1e-5)
    packed_grad = torch.cat([ours.q_proj.weight.grad, ours.k_proj.weight.grad, ours.v_proj.weight.grad])
    torch.testing.assert_close(packed_grad, theirs.in_proj_weight.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.out_proj.weight.grad, theirs.out_proj.weight.grad, atol=1e-5, rtol=1e-5)


def test_inference_mode_fast_paths_match_autograd_results():
    """Without autograd, scores are overwritten in place; results must not change."""
    torch.manual_seed(3)
    mha = MultiHeadAttention(32, 4)
    x = torch.randn(2, 9, 32)
    mask = causal_mask(9)
    with_grad = [t.detach() for t in mha(x, x, x, mask=mask, need_weights=True)]
    with torch.inference_mode():
        without = mha(x, x, x, mask=mask, need_weights=True)
    for a, b in zip(with_grad, without, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert torch.allclose(without[1].sum(-1), torch.ones(2, 4, 9))  # rows of the weights sum to 1


def test_scaled_dot_product_attention_without_autograd_does_not_modify_inputs():
    q, k, v = qkv(2, 5, 4, seed=11)
    copies = [t.clone() for t in (q, k, v)]
    with torch.no_grad():
        out, _ = scaled_dot_product_attention(q, k, v, mask=causal_mask(5))
    for before, after in zip(copies, (q, k, v), strict=True):
        assert torch.equal(before, after)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(5)))
