"""The date task of lesson 09: written forms, spans, the held-out split, the span-share statistic."""

from __future__ import annotations

import datetime as dt

import pytest
import torch

from attn_lib import dates
from attn_lib.dates import (
    BOS,
    DATE_FORMATS,
    EOS,
    PAD,
    decode_target,
    encode_source,
    encode_target,
    held_out_batch,
    make_date_batch,
    render_date,
    shuffled_span_share,
    span_share,
    split_dates,
)

MARCH_25 = dt.date(2019, 3, 25)  # a Monday


@pytest.mark.parametrize(
    ("fmt", "source"),
    [
        ("dmy_long", "25 March 2019"),
        ("mdy_long", "March 25, 2019"),
        ("dmy_slash", "25/03/2019"),
        ("dow_short", "Mon 25 Mar 19"),
        ("ordinal", "the 25th of march, 2019"),
        ("korean", "2019년 3월 25일 월요일"),
    ],
)
def test_each_format_writes_the_date_as_people_do(fmt: str, source: str):
    example = render_date(MARCH_25, fmt)
    assert example.source == source
    assert example.target == "2019-03-25"


@pytest.mark.parametrize("fmt", DATE_FORMATS)
def test_spans_hold_the_year_month_and_day(fmt: str):
    for date in (MARCH_25, dt.date(1950, 1, 1), dt.date(2049, 12, 31), dt.date(2001, 11, 2)):
        e = render_date(date, fmt)
        year, month, day = (e.source[a:b] for a, b in e.spans)
        assert year in (str(date.year), f"{date.year % 100:02d}")
        assert int(day) == date.day
        assert month in (str(date.month), f"{date.month:02d}") or dates.MONTHS[
            date.month - 1
        ].lower().startswith(month.lower())


def test_weekdays_are_the_real_weekdays_of_the_date():
    assert render_date(dt.date(2026, 12, 1), "dow_short").source.startswith("Tue ")
    assert render_date(dt.date(2026, 12, 1), "korean").source.endswith("화요일")
    assert render_date(dt.date(2026, 12, 6), "korean").source.endswith("일요일")


def test_ordinal_suffixes():
    days = {
        1: "1st",
        2: "2nd",
        3: "3rd",
        4: "4th",
        11: "11th",
        12: "12th",
        13: "13th",
        21: "21st",
        22: "22nd",
        31: "31st",
    }
    for day, word in days.items():
        assert render_date(dt.date(2000, 1, day), "ordinal").source == f"the {word} of january, 2000"


def test_two_digit_years_are_unambiguous_in_the_date_range():
    assert render_date(dt.date(1950, 5, 1), "dow_short").source.endswith(" 50")
    assert render_date(dt.date(2049, 5, 1), "dow_short").source.endswith(" 49")


def test_held_out_dates_are_disjoint_from_training_and_together_cover_every_date():
    train, held = split_dates(2000, seed=0)
    assert len(held) == 2000 and not set(train) & set(held)
    assert sorted(train + held) == dates.all_dates() and len(dates.all_dates()) == 36525
    assert split_dates(2000, seed=0) == (train, held)


def test_batches_are_reproducible_and_draw_only_from_the_given_dates():
    _, held = split_dates(100, seed=1)
    a = make_date_batch(held, 256, torch.Generator().manual_seed(3))
    b = make_date_batch(held, 256, torch.Generator().manual_seed(3))
    assert torch.equal(a.src, b.src)
    assert {e.target for e in a.examples} <= {d.isoformat() for d in held}
    assert set(a.formats) == set(DATE_FORMATS)


def test_formats_are_drawn_uniformly():
    train, _ = split_dates()
    batch = make_date_batch(train, 6000, torch.Generator().manual_seed(0))
    counts = [batch.formats.count(f) for f in DATE_FORMATS]
    assert all(900 < c < 1100 for c in counts), counts


def test_batch_tensors_are_the_teacher_forcing_pair_with_padding():
    batch = held_out_batch([MARCH_25], ["dmy_slash", "ordinal"])
    assert batch.src.shape == (2, len("the 25th of march, 2019"))
    assert batch.src[0, len("25/03/2019") :].eq(PAD).all()
    assert batch.tgt_in[:, 0].eq(BOS).all() and batch.tgt_out[:, -1].eq(EOS).all()
    assert torch.equal(batch.tgt_in[:, 1:], batch.tgt_out[:, :-1])
    assert decode_target(batch.tgt_out[1]) == "2019-03-25"
    src, tgt_in, tgt_out = batch
    assert (src, tgt_in, tgt_out) == (batch.src, batch.tgt_in, batch.tgt_out) and len(batch) == 2


def test_encode_round_trip_and_unknown_characters_are_named():
    assert decode_target([BOS, *encode_target("2019-03-25"), EOS, PAD]) == "2019-03-25"
    assert len(encode_source("2019년 3월")) == 8
    with pytest.raises(ValueError, match="does not know"):
        encode_source("25.03.2019")
    with pytest.raises(TypeError, match="text must be a str"):
        encode_source(2019)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="fmt must be one of"):
        render_date(MARCH_25, "iso")
    with pytest.raises(ValueError, match="between"):
        render_date(dt.date(1949, 12, 31), "korean")
    with pytest.raises(ValueError, match="batch_size"):
        make_date_batch([MARCH_25], 0)
    with pytest.raises(ValueError, match="unknown formats"):
        make_date_batch([MARCH_25], 2, formats=["nope"])


