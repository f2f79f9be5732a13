"""The tiny encoder-decoder Transformer: shapes, where its masks go, and greedy decoding.

Mask routing is checked by recording the mask every call of
``scaled_dot_product_attention`` receives (as imported by ``attn_lib.multihead``).
"""

from __future__ import annotations

import pytest
import torch

import attn_lib.multihead
from attn_lib import Transformer, causal_mask, greedy_decode, padding_mask

PAD, BOS, EOS = 0, 1, 2
SRC_V, TGT_V, D, H = 11, 13, 16, 2
S, T = 6, 4  # different lengths, so a recorded call tells which attention it came from


def make_model(seed=0, **kwargs) -> Transformer:
    torch.manual_seed(seed)
    options = dict(d_model=D, num_heads=H, num_encoder_layers=2, num_decoder_layers=2, d_ff=32, max_len=32)
    options.update(kwargs)
    return Transformer(SRC_V, TGT_V, pad_id=options.pop("pad_id", PAD), **options).eval()


def src_tokens() -> torch.Tensor:
    """``(2, S)``: sequence 0 ends with 2 pads, sequence 1 has none."""
    return torch.tensor([[5, 6, 7, 8, PAD, PAD], [9, 3, 4, 5, 6, 7]])


def tgt_tokens() -> torch.Tensor:
    """``(2, T)`` starting with BOS; sequence 1 ends with a pad."""
    return torch.tensor([[BOS, 4, 5, 6], [BOS, 7, 8, PAD]])


def same_mask(got: torch.Tensor | None, expected: torch.Tensor, shape: tuple[int, ...]) -> bool:
    """Do two masks mean the same once broadcast to ``shape``?"""
    return got is not None and torch.equal(
        torch.broadcast_to(got, shape), torch.broadcast_to(expected, shape)
    )


@pytest.fixture
def recorded_calls(monkeypatch):
    """Every call of scaled_dot_product_attention from MultiHeadAttention: ``(T_q, T_k, mask)``."""
    calls = []
    original = attn_lib.multihead.scaled_dot_product_attention

    def recording(query, key, value, mask=None, **kwargs):
        calls.append((query.shape[-2], key.shape[-2], mask))
        return original(query, key, value, mask=mask, **kwargs)

    monkeypatch.setattr(attn_lib.multihead, "scaled_dot_product_attention", recording)
    return calls


# ---------------------------------------------------------------- shapes and masks


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_gives_b_t_v_logits(norm_first):
    model = make_model(norm_first=norm_first)
    assert model(src_tokens(), tgt_tokens()).shape == (2, T, TGT_V)


def test_source_padding_mask_reaches_every_encoder_self_attention(recorded_calls):
    make_model()(src_tokens(), tgt_tokens())
    encoder_masks = [m for t_q, t_k, m in recorded_calls if (t_q, t_k) == (S, S)]
    expected = padding_mask(src_tokens(), PAD)
    assert len(encoder_masks) == 2 and all(same_mask(m, expected, (2, H, S, S)) for m in encoder_masks)


def test_source_padding_mask_reaches_every_cross_attention(recorded_calls):
    make_model()(src_tokens(), tgt_tokens())
    cross_masks = [m for t_q, t_k, m in recorded_calls if (t_q, t_k) == (T, S)]
    expected = padding_mask(src_tokens(), PAD)
    assert len(cross_masks) == 2 and all(same_mask(m, expected, (2, H, T, S)) for m in cross_masks)


def test_causal_and_target_padding_mask_reaches_every_decoder_self_attention(recorded_calls):
    make_model()(src_tokens(), tgt_tokens())
    self_masks = [m for t_q, t_k, m in recorded_calls if (t_q, t_k) == (T, T)]
    expected = causal_mask(T) & padding_mask(tgt_tokens(), PAD)  # (2, 1, T, T)
    assert len(self_masks) == 2 and all(same_mask(m, expected, (2, H, T, T)) for m in self_masks)


