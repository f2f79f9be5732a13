"""The decoder-only language model, the repeated-segment task and the induction-head scores."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from attn_lib.lm import (
    LM_ALPHABET,
    DecoderBlock,
    DecoderOnlyLM,
    ablation_mask,
    decode_text,
    encode_text,
    half_losses,
    induction_score,
    induction_targets,
    make_repeated_segments,
    previous_token_score,
    token_losses,
    train_induction_model,
    train_lm,
)
from attn_lib.masks import causal_mask


def small_lm(**kw) -> DecoderOnlyLM:
    torch.manual_seed(0)
    args = dict(vocab_size=11, d_model=16, num_heads=4, num_layers=2, max_len=12)
    args.update(kw)
    return DecoderOnlyLM(**args).eval()


def tokens(B: int = 3, T: int = 9, V: int = 11, seed: int = 1) -> torch.Tensor:
    return torch.randint(V, (B, T), generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------ the model


@pytest.mark.parametrize("positional", ["learned", "sinusoidal", "none"])
@pytest.mark.parametrize("d_ff", [0, 32])
def test_lm_returns_logits_and_one_causal_map_per_layer(positional, d_ff):
    model = small_lm(positional=positional, d_ff=d_ff)
    x = tokens()
    logits, maps = model(x, need_weights=True)
    assert logits.shape == (3, 9, 11)
    assert len(maps) == 2 and all(w.shape == (3, 4, 9, 9) for w in maps)
    for w in maps:
        torch.testing.assert_close(w.sum(-1), torch.ones(3, 4, 9))
        assert torch.all(w[..., ~causal_mask(9)] == 0)  # weights of -inf scores: exactly 0
    torch.testing.assert_close(model(x), logits)


def test_attention_only_blocks_have_no_feed_forward():
    assert small_lm(d_ff=0).layers[0].ff is None
    assert isinstance(small_lm(d_ff=8).layers[0].ff, nn.Module)


def test_lm_block_matches_torch_pre_norm_encoder_layer_with_causal_mask():
    torch.manual_seed(3)
    block = DecoderBlock(16, 4, d_ff=32).eval()
    ref = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True, norm_first=True).eval()
    a = block.self_attn
    with torch.no_grad():
        ref.self_attn.in_proj_weight.copy_(torch.cat([a.q_proj.weight, a.k_proj.weight, a.v_proj.weight]))
        ref.self_attn.in_proj_bias.copy_(torch.cat([a.q_proj.bias, a.k_proj.bias, a.v_proj.bias]))
        ref.self_attn.out_proj.load_state_dict(a.out_proj.state_dict())
        ref.linear1.load_state_dict(block.ff.linear1.state_dict())
        ref.linear2.load_state_dict(block.ff.linear2.state_dict())
        ref.norm1.load_state_dict(block.norm1.state_dict())
        ref.norm2.load_state_dict(block.norm2.state_dict())
    x = torch.randn(2, 7, 16)
    mine, _ = block(x, causal_mask(7))
    theirs = ref(x, src_mask=nn.Transformer.generate_square_subsequent_mask(7), is_causal=True)
    torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)


def test_lm_logits_at_t_do_not_depend_on_later_tokens():
    model = small_lm()
    x = tokens()
    y = x.clone()
    y[:, 5:] = (y[:, 5:] + 3) % 11
    torch.testing.assert_close(model(x)[:, :5], model(y)[:, :5])  # equal up to rounding
    assert (model(x)[:, 5:] - model(y)[:, 5:]).abs().max() > 1e-2  # the contrast: later rows change


def test_lm_gradient_from_the_future_is_exactly_zero():
    model = small_lm()
    emb = model.embed_tokens(tokens()).detach().requires_grad_(True)
    x = emb
    mask = causal_mask(9)
    for layer in model.layers:
        x, _ = layer(x, mask)
    model.unembed(model.norm(x))[:, 3].sum().backward()
    assert torch.all(emb.grad[:, 4:] == 0)
    assert emb.grad[:, :4].abs().sum() > 0


def test_without_positions_one_layer_s_last_row_ignores_the_order_of_the_prefix():
    # one layer: its keys are the prefix's embeddings, a set without positions (a second layer
    # would see each earlier position's own causal summary, which does depend on order)
    model = small_lm(positional="none", num_layers=1)
    x = tokens(B=1, T=8)
    shuffled = torch.cat(
        [x[:, :7][:, torch.randperm(7, generator=torch.Generator().manual_seed(0))], x[:, 7:]], 1
    )
    torch.testing.assert_close(model(x)[:, -1], model(shuffled)[:, -1])
    assert (
        small_lm(num_layers=1)(x)[:, -1] - small_lm(num_layers=1)(shuffled)[:, -1]
    ).abs().max() > 1e-3  # learned positions: it does


def test_head_mask_of_ones_changes_nothing():
    model = small_lm()
    x = tokens()
    torch.testing.assert_close(model(x, head_mask=torch.ones(2, 4)), model(x))
    torch.testing.assert_close(model(x, head_mask=torch.ones(2, 4, dtype=torch.bool)), model(x))


def test_head_mask_zero_equals_zeroing_the_heads_columns_of_w_o():
    model = small_lm()
    x = tokens()
    ablated = model(x, head_mask=ablation_mask(model, [(1, 2), (0, 0)]))
    with torch.no_grad():
        model.layers[1].self_attn.out_proj.weight[:, 8:12] = 0.0  # head 2 of layer 1 (Dh = 4)
        model.layers[0].self_attn.out_proj.weight[:, 0:4] = 0.0
    torch.testing.assert_close(ablated, model(x))


def test_head_mask_is_forgotten_after_the_call_and_weights_still_returned():
    model = small_lm()
    x = tokens()
    before = model(x)
    _, maps = model(x, need_weights=True, head_mask=torch.zeros(2, 4))
    torch.testing.assert_close(model(x), before)
    torch.testing.assert_close(maps[0].sum(-1), torch.ones(3, 4, 9))


def test_all_heads_off_leaves_only_the_current_token_and_position():
    model = small_lm()
    x = tokens(B=1, T=6)
    y = x.clone()
    y[0, :5] = (y[0, :5] + 1) % 11  # change the context, keep the last token
    off = torch.zeros(2, 4)
    torch.testing.assert_close(model(x, head_mask=off)[:, -1], model(y, head_mask=off)[:, -1])


def test_attention_options_reach_every_attention_module():
    model = small_lm(attention_options={"bias": False})
    assert all(layer.self_attn.q_proj.bias is None for layer in model.layers)


def test_lm_training_lowers_the_loss():
    model = small_lm(vocab_size=8, max_len=16)
    g = torch.Generator().manual_seed(0)
    losses = train_lm(model, lambda s: make_repeated_segments(16, 8, 16, generator=g)[0], 40, lr=3e-3)
    assert len(losses) == 40 and sum(losses[-5:]) / 5 < sum(losses[:5]) / 5
    assert not model.training


@pytest.mark.parametrize(
    ("kwargs", "call", "error", "match"),
    [
        ({"positional": "rotary"}, None, ValueError, "positional must be one of"),
        ({"d_model": 15}, None, ValueError, "not divisible"),
        ({"d_ff": -1}, None, ValueError, "d_ff must be an int >= 0"),
        ({"num_layers": 0}, None, ValueError, "num_layers"),
        ({"attention_options": {"num_heads": 2}}, None, ValueError, "must not set 'num_heads'"),
        ({"attention_options": [1]}, None, TypeError, "attention_options must be a dict"),
        (
            {"attention_options": {"windw": 4}},
            None,
            ValueError,
            r"\['windw'\], which MultiHeadAttention does not take",
        ),
        ({}, lambda m: m(torch.ones(2, 3)), TypeError, "integer token ids"),
        ({}, lambda m: m(torch.ones(3, dtype=torch.long)), ValueError, r"shape \(B, T\)"),
        ({}, lambda m: m(torch.full((1, 3), 11)), ValueError, "outside the vocabulary 0..10"),
        ({}, lambda m: m(torch.full((1, 3), -1)), ValueError, "outside the vocabulary"),
        ({}, lambda m: m(torch.zeros(1, 13, dtype=torch.long)), ValueError, "max_len=12"),
        ({}, lambda m: m(torch.zeros(1, 0, dtype=torch.long)), ValueError, "at least one"),
        (
            {},
            lambda m: m(torch.zeros(1, 3, dtype=torch.long), head_mask=torch.ones(4, 2)),
            ValueError,
            "head_mask",
        ),
        ({}, lambda m: m(torch.zeros(1, 3, dtype=torch.long), head_mask=[1]), TypeError, "head_mask"),
        ({}, lambda m: ablation_mask(m, [(2, 0)]), ValueError, r"layer must be an int in \[0, 1\]"),
        ({}, lambda m: ablation_mask(m, [(0, 4)]), ValueError, r"head must be an int in \[0, 3\]"),
    ],
)
def test_lm_bad_input_gets_a_named_error(kwargs, call, error, match):
    with pytest.raises(error, match=match):
        model = small_lm(**kwargs)
        call(model)


def test_lm_does_not_change_its_input():
    x = tokens()
    copy = x.clone()
    small_lm()(x)
    assert torch.equal(x, copy)


# ------------------------------------------------------------------ the task


def test_repeated_segments_repeat_with_their_period():
    x, periods = make_repeated_segments(50, 7, 20, min_period=3, generator=torch.Generator().manual_seed(0))
    assert x.shape == (50, 20) and periods.shape == (50,)
    assert int(periods.min()) >= 3 and int(periods.max()) <= 10
    for row, p in zip(x, periods.tolist(), strict=True):
        assert torch.equal(row[p:], row[:-p])
    assert len(set(periods.tolist())) > 3  # the period varies, so position alone cannot predict


def test_repeated_segments_with_half_period_are_two_halves_and_seeded():
    a, _ = make_repeated_segments(4, 32, 16, 8, 8, generator=torch.Generator().manual_seed(5))
    b, _ = make_repeated_segments(4, 32, 16, 8, 8, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and torch.equal(a[:, :8], a[:, 8:])


def test_repeated_segments_bad_periods():
    with pytest.raises(ValueError, match="max_period <= seq_len // 2"):
        make_repeated_segments(2, 5, 10, 2, 6)
    with pytest.raises(ValueError, match="min_period"):
        make_repeated_segments(2, 5, 10, 0)


def test_previous_token_score_is_one_on_the_sub_diagonal():
    T = 6
    shift = torch.zeros(T, T)
    shift[0, 0] = 1
    shift[torch.arange(1, T), torch.arange(T - 1)] = 1
    assert float(previous_token_score(shift)) == 1.0
    assert float(previous_token_score(torch.eye(T))) == 0.0
    uniform = causal_mask(T).float() / causal_mask(T).sum(-1, keepdim=True)
    torch.testing.assert_close(
        previous_token_score(uniform), torch.tensor(sum(1 / (q + 1) for q in range(1, T)) / 5)
    )


def test_induction_score_is_one_on_the_induction_diagonal_of_the_repeat():
    P, T = 4, 8
    w = torch.zeros(2, 3, T, T)
    w[..., torch.arange(T), torch.arange(T)] = 1.0
    q = torch.arange(P, T)
    w[..., q, :] = 0.0
    w[..., q, q - P + 1] = 1.0
    torch.testing.assert_close(induction_score(w, P), torch.ones(2, 3))
    w2 = torch.zeros(T, T)
    w2[q, q - P] = 1.0  # the earlier occurrence itself (off by one)
    assert float(induction_score(w2, P)) == 0.0


def test_induction_targets_of_two_halves_with_distinct_tokens_are_the_diagonal():
    P = 5
    x = torch.tensor([3, 1, 4, 0, 2] * 2)
    expected = torch.zeros(2 * P, 2 * P, dtype=torch.bool)
    q = torch.arange(P, 2 * P)
    expected[q, q - P + 1] = True
    assert torch.equal(induction_targets(x), expected)


def test_half_losses_split_first_occurrence_and_repeat():
    losses = torch.cat(
        [torch.full((2, 3), 5.0), torch.full((2, 1), 9.0), torch.full((2, 3), 1.0)], 1
    )  # T = 8
    assert half_losses(losses, 4) == (5.0, 1.0)


def test_token_losses_shape_and_value():
    model = small_lm()
    x = tokens()
    L = token_losses(model, x)
    assert L.shape == (3, 8)
    logp = torch.log_softmax(model(x), -1)
    torch.testing.assert_close(L[1, 2], -logp[1, 2, x[1, 3]])


def test_text_round_trip_and_bad_characters():
    assert len(LM_ALPHABET) == 32
    assert decode_text(encode_text("Hello, world!")) == "hello, world!"
    with pytest.raises(ValueError, match=r"\['7'\]"):
        encode_text("abc7")


@pytest.mark.parametrize(
    ("ids", "error", "match"),
    [
        (torch.tensor([0, 32]), ValueError, r"ids holds \[32\], outside the alphabet's ids 0..31"),
        ([-1, 3], ValueError, r"ids holds \[-1\]"),  # was LM_ALPHABET[-1]: a silent "-"
        (torch.tensor([1.0]), TypeError, "integer token ids, got dtype torch.float32"),
        (torch.zeros(2, 3, dtype=torch.long), ValueError, r"one sequence \(1-D\), got shape \(2, 3\)"),
        ("abc", TypeError, "a sequence of int token ids, got str"),
    ],
)
def test_decode_text_names_ids_outside_the_alphabet(ids, error, match):
    with pytest.raises(error, match=match):
        decode_text(ids)
    assert decode_text([7, 8]) == decode_text(torch.tensor([7, 8])) == "hi"


def test_train_induction_model_is_seeded_and_watched_every_few_steps():
    seen = []
    model, losses = train_induction_model(seed=3, steps=10, watch=lambda s, m: seen.append(s), watch_every=4)
    assert seen == [4, 8] and len(losses) == 10 and not model.training
    _, again = train_induction_model(seed=3, steps=10)
    assert again == losses  # the same run on the same machine (watching changes nothing)
