"""The toy tasks of attn_lib.data and the training path of attn_lib.train."""

from __future__ import annotations

import pytest
import torch

from attn_lib import Transformer, greedy_decode
from attn_lib.data import (
    BOS,
    DIGIT_OFFSET,
    EOS,
    PAD,
    VOCAB_SIZE,
    Batch,
    decode,
    encode,
    make_batch,
    make_copy_batch,
    make_reversal_batch,
    pad_sequences,
    reversal_held_out_set,
    to_strings,
    token_labels,
)
from attn_lib.train import (
    ProgressBar,
    exact_match,
    exact_match_accuracy,
    sequence_loss,
    train,
    warmup_cosine_schedule,
)


def tiny_model(seed: int = 0, layers: int = 1) -> Transformer:
    torch.manual_seed(seed)
    model = Transformer(
        VOCAB_SIZE,
        VOCAB_SIZE,
        d_model=32,
        num_heads=2,
        num_encoder_layers=layers,
        num_decoder_layers=layers,
        d_ff=64,
        max_len=32,
    )
    return model


def always_says(token: int, seed: int = 0) -> Transformer:
    """A model whose output layer ignores its input and always prefers ``token``."""
    model = tiny_model(seed)
    with torch.no_grad():
        model.generator.weight.zero_()
        model.generator.bias.fill_(-10.0)
        model.generator.bias[token] = 10.0
    return model


# ----------------------------------------------------------------------------- data


def test_encode_decode_round_trip():
    assert encode("2024") == [DIGIT_OFFSET + 2, DIGIT_OFFSET, DIGIT_OFFSET + 2, DIGIT_OFFSET + 4]
    assert decode([BOS, *encode("0719"), EOS, PAD, PAD]) == "0719"
    assert decode(torch.tensor(encode("5"))) == "5"


def test_decode_stops_at_the_first_eos():
    assert decode([*encode("12"), EOS, *encode("34")]) == "12"


def test_encode_rejects_non_digits_naming_them():
    with pytest.raises(ValueError, match=r"0-9.*\['a', 'x'\]"):
        encode("1a2x")
    with pytest.raises(TypeError, match="str"):
        encode(123)


def test_decode_rejects_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="not in the vocabulary"):
        decode([VOCAB_SIZE])
    with pytest.raises(ValueError, match="1-D"):
        decode(torch.zeros(2, 2, dtype=torch.long))


def test_token_labels_name_the_special_tokens():
    assert token_labels([BOS, DIGIT_OFFSET + 7, EOS, PAD]) == ["<bos>", "7", "<eos>", "<pad>"]


def test_to_strings_wants_a_batch_of_ids():
    assert to_strings(torch.tensor([[*encode("42"), EOS]])) == ["42"]
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        to_strings(torch.tensor(encode("42")))


def test_pad_sequences_right_pads_with_pad():
    out = pad_sequences([[5, 6, 7], [8]])
    torch.testing.assert_close(out, torch.tensor([[5, 6, 7], [8, PAD, PAD]]))
    with pytest.raises(ValueError, match="empty"):
        pad_sequences([])


def test_make_batch_builds_teacher_forcing_pairs():
    batch = make_batch([[3, 4]], [[4, 3]])
    torch.testing.assert_close(batch.tgt_in, torch.tensor([[BOS, 4, 3]]))
    torch.testing.assert_close(batch.tgt_out, torch.tensor([[4, 3, EOS]]))
    with pytest.raises(ValueError, match="pair up"):
        make_batch([[3]], [])


def test_reversal_batch_shapes_and_padding():
    g = torch.Generator().manual_seed(0)
    src, tgt_in, tgt_out = make_reversal_batch(64, 3, 7, g)
    lengths = (src != PAD).sum(dim=1)  # (B,)
    S = int(lengths.max())
    assert src.shape == (64, S)
    assert tgt_in.shape == tgt_out.shape == (64, S + 1)
    assert int(lengths.min()) >= 3 and S <= 7
    assert len(set(lengths.tolist())) > 1, "lengths should vary, so that padding masks matter"
    for b, L in enumerate(lengths.tolist()):
        assert (src[b, :L] != PAD).all() and (src[b, L:] == PAD).all(), "padding only at the end"


