"""Widget logic of lesson 05 (masking, decoder): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _
from ..viz import GREY, LIGHT_GREY, SEQUENTIAL_CMAP, VERMILLION, annotate_heatmap
from ._common import _check_index


def _check_generation_step(model: torch.nn.Module, tgt: torch.Tensor, t: int, layer: int, head: int) -> None:
    if not isinstance(tgt, torch.Tensor) or tgt.dim() != 2 or tgt.shape[0] != 1:
        got = tuple(tgt.shape) if isinstance(tgt, torch.Tensor) else type(tgt).__name__
        raise ValueError(f"tgt must be one decoder input sequence of shape (1, T), got {got}")
    _check_index("t", t, tgt.shape[1], note=" (a position of tgt)")
    _check_index("layer", layer, len(model.decoder.layers))
    _check_index("head", head, model.decoder.layers[0].self_attn.num_heads)


@torch.no_grad()
def generation_prefix_attention(
    model: torch.nn.Module,
    src: torch.Tensor,
    tgt: torch.Tensor,
    t: int,
    layer: int = 0,
    head: int = 0,
    causal: bool = True,
) -> tuple[torch.Tensor, int]:
    """Decoder self-attention at generation step ``t``, computed from the prefix ``tgt[:, :t+1]`` only.

    Args:
        model: an :class:`attn_lib.Transformer`.
        src: source tokens ``(1, S)``.
        tgt: the decoder input ``(1, T)`` (BOS followed by the generated tokens).
        t: the step: the decoder has seen positions ``0..t`` and predicts token ``t + 1``.
        layer, head: which decoder layer and head to show.
        causal: False runs the decoder self-attention without the causal mask (padding
            only), to show what goes wrong: earlier rows then change as tokens are added.

    Returns:
        ``(weights, next_id)``: a ``(T, T)`` map whose rows and columns ``0..t`` are the
        weights of that step (everything else is NaN: those positions do not exist yet) and
        the id the model predicts next (argmax of the logits at position ``t``).
    """
    _check_generation_step(model, tgt, t, layer, head)
    if not isinstance(causal, bool):
        raise ValueError(f"causal must be True or False, got {causal!r}")
    was_training = model.training
    model.eval()
    prefix = tgt[:, : t + 1]  # (1, t+1): all the decoder has at step t
    src_mask = model.src_mask(src)  # (1, 1, 1, S) or None
    # causal AND padding (1, 1, t+1, t+1), or padding only (1, 1, 1, t+1) without the causal mask
    self_mask = model.tgt_mask(prefix) if causal else model.src_mask(prefix)
    x = model._embed(model.tgt_embed, prefix)  # (1, t+1, D): token embedding × √d_model + PE, as in decode
    x, self_maps, _cross_maps = model.decoder(x, model.encode(src), self_mask, src_mask, need_weights=True)
    logits = model.generator(x)  # (1, t+1, V)
    model.train(was_training)
    T = tgt.shape[1]
    out = torch.full((T, T), float("nan"))
    out[: t + 1, : t + 1] = self_maps[layer][0, head]  # (1, H, t+1, t+1) -> (t+1, t+1)
    return out, int(logits[0, -1].argmax())


def generation_step_view(
    model: torch.nn.Module,
    src: torch.Tensor,
    tgt: torch.Tensor,
    t: int,
    vocab: list[str],
    layer: int = 0,
    head: int = 0,
    causal: bool = True,
) -> Figure:
    """Step ``t`` of generation: the decoder self-attention map of the positions that exist so far.

    Cells (i, j) with i, j <= t are coloured by weight; with ``causal`` their future cells
    (j > i) are grey, blocked by the causal mask (weight exactly 0). Rows and columns after
    ``t`` are hatched: those tokens are not generated yet. ``vocab[id]`` is the string of
    token ``id``. ``causal=False`` drops the causal mask (see
    :func:`generation_prefix_attention`).
    """
    from matplotlib.patches import Patch, Rectangle

    weights, next_id = generation_prefix_attention(model, src, tgt, t, layer, head, causal)  # (T, T)
    T = tgt.shape[1]
    words = [vocab[int(i)] for i in tgt[0]]
    shown = [w if i <= t else "?" for i, w in enumerate(words)]
    grid = weights.clone()
    if causal:
        grid[torch.ones(T, T, dtype=torch.bool).triu(1)] = float("nan")  # blocked cells: grey

    fig, ax = plt.subplots(figsize=(8, 5))
    cmap = plt.get_cmap(SEQUENTIAL_CMAP).with_extremes(bad=LIGHT_GREY)  # NaN (blocked) cells: grey
    im = ax.imshow(grid.numpy(), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    not_yet = {"facecolor": "white", "edgecolor": GREY, "hatch": "//"}
    if t + 1 < T:  # tokens after t do not exist yet: their rows (queries) and columns (keys)
        ax.add_patch(Rectangle((-0.5, t + 0.5), T, T - t - 1, **not_yet))
        ax.add_patch(Rectangle((t + 0.5, -0.5), T - t - 1, t + 1, **not_yet))
    ax.add_patch(Rectangle((-0.5, t - 0.5), t + 1, 1, fill=False, edgecolor=VERMILLION, linewidth=2.5))
    seen = torch.full((T, T), float("nan"))  # the cells that exist at step t (and, causal, are not masked)
    for i in range(t + 1):
        cols = t + 1 if not causal else i + 1
        seen[i, :cols] = weights[i, :cols]
    annotate_heatmap(ax, im, seen, fontsize=7)
    ax.set_xticks(range(T))
    ax.set_yticks(range(T))
    ax.set_xticklabels(shown)
    for tick, label in zip(ax.get_xticklabels(), shown, strict=True):
        tick.set_rotation(90 if len(label) > 2 else 0)  # words stand up, "?" stays upright
    ax.set_yticklabels(shown)
    ax.set_xlabel(_("key position (attended to)"))
    ax.set_ylabel(_("query position (attending)"))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label=_("weight"))
    handles = [
        Patch(**not_yet, label=_("not generated yet")),
        Patch(
            facecolor="none",
            edgecolor=VERMILLION,
            linewidth=2,
            label=_("step {t}: the newest row").format(t=t),
        ),
    ]
    if causal:
        handles.insert(0, Patch(facecolor=LIGHT_GREY, label=_("future key: masked, weight exactly 0")))
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.3),
        ncol=len(handles),
        fontsize=8,
        frameon=False,
    )
    seen = " ".join(words[: t + 1])
    mask_name = (
        _("causal mask on") if causal else _("NO causal mask: earlier rows change as tokens are added")
    )
    ax.set_title(
        _(
            "step {t}: decoder input “{seen}” → predicts “{vocab}”\n"
            "decoder self-attention, layer {layer}, head {head}, {mask_name}"
        ).format(t=t, seen=seen, vocab=vocab[next_id], layer=layer, head=head, mask_name=mask_name),
        fontsize=10,
    )
    fig.tight_layout()
    return fig
