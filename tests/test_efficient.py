"""Efficient attention: chunked (online-softmax) attention, the measuring tools, the KV cache,
and the fused-kernel path of MultiHeadAttention.

Reference for exactness: ``torch.nn.functional.scaled_dot_product_attention`` (which, like
``attn_lib``, gives zeros to a query whose keys are all masked), max abs error <= 1e-5 in float32.
"""

from __future__ import annotations

import math

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
    plain = greedy_decode(model, src, max_len=30, bos_id=1, eos_id=10)  # id 10 is never produced
    cached = greedy_decode(model, src, max_len=30, bos_id=1, eos_id=10, use_cache=True)
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
