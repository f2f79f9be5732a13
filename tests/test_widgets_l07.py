"""The widget logic of lesson 07: type digits, see the reversal model's output and attention."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from attn_lib import Transformer
from attn_lib.data import PAD, VOCAB_SIZE, encode, make_reversal_batch, pad_sequences
from attn_lib.viz import plot_training_history
from attn_lib.widgets import (
    alignment_stats,
    anti_diagonal_hit_rate,
    mirror_positions,
    plot_reversal_attention,
    position_labels,
    probe_neighbour_digits,
    run_reversal,
)


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
    # ticks name positions first (the claims are about positions i <-> L-1-i), then the token
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == [
        f"{j}: {d}" for j, d in enumerate("987654321")
    ]
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert rows[0].startswith("0: ") and rows[1].startswith("1: ")
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


def test_run_reversal_also_returns_the_causal_decoder_self_attention(model):
    result = run_reversal(model, "31415926")
    T_out = len(result["out_labels"])
    assert result["self"].shape == (2, 2, T_out, T_out)  # (layers, H, T_out, T_out)
    assert (result["self"].triu(1) == 0).all()  # causal: weight exactly 0 above the diagonal
    assert result["in_labels"][0] == "<bos>" and result["in_labels"][1:] == result["out_labels"][:-1]


def test_plot_of_the_self_attention_labels_the_decoder_inputs(model):
    result = run_reversal(model, "31415926")
    fig = plot_reversal_attention(result, layer=0, kind="self")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == position_labels(result["in_labels"])
    assert "self-attention" in fig._suptitle.get_text()
    plt.close(fig)
    with pytest.raises(ValueError, match="kind must be 'cross' or 'self', got 'both'"):
        plot_reversal_attention(result, kind="both")


def test_mirror_positions_and_which_positions_produce_a_digit():
    mirror, produces = mirror_positions(torch.tensor([3, 1]), T=4)
    assert mirror.tolist() == [[2, 1, 0, -1], [0, -1, -2, -3]]
    assert produces.tolist() == [[True, True, True, False], [True, False, False, False]]


def _perfect_reversal_maps(lengths: list[int]) -> torch.Tensor:
    S = max(lengths)
    mirror, _ = mirror_positions(torch.tensor(lengths), S + 1)
    return torch.nn.functional.one_hot(mirror.clamp(min=0), S).float()  # (B, T, S)


def test_a_perfect_anti_diagonal_scores_one_and_a_shift_scores_zero():
    lengths = torch.tensor([4, 2])
    perfect = _perfect_reversal_maps([4, 2])
    assert anti_diagonal_hit_rate(perfect, lengths).item() == 1.0
    shifted = perfect.roll(1, dims=-1)  # every peak one position to the right
    assert anti_diagonal_hit_rate(shifted, lengths).item() == 0.0
    stats = alignment_stats(shifted, *mirror_positions(lengths, 5))
    assert stats["exact"] == 0.0 and stats["weight"] == 0.0
    assert stats["offsets"] == {1: 5, -3: 1}  # roll wraps the peak of row 0 of string 0 (column 3) to 0


def test_alignment_stats_counts_only_the_valid_positions():
    lengths = torch.tensor([3])
    maps = _perfect_reversal_maps([3])  # (1, 4, 3)
    maps[0, 3] = torch.tensor([0.0, 0.0, 1.0])  # the EOS row looks anywhere: not counted
    stats = alignment_stats(maps, *mirror_positions(lengths, 4))
    assert stats == {"exact": 1.0, "near": 1.0, "weight": 1.0, "offsets": {0: 3}}


def test_anti_diagonal_hit_rate_names_bad_arguments():
    with pytest.raises(
        ValueError, match="weights must be one attention map per string, \\(B, T, S\\), got \\(2, 3\\)"
    ):
        anti_diagonal_hit_rate(torch.ones(2, 3), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="lengths must be \\(B,\\) = \\(2,\\)"):
        anti_diagonal_hit_rate(torch.ones(2, 3, 3), torch.tensor([1, 2, 3]))


def test_the_exercise_reference_is_the_widget_statistic():
    from attn_lib.exercises import EXERCISES

    g = torch.Generator().manual_seed(0)
    weights = torch.softmax(torch.randn(5, 9, 8, generator=g) * 3, dim=-1)
    lengths = torch.tensor([8, 5, 6, 8, 7])
    reference = EXERCISES["anti_diagonal_hit_rate"].reference(weights, lengths)
    torch.testing.assert_close(reference, anti_diagonal_hit_rate(weights, lengths))


def test_probe_reads_a_digit_that_the_encoder_output_copies_and_not_one_it_lacks():
    # An encoder that returns the one-hot digit of each position: the probe reads k = 0 perfectly,
    # and a neighbour (k = +-1) no better than chance, since random digits are independent.
    class OneHotEncoder(torch.nn.Module):
        def encode(self, src: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.one_hot(src, 13).float()  # (B, S, 13)

    g = torch.Generator().manual_seed(0)
    train_src = make_reversal_batch(400, 4, 8, g).src
    test_src = make_reversal_batch(200, 4, 8, g).src
    acc = probe_neighbour_digits(OneHotEncoder(), train_src, test_src)
    assert acc[0] == 1.0
    assert acc[-1] < 0.3 and acc[1] < 0.3


def test_probe_skips_padding_and_the_edges():
    class OneHotEncoder(torch.nn.Module):
        def encode(self, src: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.one_hot(src, 13).float()

    src = pad_sequences([encode("1234567"), encode("98")], PAD)  # (2, 7), padded
    acc = probe_neighbour_digits(OneHotEncoder(), src, src, offsets=(0,))
    assert acc == {0: 1.0}


def test_training_history_plot_shows_loss_on_a_log_scale_and_the_learning_rate():
    fig = plot_training_history([2.5, 1.0, 0.1], [1e-3, 2e-3, 1e-3], reference_loss=2.565, title="t")
    ax_loss, ax_lr = fig.axes
    assert ax_loss.get_yscale() == "log" and ax_lr.get_ylabel() == "learning rate"
    assert ax_lr.get_xlabel() == "training step" and ax_loss.get_title() == "t"
    assert list(ax_lr.lines[0].get_ydata()) == pytest.approx([1e-3, 2e-3, 1e-3])
    plt.close(fig)
    with pytest.raises(ValueError, match="one value per step, got 3 and 2"):
        plot_training_history([2.5, 1.0, 0.1], [1e-3, 2e-3])


def test_run_reversal_of_the_copy_task_expects_the_string_itself(model):
    assert run_reversal(model, "12345678", task="copy")["expected"] == "12345678"
    with pytest.raises(ValueError, match="task must be 'reverse' or 'copy', got 'sort'"):
        run_reversal(model, "123", task="sort")
