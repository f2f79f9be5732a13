"""The figures of lessons 01-04 that moved out of the lessons into ``attn_lib.viz``.

Each test draws the figure from known numbers and checks that it shows them: the curves hold
the data, the axes are labelled, the title states what the lesson claims, the colours are
colour-blind safe (no red next to green), and bad input is refused by name.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import attn_lib
from attn_lib.viz import (
    OKABE_ITO,
    plot_grad_norm_per_layer,
    plot_pe_dot_products,
    plot_positional_encoding,
    plot_query_length,
    plot_scaling_curves,
    plot_score_variance,
    plot_temperature,
)
from attn_lib.widgets import LOOKUP_COLOURS, scaling_curves

KEYS = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])  # lesson 01's (T_k, 2)
LABELS = ["cat", "bird", "car", "bike"]
RED, GREEN = "#d62728", "#2ca02c"  # tab10's red and green, the pair issue 17 flagged


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def line_colours(ax) -> list[str]:
    return [to_hex(line.get_color()) for line in ax.get_lines()]


# ------------------------------------------------ lesson 01


def query_length_data() -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.linspace(0, 10, 41)  # (N,)
    direction = torch.tensor([2.0, 1.0]) / math.sqrt(5.0)
    weights = torch.stack([attn_lib.softmax(KEYS @ (L * direction), dim=-1) for L in lengths])  # (N, 4)
    return lengths, weights


def test_plot_query_length_draws_one_weight_curve_per_key_and_the_entropy():
    lengths, weights = query_length_data()
    fig = plot_query_length(lengths, weights, LABELS, marked_length=math.sqrt(5.0), direction_deg=26.6)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax_w, ax_h = fig.axes
    curves = [line for line in ax_w.get_lines() if len(line.get_xdata()) == len(lengths)]
    assert [c.get_label() for c in curves] == LABELS
    for j, curve in enumerate(curves):
        np.testing.assert_allclose(curve.get_ydata(), weights[:, j].numpy(), rtol=1e-6)
    entropy = ax_h.get_lines()[0].get_ydata()
    assert entropy[0] == pytest.approx(math.log(4))  # length 0: equal weights
    assert bool(np.all(np.diff(entropy) < 0))  # a longer query always gives sharper weights
    assert "26.6°" in ax_w.get_xlabel() and ax_h.get_ylabel().startswith("entropy")
    assert "sharper" in fig._suptitle.get_text()


def test_plot_query_length_uses_the_lookup_colours_and_they_are_colour_blind_safe():
    lengths, weights = query_length_data()
    fig = plot_query_length(lengths, weights, LABELS)
    assert line_colours(fig.axes[0])[:4] == [c.lower() for c in LOOKUP_COLOURS[:4]]
    assert tuple(LOOKUP_COLOURS) == OKABE_ITO


def test_plot_query_length_rejects_weights_that_do_not_match():
    lengths, weights = query_length_data()
    with pytest.raises(ValueError, match="weights must be"):
        plot_query_length(lengths, weights[:, :3], LABELS)
    with pytest.raises(ValueError, match="lengths"):
        plot_query_length(torch.zeros(0), weights, LABELS)


# ------------------------------------------------ lesson 02


def test_plot_temperature_draws_softmax_of_scores_over_tau_without_red_next_to_green():
    x, taus = torch.tensor([2.0, 1.0, 0.5, -1.0]), torch.logspace(-2, 2, 50)
    fig = plot_temperature(x, taus)
    ax = fig.axes[0]
    curves = ax.get_lines()[:4]
    for j, curve in enumerate(curves):
        expected = torch.stack([torch.softmax(x / t, dim=-1)[j] for t in taus])
        np.testing.assert_allclose(curve.get_ydata(), expected.numpy(), rtol=1e-5, atol=1e-7)
    colours = line_colours(ax)
    assert RED not in colours and GREEN not in colours
    assert (
        len(set(colours[:4])) == 4 and len({c.get_linestyle() for c in curves}) == 4
    )  # also told apart by dashes
    assert ax.get_xscale() == "log" and "temperature" in ax.get_xlabel()


def test_plot_temperature_refuses_a_temperature_that_is_not_positive():
    with pytest.raises(ValueError, match="taus must all be > 0"):
        plot_temperature(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 0.0]))


def test_plot_score_variance_shows_the_measured_variances_against_d_k():
    d_ks, raw, scaled = [1, 4, 16], [1.1, 3.9, 16.2], [1.1, 0.98, 1.01]
    ax = plot_score_variance(d_ks, raw, scaled).axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["measured Var(q·k)"].get_ydata(), raw)
    np.testing.assert_allclose(lines["measured Var(q·k / √d_k)"].get_ydata(), scaled)
    assert "d_k" in ax.get_title() and ax.get_xlabel().startswith("d_k")
    with pytest.raises(ValueError, match="same length"):
        plot_score_variance(d_ks, raw, scaled[:2])


def test_plot_scaling_curves_has_three_panels_and_an_optional_division_by_d_k():
    curves = scaling_curves(d_ks=(1, 16, 256), seed=0, num_draws=50)
    fig = plot_scaling_curves(curves)
    assert len(fig.axes) == 3 and all(len(ax.get_lines()) >= 2 for ax in fig.axes)
    assert fig.axes[2].get_yscale() == "log"
    by_d_k = scaling_curves(d_ks=(1, 16, 256), seed=0, num_draws=50, power=1.0)["scaled"]
    fig = plot_scaling_curves(curves, by_d_k=by_d_k)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert "softmax(q·k / d_k)" in labels
    np.testing.assert_allclose(fig.axes[0].get_lines()[2].get_ydata(), by_d_k["max_weight"].double().numpy())
    assert "÷d_k" in fig._suptitle.get_text() and "nothing moves" not in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="scaling_curves"):
        plot_scaling_curves({"d_k": [1]})


# ------------------------------------------------ lesson 04


def test_plot_positional_encoding_is_the_table_with_a_diverging_colour_bar():
    pe = attn_lib.sinusoidal_positional_encoding(20, 8)
    fig = plot_positional_encoding(pe)
    image = fig.axes[0].images[0]
    np.testing.assert_allclose(image.get_array(), pe.numpy())
    assert image.get_clim() == (-1, 1) and len(fig.axes) == 2  # the map and its colour bar
    assert fig.axes[0].get_ylabel() == "position pos"


def test_plot_pe_dot_products_draws_one_curve_per_start_and_the_formula():
    pe = attn_lib.sinusoidal_positional_encoding(60, 16)
    ks = torch.arange(-5, 10)
    dots = {p: (pe[p] * pe[p + ks]).sum(-1) for p in (10, 20)}
    formula = torch.cos(ks[:, None] * 10000 ** (-torch.arange(0, 16, 2) / 16)).sum(-1)
    ax = plot_pe_dot_products(ks, dots, formula).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:3] == ["p = 10", "p = 20", "Σ cos(k ωᵢ)"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), dots[20].double().numpy(), rtol=1e-6)
    assert "±k" in ax.get_title() and "negative = before p" in ax.get_xlabel()
    with pytest.raises(ValueError, match=r"dots\[10\] has 3 values"):
        plot_pe_dot_products(ks, {10: torch.zeros(3)})


def test_plot_grad_norm_per_layer_draws_one_line_per_variant_on_a_log_axis():
    fig = plot_grad_norm_per_layer({"post": [0.5, 1.0, 2.0], "pre": [1.0, 1.0, 1.0]}, title="a finding")
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["post", "pre"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.5, 1.0, 2.0])
    assert ax.get_yscale() == "log" and ax.get_title() == "a finding" and "layer" in ax.get_xlabel()
    with pytest.raises(ValueError, match="grad_norms"):
        plot_grad_norm_per_layer({})