def test_reversal_target_is_the_reversed_source_then_eos():
    g = torch.Generator().manual_seed(1)
    batch = make_reversal_batch(32, 1, 9, g)
    for b, L in enumerate((batch.src != PAD).sum(dim=1).tolist()):
        torch.testing.assert_close(batch.tgt_out[b, :L], batch.src[b, :L].flip(0))
        assert batch.tgt_out[b, L] == EOS
        assert (batch.tgt_out[b, L + 1 :] == PAD).all()
        assert to_strings(batch.tgt_out[b : b + 1]) == [to_strings(batch.src[b : b + 1])[0][::-1]]


def test_decoder_input_is_bos_then_target_shifted_right():
    g = torch.Generator().manual_seed(2)
    batch = make_reversal_batch(16, 2, 6, g)
    assert (batch.tgt_in[:, 0] == BOS).all()
    for b, L in enumerate((batch.src != PAD).sum(dim=1).tolist()):
        torch.testing.assert_close(batch.tgt_in[b, 1 : L + 1], batch.tgt_out[b, :L])
        assert (batch.tgt_in[b, L + 1 :] == PAD).all()


def test_copy_batch_target_is_the_source():
    batch = make_copy_batch(8, 2, 5, torch.Generator().manual_seed(3))
    for b, L in enumerate((batch.src != PAD).sum(dim=1).tolist()):
        torch.testing.assert_close(batch.tgt_out[b, :L], batch.src[b, :L])


def test_batches_are_reproducible_with_a_seeded_generator():
    a = make_reversal_batch(8, 2, 5, torch.Generator().manual_seed(7))
    b = make_reversal_batch(8, 2, 5, torch.Generator().manual_seed(7))
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y)
    assert isinstance(a, Batch) and len(a) == 8


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"batch_size": 0, "min_len": 1, "max_len": 2}, ValueError, "batch_size must be positive"),
        ({"batch_size": 2, "min_len": 5, "max_len": 2}, ValueError, "min_len=5 is larger than max_len=2"),
        ({"batch_size": 2, "min_len": 1.0, "max_len": 2}, TypeError, "min_len must be an int"),
        ({"batch_size": 2, "min_len": 1, "max_len": 2, "generator": 3}, TypeError, "torch.Generator"),
    ],
)
def test_reversal_batch_validates_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_reversal_batch(**kwargs)


def test_held_out_set_wants_an_int_seed():
    with pytest.raises(TypeError, match="seed must be an int"):
        reversal_held_out_set(5, 2, 3, seed="1")


def test_held_out_set_is_fixed_and_does_not_overlap_a_training_stream():
    a, b = reversal_held_out_set(200, 8, 12), reversal_held_out_set(200, 8, 12)
    torch.testing.assert_close(a.src, b.src)
    g = torch.Generator().manual_seed(0)
    seen = {s for _ in range(50) for s in to_strings(make_reversal_batch(64, 8, 12, g).src)}
    assert not seen & set(to_strings(a.src))


# ---------------------------------------------------------------------------- train


def test_sequence_loss_ignores_padded_positions():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, VOCAB_SIZE)
    tgt = torch.tensor([[5, EOS, PAD], [6, 7, EOS]])
    changed = logits.clone()
    changed[0, 2] = 100.0  # scores at a PAD position must not matter
    torch.testing.assert_close(sequence_loss(logits, tgt, PAD), sequence_loss(changed, tgt, PAD))
    real = tgt != PAD
    expected = torch.nn.functional.cross_entropy(logits[real], tgt[real])
    torch.testing.assert_close(sequence_loss(logits, tgt, PAD), expected)
    with pytest.raises(ValueError, match=r"\(B, T, V\)"):
        sequence_loss(logits[0], tgt, PAD)


