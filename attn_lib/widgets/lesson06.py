"""Widget logic of lesson 06 (cross-attention): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _
from ..viz import BLUE, LIGHT_GREY, VERMILLION
from ._common import _check_index, _tied_with_max

TIE_TOLERANCE = 0.005  # two weights closer than this are reported as a tie, not as an argmax


def cross_attention_row(weights: torch.Tensor, target: int, head: int | None = None) -> torch.Tensor:
    """Where one decoder position looks in the source: row ``target`` of a cross-attention map.

    Args:
        weights: the cross-attention weights of one sentence, ``(T, S)`` or ``(H, T, S)``
            (e.g. ``cross_weights[b]`` of ``DecoderLayer(..., need_weights=True)``).
        target: the decoder (query) position i, in ``[0, T)``.
        head: for ``(H, T, S)`` weights, head h, or None for the mean over the heads.

    Returns:
        The ``(S,)`` weights of target position ``target`` over the source positions. They sum
        to 1 over the source and are exactly 0 on source padding that was masked.
    """
    if not isinstance(weights, torch.Tensor) or weights.dim() not in (2, 3):
        got = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(f"weights must be a (T, S) or (H, T, S) tensor of one sentence, got {got}")
    _check_index("target", target, weights.shape[-2], note=" (a decoder position)")
    w = weights.detach().float()
    if w.dim() == 2:
        if head is not None:
            raise ValueError(
                f"head={head!r} was given but weights {tuple(w.shape)} have no head axis (H, T, S)"
            )
        return w[target]  # (S,)
    if head is None:
        return w[:, target].mean(0)  # (H, S) -> (S,)
    H = w.shape[0]
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < H:
        raise ValueError(f"head must be None or an int in [0, {H - 1}], got {head!r}")
    return w[head, target]  # (S,)


def plot_cross_attention_row(
    weights: torch.Tensor,
    source_labels: list[str],
    target_labels: list[str],
    target: int,
    head: int | None = None,
    expected: list[int | None] | None = None,
    mask: torch.Tensor | None = None,
    pad_label: str = "<pad>",
) -> Figure:
    """One decoder position's attention over the source, in context.

    Left: the whole ``(T, S)`` cross-attention map (rows: target tokens, columns: source
    tokens) with the chosen row framed in red and the known alignment, if given, in dashed
    orange. Right: that row as bars over the source tokens. Weights within
    ``TIE_TOLERANCE`` of the largest are reported and coloured as a tie, since the argmax
    would pick the first of them by position alone.

    Args:
        weights, target, head: as in :func:`cross_attention_row`.
        source_labels: the S source token strings (padding written ``pad_label``).
        target_labels: the T target token strings.
        expected: per target position, the source position it is known to align with (or None).
        mask: the mask the weights were computed with (bool, True = may attend, broadcastable
            to ``(T, S)``, e.g. ``padding_mask(src, PAD)[b, 0]``); blocked cells are drawn as masked.
    """
    from matplotlib.patches import Patch, Rectangle

    from ..viz import blocked_cells, plot_alignment

    row = cross_attention_row(weights, target, head)  # (S,)
    w = weights.detach().float()
    full = w if w.dim() == 2 else (w.mean(0) if head is None else w[head])  # (T, S)
    T, S = full.shape
    if len(source_labels) != S or len(target_labels) != T:
        raise ValueError(
            f"weights are (T={T}, S={S}) but got {len(target_labels)} target_labels and "
            f"{len(source_labels)} source_labels"
        )
    head_name = ""
    if w.dim() == 3 and w.shape[0] > 1:
        head_name = _(", mean of heads") if head is None else _(", head {head}").format(head=head)
    is_pad = [s == pad_label for s in source_labels]
    blocked_map = blocked_cells(mask, T, S)  # (T, S), True = blocked
    blocked = blocked_map[target].tolist()
    best = int(row.argmax())
    tied = _tied_with_max(row, TIE_TOLERANCE)  # best and near-equals
    want = None if expected is None else expected[target]

    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(11, 3.9), gridspec_kw={"width_ratios": [1.2, 1]})
    map_title = _("cross-attention map{head_name}").format(head_name=head_name)
    if mask is not None:
        map_title += _(", mask: {sum} cells blocked").format(sum=int(blocked_map.sum()))
    plot_alignment(full, source_labels, target_labels, expected, map_title, ax_map, mask=mask)
    ax_map.add_patch(Rectangle((-0.5, target - 0.5), S, 1, fill=False, edgecolor=VERMILLION, linewidth=2.5))

    colours = [LIGHT_GREY if p else BLUE for p in is_pad]
    for j in tied:
        colours[j] = VERMILLION
    bars = ax_bar.bar(range(S), row.numpy(), color=colours)
    if want is not None:
        bars[want].set_edgecolor("black")
        bars[want].set_linewidth(2)
    for j in range(S):
        note = _("0 (masked)") if blocked[j] else f"{float(row[j]):.2f}" + (_(" (pad)") if is_pad[j] else "")
        ax_bar.text(j, float(row[j]) + 0.02, note, ha="center", va="bottom", fontsize=8)
    handles = [
        Patch(facecolor=VERMILLION, label=_("largest weight") if len(tied) == 1 else _("largest (a tie)"))
    ]
    if want is not None:
        handles.append(
            Patch(
                facecolor="white",
                edgecolor="black",
                linewidth=2,
                label=_("known alignment (dashed in the map)"),
            )
        )
    if any(is_pad):
        handles.append(Patch(facecolor=LIGHT_GREY, label=_("source padding")))
    ax_bar.legend(handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False)
    ax_bar.set_xticks(range(S))
    short = max(map(len, source_labels)) * S <= 48  # short labels fit without rotation
    ax_bar.set_xticklabels(source_labels, rotation=0 if short else 45, ha="center" if short else "right")
    ax_bar.set_ylim(0, 1.3)  # room for the legend above the bars
    ax_bar.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax_bar.set_xlabel(_("source token (encoder position)"))
    ax_bar.set_ylabel(_("cross-attention weight"))
    ax_bar.set_title(
        _('row of target "{target_labels}": sums to 1 over the source').format(
            target_labels=target_labels[target]
        )
    )

    reads = _(" and ").join(_('"{label}" (position {j})').format(label=source_labels[j], j=j) for j in tied)
    if len(tied) == 1:
        finding = _("reads source {reads} most, with weight {weight:.2f}").format(
            reads=reads, weight=float(row[best])
        )
    else:  # argmax would pick the first of them by position alone: say it is a tie
        finding = _("reads {n} source tokens equally (a tie): {reads}, weight {weight:.2f} each").format(
            n=len(tied), reads=reads, weight=float(row[best])
        )
    title = _('target "{target_label}" (position {target}) {finding}').format(
        target_label=target_labels[target], target=target, finding=finding
    )
    verdict = ""
    if want is not None:
        if tied == [want]:
            verdict = _("that is its known alignment")
        elif want in tied:
            verdict = _('its known alignment, "{source_labels}", is one of them').format(
                source_labels=source_labels[want]
            )
        else:
            verdict = _('its known alignment is "{source_labels}"').format(source_labels=source_labels[want])
    if verdict:
        title += ("\n" if len(title) + len(verdict) > 110 else "; ") + verdict
    pad_share = float(row[torch.tensor(is_pad)].sum())
    if pad_share >= 0.005:
        title += "\n" + _("{pad_share:.0%} of its attention goes to source padding: mask it").format(
            pad_share=pad_share
        )
    fig.suptitle(title)
    fig.tight_layout()
    return fig
