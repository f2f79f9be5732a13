"""The widget logic of lessons 00 (a softmax slider) and 01 (steer a 2-D query in a soft lookup)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

import attn_lib
from attn_lib.widgets import (
    SOFTMAX_DEMO_OTHER_SCORES,
    lookup_state,
    plot_soft_lookup,
    plot_softmax_demo,
    query_from_angle,
    softmax_demo,
)

# lesson 01's example: four unit keys along the axes, values (legs, wheels)
KEYS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # (T_k, 2)
KEY_ANGLES = (0.0, 90.0, 180.0, 270.0)
VALUES = torch.tensor([[4.0, 0.0], [2.0, 0.0], [0.0, 4.0], [0.0, 2.0]])  # (T_k, d_v)
LABELS = ["cat", "bird", "car", "bike"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------ lesson 00


def test_softmax_demo_weights_are_the_softmax_of_the_scores():
    demo = softmax_demo(0.5)
    assert demo["labels"] == ["A", "B", "C", "D"]
    torch.testing.assert_close(demo["scores"], torch.tensor([0.5, *SOFTMAX_DEMO_OTHER_SCORES]))
    torch.testing.assert_close(demo["weights"], torch.softmax(demo["scores"], dim=-1))
    torch.testing.assert_close(demo["weights"].sum(), torch.tensor(1.0))


def test_softmax_demo_raising_a_score_raises_its_weight_and_keeps_the_others_ratios():
    low, high = softmax_demo(-1.0)["weights"], softmax_demo(3.0)["weights"]
    assert high[0] > low[0]
    assert bool((high[1:] < low[1:]).all())
    torch.testing.assert_close(high[1] / high[2], low[1] / low[2])  # = e^(1 - 0), untouched by A


def test_softmax_demo_takes_other_scores_and_rejects_bad_input():
    assert softmax_demo(0, others=(0,))["weights"].tolist() == [0.5, 0.5]
    with pytest.raises(TypeError, match="score must be a number"):
        softmax_demo("2")
    with pytest.raises(ValueError, match="finite"):
        softmax_demo(float("nan"))
    with pytest.raises(ValueError, match="others must hold 1 to 25 scores"):
        softmax_demo(1.0, others=())


def test_plot_softmax_demo_shows_scores_and_weights():
    fig = plot_softmax_demo(2.0)
    assert isinstance(fig, Figure)
    ax_s, ax_w = fig.axes
    assert "scores" in ax_s.get_title()
    assert "softmax weights" in ax_w.get_title() and "sum = 1.00" in ax_w.get_title()
    heights = [bar.get_height() for bar in ax_w.patches]
    assert heights == pytest.approx(softmax_demo(2.0)["weights"].tolist())
    assert "score of A = +2.0" in fig._suptitle.get_text()


# ------------------------------------------------ lesson 01


def test_query_from_angle_points_where_it_should_with_the_given_length():
    torch.testing.assert_close(query_from_angle(0, 2.0), torch.tensor([2.0, 0.0]))
    torch.testing.assert_close(query_from_angle(90, 3.0), torch.tensor([0.0, 3.0]), atol=1e-6, rtol=0)
    assert float(query_from_angle(37.0, 1.5).norm()) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="length must be >= 0"):
        query_from_angle(0, -1.0)


@pytest.mark.parametrize("angle", [0, 17, 45.5, 90, 133, 200, 271, 359])
def test_lookup_weights_are_positive_and_sum_to_one(angle):
    state = lookup_state(angle, 2.0, KEYS, VALUES)
    assert state["weights"].shape == (4,)
    assert bool((state["weights"] > 0).all())
    torch.testing.assert_close(state["weights"].sum(), torch.tensor(1.0))


@pytest.mark.parametrize("angle", [5, 30, 80, 100, 170, 190, 260, 300, 350])
def test_the_key_closest_in_angle_gets_the_largest_weight(angle):
    gaps = [abs((angle - a + 180) % 360 - 180) for a in KEY_ANGLES]  # angle between query and key j
    closest = min(range(4), key=gaps.__getitem__)
    state = lookup_state(angle, 1.5, KEYS, VALUES)
    assert state["best"] == closest
    assert int(state["weights"].argmax()) == closest
    assert state["max_weight"] == pytest.approx(float(state["weights"].max()))


def test_longer_query_gives_larger_max_weight_and_lower_entropy():
    states = [lookup_state(30, length, KEYS, VALUES) for length in (0.5, 1, 2, 4, 8)]
    maxima = [s["max_weight"] for s in states]
    entropies = [s["entropy"] for s in states]
    assert maxima == sorted(maxima) and len(set(maxima)) == len(maxima)
    assert entropies == sorted(entropies, reverse=True) and len(set(entropies)) == len(entropies)


def test_length_zero_is_the_plain_mean_and_a_long_query_is_a_hard_lookup():
    flat = lookup_state(123, 0.0, KEYS, VALUES)
    torch.testing.assert_close(flat["weights"], torch.full((4,), 0.25))
    torch.testing.assert_close(flat["output"], VALUES.mean(0))
    assert flat["entropy"] == pytest.approx(flat["uniform_entropy"]) == pytest.approx(math.log(4))
    sharp = lookup_state(10, 30.0, KEYS, VALUES)
    torch.testing.assert_close(sharp["output"], VALUES[0], atol=1e-3, rtol=0)  # "cat" -> (4, 0)
    assert sharp["max_weight"] > 0.999 and sharp["entropy"] < 0.01


def test_lookup_state_is_unscaled_attention_of_one_query():
    state = lookup_state(40, 2.5, KEYS, VALUES)
    q = state["query"]  # (2,)
    torch.testing.assert_close(state["scores"], KEYS @ q)
    torch.testing.assert_close(state["weights"], torch.softmax(KEYS @ q, dim=-1))
    out, _ = attn_lib.scaled_dot_product_attention(q[None], KEYS, VALUES, scale=1.0)
    torch.testing.assert_close(state["output"], out[0])
    torch.testing.assert_close(state["output"], state["weights"] @ VALUES)


def test_lookup_state_accepts_lists_and_rejects_bad_shapes():
    state = lookup_state(0, 1.0, KEYS.tolist(), VALUES.tolist())
    torch.testing.assert_close(state["weights"], lookup_state(0, 1.0, KEYS, VALUES)["weights"])
    with pytest.raises(ValueError, match=r"keys must have shape \(T_k, 2\)"):
        lookup_state(0, 1.0, torch.ones(4, 3), VALUES)
    with pytest.raises(ValueError, match="one per key"):
        lookup_state(0, 1.0, KEYS, VALUES[:3])
    with pytest.raises(TypeError, match="angle_deg must be a number"):
        lookup_state(None, 1.0, KEYS, VALUES)


def test_plot_soft_lookup_has_keys_weights_and_output_panels():
    fig = plot_soft_lookup(30, 2.0, KEYS, VALUES, LABELS, ("legs", "wheels"))
    assert isinstance(fig, Figure)
    ax_k, ax_w, ax_v = fig.axes
    assert ax_k.get_title().startswith("keys")
    assert ax_w.get_title().startswith("weights = softmax")
    assert ax_v.get_title().startswith("output = Σ w·v = (3.15, 0.16)")
    assert (ax_v.get_xlabel(), ax_v.get_ylabel()) == ("legs", "wheels")
    heights = [bar.get_height() for bar in ax_w.patches]
    assert heights == pytest.approx(lookup_state(30, 2.0, KEYS, VALUES)["weights"].tolist())
    assert [t.get_text().split("\n")[0] for t in ax_w.get_xticklabels()] == LABELS
    assert '"cat"' in fig._suptitle.get_text()


def test_plot_soft_lookup_says_what_happens_at_the_extremes():
    assert "plain mean" in plot_soft_lookup(0, 0.0, KEYS, VALUES, LABELS)._suptitle.get_text()
    assert "hard lookup" in plot_soft_lookup(180, 8.0, KEYS, VALUES, LABELS)._suptitle.get_text()


def test_plot_soft_lookup_names_every_key_of_a_tie_and_outlines_their_bars():
    fig = plot_soft_lookup(45, 2.0, KEYS, VALUES, LABELS)  # halfway between "cat" and "bird"
    title = fig._suptitle.get_text()
    assert '"cat" and "bird" tie' in title
    assert "largest weight" not in title
    outlined = [bar.get_linewidth() for bar in fig.axes[1].patches]
    assert outlined[0] == outlined[1] == 2
    assert outlined[2] != 2 and outlined[3] != 2


def test_plot_soft_lookup_rejects_labels_or_values_it_cannot_draw():
    with pytest.raises(ValueError, match="labels must name the 4 keys"):
        plot_soft_lookup(0, 1.0, KEYS, VALUES, LABELS[:3])
    with pytest.raises(ValueError, match="d_v = 3"):
        plot_soft_lookup(0, 1.0, KEYS, torch.ones(4, 3), LABELS)
