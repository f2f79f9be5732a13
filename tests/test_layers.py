"""Encoder and decoder layers, checked against ``torch.nn.TransformerEncoderLayer`` /
``torch.nn.TransformerDecoderLayer`` (batch_first=True, dropout=0, ReLU) with copied weights.

Our masks are bool True = may attend; torch's layers read bool True = blocked, so every mask
handed to them goes through ``to_torch_mha_mask``.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from attn_lib import (
    DecoderLayer,
    EncoderLayer,
    FeedForward,
    MultiHeadAttention,
    causal_mask,
    combine_masks,
    padding_mask,
    to_torch_mha_mask,
)

B, T, S, D, H, D_FF = 2, 5, 6, 8, 2, 16
MASKS = ["none", "padding", "causal-padding"]


def randomize_(module: nn.Module, seed: int) -> nn.Module:
    """Give every parameter random values (LayerNorm and biases included), so copying is checked."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3 + (1.0 if p.dim() == 1 else 0.0))
    return module


def copy_mha(ours: MultiHeadAttention, theirs: nn.MultiheadAttention) -> None:
    ours.load_state_dict(MultiHeadAttention.from_torch(theirs).state_dict())


def copy_common(ours: nn.Module, theirs: nn.Module, norms: tuple[str, ...]) -> None:
    copy_mha(ours.self_attn, theirs.self_attn)
    ours.ff.linear1.load_state_dict(theirs.linear1.state_dict())
    ours.ff.linear2.load_state_dict(theirs.linear2.state_dict())
    for name in norms:
        getattr(ours, name).load_state_dict(getattr(theirs, name).state_dict())


def encoder_pair(norm_first: bool, seed: int = 0) -> tuple[EncoderLayer, nn.TransformerEncoderLayer]:
    theirs = nn.TransformerEncoderLayer(
        D, H, D_FF, dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first
    ).double()
    randomize_(theirs, seed)
    ours = EncoderLayer(D, H, D_FF, dropout=0.0, norm_first=norm_first).double()
    copy_common(ours, theirs, ("norm1", "norm2"))
    return ours, theirs


def decoder_pair(norm_first: bool, seed: int = 0) -> tuple[DecoderLayer, nn.TransformerDecoderLayer]:
    theirs = nn.TransformerDecoderLayer(
        D, H, D_FF, dropout=0.0, activation="relu", batch_first=True, norm_first=norm_first
    ).double()
    randomize_(theirs, seed)
    ours = DecoderLayer(D, H, D_FF, dropout=0.0, norm_first=norm_first).double()
    copy_common(ours, theirs, ("norm1", "norm2", "norm3"))
    copy_mha(ours.cross_attn, theirs.multihead_attn)
    return ours, theirs


def tokens_with_padding(length: int) -> torch.Tensor:
    """``(B, length)`` ids; sequence 0 ends with 2 pads (id 0), sequence 1 has none."""
    tokens = torch.ones(B, length, dtype=torch.long)
    tokens[0, -2:] = 0
    return tokens


def masks_for(kind: str, length: int):
    """(ours, torch attn_mask, torch key_padding_mask) for a self-attention of ``length`` positions."""
    causal = causal_mask(length) if "causal" in kind else None
    pad = padding_mask(tokens_with_padding(length), 0) if "padding" in kind else None
    return (
        combine_masks(causal, pad),
        None if causal is None else to_torch_mha_mask(causal),
        None if pad is None else to_torch_mha_mask(pad)[:, 0, 0],  # (B, 1, 1, T) -> (B, T)
    )


def rand(*shape, seed=0, grad=False):
    return torch.randn(
        *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    ).requires_grad_(grad)


# ---------------------------------------------------------------- FeedForward


def test_feed_forward_keeps_shape_b_t_d():
    assert FeedForward(D, D_FF)(torch.randn(B, T, D)).shape == (B, T, D)


def test_feed_forward_acts_on_each_position_separately():
    ff = FeedForward(D, D_FF).double()
    x = rand(B, T, D)
    one_by_one = torch.cat([ff(x[:, t : t + 1]) for t in range(T)], dim=1)
    torch.testing.assert_close(one_by_one, ff(x))


