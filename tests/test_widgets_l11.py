"""Lesson 11 widget logic: the receptive field of stacked window layers, and the KV-cache memory."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pytest
import torch

from attn_lib import MultiHeadAttention, causal_mask
from attn_lib.widgets import (
    kv_cache_bytes,
    plot_kv_cache_memory,
    plot_receptive_field,
    reach_back,
    receptive_field,
)


def test_one_layer_field_is_the_window_mask():
    from attn_lib import sliding_window_mask

    assert torch.equal(receptive_field(9, 3, 1), sliding_window_mask(9, 9, 3))


@pytest.mark.parametrize("window, layers", [(2, 1), (2, 3), (3, 2), (4, 3), (1, 5)])
def test_field_reaches_back_layers_times_window_minus_one(window: int, layers: int):
    T = 20
    field = receptive_field(T, window, layers)
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    back = reach_back(window, layers)
    assert back == layers * (window - 1)
    assert torch.equal(field, (j <= i) & (j >= i - back))


def test_field_equals_the_gradients_of_stacked_window_attention():
    # the field is what gradients of real window attention show: d out[i] / d x[j] != 0
    torch.manual_seed(0)
    T, w, L = 10, 3, 3
    layers = [MultiHeadAttention(8, 2, window=w).double() for _ in range(L)]
    x = torch.randn(1, T, 8, dtype=torch.float64, requires_grad=True)
    h = x
    for layer in layers:
        h = h + layer(h, h, h, mask=causal_mask(T))[0]
    reached = torch.zeros(T, T, dtype=torch.bool)
    for i in range(T):
        (g,) = torch.autograd.grad(h[0, i].sum(), x, retain_graph=True)
        reached[i] = g[0].abs().sum(-1) > 0
    assert torch.equal(reached, receptive_field(T, w, L))


def test_kv_cache_bytes_counts_key_and_value_per_layer_and_kv_head():
    assert kv_cache_bytes(32, 8, 128, 2) == 2 * 32 * 8 * 128 * 2  # Llama-3-8B-like: 128 KiB per token
    assert kv_cache_bytes(1, 1, 1, 1) == 2


def test_plots_state_their_finding_in_the_title():
    fig = plot_receptive_field(16, 3, 4)
    assert "after 4 layers the field reaches 8 back" in fig._suptitle.get_text()
    assert "reaches 9 inputs" in fig.axes[1].get_title()
    plt.close(fig)
    fig = plot_kv_cache_memory(8, 2, 64, 4, 1024)
    assert "4× smaller than MHA's" in fig.axes[0].get_title()
    plt.close(fig)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: receptive_field(0, 2, 1), "seq_len"),
        (lambda: receptive_field(4, 0, 1), "window"),
        (lambda: receptive_field(4, 2, 0), "num_layers"),
        (lambda: kv_cache_bytes(1, 0, 4), "num_kv_heads"),
        (lambda: plot_kv_cache_memory(8, 3, 4, 1, 10), "must divide"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