def test_tgt_mask_is_causal_and_hides_target_padding():
    Y, N = True, False
    expected = torch.tensor([[Y, N, N, N], [Y, Y, N, N], [Y, Y, Y, N], [Y, Y, Y, N]])  # key 3 is a pad
    assert torch.equal(make_model().tgt_mask(tgt_tokens())[1, 0], expected)


def test_without_pad_id_there_is_no_source_mask():
    assert make_model(pad_id=None).src_mask(src_tokens()) is None


def test_without_pad_id_the_target_mask_is_only_causal():
    assert torch.equal(make_model(pad_id=None).tgt_mask(tgt_tokens()), causal_mask(T))


def test_extra_source_padding_does_not_change_the_logits():
    model = make_model()
    short = torch.tensor([[5, 6, 7], [8, 9, 3]])
    padded = torch.cat([short, torch.full((2, 3), PAD)], dim=1)
    torch.testing.assert_close(model(padded, tgt_tokens()), model(short, tgt_tokens()))


def test_changing_the_source_pad_embedding_does_not_change_the_logits():
    model = make_model()
    before = model(src_tokens(), tgt_tokens())
    with torch.no_grad():
        model.src_embed.weight[PAD] = 50.0  # what sits under the padded source positions
    torch.testing.assert_close(model(src_tokens(), tgt_tokens()), before)


def test_changing_the_target_pad_embedding_does_not_change_the_real_positions():
    model = make_model()
    real = tgt_tokens() != PAD
    before = model(src_tokens(), tgt_tokens())[real]
    with torch.no_grad():
        model.tgt_embed.weight[PAD] = 50.0
    torch.testing.assert_close(model(src_tokens(), tgt_tokens())[real], before)


def test_attention_maps_hold_one_map_per_layer_with_the_right_shapes():
    maps = make_model().attention_maps(src_tokens(), tgt_tokens())
    shapes = [[tuple(w.shape) for w in group] for group in (maps.encoder, maps.decoder_self, maps.cross)]
    assert shapes == [[(2, H, S, S)] * 2, [(2, H, T, T)] * 2, [(2, H, T, S)] * 2]


def test_attention_maps_give_padded_source_keys_zero_weight():
    maps = make_model().attention_maps(src_tokens(), tgt_tokens())
    assert all(bool((w[0, :, :, -2:] == 0).all()) for w in (*maps.encoder, *maps.cross))


def test_transformer_rejects_source_that_is_not_a_tensor():
    with pytest.raises(TypeError, match=r"src must be a torch\.Tensor of token ids, got list"):
        make_model().encode([[5, 6]])


def test_transformer_rejects_float_target_tokens():
    model = make_model()
    memory = model.encode(src_tokens())
    with pytest.raises(TypeError, match=r"tgt must hold integer token ids, got dtype torch.float32"):
        model.decode(tgt_tokens().float(), memory)


def test_attention_maps_reject_a_one_dimensional_source():
    with pytest.raises(ValueError, match=r"src must be integer token ids of shape \(B, T\), got \(6,\)"):
        make_model().attention_maps(src_tokens()[0], tgt_tokens())


# ---------------------------------------------------------------- decoding with a cache


def test_decode_with_cache_in_chunks_equals_decode_without_cache():
    model = make_model(seed=1)
    src, tgt = src_tokens(), torch.tensor([[BOS, 4, 5, 6, 7, 8], [BOS, 9, 3, 4, 10, 11]])
    memory, memory_mask = model.encode(src), model.src_mask(src)
    full = model.decode(tgt, memory, memory_mask)
    cache = model.decoder.new_cache()
    parts = [
        model.decode(tgt[:, lo:hi], memory, memory_mask, cache=cache) for lo, hi in [(0, 3), (3, 4), (4, 6)]
    ]
    torch.testing.assert_close(torch.cat(parts, dim=1), full)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_greedy_decode_with_cache_gives_the_same_tokens(seed):
    model = make_model(seed=seed)
    src = torch.randint(3, SRC_V, (3, 5), generator=torch.Generator().manual_seed(seed))
    src[0, -2:] = PAD
    without = greedy_decode(model, src, max_len=8, bos_id=BOS, eos_id=EOS)
    with_cache = greedy_decode(model, src, max_len=8, bos_id=BOS, eos_id=EOS, use_cache=True)
    assert torch.equal(with_cache, without)


