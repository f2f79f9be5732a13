"""The widget logic and plot helpers of lessons 04 (encoder self-attention) and 05 (masking)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

import attn_lib
from attn_lib.viz import plot_mask, plot_masked_matrix
from attn_lib.widgets import (
    encoder_attention_row,
    generation_prefix_attention,
    generation_step_view,
    plot_encoder_attention,
)

VOCAB = ["<pad>", "<bos>", "<eos>", "the", "a", "cat", "dog", "sat", "ran", "on", "mat"]
PAD, BOS, EOS = 0, 1, 2


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------ lesson 04


@pytest.fixture(scope="module")
def encoder_maps() -> tuple[list[torch.Tensor], list[list[str]], torch.Tensor]:
    """Maps of a seeded 2-layer encoder over a padded batch: 2 x (B=3, H=2, T=5, T=5)."""
    torch.manual_seed(0)
    batch = torch.tensor([[3, 5, 7, 9, 10], [4, 6, 8, PAD, PAD], [3, 5, PAD, PAD, PAD]])  # (3, 5)
    embed = nn.Embedding(len(VOCAB), 16)
    encoder = attn_lib.Encoder(2, 16, 2, 32).eval()
    x = attn_lib.PositionalEncoding(16, 16)(embed(batch) * math.sqrt(16))
    with torch.no_grad():
        _, maps = encoder(x, attn_lib.padding_mask(batch, PAD), need_weights=True)
    labels = [[VOCAB[i] for i in row] for row in batch.tolist()]
    return maps, labels, batch


def test_encoder_attention_row_is_the_query_row_of_the_chosen_map(encoder_maps):
    maps, _, _ = encoder_maps
    row = encoder_attention_row(maps, sentence=1, token=2, layer=1, head=0)
    assert row.shape == (5,)
    torch.testing.assert_close(row, maps[1][1, 0, 2])
    torch.testing.assert_close(row.sum(), torch.tensor(1.0))


def test_encoder_attention_row_without_head_averages_the_heads(encoder_maps):
    maps, _, _ = encoder_maps
    torch.testing.assert_close(encoder_attention_row(maps, 0, 3, 0, None), maps[0][0, :, 3].mean(0))


def test_encoder_attention_row_gives_padded_keys_exactly_zero(encoder_maps):
    maps, _, batch = encoder_maps
    for token in range(5):
        row = encoder_attention_row(maps, sentence=2, token=token, layer=1, head=1)
        assert (row[batch[2] == PAD] == 0).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sentence": 3}, "sentence must be an int in \\[0, 2\\], got 3"),
        ({"token": -1}, "token must be an int in \\[0, 4\\], got -1"),
        ({"layer": 2}, "layer must be an int in \\[0, 1\\], got 2"),
        ({"head": 2}, "head must be an int in \\[0, 1\\], got 2"),
        ({"head": True}, "head must be an int"),
    ],
)
def test_encoder_attention_row_names_the_bad_argument(encoder_maps, kwargs, match):
    maps, _, _ = encoder_maps
    args = {"sentence": 0, "token": 0, "layer": 0, "head": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        encoder_attention_row(maps, **args)


def test_encoder_attention_row_refuses_maps_that_are_not_per_layer_4d():
    with pytest.raises(ValueError, match="maps must be a non-empty list of \\(B, H, T, T\\)"):
        encoder_attention_row([], 0, 0, 0)
    with pytest.raises(ValueError, match="maps must be"):
        encoder_attention_row([torch.rand(5, 5)], 0, 0, 0)


def test_plot_encoder_attention_draws_the_map_and_the_row_as_bars(encoder_maps):
    maps, labels, _ = encoder_maps
    fig = plot_encoder_attention(maps, labels, sentence=1, token=1, layer=0, head=1)
    assert isinstance(fig, Figure)
    ax_map, ax_bar = fig.axes[0], fig.axes[1]  # fig.axes[2] is the colour bar
    assert [t.get_text() for t in ax_map.get_yticklabels()] == labels[1]
    heights = torch.tensor([bar.get_height() for bar in ax_bar.patches], dtype=torch.float32)
    torch.testing.assert_close(heights, maps[0][1, 1, 1])
    best = labels[1][int(heights.argmax())]
    assert f'"dog" takes most from "{best}"' in fig._suptitle.get_text()


def test_plot_encoder_attention_changes_when_the_token_changes(encoder_maps):
    maps, labels, _ = encoder_maps
    first = [b.get_height() for b in plot_encoder_attention(maps, labels, 0, 0, 0, 0).axes[1].patches]
    second = [b.get_height() for b in plot_encoder_attention(maps, labels, 0, 4, 0, 0).axes[1].patches]
    assert len(first) == len(second) == 5 and first != second


def test_plot_encoder_attention_says_when_the_query_is_padding(encoder_maps):
    maps, labels, _ = encoder_maps
    fig = plot_encoder_attention(maps, labels, sentence=2, token=4, layer=1, head=None)
    assert "a padding position" in fig._suptitle.get_text()
    assert "mean of heads" in fig.axes[0].get_title()


def test_plot_encoder_attention_checks_the_labels_match_the_maps(encoder_maps):
    maps, labels, _ = encoder_maps
    with pytest.raises(ValueError, match="labels\\[0\\] has 4 tokens but the maps have T=5"):
        plot_encoder_attention(maps, [labels[0][:4], *labels[1:]], 0, 0, 0, 0)


def test_plot_mask_draws_a_bool_mask_and_refuses_anything_else():
    ax = plot_mask(attn_lib.causal_mask(3), ["a", "b", "c"], ["a", "b", "c"])
    image = ax.get_images()[0].get_array()
    assert image.tolist() == [[1, 0, 0], [1, 1, 0], [1, 1, 1]]
    with pytest.raises(ValueError, match="mask must be a 2-D bool"):
        plot_mask(torch.ones(3, 3))
    with pytest.raises(ValueError, match="mask must be a 2-D bool"):
        plot_mask(torch.ones(1, 3, 3, dtype=torch.bool))


# ------------------------------------------------ lesson 05


def test_plot_masked_matrix_writes_the_hidden_text_in_hidden_cells_only():
    scores = torch.tensor([[0.5, float("-inf")], [1.0, -2.0]])
    ax = plot_masked_matrix(scores, ~attn_lib.causal_mask(2), ["q0", "q1"], ["k0", "k1"], title="scores")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["k0", "k1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["q0", "q1"]
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("−∞") == 1
    assert "0.50" in texts and "-2.00" in texts
    low, high = ax.get_images()[0].get_clim()
    assert (low, high) == (-2.0, 1.0)  # the colour scale ignores -inf


def test_plot_masked_matrix_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match="values must be 2-D"):
        plot_masked_matrix(torch.zeros(2, 3), torch.zeros(3, 2, dtype=torch.bool))


@pytest.fixture(scope="module")
def generation() -> tuple[attn_lib.Transformer, torch.Tensor, torch.Tensor]:
    """A seeded untrained model, a source and the decoder input of 5 greedy steps: (1, 5)."""
    torch.manual_seed(3)
    model = attn_lib.Transformer(len(VOCAB), len(VOCAB), 16, 2, 1, 2, 32, max_len=16).eval()
    src = torch.tensor([[3, 5, 7, 9, 10]])
    ys = torch.tensor([[BOS]])  # (1, 1); greedy decoding written out, so that it never stops at EOS
    with torch.no_grad():
        memory = model.encode(src)  # (1, S, D)
        for _ in range(5):
            next_id = model.decode(ys, memory, model.src_mask(src))[:, -1].argmax(-1, keepdim=True)  # (1, 1)
            ys = torch.cat([ys, next_id], dim=1)
    return model, src, ys  # ys: (1, 6), BOS and 5 greedy tokens


def test_prefix_attention_rows_equal_the_teacher_forced_map(generation):
    model, src, ys = generation
    tgt = ys[:, :-1]  # (1, 5)
    full = model.attention_maps(src, tgt).decoder_self[1][0, 1]  # (5, 5), all positions at once
    for t in range(5):
        weights, _ = generation_prefix_attention(model, src, tgt, t, layer=1, head=1)
        assert weights.shape == (5, 5)
        torch.testing.assert_close(weights[: t + 1, : t + 1], full[: t + 1, : t + 1])
        assert (full[: t + 1, t + 1 :] == 0).all()  # the full map's future cells: exactly 0
        assert weights[:, t + 1 :].isnan().all()  # positions after t do not exist yet at step t
        assert weights[t + 1 :].isnan().all()


def test_prefix_attention_never_looks_at_the_future(generation):
    model, src, ys = generation
    weights, _ = generation_prefix_attention(model, src, ys[:, :-1], 4, layer=0, head=0)  # last step
    assert (weights.triu(1) == 0).all()
    torch.testing.assert_close(weights.sum(-1), torch.ones(5))


def test_prefix_attention_predicts_the_token_greedy_decoding_produced(generation):
    model, src, ys = generation
    for t in range(5):
        _, next_id = generation_prefix_attention(model, src, ys[:, :-1], t)
        assert next_id == int(ys[0, t + 1])


def test_prefix_attention_restores_the_training_mode(generation):
    model, src, ys = generation
    model.train()
    try:
        generation_prefix_attention(model, src, ys[:, :-1], 1)
        assert model.training
    finally:
        model.eval()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": 5}, "t must be an int in \\[0, 4\\]"),
        ({"t": True}, "t must be an int"),
        ({"layer": 2}, "layer must be an int in \\[0, 1\\], got 2"),
        ({"head": -1}, "head must be an int in \\[0, 1\\], got -1"),
    ],
)
def test_prefix_attention_names_the_bad_argument(generation, kwargs, match):
    model, src, ys = generation
    args = {"t": 0, "layer": 0, "head": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        generation_prefix_attention(model, src, ys[:, :-1], **args)


def test_prefix_attention_wants_one_sequence(generation):
    model, src, ys = generation
    with pytest.raises(ValueError, match="tgt must be one decoder input sequence of shape \\(1, T\\)"):
        generation_prefix_attention(model, src, ys[0], 0)


def test_generation_step_view_shows_only_the_rows_generated_so_far(generation):
    model, src, ys = generation
    tgt = ys[:, :-1]
    fig = generation_step_view(model, src, tgt, t=2, vocab=VOCAB, layer=1, head=0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[:3] == [VOCAB[int(i)] for i in tgt[0, :3]] and rows[3:] == ["?", "?"]
    assert f"predicts “{VOCAB[int(ys[0, 3])]}”" in ax.get_title()
    assert sum(t.get_text().count(".") for t in ax.texts) == 6  # 1 + 2 + 3 visible weights


def test_generation_step_view_changes_with_the_step(generation):
    model, src, ys = generation
    titles = {generation_step_view(model, src, ys[:, :-1], t, VOCAB).axes[0].get_title() for t in range(5)}
    assert len(titles) == 5


def test_prefix_attention_with_the_causal_mask_never_changes_an_earlier_row_beyond_rounding(generation):
    # Recomputed from a longer prefix, a row goes through matrix products of another size, which
    # may group their sums differently: equal up to rounding, not bit for bit (torch.equal holds
    # on some CPUs and fails on others). A leak through the mask moves rows by ~0.1 (next test).
    model, src, ys = generation
    tgt = ys[:, :-1]
    for t in range(1, 5):
        before, _ = generation_prefix_attention(model, src, tgt, t - 1, layer=1, head=0)
        after, _ = generation_prefix_attention(model, src, tgt, t, layer=1, head=0)
        torch.testing.assert_close(after[:t, :t], before[:t, :t], rtol=0.0, atol=1e-6)


def test_prefix_attention_without_the_causal_mask_changes_earlier_rows_as_tokens_are_added(generation):
    model, src, ys = generation
    tgt = ys[:, :-1]
    for t in range(1, 5):
        before, _ = generation_prefix_attention(model, src, tgt, t - 1, layer=1, head=0, causal=False)
        after, _ = generation_prefix_attention(model, src, tgt, t, layer=1, head=0, causal=False)
        assert not torch.allclose(after[:t, :t], before[:t, :t])  # the new token re-weights old rows
        future = torch.ones(t + 1, t + 1, dtype=torch.bool).triu(1)  # cells (i, j) with j > i
        assert (after[: t + 1, : t + 1][future] > 0).all()  # earlier queries read later keys
        torch.testing.assert_close(after[: t + 1, : t + 1].sum(-1), torch.ones(t + 1))


def test_prefix_attention_refuses_a_causal_flag_that_is_not_a_bool(generation):
    model, src, ys = generation
    with pytest.raises(ValueError, match="causal must be True or False, got 1"):
        generation_prefix_attention(model, src, ys[:, :-1], 0, causal=1)


def _legend_labels(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def test_generation_step_view_hatches_keys_not_generated_yet_instead_of_calling_them_masked(generation):
    model, src, ys = generation
    ax = generation_step_view(model, src, ys[:, :-1], t=2, vocab=VOCAB).axes[0]
    hatched = sorted(
        (p.get_x(), p.get_y(), p.get_width(), p.get_height()) for p in ax.patches if p.get_hatch()
    )
    assert hatched == [(-0.5, 2.5, 5, 2), (2.5, -0.5, 2, 3)]  # rows 3-4, and columns 3-4 of rows 0-2
    assert _legend_labels(ax) == [
        "future key: masked, weight exactly 0",
        "not generated yet",
        "step 2: the newest row",
    ]
    assert "causal mask on" in ax.get_title()


def test_generation_step_view_without_the_mask_colours_every_generated_cell(generation):
    model, src, ys = generation
    ax = generation_step_view(model, src, ys[:, :-1], t=2, vocab=VOCAB, causal=False).axes[0]
    assert sum(t.get_text().count(".") for t in ax.texts) == 9  # all 3 x 3 cells carry a weight
    assert not any("masked" in label for label in _legend_labels(ax))
    assert "NO causal mask: earlier rows change as tokens are added" in ax.get_title()


def test_generation_step_view_output_changes_with_the_mask_toggle_even_at_step_0(generation):
    model, src, ys = generation
    on = generation_step_view(model, src, ys[:, :-1], 0, VOCAB, causal=True).axes[0].get_title()
    off = generation_step_view(model, src, ys[:, :-1], 0, VOCAB, causal=False).axes[0].get_title()
    assert on != off


def test_generation_step_view_keeps_the_question_marks_upright(generation):
    model, src, ys = generation
    ax = generation_step_view(model, src, ys[:, :-1], t=1, vocab=VOCAB).axes[0]
    rotation = {tick.get_text(): tick.get_rotation() for tick in ax.get_xticklabels()}
    assert rotation["?"] == 0
    assert rotation["<bos>"] == 90
