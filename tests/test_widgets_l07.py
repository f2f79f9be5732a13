"""The widget logic of lesson 07: type digits, see the reversal model's output and attention."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from attn_lib import Transformer
from attn_lib.data import VOCAB_SIZE
from attn_lib.widgets import plot_reversal_attention, run_reversal


@pytest.fixture(scope="module")
def model() -> Transformer:
    torch.manual_seed(0)
    return Transformer(VOCAB_SIZE, VOCAB_SIZE, d_model=16, num_heads=2, d_ff=32, max_len=16)


def test_valid_text_gives_output_and_one_map_per_layer_and_head(model):
    result = run_reversal(model, "3141 5926")  # spaces are ignored
    assert result["ok"] and result["source"] == "31415926" and result["expected"] == "62951413"
    T_out = len(result["out_labels"])
    assert result["cross"].shape == (2, 2, T_out, 8)  # (layers, H, T_out, S)
    torch.testing.assert_close(result["cross"].sum(-1), torch.ones(2, 2, T_out))
    assert 1 <= T_out <= 10  # at most len + 2 tokens are generated


def test_an_untrained_model_is_reported_wrong_with_the_expected_answer(model):
    result = run_reversal(model, "12345678")
    assert not result["correct"]
    assert "expected 87654321" in result["message"]


def test_correct_needs_the_reversed_digits_and_the_eos(model, monkeypatch):
    import attn_lib.model

    def perfect(model, src, max_len, bos_id, eos_id, use_cache=False):
        return torch.cat([torch.tensor([[bos_id]]), src.flip(1), torch.tensor([[eos_id]])], dim=1)

    monkeypatch.setattr(attn_lib.model, "greedy_decode", perfect)
    result = run_reversal(model, "1234")
    assert result["correct"] and result["output"] == "4321" and result["out_labels"][-1] == "<eos>"
    assert result["cross"].shape[2] == 5  # four digits and the EOS

    def no_eos(model, src, max_len, bos_id, eos_id, use_cache=False):
        return torch.cat([torch.tensor([[bos_id]]), src.flip(1)], dim=1)

    monkeypatch.setattr(attn_lib.model, "greedy_decode", no_eos)
    result = run_reversal(model, "1234")
    assert result["output"] == "4321" and not result["correct"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("12a4", "remove 'a'"),
        ("", "Type a few digits"),
        ("   ", "Type a few digits"),
        ("1" * 21, "too long"),
        (12, "Please type digits"),
    ],
)
def test_bad_text_gives_a_friendly_message_not_an_exception(model, text, match):
    result = run_reversal(model, text)
    assert result["ok"] is False
    assert match in result["message"]


def test_the_length_limit_follows_the_positional_table(model):
    result = run_reversal(model, "1" * 15)  # max_len=16 leaves room for 14 digits
    assert not result["ok"] and "at most 14" in result["message"]


def test_lengths_outside_training_are_flagged(model):
    assert "trained on 8-12 digits only" in run_reversal(model, "123")["message"]
    assert "trained on" not in run_reversal(model, "123456789")["message"]


def test_plot_shows_each_head_and_their_average(model):
    fig = plot_reversal_attention(run_reversal(model, "987654321"), layer=-1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["head 0", "head 1", "average of heads"]
    assert "decoder layer 1" in fig._suptitle.get_text()
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == list("987654321")
    plt.close(fig)
    fig = plot_reversal_attention(run_reversal(model, "987654321"), layer=0, title="my finding")
    assert fig._suptitle.get_text() == "my finding"
    plt.close(fig)


def test_plot_refuses_bad_results_and_layers(model):
    with pytest.raises(ValueError, match="successful run_reversal"):
        plot_reversal_attention(run_reversal(model, "abc"))
    with pytest.raises(ValueError, match="layer must be an int"):
        plot_reversal_attention(run_reversal(model, "123"), layer=2)


def test_plot_of_a_very_short_input_keeps_a_minimum_height(model):
    from attn_lib.widgets import REVERSAL_MIN_HEIGHT

    short = plot_reversal_attention(run_reversal(model, "7"))
    assert short.get_size_inches()[1] == REVERSAL_MIN_HEIGHT >= 3.0
    plt.close(short)
    long = plot_reversal_attention(run_reversal(model, "12345678901234"))
    assert long.get_size_inches()[1] > REVERSAL_MIN_HEIGHT  # longer inputs still grow
    plt.close(long)
