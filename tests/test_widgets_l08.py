"""Lesson 08's widget: sequence length and chunk size against the memory of the score matrix."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from attn_lib.efficient import chunked_attention, measure_peak_memory
from attn_lib.widgets import format_bytes, plot_score_memory, score_memory
from attn_lib.widgets.lesson08 import plot_tile_choice, step_cost, tile_memory

MiB = 2**20


def test_score_memory_explicit_is_the_whole_score_matrix():
    m = score_memory(4096, 256, num_heads=8, batch=1)
    assert m["explicit"] == 8 * 4096 * 4096 * 4 == 512 * MiB
    assert m["chunked"] == 8 * 4096 * 256 * 4 == 32 * MiB
    assert m["ratio"] == 16.0


def test_score_memory_grows_quadratically_explicit_and_linearly_chunked():
    small, large = score_memory(1024, 128), score_memory(2048, 128)
    assert large["explicit"] == 4 * small["explicit"]
    assert large["chunked"] == 2 * small["chunked"]


def test_score_memory_chunk_larger_than_sequence_is_one_block():
    m = score_memory(100, 512, num_heads=2, batch=3, bytes_per_element=2)
    assert m["explicit"] == m["chunked"] == 3 * 2 * 100 * 100 * 2
    assert m["ratio"] == 1.0


def test_score_memory_matches_the_measured_block_of_chunked_attention():
    """The widget's 'chunked' number is the largest score block chunked_attention allocates."""
    q = k = v = torch.randn(1, 4, 512, 16)
    with torch.no_grad():
        small = measure_peak_memory(lambda: chunked_attention(q, k, v, chunk_size=64))
        large = measure_peak_memory(lambda: chunked_attention(q, k, v, chunk_size=128))
    block_difference = (
        score_memory(512, 128, num_heads=4)["chunked"] - score_memory(512, 64, num_heads=4)["chunked"]
    )
    assert large - small == block_difference


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(seq_len=0, chunk_size=4), "seq_len must be a positive int, got 0"),
        (dict(seq_len=8, chunk_size=-1), "chunk_size must be a positive int, got -1"),
        (dict(seq_len=8, chunk_size=2.5), "chunk_size must be a positive int, got 2.5"),
        (dict(seq_len=8, chunk_size=4, num_heads=True), "num_heads must be a positive int, got True"),
        (dict(seq_len=8, chunk_size=4, batch=0), "batch must be a positive int, got 0"),
    ],
)
def test_score_memory_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        score_memory(**kwargs)