def test_warmup_then_cosine_schedule():
    assert warmup_cosine_schedule(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine_schedule(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine_schedule(10, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine_schedule(100, 100, 10, min_factor=0.1) == pytest.approx(0.1)


def test_a_model_overfits_a_tiny_batch():
    model = tiny_model()
    batch = make_reversal_batch(8, 3, 5, torch.Generator().manual_seed(0))
    history = train(model, lambda step: batch, steps=120, lr=3e-3, warmup=10)
    assert len(history) == 120
    assert history[-1] < 0.05 < history[0]
    assert exact_match_accuracy(model, batch.src, batch.tgt_out, BOS, EOS) == 1.0


def test_training_is_deterministic_given_the_seeds():
    def run() -> list[float]:
        model = tiny_model(seed=3)
        g = torch.Generator().manual_seed(3)
        return train(model, lambda step: make_reversal_batch(8, 2, 4, g), steps=8, lr=1e-3)

    assert run() == run()


def test_train_calls_progress_after_every_step_and_restores_the_mode():
    calls = []
    model = tiny_model().eval()
    batch = make_reversal_batch(4, 2, 3, torch.Generator().manual_seed(0))
    history = train(model, lambda step: batch, steps=3, progress=lambda s, loss: calls.append((s, loss)))
    assert calls == list(enumerate(history))
    assert not model.training


def test_progress_bar_is_silent_outside_jupyter():
    bar = ProgressBar(10)
    assert bar.bar is None
    bar(0, 1.0)  # does nothing, raises nothing


def test_progress_bar_in_a_notebook_shows_steps_and_loss(monkeypatch):
    import IPython.display

    import attn_lib.train

    shown = []
    monkeypatch.setattr(attn_lib.train, "_in_jupyter_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", shown.append)
    bar = ProgressBar(20, every=10)
    assert len(shown) == 1 and bar.bar.max == 20
    bar(4, 2.0)
    assert bar.bar.value == 0  # redrawn only every 10 steps
    bar(9, 1.23456)
    assert bar.bar.value == 10 and bar.label.value == "step 10/20  loss 1.2346"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"steps": 0}, ValueError, "steps must be positive"),
        ({"steps": 2.5}, TypeError, "steps must be an int"),
        ({"steps": 2, "lr": 0.0}, ValueError, "lr must be positive"),
        ({"steps": 2, "warmup": -1}, ValueError, "warmup must be >= 0"),
        ({"steps": 2, "min_lr_factor": 2.0}, ValueError, "min_lr_factor"),
        ({"steps": 2, "batch_fn": 3}, TypeError, "batch_fn must be callable"),
    ],
)
def test_train_validates_its_arguments(kwargs, error, match):
    kwargs.setdefault("batch_fn", lambda step: None)
    with pytest.raises(error, match=match):
        train(tiny_model(), **kwargs)


# --------------------------------------------------------------------- exact match


def test_exact_match_on_hand_made_rows():
    tgt = torch.tensor([[5, 6, EOS], [5, 6, EOS], [5, 6, EOS], [5, EOS, PAD], [5, EOS, PAD]])
    pred = torch.tensor(
        [
            [5, 6, EOS, PAD],  # right, and longer padding does not matter
            [5, 7, EOS, PAD],  # a wrong digit
            [5, 6, 6, EOS],  # too long: EOS one step late
            [5, EOS, 9, 9],  # right: what follows the EOS is ignored
            [5, 6, EOS, PAD],  # too long
        ]
    )
    assert exact_match(pred, tgt, EOS, PAD).tolist() == [True, False, False, True, False]
    assert exact_match(torch.tensor([[5, 6]]), tgt[:1], EOS, PAD).tolist() == [False]  # never stopped


def test_exact_match_validates_its_inputs():
    with pytest.raises(ValueError, match="must contain eos_id"):
        exact_match(torch.tensor([[5]]), torch.tensor([[5]]), EOS)
    with pytest.raises(ValueError, match="rows"):
        exact_match(torch.tensor([[5]]), torch.tensor([[EOS], [EOS]]), EOS)
    with pytest.raises(ValueError, match=r"pred must be a \(B, T\)"):
        exact_match(torch.tensor([5.0]), torch.tensor([[EOS]]), EOS)