# ---------------------------------------------------------------- greedy_decode


def force_token(model: Transformer, token: int, runner_up: int | None = None) -> Transformer:
    """Make the generator always prefer ``token`` (then ``runner_up``), whatever the input."""
    with torch.no_grad():
        model.generator.weight.zero_()
        model.generator.bias.zero_()
        model.generator.bias[token] = 100.0
        if runner_up is not None:
            model.generator.bias[runner_up] = 50.0
    return model


def script_decode(monkeypatch, model: Transformer, script: list[list[int]]) -> None:
    """Replace ``model.decode``: at step t, sequence b's most likely next token is ``script[b][t]``."""
    step = {"t": 0}

    def decode(tgt, memory, memory_mask=None, cache=None):
        logits = torch.zeros(tgt.shape[0], tgt.shape[1], TGT_V)
        for b, tokens in enumerate(script):
            logits[b, -1, tokens[step["t"]]] = 1.0
        step["t"] += 1
        return logits

    monkeypatch.setattr(model, "decode", decode)


def test_greedy_decode_starts_with_bos():
    ys = greedy_decode(make_model(), src_tokens(), max_len=3, bos_id=BOS, eos_id=EOS)
    assert bool((ys[:, 0] == BOS).all())


def test_greedy_decode_generates_max_len_tokens_when_no_eos_comes():
    model = force_token(make_model(), 7)
    assert greedy_decode(model, src_tokens(), max_len=5, bos_id=BOS, eos_id=EOS).shape == (2, 1 + 5)


def test_greedy_decode_stops_at_eos():
    model = force_token(make_model(), EOS)
    ys = greedy_decode(model, src_tokens(), max_len=10, bos_id=BOS, eos_id=EOS)
    assert ys.tolist() == [[BOS, EOS], [BOS, EOS]]


def test_greedy_decode_pads_after_eos_and_stops_when_all_ended(monkeypatch):
    model = make_model()
    script_decode(monkeypatch, model, [[4, EOS, 9, 9, 9], [4, 5, 6, EOS, 9]])
    ys = greedy_decode(model, src_tokens(), max_len=10, bos_id=BOS, eos_id=EOS)
    assert ys.tolist() == [[BOS, 4, EOS, PAD, PAD], [BOS, 4, 5, 6, EOS]]


def test_greedy_decode_without_pad_id_fills_with_eos(monkeypatch):
    model = make_model(pad_id=None)
    script_decode(monkeypatch, model, [[EOS, 9], [4, EOS]])
    ys = greedy_decode(model, src_tokens(), max_len=10, bos_id=BOS, eos_id=EOS)
    assert ys.tolist() == [[BOS, EOS, EOS], [BOS, 4, EOS]]


def test_greedy_decode_never_generates_the_pad_token():
    model = force_token(make_model(), PAD, runner_up=7)
    ys = greedy_decode(model, src_tokens(), max_len=4, bos_id=BOS, eos_id=EOS)
    assert bool((ys[:, 1:] == 7).all())


@pytest.mark.parametrize("training", [True, False])
def test_greedy_decode_restores_the_training_mode(training):
    model = make_model().train(training)
    greedy_decode(model, src_tokens(), max_len=3, bos_id=BOS, eos_id=EOS)
    assert model.training is training


def test_greedy_decode_switches_dropout_off():
    model = make_model(dropout=0.5).train()
    first = greedy_decode(model, src_tokens(), max_len=6, bos_id=BOS, eos_id=EOS)
    second = greedy_decode(model, src_tokens(), max_len=6, bos_id=BOS, eos_id=EOS)
    assert torch.equal(first, second)


@pytest.mark.parametrize("max_len", [0, -1, 2.5, True])
def test_greedy_decode_rejects_a_max_len_that_is_not_a_positive_int(max_len):
    with pytest.raises(ValueError, match=f"max_len must be a positive int, got {max_len!r}"):
        greedy_decode(make_model(), src_tokens(), max_len=max_len, bos_id=BOS, eos_id=EOS)