@pytest.mark.parametrize(
    "n, text",
    [(100, "100 B"), (2048, "2 KiB"), (512 * MiB, "512 MiB"), (1536 * MiB, "1.5 GiB"), (3 * 2**40, "3 TiB")],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_plot_score_memory_draws_both_curves_and_states_the_numbers():
    fig = plot_score_memory(4096, 256, num_heads=8)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    title = ax.get_title()
    assert title == "T = 4096, 8 heads, batch 1: explicit scores 512 MiB, one T×256 chunk 32 MiB (16× less)"
    labels = [line.get_label() for line in ax.get_lines()]
    assert any("explicit" in label for label in labels) and any("chunked" in label for label in labels)
    assert ax.get_xlabel() and ax.get_ylabel()
    plt.close(fig)


def test_plot_score_memory_explicit_curve_has_slope_two_and_chunked_slope_one():
    fig = plot_score_memory(1024, 64, max_len=2**12)
    explicit, chunked = fig.axes[0].get_lines()[:2]
    x, y = explicit.get_data()
    assert y[-1] / y[-2] == pytest.approx((x[-1] / x[-2]) ** 2)
    x, y = chunked.get_data()
    assert y[-1] / y[-2] == pytest.approx(x[-1] / x[-2])
    plt.close(fig)


def test_plot_score_memory_marker_follows_the_sequence_length():
    def markers(fig):
        # explicit: circle, chunked: square (told apart by shape too, not only by colour)
        return [
            tuple(line.get_xdata()) for line in fig.axes[0].get_lines() if line.get_marker() in ("o", "s")
        ]

    a, b = plot_score_memory(512, 64), plot_score_memory(8192, 64)
    assert markers(a) == [(512,), (512,)] and markers(b) == [(8192,), (8192,)]
    assert a.axes[0].get_title() != b.axes[0].get_title()
    plt.close(a)
    plt.close(b)


def test_plot_score_memory_can_show_the_machine_ram_and_extends_past_max_len():
    fig = plot_score_memory(2**20, 256, ram_bytes=16 * 2**30, max_len=1024)
    ax = fig.axes[0]
    assert any("RAM of this machine (16 GiB)" in line.get_label() for line in ax.get_lines())
    assert max(ax.get_lines()[0].get_xdata()) >= 2**20
    plt.close(fig)


def test_plot_score_memory_with_a_chunk_at_least_t_says_nothing_is_saved_instead_of_1x_less():
    ax = plot_score_memory(256, 1024, num_heads=8).axes[0]
    title = ax.get_title()
    assert "1× less" not in title and "T×1024" not in title
    assert title.endswith("explicit scores 2 MiB, C ≥ T: one chunk is the whole matrix, nothing saved")
    plt.close(ax.figure)


def test_plot_score_memory_legend_says_slope_one_only_where_t_exceeds_c():
    ax = plot_score_memory(4096, 256).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert "chunked: one T×min(T, 256) block (slope 1 where T > 256)" in labels
    _, chunked = ax.get_lines()[:2]
    x, y = chunked.get_data()
    below = [i for i in range(1, len(x)) if x[i] <= 256]
    assert all(y[i] / y[i - 1] == pytest.approx((x[i] / x[i - 1]) ** 2) for i in below)  # T <= C: slope 2
    plt.close(ax.figure)


# ---------------------------------------------------------------- cost of a step, tile memory


def test_step_cost_counts_two_matmuls_and_the_bytes_of_a_step():
    cost = step_cost(rows=2048, keys=4, head_dim=64)
    assert cost["flops"] == 4 * 2048 * 4 * 64
    assert cost["bytes"] == 4 * (2048 * 64 + 2 * 4 * 64 + 2 * 2048 * 64 + 6 * 2048 * 4)
    assert 1 < cost["intensity"] < 4 / 3  # about keys / 3: a tiny chunk moves a byte per FLOP


def test_step_cost_intensity_grows_with_the_chunk_and_the_query_block():
    small, big = step_cost(2048, 4, 64), step_cost(2048, 256, 64)
    assert big["intensity"] > 5 * small["intensity"]
    with pytest.raises(ValueError, match="keys"):
        step_cost(10, 0, 64)


def test_tile_memory_parts_and_clipping_to_t():
    mem = tile_memory(4096, 256, 256, num_heads=8, head_dim=64)
    assert mem["scores"] == 8 * 256 * 256 * 4 == 2 * 2**20
    assert mem["query_block"] == 2 * 8 * 256 * 64 * 4
    assert mem["output"] == 8 * 4096 * 64 * 4 == 8 * 2**20
    assert mem["total"] == mem["scores"] + mem["query_block"] + mem["output"]
    assert tile_memory(100, 4096, 4096)["scores"] == tile_memory(100, 100, 100)["scores"]
    with pytest.raises(ValueError, match="block_q"):
        tile_memory(10, -1, 4)


def test_plot_tile_choice_titles_state_the_ratio_and_the_block():
    fig = plot_tile_choice(256, 128, seconds=0.2, peak_bytes=12 * 2**20, fused_seconds=0.1, seq_len=1024)
    ax_t, ax_m = fig.axes
    assert "2.0× the fused kernel" in ax_t.get_title()
    assert "score block 1 MiB" in ax_m.get_title()
    assert ax_t.get_ylabel() and ax_m.get_ylabel()
    plt.close(fig)