def _one_hot_cross(batch, field_of_row) -> torch.Tensor:
    """(B, 1, 11, S) cross-attention that puts all weight on the first character of a field."""
    B, S = batch.src.shape
    cross = torch.zeros(B, 1, 11, S)
    for b in range(B):
        for i in range(11):
            f = field_of_row(i)
            cross[b, 0, i, int(batch.spans[b, f, 0]) if f >= 0 else 0] = 1.0
    return cross


def test_span_share_is_one_for_attention_on_the_answer_and_zero_on_another_field():
    batch = held_out_batch([MARCH_25, dt.date(1987, 11, 30)])
    right = _one_hot_cross(batch, lambda i: dates.OUTPUT_FIELD[i] if i < 10 else -1)
    wrong = _one_hot_cross(batch, lambda i: (dates.OUTPUT_FIELD[i] + 1) % 3 if i < 10 else -1)
    torch.testing.assert_close(span_share(right, batch.spans), torch.ones(1))
    torch.testing.assert_close(span_share(wrong, batch.spans), torch.zeros(1))


def test_shuffled_baseline_of_uniform_attention_equals_its_span_share():
    batch = held_out_batch([MARCH_25])
    lengths = (batch.src != PAD).sum(1)
    B, S = batch.src.shape
    uniform = torch.zeros(B, 2, 11, S)
    for b in range(B):
        uniform[b, :, :, : int(lengths[b])] = 1.0 / int(lengths[b])
    share = span_share(uniform, batch.spans)
    torch.testing.assert_close(shuffled_span_share(uniform, batch.spans, batch.src), share)
    assert 0.05 < float(share[0]) < 0.5


def test_span_share_rejects_wrong_shapes():
    batch = held_out_batch([MARCH_25])
    with pytest.raises(ValueError, match="cross must be"):
        span_share(torch.zeros(6, 1, 3, batch.src.shape[1]), batch.spans)
    with pytest.raises(ValueError, match="spans must be"):
        span_share(torch.zeros(6, 1, 11, batch.src.shape[1]), batch.spans[:2])


# ------------------------------------------------------------------ looking inside a model


def _small_model(seed: int = 0) -> torch.nn.Module:
    from attn_lib import Transformer

    torch.manual_seed(seed)
    return Transformer(
        dates.SOURCE_VOCAB_SIZE, dates.TARGET_VOCAB_SIZE, d_model=16, num_heads=2, d_ff=32, max_len=32
    ).eval()


def test_ablating_a_head_equals_zeroing_its_columns_of_w_o():
    model = _small_model()
    batch = held_out_batch([MARCH_25, dt.date(1999, 12, 31)])
    with dates.ablate_heads(model, [("cross", 1, 0)]):
        ablated = model(batch.src, batch.tgt_in)
    by_hand = _small_model()
    with torch.no_grad():
        by_hand.decoder.layers[1].cross_attn.out_proj.weight[:, :8] = 0.0  # head 0 owns features 0..7
    torch.testing.assert_close(ablated, by_hand(batch.src, batch.tgt_in))
    assert not torch.allclose(ablated, model(batch.src, batch.tgt_in))  # the hook is gone afterwards


def test_ablating_every_cross_attention_head_cuts_the_decoder_off_from_the_source():
    model = _small_model()
    a = held_out_batch([MARCH_25], ["dmy_slash"])
    b = held_out_batch([dt.date(1961, 7, 4)], ["dmy_slash"])
    every = [("cross", layer, head) for layer in range(2) for head in range(2)]
    with dates.ablate_heads(model, every):
        torch.testing.assert_close(model(a.src, a.tgt_in), model(b.src, a.tgt_in))


def test_ablate_heads_names_a_bad_head_and_leaves_no_hook_behind():
    model = _small_model()
    with (
        pytest.raises(ValueError, match="head must be an int in"),
        dates.ablate_heads(model, [("cross", 0, 5)]),
    ):
        pass
    with pytest.raises(ValueError, match="kind must be one of"), dates.ablate_heads(model, [("self", 0, 0)]):
        pass
    assert not model.decoder.layers[0].cross_attn.out_proj._forward_pre_hooks


def test_accuracy_per_format_and_tables_have_the_documented_shapes():
    model = _small_model()
    batch = held_out_batch([MARCH_25, dt.date(1999, 12, 31)])
    correct = dates.correct_rows(model, batch)
    assert correct.shape == (12,) and correct.dtype == torch.bool
    acc = dates.accuracy_per_format(correct, batch)
    assert set(acc) == {*DATE_FORMATS, "all"} and all(0.0 <= v <= 1.0 for v in acc.values())
    table = dates.span_share_table(model, batch)
    assert table["share"].shape == table["baseline"].shape == (2, 2)
    assert dates.ablation_table(model, batch, "cross").shape == (2, 2)
