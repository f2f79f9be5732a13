"""The widget logic of lessons 02 (why √d_k) and 03 (multi-head: one head's map)."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.figure import Figure

from attn_lib.i18n import display_width
from attn_lib.widgets import (
    HEAD_MAP_D_MODEL,
    HEAD_MAP_TOKENS,
    SCALING_DK_CHOICES,
    head_map,
    plot_head_map,
    plot_scaling_demo,
    scaling_curves,
    scaling_demo,
)
from attn_lib.widgets.lesson02 import query_norm_spread, table_header
from attn_lib.widgets.lesson03 import train_neighbour_heads


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------ lesson 02


def test_scaling_demo_weights_are_a_distribution_over_the_keys():
    r = scaling_demo(64, True, seed=0, num_keys=16, num_draws=5)
    assert r["query"].shape == (5, 64)
    assert r["keys"].shape == (5, 16, 64)
    assert r["weights"].shape == r["logits"].shape == (5, 16)
    for name in ("max_weight", "entropy", "grad_norm"):
        assert r[name].shape == (5,)
    torch.testing.assert_close(r["weights"].sum(-1), torch.ones(5))
    assert bool((r["weights"] >= 0).all())


def test_scaling_demo_is_deterministic_for_a_seed():
    a, b = scaling_demo(128, False, seed=3), scaling_demo(128, False, seed=3)
    for name in a:
        torch.testing.assert_close(a[name], b[name])
    assert not torch.equal(a["query"], scaling_demo(128, False, seed=4)["query"])


def test_scaled_and_unscaled_share_the_draws_and_differ_by_sqrt_d_k():
    d_k = 256
    raw, scaled = scaling_demo(d_k, False, seed=1, num_draws=3), scaling_demo(d_k, True, seed=1, num_draws=3)
    torch.testing.assert_close(raw["query"], scaled["query"])
    torch.testing.assert_close(raw["keys"], scaled["keys"])
    torch.testing.assert_close(raw["logits"] / math.sqrt(d_k), scaled["logits"])
    q, k = raw["query"][0], raw["keys"][0]  # (d_k,), (T_k, d_k)
    torch.testing.assert_close(raw["logits"][0], k @ q)


def test_entropy_is_minus_sum_p_log_p_in_nats():
    r = scaling_demo(4, True, seed=0, num_draws=4)
    p = r["weights"]
    torch.testing.assert_close(r["entropy"], -(p * p.log()).sum(-1))
    assert bool((r["entropy"] <= math.log(16) + 1e-6).all())


def test_grad_norm_is_the_frobenius_norm_of_the_softmax_jacobian_from_autograd():
    r = scaling_demo(32, False, seed=2, num_draws=2)
    for n in range(2):
        jac = torch.autograd.functional.jacobian(lambda z: torch.softmax(z, -1), r["logits"][n])  # (T_k, T_k)
        torch.testing.assert_close(r["grad_norm"][n], jac.norm())


def test_without_scaling_the_largest_weight_goes_to_one_at_large_d_k():
    raw = scaling_demo(1024, False, seed=0, num_draws=200)
    scaled = scaling_demo(1024, True, seed=0, num_draws=200)
    assert raw["max_weight"].median() > 0.99
    assert scaled["max_weight"].median() < 0.5


def test_with_scaling_the_entropy_stays_put_and_without_it_collapses():
    curves = scaling_curves(seed=0, num_draws=100)
    scaled_entropy = curves["scaled"]["entropy"]  # (11,) medians for d_k = 1 ... 1024
    assert float(scaled_entropy[2:].max() - scaled_entropy[2:].min()) < 0.2  # from d_k = 4 on: flat
    assert float(scaled_entropy.min()) > 2.0  # close to uniform, ln 16 = 2.77
    assert float(curves["unscaled"]["entropy"][-1]) < 0.05


def test_without_scaling_the_softmax_gradient_vanishes_and_with_it_stays_put():
    curves = scaling_curves(seed=0, num_draws=100)
    assert curves["d_k"] == list(SCALING_DK_CHOICES)
    raw, scaled = curves["unscaled"]["grad_norm"], curves["scaled"]["grad_norm"]
    assert float(raw[-1]) < 1e-3 < 0.2 < float(scaled.min())
    assert float(scaled.max() / scaled.min()) < 1.5
    assert float(curves["unscaled"]["saturated"][-1]) > 0.5
    assert float(curves["scaled"]["saturated"].max()) == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d_k": 0, "scaled": True}, "d_k"),
        ({"d_k": 8.0, "scaled": True}, "d_k"),
        ({"d_k": 8, "scaled": True, "num_keys": 1}, "num_keys"),
        ({"d_k": 8, "scaled": True, "num_draws": 0}, "num_draws"),
    ],
)
def test_scaling_demo_rejects_bad_arguments_by_name(kwargs, match):
    with pytest.raises(ValueError, match=match):
        scaling_demo(**kwargs)


def test_scaling_demo_wants_a_bool_for_scaled():
    with pytest.raises(TypeError, match="scaled"):
        scaling_demo(8, "yes")


def test_plot_scaling_demo_says_when_the_softmax_is_saturated():
    fig = plot_scaling_demo(1024, False)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    assert "saturated" in fig._suptitle.get_text()
    assert "spread" in plot_scaling_demo(64, True)._suptitle.get_text()
    assert "saturated" not in plot_scaling_demo(1024, True)._suptitle.get_text()


def test_plot_scaling_demo_says_when_one_key_dominates_before_saturation():
    top = float(scaling_demo(16, False)["max_weight"][0])  # the widget's first view
    assert 0.5 < top <= 0.99
    title = plot_scaling_demo(16, False)._suptitle.get_text()
    median = float(scaling_curves()["unscaled"]["max_weight"][SCALING_DK_CHOICES.index(16)])
    assert f"one key takes {top:.0%} in this draw (median of 200 draws: {median:.0%})" in title
    assert "spread" not in title


def test_plot_scaling_demo_reference_curves_do_not_move_with_the_seed():
    lines = [
        [ln.get_ydata().tolist() for ln in plot_scaling_demo(64, False, seed=s).axes[1].lines[:2]]
        for s in (0, 3)
    ]
    assert lines[0] == lines[1]


# ------------------------------------------------ lesson 03


def test_scaling_demo_power_one_divides_the_scores_by_d_k():
    half = scaling_demo(64, True, seed=3, num_draws=4)
    full = scaling_demo(64, True, seed=3, num_draws=4, power=1.0)
    torch.testing.assert_close(full["logits"], half["logits"] / 8.0)
    with pytest.raises(ValueError, match="power"):
        scaling_demo(64, True, power=-1.0)


def test_dividing_by_d_k_drives_the_weights_to_uniform_while_sqrt_d_k_does_not():
    curves = scaling_curves(d_ks=(1, 1024), seed=0, num_draws=200)
    by_d_k = scaling_curves(d_ks=(1, 1024), seed=0, num_draws=200, power=1.0)
    assert float(by_d_k["scaled"]["max_weight"][-1]) < 0.07  # 1/16 = 0.0625 is uniform
    assert float(curves["scaled"]["max_weight"][-1]) > 0.2
    torch.testing.assert_close(
        by_d_k["scaled"]["max_weight"][0], curves["scaled"]["max_weight"][0]
    )  # d_k = 1


def test_grad_norm_of_a_saturated_softmax_matches_float64_autograd():
    r = scaling_demo(1024, False, seed=0, num_draws=3)  # saturated: p_m (1 - p_m) is tiny
    for n in range(3):
        z = r["logits"][n].double()
        jac = torch.autograd.functional.jacobian(lambda s: torch.softmax(s, -1), z)  # (T_k, T_k)
        torch.testing.assert_close(r["grad_norm"][n].double(), jac.norm(), rtol=1e-5, atol=0.0)


def test_query_norm_spread_explains_the_drift_of_the_scaled_largest_weight():
    r = query_norm_spread(d_ks=(1, 4, 256), seed=0, num_draws=400)
    spread = r["q_sq_over_dk"]
    assert float(spread["p90"][0] - spread["p10"][0]) > 2.0  # d_k = 1: ‖q‖²/d_k all over the place
    assert float(spread["p90"][-1] - spread["p10"][-1]) < 0.3  # d_k = 256: close to 1
    assert abs(float(spread["median"][-1]) - 1.0) < 0.05
    scaled, fixed = r["max_weight_scaled"], r["max_weight_fixed_norm"]
    assert float(scaled[-1] - scaled[0]) > 0.04  # as drawn: the scaled largest weight drifts up
    assert float(fixed.max() - fixed.min()) < 0.02  # with ‖q‖ = √d_k exactly: it does not
    torch.testing.assert_close(
        scaled, scaling_curves(d_ks=(1, 4, 256), num_draws=400)["scaled"]["max_weight"].double()
    )


# ------------------------------------------------ lesson 03


def test_head_map_library_init_is_flatter_than_the_widget_default():
    sharp = head_map(4, 0, seed=0)["all_weights"].amax(-1).mean()
    library = head_map(4, 0, seed=0, init="library")["all_weights"].amax(-1).mean()
    assert float(sharp) > 0.4 > 0.2 > float(library) > 0.1  # uniform over 10 tokens: 0.1
    with pytest.raises(ValueError, match="init"):
        head_map(4, 0, init="xavier")


def test_two_trained_heads_split_previous_and_next_between_them():
    torch.set_num_threads(1)
    r = train_neighbour_heads(seed=0, steps=300)
    prev, nxt = r["scores"]["previous (i-1)"], r["scores"]["next (i+1)"]
    assert int(prev.argmax()) != int(nxt.argmax())
    assert float(prev.max()) > 0.7 and float(nxt.max()) > 0.7
    assert min(r["accuracy"].values()) > 0.95
    assert r["losses"][-1] < 0.1 * r["losses"][0]
    torch.testing.assert_close(r["weights"].sum(-1), torch.ones(2, 8))


def test_train_neighbour_heads_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    train_neighbour_heads(seed=0, steps=1)
    torch.testing.assert_close(torch.rand(3), expected)


def test_head_map_gives_one_row_stochastic_map_per_head():
    r = head_map(4, 1)
    T = len(HEAD_MAP_TOKENS)
    assert r["all_weights"].shape == (4, T, T)
    assert r["weights"].shape == (T, T)
    assert r["head_dim"] == HEAD_MAP_D_MODEL // 4 == 8
    torch.testing.assert_close(r["weights"], r["all_weights"][1])
    torch.testing.assert_close(r["all_weights"].sum(-1), torch.ones(4, T))
    assert r["tokens"] == list(HEAD_MAP_TOKENS)


def test_head_map_is_deterministic_for_a_seed():
    torch.testing.assert_close(head_map(2, 0, seed=5)["weights"], head_map(2, 0, seed=5)["weights"])
    assert not torch.allclose(head_map(2, 0, seed=5)["weights"], head_map(2, 0, seed=6)["weights"])


def test_heads_of_a_map_differ():
    w = head_map(4, 0)["all_weights"]
    assert float((w[0] - w[1]).abs().max()) > 0.1


def test_num_heads_only_cuts_the_same_features_so_one_head_sums_the_per_head_scores():
    # log-weights are the scores up to a constant per row; a full-width head's scores times
    # √D equal the sum over heads of each head's scores times √Dh.
    def centred(log_w: torch.Tensor) -> torch.Tensor:
        return log_w - log_w.mean(-1, keepdim=True)

    D = HEAD_MAP_D_MODEL
    one = centred(head_map(1, 0)["weights"].log()) * math.sqrt(D)
    four = head_map(4, 0)
    summed = (centred(four["all_weights"].log()) * math.sqrt(four["head_dim"])).sum(0)
    torch.testing.assert_close(one, summed, atol=1e-3, rtol=1e-4)


def test_head_map_clamps_a_head_that_does_not_exist():
    r = head_map(2, 5)
    assert r["head"] == 1
    assert r["clamped"] is True
    assert head_map(2, 1)["clamped"] is False


@pytest.mark.parametrize("num_heads", [3, 0, 64, 2.0])
def test_head_map_rejects_num_heads_that_do_not_divide_d_model(num_heads):
    with pytest.raises(ValueError, match="num_heads must divide d_model=32"):
        head_map(num_heads, 0)


def test_head_map_rejects_a_negative_head():
    with pytest.raises(ValueError, match="head"):
        head_map(2, -1)


def test_plot_head_map_shows_head_dim_and_says_when_it_clamped():
    fig = plot_head_map(4, 2)
    assert isinstance(fig, Figure)
    title = fig.axes[0].get_title()
    assert "head 2 of 4" in title and "= 8" in title
    assert "there is no head 7" in plot_head_map(4, 7).axes[0].get_title()


# --- lesson 02's text tables: table_header -----------------------------------------------------------


def _bars(line: str) -> list[int]:
    """Display columns at which the '|' separators of a table line stand."""
    return [display_width(line[:i]) for i, ch in enumerate(line) if ch == "|"]


def test_table_header_lines_up_with_rows_formatted_with_the_same_widths():
    header = table_header(
        ("d_k", 4), [("unscaled", [("entropy", 8), ("grad", 9)]), ("scaled", [("entropy", 8)])]
    )
    title, labels = header.split("\n")
    row = f"{16:4d} | {2.5:8.3f}  {3e-1:9.1e} | {2.4:8.3f}"
    assert labels == " d_k |  entropy       grad |  entropy"
    assert _bars(title) == _bars(labels) == _bars(row)
    assert title.split("|")[1].strip() == "unscaled"  # centred over its group
    assert len(labels) == len(row)  # right-aligned labels end where the numbers end


def test_table_header_lines_up_korean_labels_by_display_columns():
    header = table_header(
        ("d_k", 4), [("스케일 없음", [("최대가중치", 10), ("엔트로피", 8)]), ("스케일", [("엔트로피", 8)])]
    )
    title, labels = header.split("\n")
    row = f"{16:4d} | {0.5:10.3f}  {2.5:8.3f} | {2.4:8.3f}"
    assert _bars(title) == _bars(labels) == _bars(row)
    assert display_width(labels) == display_width(row)
    assert len(labels) < len(row)  # by characters it would not line up: Hangul takes two columns


def test_table_header_without_titles_is_one_line():
    assert table_header(("d_k", 4), [("", [("scaled", 9)])]) == " d_k |    scaled"


@pytest.mark.parametrize(
    ("groups", "match"),
    [
        ([("", [("엔트로피", 7)])], "column label '엔트로피' takes 8 columns but its column is 7 wide"),
        ([("a much longer title", [("x", 3)])], "group title 'a much longer title' takes 19 columns"),
        ([("", [("x", 0)])], "the width of column 'x' must be a positive int, got 0"),
    ],
)
def test_table_header_names_a_label_that_would_push_the_columns_out_of_line(groups, match):
    with pytest.raises(ValueError, match=match):
        table_header(("d_k", 4), groups)
