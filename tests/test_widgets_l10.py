"""Lesson 10's widget logic and figures (attn_lib.widgets.lesson10)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from attn_lib.lm import LM_ALPHABET, DecoderOnlyLM, induction_targets
from attn_lib.widgets.lesson10 import (
    char_labels,
    plot_head_scores,
    plot_lm_heads,
    plot_position_losses,
    plot_prompt_attention,
    plot_training_and_scores,
    prompt_attention,
    select_heads,
    target_mass,
    uniform_causal_scores,
)


@pytest.fixture(scope="module")
def model() -> DecoderOnlyLM:
    torch.manual_seed(0)
    return DecoderOnlyLM(len(LM_ALPHABET), d_model=16, num_heads=2, num_layers=2, max_len=32).eval()


def test_char_labels_number_positions_and_show_spaces():
    assert char_labels([0, 26, 1]) == ["0: a", "1: ␣", "2: b"]
    assert char_labels([0, 26], numbered=False) == ["a", "␣"]


def test_select_heads_keeps_the_heads_above_the_threshold_in_that_layer():
    scores = torch.tensor([[0.9, 0.1, 0.6], [0.7, 0.2, 0.8]])
    assert select_heads(scores, 1, 0.5) == [(1, 0), (1, 2)]
    assert select_heads(scores, 0, 0.95) == []
    with pytest.raises(ValueError, match="layer"):
        select_heads(scores, 2, 0.5)


def test_uniform_causal_scores_match_the_harmonic_sums():
    prev, ind = uniform_causal_scores(8, 4)
    assert prev == pytest.approx(sum(1 / (q + 1) for q in range(1, 8)) / 7, rel=1e-6)
    assert ind == pytest.approx(sum(1 / (q + 1) for q in range(4, 8)) / 4, rel=1e-6)


def test_target_mass_is_one_for_a_head_on_the_targets_and_zero_without_targets():
    x = torch.tensor([3, 1, 4, 0, 3, 1, 4, 0])
    targets = induction_targets(x)
    w = targets.float()
    w[~targets.any(-1), 0] = 1.0  # rows without target: all weight on the first token
    torch.testing.assert_close(target_mass(w, targets), torch.tensor(1.0))
    none = induction_targets(torch.arange(5))
    assert float(target_mass(torch.eye(5), none)) == 0.0


def test_prompt_attention_collects_maps_targets_and_predictions(model):
    s = prompt_attention(model, "the cat. the cat.")
    assert s["ok"] and s["maps"].shape == (2, 2, 17, 17) and s["mass"].shape == (2, 2)
    assert len(s["prediction"]) == 17 and s["labels"][3] == "3: ␣"
    assert torch.equal(s["targets"], induction_targets(s["tokens"]))
    assert not model.training


@pytest.mark.parametrize(
    ("text", "words"),
    [("a", "at least two"), ("x" * 33, "too long"), ("abc7", "'7'"), (3, "Please type")],
)
def test_prompt_attention_refuses_bad_text_with_a_message(model, text, words):
    s = prompt_attention(model, text)
    assert not s["ok"] and words in s["message"]


def test_figures_are_built_with_titles_and_colour_bars(model):
    s = prompt_attention(model, "abcab")
    fig = plot_prompt_attention(s, 1, 0, "induction")
    assert isinstance(fig, Figure) and "induction targets" in fig.axes[0].get_title()
    assert len(fig.axes) == 2  # the map and its colour bar
    plt.close(fig)
    prev = torch.rand(2, 2)
    ind = torch.rand(2, 2)
    fig = plot_lm_heads(s["maps"], s["labels"], prev, ind, {(0, 1): "previous-token"}, "finding")
    assert fig._suptitle.get_text() == "finding" and len(fig.axes) == 5
    plt.close(fig)
    fig = plot_head_scores(prev, ind, (0.1, 0.05), "scores")
    assert fig.axes[0].get_title() == "scores"
    plt.close(fig)
    fig = plot_position_losses({"a": torch.rand(7), "b": torch.rand(7)}, 4, math.log(32), "losses")
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()][:2] == ["a", "b"]
    plt.close(fig)


def test_figures_refuse_bad_arguments(model):
    s = prompt_attention(model, "abcab")
    with pytest.raises(ValueError, match="head"):
        plot_prompt_attention(s, 0, 2)
    with pytest.raises(ValueError, match="successful"):
        plot_prompt_attention({"ok": False}, 0, 0)
    with pytest.raises(ValueError, match="labels"):
        plot_lm_heads(s["maps"], ["a"], torch.rand(2, 2), torch.rand(2, 2), {}, "t")
    with pytest.raises(ValueError, match="curves"):
        plot_position_losses({}, 4, 1.0, "t")


def test_training_and_scores_figure_shares_the_step_axis():
    fig = plot_training_and_scores([3.0, 2.0, 1.0, 1.0], [2, 4], [0.1, 0.4], [0.0, 0.7], math.log(32), "t")
    loss_ax, score_ax = fig.axes
    assert loss_ax.get_title() == "t" and score_ax.get_xlabel() == "training step"
    assert loss_ax.get_shared_x_axes().joined(loss_ax, score_ax)
    plt.close(fig)
    with pytest.raises(ValueError, match="same length"):
        plot_training_and_scores([1.0], [1, 2], [0.1], [0.2], 1.0, "t")
