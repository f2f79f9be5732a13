"""Widget logic of lesson 11 (attention in today's LLMs): pure functions, tested by pytest.

- ``receptive_field`` / ``plot_receptive_field``: which input positions can reach each output
  after ``num_layers`` layers of causal sliding-window attention (window ``w`` keys, itself included);
- ``kv_cache_bytes`` / ``plot_kv_cache_memory``: the KV-cache memory per token of MHA, GQA and MQA.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from ..i18n import _
from ..masks import sliding_window_mask
from ..viz import BLUE, GREEN, ORANGE, PALE_GREY
from ._common import _check_positive_int
from .lesson08 import format_bytes


def receptive_field(seq_len: int, window: int, num_layers: int) -> torch.Tensor:
    """Bool ``(T, T)``: True where output position i can depend on input position j.

    One layer lets i read keys ``i - w + 1 .. i`` (:func:`~attn_lib.masks.sliding_window_mask`);
    stacking layers composes these reaches (a boolean matrix product), so after ``L`` layers
    position i reaches back ``L * (w - 1)`` positions: the field grows by ``w - 1`` per layer
    (``w`` keys per layer, one of them shared: the position itself).
    """
    T = _check_positive_int("seq_len", seq_len)
    w = _check_positive_int("window", window)
    L = _check_positive_int("num_layers", num_layers)
    one = sliding_window_mask(T, T, w).to(torch.int64)  # (T, T)
    reach = torch.eye(T, dtype=torch.int64)
    for _layer in range(L):
        reach = ((one @ reach) > 0).to(torch.int64)  # (T, T): through one more layer
    return reach.bool()


def reach_back(window: int, num_layers: int) -> int:
    """How many positions back the last layer's output can see: ``num_layers * (window - 1)``."""
    return _check_positive_int("num_layers", num_layers) * (_check_positive_int("window", window) - 1)


def plot_receptive_field(seq_len: int, window: int, num_layers: int) -> Figure:
    """The receptive field as a map (output positions down, inputs across), one layer against ``L``."""
    one = receptive_field(seq_len, window, 1)
    many = receptive_field(seq_len, window, num_layers)
    cmap = ListedColormap([PALE_GREY, BLUE])  # blocked, reached (colour-blind safe)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2), sharey=True)
    for ax, field, layers in ((axes[0], one, 1), (axes[1], many, num_layers)):
        im = ax.imshow(field.numpy(), cmap=cmap, vmin=0, vmax=1)
        ax.set_xlabel(_("input position j"))
        n = int(field[-1].sum())
        ax.set_title(
            _("{layers} layer{value}: the last position reaches {n} inputs").format(
                layers=layers, value="s" if layers > 1 else "", n=n
            ),
            fontsize=10,
        )
    axes[0].set_ylabel(_("output position i"))
    cbar = fig.colorbar(im, ax=axes, ticks=[0.25, 0.75], fraction=0.04)
    cbar.ax.set_yticklabels([_("cannot reach"), _("can reach")])
    back = reach_back(window, num_layers)
    fig.suptitle(
        _(
            "window w = {window}: each layer adds w − 1 = {value} positions; after {num_layers} "
            "layers the field reaches {back} back"
        ).format(window=window, value=window - 1, num_layers=num_layers, back=back),
        fontsize=11,
    )
    return fig


def kv_cache_bytes(num_layers: int, num_kv_heads: int, head_dim: int, bytes_per_element: int = 2) -> int:
    """KV-cache bytes per token: a key and a value (2) per layer, per KV head, of ``head_dim`` numbers."""
    L = _check_positive_int("num_layers", num_layers)
    H_kv = _check_positive_int("num_kv_heads", num_kv_heads)
    Dh = _check_positive_int("head_dim", head_dim)
    return 2 * L * H_kv * Dh * _check_positive_int("bytes_per_element", bytes_per_element)


def plot_kv_cache_memory(
    num_heads: int,
    num_kv_heads: int,
    head_dim: int,
    num_layers: int,
    seq_len: int,
    bytes_per_element: int = 2,
) -> Figure:
    """Bars: the KV cache of ``seq_len`` tokens for MHA, the chosen GQA and MQA."""
    H = _check_positive_int("num_heads", num_heads)
    H_kv = _check_positive_int("num_kv_heads", num_kv_heads)
    if H % H_kv:
        raise ValueError(f"num_kv_heads={H_kv} must divide num_heads={H}")
    T = _check_positive_int("seq_len", seq_len)
    variants = {_("MHA ({H} KV heads)").format(H=H): H, f"GQA ({H_kv})": H_kv, "MQA (1)": 1}
    sizes = {k: kv_cache_bytes(num_layers, h, head_dim, bytes_per_element) * T for k, h in variants.items()}
    fig, ax = plt.subplots(figsize=(7, 3.4))
    colours = [ORANGE, BLUE, GREEN]
    bars = ax.barh(list(sizes), [v / 2**20 for v in sizes.values()], color=colours)
    for bar, v in zip(bars, sizes.values(), strict=True):
        ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " " + format_bytes(v), va="center")
    ax.set_xlabel(_("KV cache for {T} tokens (MiB)").format(T=T))
    ax.invert_yaxis()
    ax.set_xlim(0, max(sizes.values()) / 2**20 * 1.35)
    ax.set_title(
        _("{H_kv} KV heads for {H} query heads: the cache is {value}× smaller than MHA's").format(
            H_kv=H_kv, H=H, value=H // H_kv
        ),
        fontsize=10,
    )
    fig.tight_layout()
    return fig