# ---------------------------------------------------------------- EncoderLayer


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("kind", MASKS)
def test_encoder_layer_matches_torch_transformer_encoder_layer(norm_first, kind):
    ours, theirs = encoder_pair(norm_first)
    x = rand(B, T, D)
    mask, attn_mask, key_padding_mask = masks_for(kind, T)
    out, _ = ours(x, mask)
    torch.testing.assert_close(out, theirs(x, src_mask=attn_mask, src_key_padding_mask=key_padding_mask))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_input_gradient_matches_torch(norm_first):
    ours, theirs = encoder_pair(norm_first, seed=1)
    x_ours, x_ref = rand(B, T, D, grad=True), rand(B, T, D, grad=True)
    mask, _, key_padding_mask = masks_for("padding", T)
    ours(x_ours, mask)[0].square().sum().backward()
    theirs(x_ref, src_key_padding_mask=key_padding_mask).square().sum().backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_keeps_shape_b_t_d(norm_first):
    layer = EncoderLayer(D, H, D_FF, norm_first=norm_first)
    assert layer(torch.randn(B, T, D))[0].shape == (B, T, D)


def test_encoder_layer_returns_no_weights_by_default():
    assert EncoderLayer(D, H, D_FF)(torch.randn(B, T, D))[1] is None


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_returns_b_h_t_t_weights_when_asked(norm_first):
    layer = EncoderLayer(D, H, D_FF, norm_first=norm_first)
    _, weights = layer(torch.randn(B, T, D), need_weights=True)
    assert weights.shape == (B, H, T, T)


def test_encoder_layer_weights_ignore_padded_keys():
    layer = EncoderLayer(D, H, D_FF)
    mask, _, _ = masks_for("padding", T)
    _, weights = layer(torch.randn(B, T, D), mask, need_weights=True)
    assert bool((weights[0, :, :, -2:] == 0).all())


def test_post_norm_encoder_layer_output_is_layer_normalized():
    layer = EncoderLayer(D, H, D_FF, norm_first=False).double()  # LayerNorm weight 1, bias 0
    out, _ = layer(rand(B, T, D))
    torch.testing.assert_close(out.mean(-1), torch.zeros(B, T, dtype=torch.float64))


def test_pre_norm_encoder_layer_with_silent_sublayers_is_the_identity():
    layer = EncoderLayer(D, H, D_FF, norm_first=True).double()
    with torch.no_grad():  # both sub-layers now output 0: only the residual path is left
        for p in (*layer.self_attn.out_proj.parameters(), *layer.ff.linear2.parameters()):
            p.zero_()
    x = rand(B, T, D) * 5 + 3
    torch.testing.assert_close(layer(x)[0], x)


@settings(max_examples=25, deadline=None)
@given(data=st.data(), length=st.integers(1, 6), seed=st.integers(0, 2**16), norm_first=st.booleans())
def test_encoder_layer_without_positions_is_permutation_equivariant(data, length, seed, norm_first):
    perm = torch.tensor(data.draw(st.permutations(range(length))))
    torch.manual_seed(seed % 5)
    layer = EncoderLayer(D, H, D_FF, norm_first=norm_first).double()
    x = rand(B, length, D, seed=seed)
    torch.testing.assert_close(layer(x[:, perm])[0], layer(x)[0][:, perm])


# ---------------------------------------------------------------- DecoderLayer


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("kind", MASKS)
def test_decoder_layer_matches_torch_transformer_decoder_layer(norm_first, kind):
    ours, theirs = decoder_pair(norm_first)
    x, memory = rand(B, T, D, seed=1), rand(B, S, D, seed=2)
    self_mask, tgt_mask, tgt_key_padding_mask = masks_for(kind, T)
    memory_pad = padding_mask(tokens_with_padding(S), 0) if "padding" in kind else None
    out, _, _ = ours(x, memory, self_mask, memory_pad)
    ref = theirs(
        x,
        memory,
        tgt_mask=tgt_mask,
        tgt_key_padding_mask=tgt_key_padding_mask,
        memory_key_padding_mask=None if memory_pad is None else to_torch_mha_mask(memory_pad)[:, 0, 0],
    )
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_gradients_match_torch(norm_first):
    ours, theirs = decoder_pair(norm_first, seed=3)
    inputs_ours = (rand(B, T, D, seed=1, grad=True), rand(B, S, D, seed=2, grad=True))
    inputs_ref = (rand(B, T, D, seed=1, grad=True), rand(B, S, D, seed=2, grad=True))
    self_mask, tgt_mask, _ = masks_for("causal", T)
    out = ours(*inputs_ours, self_mask)[0]
    ref = theirs(*inputs_ref, tgt_mask=tgt_mask)
    torch.testing.assert_close(
        torch.autograd.grad(out.square().sum(), inputs_ours),
        torch.autograd.grad(ref.square().sum(), inputs_ref),
    )


