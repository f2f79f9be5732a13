"""Lesson 04's new widget logic: gradients per layer (post-norm vs pre-norm) and the
untrained-encoder caveat of its attention figure. (Its older widget tests live in
``test_widgets_l04_l05.py``.)"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

import attn_lib
from attn_lib.widgets import plot_encoder_attention
from attn_lib.widgets.lesson04 import grad_norm_per_layer


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_post_norm_gradient_shrinks_towards_the_input_and_pre_norm_does_not():
    torch.set_num_threads(1)
    post = grad_norm_per_layer(norm_first=False, num_layers=24, seeds=3)
    pre = grad_norm_per_layer(norm_first=True, num_layers=24, seeds=3)
    assert post.shape == pre.shape == (24,)
    assert float(post[0] / post[-1]) < 0.8
    assert float(pre[0] / pre[-1]) > 1.2


def test_grad_norm_per_layer_leaves_the_global_rng_alone_and_checks_its_arguments():
    torch.manual_seed(7)
    expected = torch.rand(2)
    torch.manual_seed(7)
    grad_norm_per_layer(norm_first=True, num_layers=2, seeds=1)
    torch.testing.assert_close(torch.rand(2), expected)
    with pytest.raises(TypeError, match="norm_first"):
        grad_norm_per_layer(norm_first="pre")
    with pytest.raises(ValueError, match="num_layers"):
        grad_norm_per_layer(norm_first=True, num_layers=0)


def _maps() -> tuple[list[torch.Tensor], list[list[str]]]:
    torch.manual_seed(0)
    encoder = attn_lib.Encoder(num_layers=1, d_model=8, num_heads=2, d_ff=16).eval()
    _, maps = encoder(torch.randn(1, 3, 8), need_weights=True)
    return maps, [["a", "b", "c"]]


def test_the_attention_figure_of_an_untrained_encoder_says_it_is_untrained():
    maps, labels = _maps()
    title = plot_encoder_attention(maps, labels, 0, 1, 0, 0)._suptitle.get_text()
    assert title.startswith("untrained encoder, so no learned pattern:")
    assert '"b" takes most from' in title
    trained = plot_encoder_attention(maps, labels, 0, 1, 0, 0, trained=True)._suptitle.get_text()
    assert "untrained" not in trained and '"b" takes most from' in trained
