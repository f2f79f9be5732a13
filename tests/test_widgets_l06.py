"""The widget logic and plot helper of lesson 06 (cross-attention), and the claims it shows."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import attn_lib
from attn_lib.viz import plot_alignment, plot_dictionary
from attn_lib.widgets import cross_attention_row, plot_cross_attention_row

PAD = 0
SOURCE = ["ich", "sehe", "den", "Hund", "<pad>"]  # S = 5, last one padded
TARGET = ["I", "see", "the", "dog"]  # T = 4
KNOWN = [0, 1, 2, 3]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cross() -> dict:
    """A seeded cross-attention call with T=4 queries, S=5 keys, the last source token padded."""
    torch.manual_seed(0)
    B, T, S, D, H = 2, 4, 5, 24, 3
    src = torch.tensor([[1, 2, 3, 4, 5], [1, 2, 3, 4, PAD]])  # (B, S)
    mask = attn_lib.padding_mask(src, PAD)  # (B, 1, 1, S)
    mha = attn_lib.MultiHeadAttention(D, H).eval()
    x, memory = torch.randn(B, T, D), torch.randn(B, S, D)
    with torch.no_grad():
        out, w = mha(x, memory, memory, mask=mask)  # (B, T, D), (B, H, T, S)
        _, w_nomask = mha(x, memory, memory)
    return {"x": x, "memory": memory, "mask": mask, "out": out, "w": w, "w_nomask": w_nomask, "mha": mha}


# ------------------------------------------------ the claims of the lesson


def test_cross_attention_output_has_the_decoders_length_and_weights_are_t_by_s(cross):
    assert cross["out"].shape == (2, 4, 24)  # (B, T, D): the query side decides the length
    assert cross["w"].shape == (2, 3, 4, 5)  # (B, H, T, S)


def test_cross_attention_rows_sum_to_one_over_the_source(cross):
    torch.testing.assert_close(cross["w"].sum(-1), torch.ones(2, 3, 4))


def test_source_padding_mask_gives_padded_columns_exactly_zero_weight(cross):
    assert bool((cross["w"][1, :, :, 4] == 0).all())
    assert bool((cross["w_nomask"][1, :, :, 4] > 0).all())


def test_changing_the_memory_at_a_masked_pad_leaves_the_output_unchanged(cross):
    memory = cross["memory"].clone()
    memory[1, 4] = 1000.0 * torch.randn(24)
    with torch.no_grad():
        out, _ = cross["mha"](cross["x"], memory, memory, mask=cross["mask"])
    assert torch.equal(out, cross["out"])


def test_decoder_layer_matches_torch_transformer_decoder_layer_with_source_padding():
    torch.manual_seed(1)
    D, H, d_ff, T, S = 24, 3, 64, 4, 5
    ref_layer = nn.TransformerDecoderLayer(D, H, d_ff, dropout=0.0, batch_first=True).eval()
    layer = attn_lib.DecoderLayer(D, H, d_ff)
    layer.self_attn = attn_lib.MultiHeadAttention.from_torch(ref_layer.self_attn)
    layer.cross_attn = attn_lib.MultiHeadAttention.from_torch(ref_layer.multihead_attn)
    layer.ff.linear1.load_state_dict(ref_layer.linear1.state_dict())
    layer.ff.linear2.load_state_dict(ref_layer.linear2.state_dict())
    for name in ("norm1", "norm2", "norm3"):
        getattr(layer, name).load_state_dict(getattr(ref_layer, name).state_dict())
    layer.eval()
    y, memory = torch.randn(2, T, D), torch.randn(2, S, D)
    src_mask = attn_lib.padding_mask(torch.tensor([[1, 2, 3, 4, 5], [1, 2, 3, PAD, PAD]]), PAD)
    causal = attn_lib.causal_mask(T)
    with torch.no_grad():
        expected = ref_layer(
            y,
            memory,
            tgt_mask=attn_lib.to_torch_mha_mask(causal),
            memory_key_padding_mask=attn_lib.to_torch_mha_mask(src_mask[:, 0, 0]),
        )
        got, w_self, w_cross = layer(y, memory, causal, src_mask, need_weights=True)
    torch.testing.assert_close(got, expected)
    assert w_self.shape == (2, H, T, T)
    assert w_cross.shape == (2, H, T, S)


def test_decoder_layer_stays_causal_although_cross_attention_has_no_causal_mask():
    torch.manual_seed(2)
    layer = attn_lib.DecoderLayer(24, 3, 64).eval()
    y, memory = torch.randn(1, 4, 24), torch.randn(1, 5, 24)
    y_changed = y.clone()
    y_changed[0, 3] = torch.randn(24)
    causal = attn_lib.causal_mask(4)
    with torch.no_grad():
        before, _, _ = layer(y, memory, causal, None, need_weights=True)
        after, _, _ = layer(y_changed, memory, causal, None, need_weights=True)
    assert torch.equal(after[0, :3], before[0, :3])
    assert not torch.equal(after[0, 3], before[0, 3])


# ------------------------------------------------ cross_attention_row


def test_cross_attention_row_is_the_chosen_row_of_the_chosen_head(cross):
    w = cross["w"][1]  # (H, T, S)
    torch.testing.assert_close(cross_attention_row(w, target=2, head=1), w[1, 2])


def test_cross_attention_row_averages_the_heads_when_head_is_none(cross):
    w = cross["w"][1]
    row = cross_attention_row(w, target=3)
    torch.testing.assert_close(row, w[:, 3].mean(0))
    torch.testing.assert_close(row.sum(), torch.tensor(1.0))
    assert float(row[4]) == 0.0  # the masked pad stays exactly 0 in the average


def test_cross_attention_row_accepts_a_single_t_by_s_map(cross):
    w = cross["w"][0, 0]  # (T, S)
    torch.testing.assert_close(cross_attention_row(w, target=0), w[0])


@pytest.mark.parametrize("target", [-1, 4, True, 1.0])
def test_cross_attention_row_rejects_a_target_outside_the_decoder(cross, target):
    with pytest.raises(ValueError, match="target must be an int in \\[0, 3\\]"):
        cross_attention_row(cross["w"][0], target=target)


def test_cross_attention_row_rejects_a_head_outside_range(cross):
    with pytest.raises(ValueError, match="head must be None or an int in \\[0, 2\\]"):
        cross_attention_row(cross["w"][0], target=0, head=3)


def test_cross_attention_row_rejects_a_head_for_a_map_without_heads(cross):
    with pytest.raises(ValueError, match="no head axis"):
        cross_attention_row(cross["w"][0, 0], target=0, head=0)


def test_cross_attention_row_rejects_a_batched_tensor(cross):
    with pytest.raises(ValueError, match=r"\(T, S\) or \(H, T, S\)"):
        cross_attention_row(cross["w"], target=0)


# ------------------------------------------------ plot_cross_attention_row and plot_alignment


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_plot_cross_attention_row_names_the_word_it_reads_and_the_known_alignment(cross):
    w = cross["w"][1]
    fig = plot_cross_attention_row(
        w, SOURCE, TARGET, target=2, head=0, expected=KNOWN, mask=cross["mask"][1, 0]
    )
    assert isinstance(fig, Figure)
    title = fig.get_suptitle()
    best = int(w[0, 2].argmax())
    weight = float(w[0, 2, best])
    assert (
        f'target "the" (position 2) reads source "{SOURCE[best]}" (position {best}) most, '
        f"with weight {weight:.2f}" in title
    )
    assert ("; that is its known alignment" in title) == (best == 2)
    ax_bar = fig.axes[1]
    heights = [p.get_height() for p in ax_bar.patches]
    torch.testing.assert_close(torch.tensor(heights, dtype=torch.float32), w[0, 2])


def test_plot_cross_attention_row_draws_masked_pads_as_masked(cross):
    fig = plot_cross_attention_row(cross["w"][1], SOURCE, TARGET, target=0, mask=cross["mask"][1, 0])
    texts = _texts(fig)
    assert texts.count("masked") == 4  # the <pad> column of the map, one per target row
    assert "0 (masked)" in texts  # its bar
    assert fig.axes[0].get_title().endswith("mask: 4 cells blocked")
    assert "source padding" not in fig.get_suptitle()


def test_plot_cross_attention_row_warns_when_attention_goes_to_unmasked_padding(cross):
    fig = plot_cross_attention_row(cross["w_nomask"][1], SOURCE, TARGET, target=3)
    assert "of its attention goes to source padding" in fig.get_suptitle()
    assert "masked" not in _texts(fig)


def test_plot_cross_attention_row_says_which_alignment_was_expected_when_it_is_missed():
    w = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])  # (T=2, S=3)
    fig = plot_cross_attention_row(w, ["a", "b", "c"], ["x", "y"], target=0, expected=[2, 0])
    assert fig.get_suptitle() == (
        'target "x" (position 0) reads source "b" (position 1) most, with weight 0.70; '
        'its known alignment is "c"'
    )


def test_plot_cross_attention_row_title_does_not_read_as_if_the_weight_were_the_alignment():
    w = torch.tensor([[0.1, 0.9], [0.5, 0.5]])  # (T=2, S=2)
    title = plot_cross_attention_row(w, ["a", "b"], ["x", "y"], target=0, expected=[1, 0]).get_suptitle()
    assert title.replace("\n", "; ") == (
        'target "x" (position 0) reads source "b" (position 1) most, with weight 0.90; '
        "that is its known alignment"
    )
    assert "= the known alignment" not in title


def test_plot_cross_attention_row_reports_a_near_tie_as_a_tie_not_an_argmax():
    w = torch.tensor([[0.488, 0.491, 0.021]])  # (T=1, S=3): the top two differ by 0.003 < 0.005
    fig = plot_cross_attention_row(w, ["Hund", "<pad>", "den"], ["dog"], target=0, expected=[0])
    lines = fig.get_suptitle().split("\n")
    assert lines[0] == (
        'target "dog" (position 0) reads 2 source tokens equally (a tie): "Hund" (position 0) and '
        '"<pad>" (position 1), weight 0.49 each'
    )
    assert lines[1] == 'its known alignment, "Hund", is one of them'
    assert lines[2] == "49% of its attention goes to source padding: mask it"
    bars = fig.axes[1].patches
    assert bars[0].get_facecolor() == bars[1].get_facecolor() != bars[2].get_facecolor()
    assert "largest (a tie)" in [t.get_text() for t in fig.axes[1].get_legend().get_texts()]


def test_plot_cross_attention_row_does_not_call_weights_apart_by_more_than_the_tolerance_a_tie():
    w = torch.tensor([[0.49, 0.50, 0.01]])  # the top two differ by 0.01
    title = plot_cross_attention_row(w, ["a", "b", "c"], ["x"], target=0).get_suptitle()
    assert title == 'target "x" (position 0) reads source "b" (position 1) most, with weight 0.50'


def test_plot_cross_attention_row_rejects_labels_of_the_wrong_length(cross):
    with pytest.raises(ValueError, match="5 source_labels"):
        plot_cross_attention_row(cross["w"][0], SOURCE, TARGET[:3], target=0)


def test_plot_cross_attention_row_rejects_a_float_mask(cross):
    with pytest.raises(TypeError, match="bool"):
        plot_cross_attention_row(cross["w"][0], SOURCE, TARGET, target=0, mask=cross["mask"][0, 0].float())


def test_plot_alignment_frames_every_known_cell_and_greys_masked_ones():
    w = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]])  # (T=2, S=3), last column masked
    mask = torch.tensor([True, True, False])  # (S,) broadcasts to (T, S)
    ax = plot_alignment(w, ["a", "b", "<pad>"], ["x", "y"], expected=[0, None], mask=mask)
    dashed = [p for p in ax.patches if p.get_linestyle() == "--"]
    assert len(dashed) == 1
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("masked") == 2
    assert "0.90" in texts and "0.80" in texts
    assert ax.get_xticklabels()[2].get_color() == "#999999"  # the pad label is grey


def test_plot_alignment_rejects_an_expected_position_outside_the_source():
    with pytest.raises(ValueError, match=r"expected\[1\] = 3 is not a source position"):
        plot_alignment(torch.full((2, 3), 1 / 3), ["a", "b", "c"], ["x", "y"], expected=[0, 3])


def test_plot_alignment_rejects_expected_of_the_wrong_length():
    with pytest.raises(ValueError, match="one source position"):
        plot_alignment(torch.full((2, 3), 1 / 3), ["a", "b", "c"], ["x", "y"], expected=[0])


def test_plot_alignment_rejects_a_mask_that_does_not_broadcast():
    with pytest.raises(ValueError, match="does not broadcast"):
        plot_alignment(
            torch.full((2, 3), 1 / 3), ["a", "b", "c"], ["x", "y"], mask=torch.ones(4, dtype=torch.bool)
        )


def test_plot_cross_attention_row_rejects_a_mask_that_does_not_broadcast(cross):
    with pytest.raises(ValueError, match="does not broadcast"):
        plot_cross_attention_row(
            cross["w"][0], SOURCE, TARGET, target=0, mask=torch.ones(3, dtype=torch.bool)
        )


def test_plot_alignment_rejects_labels_of_the_wrong_length():
    with pytest.raises(ValueError, match="3 target_labels"):
        plot_alignment(torch.full((2, 3), 1 / 3), ["a", "b", "c"], ["x", "y", "z"])


def test_plot_alignment_rejects_a_float_mask():
    with pytest.raises(TypeError, match="bool"):
        plot_alignment(torch.full((2, 3), 1 / 3), ["a", "b", "c"], ["x", "y"], mask=torch.ones(3))


def test_dictionary_plot_prints_every_entry_readably_and_names_both_axes():
    ax = plot_dictionary(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), ["I", "saw"], ["ich", "gesehen"])
    assert [t.get_text() for t in ax.texts] == ["1", "0", "0", "1"]
    assert [t.get_color() for t in ax.texts] == ["white", "black", "black", "white"]  # on black, on white
    assert [t.get_text() for t in ax.get_xticklabels()] == ["ich", "gesehen"]
    assert ax.get_ylabel() == "meaning (output of W^K)"
    plt.close(ax.figure)
    with pytest.raises(
        ValueError, match="matrix must be \\(len\\(row_labels\\), len\\(col_labels\\)\\) = \\(1, 2\\)"
    ):
        plot_dictionary(torch.eye(2), ["I"], ["ich", "gesehen"])