def test_decoder_layer_keeps_shape_b_t_d():
    layer = DecoderLayer(D, H, D_FF)
    assert layer(torch.randn(B, T, D), torch.randn(B, S, D))[0].shape == (B, T, D)


def test_decoder_layer_returns_no_weights_by_default():
    _, w_self, w_cross = DecoderLayer(D, H, D_FF)(torch.randn(B, T, D), torch.randn(B, S, D))
    assert (w_self, w_cross) == (None, None)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_returns_self_and_cross_weights_when_asked(norm_first):
    layer = DecoderLayer(D, H, D_FF, norm_first=norm_first)
    _, w_self, w_cross = layer(torch.randn(B, T, D), torch.randn(B, S, D), need_weights=True)
    assert (w_self.shape, w_cross.shape) == ((B, H, T, T), (B, H, T, S))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_with_causal_mask_ignores_later_positions(norm_first):
    layer = DecoderLayer(D, H, D_FF, norm_first=norm_first).double()
    x, memory = rand(B, T, D, seed=1), rand(B, S, D, seed=2)
    changed = x.clone()
    changed[:, 3:] = rand(B, T - 3, D, seed=9)  # rewrite positions 3 and 4
    out, _, _ = layer(x, memory, causal_mask(T))
    out_changed, _, _ = layer(changed, memory, causal_mask(T))
    torch.testing.assert_close(out_changed[:, :3], out[:, :3])


def test_decoder_layer_ignores_padded_memory():
    layer = DecoderLayer(D, H, D_FF).double()
    x, memory = rand(B, T, D, seed=1), rand(B, S, D, seed=2)
    memory_pad = padding_mask(tokens_with_padding(S), 0)  # sequence 0: last 2 memory slots padded
    changed = memory.clone()
    changed[0, -2:] = 100.0
    torch.testing.assert_close(layer(x, changed, None, memory_pad)[0], layer(x, memory, None, memory_pad)[0])


# ---------------------------------------------------------------- named errors (issue 12)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((4, -1), ValueError, "d_ff must be a positive int, got -1"),
        ((4, 0), ValueError, "d_ff must be a positive int, got 0"),
        ((0, 4), ValueError, "d_model must be a positive int, got 0"),
        ((4, 8.0), TypeError, "d_ff must be a positive int, got float"),
        ((4, 8, 1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    ],
)
def test_feed_forward_rejects_bad_sizes_by_name(args, error, message):
    with pytest.raises(error, match=message):
        FeedForward(*args)


def test_feed_forward_rejects_the_wrong_width_in_its_words():
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, d_model=4\), got \(2, 3, 5\)"):
        FeedForward(4, 8)(torch.zeros(2, 3, 5))


def test_feed_forward_rejects_an_input_of_another_dtype():
    with pytest.raises(
        TypeError, match=r"x has dtype torch.float64 but the layer's parameters are torch.float32"
    ):
        FeedForward(4, 8)(torch.zeros(2, 3, 4, dtype=torch.float64))


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_rejects_the_wrong_width_before_its_layer_norm(norm_first):
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, d_model=8\), got \(2, 5, 6\)"):
        EncoderLayer(D, H, D_FF, norm_first=norm_first)(torch.zeros(2, 5, 6))


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_rejects_memory_of_the_wrong_width(norm_first):
    with pytest.raises(ValueError, match=r"memory must have shape \(B, T, d_model=8\), got \(2, 6, 4\)"):
        DecoderLayer(D, H, D_FF, norm_first=norm_first)(torch.zeros(2, 5, D), torch.zeros(2, 6, 4))


def test_layers_reject_a_norm_first_that_is_not_a_bool():
    with pytest.raises(TypeError, match="norm_first must be True or False, got str"):
        EncoderLayer(D, H, D_FF, norm_first="yes")