# ---------------------------------------------------------------- named errors (issue 12)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"d_model": 0}, ValueError, "d_model must be a positive int, got 0"),
        ({"src_vocab_size": 0}, ValueError, "src_vocab_size must be a positive int, got 0"),
        ({"tgt_vocab_size": 0}, ValueError, "tgt_vocab_size must be a positive int, got 0"),
        ({"num_encoder_layers": -1}, ValueError, "num_encoder_layers must be an int >= 0, got -1"),
        ({"num_decoder_layers": 1.0}, ValueError, "num_decoder_layers must be an int >= 0, got 1.0"),
        ({"d_model": 16, "num_heads": 3}, ValueError, "d_model=16 is not divisible by num_heads=3"),
        ({"pad_id": 11}, ValueError, r"pad_id=11 is not a token id of both vocabularies \(0..10\)"),
        ({"pad_id": 0.5}, TypeError, "pad_id must be an int token id or None"),
        ({"dropout": 1.0}, ValueError, "dropout must be in"),
    ],
)
def test_transformer_rejects_bad_hyperparameters_by_name(kwargs, error, message):
    options = {"src_vocab_size": SRC_V, "tgt_vocab_size": TGT_V, "d_model": D, "num_heads": H, **kwargs}
    with pytest.raises(error, match=message):
        Transformer(**options)


@pytest.mark.parametrize("token", [SRC_V, -1])
def test_transformer_rejects_source_ids_outside_the_vocabulary(token):
    src = src_tokens().clone()
    src[0, 0] = token
    with pytest.raises(
        ValueError, match=rf"src holds token id {token}, outside the vocabulary 0..{SRC_V - 1}"
    ):
        make_model()(src, tgt_tokens())


def test_transformer_rejects_src_and_tgt_of_different_batch_sizes():
    with pytest.raises(ValueError, match="src has batch size 2 but tgt has 1"):
        make_model()(torch.ones(2, 3, dtype=torch.long), torch.ones(1, 4, dtype=torch.long))


def test_transformer_rejects_an_empty_target_by_its_name():
    with pytest.raises(ValueError, match=r"tgt must hold at least one token per row, got shape \(2, 0\)"):
        make_model()(src_tokens(), torch.ones(2, 0, dtype=torch.long))


def test_transformer_rejects_a_bool_target_by_its_name():
    with pytest.raises(TypeError, match=r"tgt must hold integer token ids, got dtype torch.bool"):
        make_model()(src_tokens(), tgt_tokens().bool())


def test_decode_rejects_memory_of_another_batch_size():
    model = make_model()
    memory = model.encode(src_tokens())
    with pytest.raises(ValueError, match="tgt has batch size 1 but memory has 2"):
        model.decode(tgt_tokens()[:1], memory)


@pytest.mark.parametrize(
    "bos_id, error, message",
    [
        (99, ValueError, rf"bos_id=99 is not in the target vocabulary 0..{TGT_V - 1}"),
        (1.5, TypeError, "bos_id must be an int token id, got float"),
    ],
)
def test_greedy_decode_rejects_a_bos_id_outside_the_vocabulary(bos_id, error, message):
    with pytest.raises(error, match=message):
        greedy_decode(make_model(), src_tokens(), 3, bos_id=bos_id, eos_id=2)


def test_greedy_decode_rejects_a_max_len_beyond_the_positional_table():
    with pytest.raises(
        ValueError, match=r"max_len=20 is more positions than the model has encodings for \(model.max_len=8\)"
    ):
        greedy_decode(make_model(max_len=8), src_tokens(), 20, bos_id=1, eos_id=2)


@pytest.mark.parametrize("dtype", [torch.int32, torch.uint8])
def test_transformer_accepts_any_integer_token_dtype(dtype):
    model = make_model()
    torch.testing.assert_close(
        model(src_tokens().to(dtype), tgt_tokens().to(dtype)), model(src_tokens(), tgt_tokens())
    )
