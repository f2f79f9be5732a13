"""Widget logic of lesson 04 (encoder self-attention): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _
from ..viz import BLUE, LIGHT_GREY, VERMILLION
from ._common import _check_index, _check_positive_int


def encoder_attention_row(
    maps: list[torch.Tensor], sentence: int, token: int, layer: int, head: int | None = None
) -> torch.Tensor:
    """Where one token attends: row ``token`` of the encoder self-attention map of one
    sentence, layer and head.

    Args:
        maps: one ``(B, H, T, T)`` weight tensor per encoder layer (``Encoder(..., need_weights=True)``).
        sentence: index b of the sentence in the batch.
        token: query position i (the token that attends).
        layer: encoder layer l.
        head: head h, or None for the average over the heads.

    Returns:
        The ``(T,)`` weights of query ``token`` over the key positions (they sum to 1).
    """

    if not maps or any(not isinstance(m, torch.Tensor) or m.dim() != 4 for m in maps):
        raise ValueError("maps must be a non-empty list of (B, H, T, T) tensors, one per layer")
    layer = _check_index("layer", layer, len(maps))
    B, H, T, _T_k = maps[layer].shape
    sentence = _check_index("sentence", sentence, B)
    token = _check_index("token", token, T)
    w = maps[layer][sentence, :, token].detach().float()  # (H, T)
    if head is None:
        return w.mean(0)  # (T,)
    return w[_check_index("head", head, H)]  # (T,)


def plot_encoder_attention(
    maps: list[torch.Tensor],
    labels: list[list[str]],
    sentence: int,
    token: int,
    layer: int,
    head: int | None = None,
    pad_label: str = "<pad>",
    trained: bool = False,
) -> Figure:
    """The encoder self-attention map of one sentence (layer, head) with the chosen query
    row framed, and that row as bars: how much the token takes from every key.

    Args:
        maps: one ``(B, H, T, T)`` weight tensor per layer.
        labels: per sentence, its T token strings (padding included, written ``pad_label``).
        sentence, token, layer, head: as in :func:`encoder_attention_row`.
        trained: whether the maps come from a trained model; if not (the default), the title
            says so, since the weights of an untrained encoder mean nothing yet.
    """
    from matplotlib.patches import Rectangle

    from ..viz import plot_attention

    row = encoder_attention_row(maps, sentence, token, layer, head)  # (T,)
    words = list(labels[sentence])
    T = row.numel()
    if len(words) != T:
        raise ValueError(f"labels[{sentence}] has {len(words)} tokens but the maps have T={T}")
    w = maps[layer][sentence].detach().float()  # (H, T, T)
    full = w.mean(0) if head is None else w[head]  # (T, T)
    head_name = _("mean of heads") if head is None else _("head {head}").format(head=head)
    is_pad = [t == pad_label for t in words]

    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1.15, 1]})
    # a fixed 0..1 colour scale: an untrained, nearly uniform map must look nearly uniform
    plot_attention(
        full,
        words,
        words,
        title=_("layer {layer}, {head_name}").format(layer=layer, head_name=head_name),
        ax=ax_map,
        vmax=1.0,
    )
    ax_map.add_patch(Rectangle((-0.5, token - 0.5), T, 1, fill=False, edgecolor=VERMILLION, linewidth=2.5))

    colours = [LIGHT_GREY if p else BLUE for p in is_pad]  # Okabe-Ito blue; grey for padding
    best = int(row.argmax())
    colours[best] = VERMILLION  # Okabe-Ito vermillion: colour-blind safe next to the blue
    ax_bar.bar(range(T), row.numpy(), color=colours)
    for j in range(T):
        note = _("0 (pad)") if is_pad[j] else f"{float(row[j]):.2f}"
        ax_bar.text(j, float(row[j]) + 0.02, note, ha="center", va="bottom", fontsize=8)
    n_real = T - sum(is_pad)
    ax_bar.axhline(
        1.0 / n_real,
        color="black",
        linestyle=":",
        linewidth=1,
        label=_("uniform: 1/{n_real}").format(n_real=n_real),
    )
    ax_bar.legend(loc="upper left", fontsize=8, frameon=False)
    ax_bar.set_xticks(range(T))
    ax_bar.set_xticklabels(words, rotation=90 if max(map(len, words)) > 2 else 0)
    ax_bar.set_ylim(0, 1.05)
    ax_bar.set_xlabel(_("key token (attended to)"))
    ax_bar.set_ylabel(_("attention weight"))
    ax_bar.set_title(_('row of query "{words}" (position {token})').format(words=words[token], token=token))
    where = _(" (a padding position: it attends, but its output is never used)") if is_pad[token] else ""
    caveat = "" if trained else _("untrained encoder, so no learned pattern: ")
    fig.suptitle(
        _(
            '{caveat}"{words}" takes most from "{words2}" ({row:.2f}; uniform would be {value:.2f}){where}'
        ).format(
            caveat=caveat,
            words=words[token],
            words2=words[best],
            row=float(row[best]),
            value=1.0 / n_real,
            where=where,
        )
    )
    fig.tight_layout()
    return fig


def grad_norm_per_layer(
    norm_first: bool, num_layers: int = 24, d_model: int = 32, num_heads: int = 4, seeds: int = 5
) -> torch.Tensor:
    """How large the gradient is at the input of every layer of a freshly initialised encoder.

    For each seed, an ``attn_lib.Encoder(num_layers, d_model, num_heads, d_ff=4·d_model,
    norm_first=...)`` (post-norm for ``False``, pre-norm for ``True``) encodes a random batch
    ``(8, 10, d_model)``; the loss is the mean squared error against a random target (a
    stand-in for any loss). Measured: ‖∂loss/∂x_l‖, x_l the input of layer l.

    Returns:
        ``(num_layers,)`` float64: for every layer (0 = nearest the input), the median of that
        norm over ``seeds`` seeds (0, 1, ...). The global RNG is left as it was.
    """
    from ..model import Encoder

    if not isinstance(norm_first, bool):
        raise TypeError(f"norm_first must be True (pre-norm) or False (post-norm), got {norm_first!r}")
    num_layers = _check_positive_int("num_layers", num_layers)
    seeds = _check_positive_int("seeds", seeds)
    rows = []
    for seed in range(seeds):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            encoder = Encoder(num_layers, d_model, num_heads, 4 * d_model, norm_first=norm_first)
        gen = torch.Generator().manual_seed(100 + seed)
        x = torch.randn(8, 10, d_model, generator=gen)  # (B, T, D)
        target = torch.randn(8, 10, d_model, generator=gen)
        inputs, h = [], x.requires_grad_()
        for layer in encoder.layers:
            inputs.append(h)  # x_l, the input of layer l
            h, _weights = layer(h)
        loss = ((encoder.norm(h) - target) ** 2).mean()
        grads = torch.autograd.grad(loss, inputs)  # one (B, T, D) per layer
        rows.append(torch.stack([g.double().norm() for g in grads]))
    return torch.stack(rows).median(dim=0).values  # (num_layers,)
