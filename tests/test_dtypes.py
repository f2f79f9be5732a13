"""Every dtype, every device present: the library agrees with PyTorch and never overflows.

Parametrised over float32, float64, bfloat16 and float16 and over ``cpu`` and ``cuda``
(skipped when absent). Half inputs (float16, bfloat16) are computed the way PyTorch's
kernels compute them: scores and softmax in float32, the result returned in the input
dtype. So a half softmax does not overflow where float32 would not (PyTorch's own
regression case: ``torch.full((1, 1, 2, 80), 256., dtype=torch.half)`` attends to 256).

Tolerances are those of the dtype: a float16 result has ~3 decimal digits, a bfloat16 one ~2,
and two correct half computations that round at other steps differ by a few ulps.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attn_lib import (
    DecoderLayer,
    EncoderLayer,
    MultiHeadAttention,
    Transformer,
    causal_mask,
    combine_masks,
    greedy_decode,
    padding_mask,
    scaled_dot_product_attention,
    softmax,
    to_additive_mask,
    to_torch_mha_mask,
)

DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]
HALF = (torch.float16, torch.bfloat16)
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]
# (atol, rtol) for outputs of size ~1 computed by two correct implementations in this dtype
TOL = {
    torch.float64: (1e-10, 1e-8),
    torch.float32: (2e-5, 2e-5),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (6e-2, 6e-2),
}
MASKS = ["none", "causal", "padding"]

pytestmark = [pytest.mark.parametrize("device", DEVICES), pytest.mark.parametrize("dtype", DTYPES)]


def close(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype, scale: float = 1.0) -> None:
    atol, rtol = TOL[dtype]
    assert actual.dtype == expected.dtype == dtype
    torch.testing.assert_close(actual, expected, atol=atol * scale, rtol=rtol)


def randn(*shape: int, dtype: torch.dtype, device: str, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g).to(device=device, dtype=dtype)


def make_mask(kind: str, B: int, T_q: int, T_k: int, device: str) -> torch.Tensor | None:
    if kind == "none":
        return None
    lengths = torch.tensor([T_k, T_k - 2])[:B]
    pad = (torch.arange(T_k)[None, :] < lengths[:, None]).to(device)[:, None, None, :]  # (B, 1, 1, T_k)
    if kind == "padding":
        return pad
    return combine_masks(causal_mask(T_q, T_k, device=device), pad)  # (B, 1, T_q, T_k)


# ------------------------------------------------------------------ softmax and attention


def test_softmax_matches_torch_softmax(dtype, device):
    x = randn(3, 4, 7, dtype=dtype, device=device) * 4
    close(softmax(x, dim=-1), torch.softmax(x, dim=-1), dtype)


def test_softmax_of_large_half_scores_does_not_overflow(dtype, device):
    # exp(x - max) cannot overflow, but a sum of many exps in float16 can round badly:
    # the softmax is computed in float32 and returned in the input dtype
    x = torch.full((2, 4096), 300.0, dtype=dtype, device=device)
    w = softmax(x, dim=-1)
    assert w.dtype == dtype
    assert not w.isnan().any()
    torch.testing.assert_close(w.float().sum(-1), torch.ones(2, device=device), atol=1e-2, rtol=0)


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_kind", MASKS)
def test_sdpa_matches_torch_sdpa(dtype, device, need_weights, mask_kind):
    B, H, T_q, T_k, Dh = 2, 3, 5, 6, 8
    q = randn(B, H, T_q, Dh, dtype=dtype, device=device, seed=1)
    k = randn(B, H, T_k, Dh, dtype=dtype, device=device, seed=2)
    v = randn(B, H, T_k, Dh, dtype=dtype, device=device, seed=3)
    mask = make_mask(mask_kind, B, T_q, T_k, device)
    out, w = scaled_dot_product_attention(q, k, v, mask=mask, need_weights=need_weights)
    close(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), dtype)
    if need_weights:
        assert w.dtype == dtype
        torch.testing.assert_close(w.float().sum(-1), torch.ones(B, H, T_q, device=device), atol=1e-2, rtol=0)


@pytest.mark.parametrize("need_weights", [True, False])
def test_sdpa_half_overflow_regression_case_of_pytorch(dtype, device, need_weights):
    # PyTorch's test: scores 256 * 256 * 80 / sqrt(80) overflow float16 (max 65504)
    x = torch.full((1, 1, 2, 80), 256.0, dtype=dtype, device=device)
    out, _ = scaled_dot_product_attention(x, x, x, need_weights=need_weights)
    assert out.dtype == dtype
    assert not out.isnan().any()
    torch.testing.assert_close(out, F.scaled_dot_product_attention(x, x, x), atol=0, rtol=0)
    torch.testing.assert_close(out, torch.full_like(x, 256.0), atol=0, rtol=0)


@pytest.mark.parametrize("need_weights", [True, False])
def test_sdpa_fully_masked_rows_give_zeros_in_every_dtype(dtype, device, need_weights):
    q = randn(1, 2, 3, 4, dtype=dtype, device=device)
    mask = torch.tensor([[True, False, True, False], [False] * 4, [True] * 4], device=device)
    out, w = scaled_dot_product_attention(
        q, q.new_ones(1, 2, 4, 4), q.new_ones(1, 2, 4, 4), mask=mask, need_weights=need_weights
    )
    assert out.dtype == dtype
    assert not out.isnan().any()
    assert (out[:, :, 1] == 0).all()
    if need_weights:
        assert (w[:, :, 1] == 0).all()


def test_sdpa_gradients_are_finite_in_half(dtype, device):
    x = torch.full((1, 1, 2, 80), 256.0, dtype=dtype, device=device, requires_grad=True)
    out, _ = scaled_dot_product_attention(x, x, x)
    out.sum().backward()
    assert x.grad.dtype == dtype
    assert torch.isfinite(x.grad).all()


def test_to_additive_mask_in_the_dtype_of_the_scores(dtype, device):
    mask = causal_mask(4, device=device)
    bias = to_additive_mask(mask, dtype=dtype)
    assert bias.dtype == dtype
    assert (bias[mask] == 0).all() and (bias[~mask] == float("-inf")).all()


# ------------------------------------------------------------------ multi-head attention


def torch_mha(dtype: torch.dtype, device: str, D: int = 16, H: int = 4) -> nn.MultiheadAttention:
    torch.manual_seed(0)
    return nn.MultiheadAttention(D, H, batch_first=True).to(device=device, dtype=dtype).eval()


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("mask_kind", MASKS)
def test_mha_self_attention_matches_torch_multihead_attention(dtype, device, need_weights, mask_kind):
    B, T, D = 2, 6, 16
    theirs = torch_mha(dtype, device, D)
    ours = MultiHeadAttention.from_torch(theirs).eval()
    x = randn(B, T, D, dtype=dtype, device=device, seed=4)
    mask = make_mask(mask_kind, B, T, T, device)
    attn_mask = None if mask is None else to_torch_mha_mask(mask).expand(B, 1, T, T)
    attn_mask = None if attn_mask is None else attn_mask.expand(B, 4, T, T).reshape(B * 4, T, T)
    with torch.no_grad():
        out, w = ours(x, x, x, mask=mask, need_weights=need_weights)
        ref, ref_w = theirs(
            x, x, x, attn_mask=attn_mask, need_weights=need_weights, average_attn_weights=False
        )
    close(out, ref, dtype)
    if need_weights:
        close(w, ref_w, dtype)


def test_mha_cross_attention_matches_torch_multihead_attention(dtype, device):
    B, T, S, D = 2, 4, 7, 16
    theirs = torch_mha(dtype, device, D)
    ours = MultiHeadAttention.from_torch(theirs).eval()
    x, memory = (
        randn(B, T, D, dtype=dtype, device=device, seed=5),
        randn(B, S, D, dtype=dtype, device=device, seed=6),
    )
    pad = make_mask("padding", B, T, S, device)
    out, _ = ours(x, memory, memory, mask=pad)
    ref, _ = theirs(x, memory, memory, key_padding_mask=to_torch_mha_mask(pad[:, 0, 0]))
    close(out, ref, dtype)


def test_mha_half_overflow_case_gives_no_nan(dtype, device):
    mha = MultiHeadAttention(80, 1, bias=False).to(device=device, dtype=dtype)
    with torch.no_grad():
        for proj in (mha.q_proj, mha.k_proj, mha.v_proj, mha.out_proj):
            proj.weight.copy_(torch.eye(80))
    x = torch.full((1, 2, 80), 256.0, dtype=dtype, device=device)
    for need_weights in (True, False):
        out, _ = mha(x, x, x, need_weights=need_weights)
        assert out.dtype == dtype
        torch.testing.assert_close(out, x, atol=0, rtol=0)


def test_mha_gradients_flow_in_every_dtype(dtype, device):
    mha = MultiHeadAttention(16, 4).to(device=device, dtype=dtype)
    x = randn(2, 5, 16, dtype=dtype, device=device).requires_grad_()
    out, _ = mha(x, x, x, mask=causal_mask(5, device=device), need_weights=False)
    out.float().square().sum().backward()
    for p in (x, mha.q_proj.weight, mha.k_proj.weight, mha.v_proj.weight, mha.out_proj.weight):
        assert p.grad is not None and p.grad.dtype == dtype and torch.isfinite(p.grad).all()


# ------------------------------------------------------------------ layers and the Transformer


def randomize_(module: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            new = torch.randn(p.shape, generator=g) * 0.3 + (1.0 if p.dim() == 1 else 0.0)
            p.copy_(new.to(p.dtype))
    return module


def copy_layer(ours: nn.Module, theirs: nn.Module, norms: tuple[str, ...]) -> None:
    ours.self_attn.load_state_dict(MultiHeadAttention.from_torch(theirs.self_attn).state_dict())
    if hasattr(theirs, "multihead_attn"):
        ours.cross_attn.load_state_dict(MultiHeadAttention.from_torch(theirs.multihead_attn).state_dict())
    ours.ff.linear1.load_state_dict(theirs.linear1.state_dict())
    ours.ff.linear2.load_state_dict(theirs.linear2.state_dict())
    for name in norms:
        getattr(ours, name).load_state_dict(getattr(theirs, name).state_dict())


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch_transformer_encoder_layer(dtype, device, norm_first):
    D, H, D_FF, B, T = 16, 4, 32, 2, 6
    theirs = nn.TransformerEncoderLayer(D, H, D_FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = randomize_(theirs.to(device=device, dtype=dtype), 1).eval()
    ours = EncoderLayer(D, H, D_FF, norm_first=norm_first).to(device=device, dtype=dtype).eval()
    copy_layer(ours, theirs, ("norm1", "norm2"))
    x = randn(B, T, D, dtype=dtype, device=device, seed=7)
    pad = make_mask("padding", B, T, T, device)
    with torch.no_grad():
        out, _ = ours(x, mask=pad)
        ref = theirs(x, src_key_padding_mask=to_torch_mha_mask(pad[:, 0, 0]))
    close(out, ref, dtype, scale=2.0)  # LayerNorm outputs of size ~2


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch_transformer_decoder_layer(dtype, device, norm_first):
    D, H, D_FF, B, T, S = 16, 4, 32, 2, 5, 6
    theirs = nn.TransformerDecoderLayer(D, H, D_FF, dropout=0.0, batch_first=True, norm_first=norm_first)
    theirs = randomize_(theirs.to(device=device, dtype=dtype), 2).eval()
    ours = DecoderLayer(D, H, D_FF, norm_first=norm_first).to(device=device, dtype=dtype).eval()
    copy_layer(ours, theirs, ("norm1", "norm2", "norm3"))
    x = randn(B, T, D, dtype=dtype, device=device, seed=8)
    memory = randn(B, S, D, dtype=dtype, device=device, seed=9)
    causal = causal_mask(T, device=device)
    with torch.no_grad():
        out, _, _ = ours(x, memory, self_mask=causal)
        ref = theirs(x, memory, tgt_mask=to_torch_mha_mask(causal))
    close(out, ref, dtype, scale=2.0)


def test_transformer_in_half_agrees_with_float32_and_decodes(dtype, device):
    torch.manual_seed(0)
    ref = Transformer(13, 13, d_model=32, num_heads=4, d_ff=64).eval().to(device)
    model = Transformer(13, 13, d_model=32, num_heads=4, d_ff=64).eval()
    model.load_state_dict(ref.state_dict())
    model = model.to(device=device, dtype=dtype)
    g = torch.Generator().manual_seed(1)
    src = torch.randint(3, 13, (2, 7), generator=g).to(device)
    src[1, -2:] = 0
    tgt = torch.randint(3, 13, (2, 5), generator=g).to(device)
    with torch.no_grad():
        logits = model(src, tgt)
        expected = ref(src, tgt)
    assert logits.dtype == dtype and not logits.isnan().any()
    atol, rtol = TOL[dtype]
    torch.testing.assert_close(logits.float(), expected, atol=max(atol, 2e-5) * 10, rtol=rtol * 10)
    ys = greedy_decode(model, src, max_len=6, bos_id=1, eos_id=2, use_cache=True)
    assert ys.shape[0] == 2 and (ys[:, 0] == 1).all()


def test_padding_mask_works_on_every_device(dtype, device):
    tokens = torch.tensor([[5, 6, 0]], device=device)
    assert padding_mask(tokens, 0).device == tokens.device