def test_exact_match_accuracy_counts_whole_sequences():
    model = always_says(EOS)  # greedy output: EOS at once
    src = torch.tensor([encode("12"), encode("34")])
    tgt = torch.tensor([[EOS, PAD], [DIGIT_OFFSET, EOS]])  # the first row expects nothing but EOS
    assert exact_match_accuracy(model, src, tgt, BOS, EOS) == 0.5
    assert exact_match_accuracy(model, src, tgt, BOS, EOS, batch_size=1, use_cache=False) == 0.5
    with pytest.raises(ValueError, match="rows"):
        exact_match_accuracy(model, src, tgt[:1], BOS, EOS)


def test_greedy_decoding_respects_max_len_and_stops_at_eos():
    src = torch.tensor([encode("1234")])
    never_stops = greedy_decode(always_says(DIGIT_OFFSET + 7), src, max_len=6, bos_id=BOS, eos_id=EOS)
    assert never_stops.shape == (1, 7) and decode(never_stops[0]) == "777777"
    stops = greedy_decode(always_says(EOS), src, max_len=6, bos_id=BOS, eos_id=EOS)
    assert stops.tolist() == [[BOS, EOS]]


def test_transformer_embeddings_start_at_the_positional_encoding_scale():
    model = tiny_model()
    std = torch.cat([model.src_embed.weight, model.tgt_embed.weight]).std().item()
    assert abs(std - 32**-0.5) < 0.03, (
        f"embedding std {std:.3f}, expected about 1/sqrt(d_model) = {32**-0.5:.3f}"
    )


# ---------------------------------------------------------------- named errors (issue 12)


@pytest.mark.parametrize("ids", [[1.5, 3], "123", None, torch.tensor([3.0])])
def test_decode_rejects_ids_that_are_not_integers(ids):
    with pytest.raises(TypeError, match="ids must"):
        decode(ids)


def test_token_labels_rejects_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match=f"token id 99 is not in the vocabulary 0..{VOCAB_SIZE - 1}"):
        token_labels([1, 99])


def test_pad_sequences_rejects_a_non_int_pad_id():
    with pytest.raises(TypeError, match="pad_id must be an int token id, got float"):
        pad_sequences([[3, 4]], pad_id=0.5)


def test_sequence_loss_rejects_targets_outside_the_vocabulary():
    logits = torch.zeros(1, 2, 5)
    with pytest.raises(ValueError, match=r"tgt_out holds token id 7, outside the vocabulary 0..4"):
        sequence_loss(logits, torch.tensor([[1, 7]]), pad_id=0)


def test_sequence_loss_rejects_a_target_that_is_all_padding():
    with pytest.raises(ValueError, match="every position is pad_id"):
        sequence_loss(torch.zeros(1, 2, 5), torch.zeros(1, 2, dtype=torch.long), pad_id=0)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"lr": "1e-3"}, "lr must be a real number"),
        ({"lr": float("nan")}, "lr must be finite"),
        ({"clip_grad_norm": 0.0}, "clip_grad_norm must be positive"),
        ({"weight_decay": -0.1}, "weight_decay must be >= 0"),
        ({"progress": 3}, "progress must be callable"),
    ],
)
def test_train_rejects_bad_arguments_by_name(kwargs, message):
    model = Transformer(VOCAB_SIZE, VOCAB_SIZE, d_model=8, num_heads=2, d_ff=16)
    batch = make_reversal_batch(2, 2, 3, torch.Generator().manual_seed(0))
    with pytest.raises((TypeError, ValueError), match=message):
        train(model, lambda step: batch, 1, **kwargs)


def test_train_works_under_no_grad():
    model = Transformer(VOCAB_SIZE, VOCAB_SIZE, d_model=8, num_heads=2, d_ff=16)
    batch = make_reversal_batch(2, 2, 3, torch.Generator().manual_seed(0))
    with torch.no_grad():
        losses = train(model, lambda step: batch, 2)
    assert len(losses) == 2
