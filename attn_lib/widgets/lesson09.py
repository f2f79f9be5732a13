"""Widget logic and figures of lesson 09 (a date translator): pure functions, tested by pytest.

Letters: ``H`` heads, ``T_out`` output tokens produced, ``S`` source characters.
Source characters are labelled with :func:`attn_lib.dates.char_label` (Hangul romanised, so
no figure needs a Hangul font).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import N_, _
from ..viz import OKABE_ITO
from ._common import _check_index

DATE_MAX_CHARS = 30  # the model was trained on sources of at most 27 characters
_TARGET_LABELS = {0: "<pad>", 1: "<bos>", 2: "<eos>", 13: "-"}


def _target_labels(ids: Sequence[int]) -> list[str]:
    return [_TARGET_LABELS.get(int(i), str(int(i) - 3)) for i in ids]


def run_date(model: torch.nn.Module, text: str, ablate: tuple[str, int, int] | None = None) -> dict:
    """Translate a typed date with a trained date model and collect every attention map it used.

    Args:
        model: an :class:`attn_lib.Transformer` trained on :mod:`attn_lib.dates`.
        text: what the learner typed, e.g. ``"25 March 2019"``.
        ablate: ``(kind, layer, head)`` of one head to switch off while translating
            (see :func:`attn_lib.dates.ablate_heads`), or None.

    Returns:
        A dict; ``ok`` False means the text was refused and ``message`` says why. With ``ok``
        True: ``source``, ``output`` (the text produced), ``src_labels`` (S), ``out_labels``
        (the tokens produced, ending in ``"<eos>"`` if the model stopped), ``cross``
        ``(layers, H, T_out, S)``, ``encoder`` ``(layers, H, S, S)``, ``decoder_self``
        ``(layers, H, T_out, T_out)`` and ``ablated`` (the head switched off, or None).
    """
    from ..dates import EOS, SOURCE_CHARS, TARGET_LEN, ablate_heads, char_label, encode_source, translate

    if not isinstance(text, str):
        return {
            "ok": False,
            "message": _("Please type a date (got {kind}).").format(kind=type(text).__name__),
        }
    text = text.strip()
    if not text:
        return {"ok": False, "message": _("Type a date, e.g. 25 March 2019 or 2019년 3월 25일 월요일.")}
    bad = sorted({c for c in text if c not in SOURCE_CHARS})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return {
            "ok": False,
            "message": _("The model has never seen the characters {shown}; please remove them.").format(
                shown=shown
            ),
        }
    if len(text) > DATE_MAX_CHARS:
        return {
            "ok": False,
            "message": _("{n} characters is too long; type at most {limit}.").format(
                n=len(text), limit=DATE_MAX_CHARS
            ),
        }
    src = torch.tensor([encode_source(text)])  # (1, S)
    heads = [] if ablate is None else [ablate]
    was_training = model.training
    model.eval()
    with ablate_heads(model, heads):
        out = translate(model, src)[0]  # (11,)
        n = TARGET_LEN + 1
        if bool((out == EOS).any()):
            n = int((out == EOS).nonzero()[0, 0]) + 1
        out = out[:n]  # up to and including the first EOS
        # One teacher-forced pass over BOS + output gives, row by row, the maps each step used.
        tgt_in = torch.cat([torch.tensor([1]), out[:-1]])[None]  # (1, T_out)
        maps = model.attention_maps(src, tgt_in)
    model.train(was_training)
    labels = _target_labels(out.tolist())
    output = "".join(t for t in labels if t not in ("<eos>", "<pad>", "<bos>"))
    message = f"{text} -> {output}" + ("" if labels[-1] == "<eos>" else _("  (no end token)"))
    if ablate is not None:
        message += _("   [{ablate} layer {ablate2} head {ablate3} switched off]").format(
            ablate=ablate[0], ablate2=ablate[1], ablate3=ablate[2]
        )
    return {
        "ok": True,
        "message": message,
        "source": text,
        "output": output,
        "src_labels": [char_label(c) for c in text],
        "out_labels": labels,
        "cross": torch.stack([c[0] for c in maps.cross]),  # (layers, H, T_out, S)
        "encoder": torch.stack([e[0] for e in maps.encoder]),  # (layers, H, S, S)
        "decoder_self": torch.stack([d[0] for d in maps.decoder_self]),  # (layers, H, T_out, T_out)
        "ablated": ablate,
    }


def plot_date_attention(result: dict, layer: int = -1, head: int = 0) -> Figure:
    """Cross-attention of one head for a :func:`run_date` result: rows = output character being
    produced, columns = source character."""
    from ..viz import plot_attention

    if not isinstance(result, dict) or not result.get("ok"):
        raise ValueError("result must be a successful run_date(...) result (its 'ok' is True)")
    cross = result["cross"]  # (layers, H, T_out, S)
    n_layers, H = cross.shape[:2]
    if isinstance(layer, bool) or not isinstance(layer, int) or not -n_layers <= layer < n_layers:
        raise ValueError(f"layer must be an int in [{-n_layers}, {n_layers - 1}], got {layer!r}")
    layer = layer % n_layers
    _check_index("head", head, H)
    T, S = cross.shape[2:]
    fig, ax = plt.subplots(figsize=(min(1.6 + 0.32 * S, 12), 1.4 + 0.3 * T))
    off = result["ablated"] == ("cross", layer, head)
    plot_attention(cross[layer, head], result["out_labels"], result["src_labels"], title="", ax=ax)
    ax.set_xlabel(_("source character"))
    ax.set_ylabel(_("output being produced"))
    ax.set_title(
        _(
            "decoder layer {layer}, head {head}{value}: {output}\n"
            "where each output character reads the source"
        ).format(layer=layer, head=head, value=_(" (switched off)") if off else "", output=result["output"])
    )
    fig.tight_layout()
    return fig


def plot_head_grid(
    maps: torch.Tensor,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    xlabel: str = N_("source character"),
    ylabel: str = N_("output being produced"),
    row_name: str = N_("layer"),
) -> Figure:
    """Every head of every layer: ``maps`` ``(layers, H, T_q, T_k)``, one heatmap per head, one
    shared colour bar (weight 0 .. 1)."""
    from ..viz import plot_attention

    if not isinstance(maps, torch.Tensor) or maps.dim() != 4:
        raise ValueError(
            f"maps must be (layers, H, T_q, T_k), got {getattr(maps, 'shape', type(maps).__name__)}"
        )
    n_layers, H, T, S = maps.shape
    if len(row_labels) != T or len(col_labels) != S:
        raise ValueError(
            f"need {T} row labels and {S} column labels, got {len(row_labels)} and {len(col_labels)}"
        )
    width = min(2.4 + 0.19 * S * H, 17)
    size = (width, 1.2 + n_layers * (0.8 + 0.2 * T))
    fig, axes = plt.subplots(n_layers, H, figsize=size, squeeze=False, layout="constrained")
    for layer in range(n_layers):
        for h in range(H):
            ax = axes[layer, h]
            plot_attention(
                maps[layer, h],
                row_labels,
                col_labels,
                title=_("{row_name} {layer}, head {h}").format(row_name=_(row_name), layer=layer, h=h),
                ax=ax,
                colorbar=False,
            )
            ax.tick_params(labelsize=7)
            ax.set_xlabel("")
            ax.set_ylabel("")
            if h:
                ax.set_yticklabels([])
    image = axes[0, 0].images[0]
    fig.colorbar(image, ax=axes, fraction=0.02, pad=0.01, label=_("attention weight"))
    fig.supxlabel(_(xlabel))
    fig.supylabel(_(ylabel))
    fig.suptitle(_(title))
    return fig


def plot_span_share(share: torch.Tensor, baseline: torch.Tensor) -> Figure:
    """Bars: the share of cross-attention on the answer span per decoder layer and head
    (``share`` ``(layers, H)``), with the shuffled-span baseline as a dark tick on each bar."""
    if share.shape != baseline.shape or share.dim() != 2:
        raise ValueError(
            f"share and baseline must both be (layers, H), got {tuple(share.shape)} and "
            f"{tuple(baseline.shape)}"
        )
    n_layers, H = share.shape
    colours = OKABE_ITO[:4]
    fig, ax = plt.subplots(figsize=(7, 3.4))
    for layer in range(n_layers):
        xs = [layer * (H + 1) + h for h in range(H)]
        ax.bar(
            xs,
            share[layer].tolist(),
            color=colours[layer % 4],
            label=_("decoder layer {layer}").format(layer=layer),
        )
        ax.scatter(
            xs,
            baseline[layer].tolist(),
            marker="_",
            s=400,
            color="black",
            zorder=3,
            label=_("shuffled-span baseline") if layer == 0 else None,
        )
    ax.set_xticks([layer * (H + 1) + h for layer in range(n_layers) for h in range(H)])
    ax.set_xticklabels([f"L{layer} h{h}" for layer in range(n_layers) for h in range(H)])
    ax.set_xlabel(_("decoder layer and head of the cross-attention"))
    ax.set_ylabel(_("share of attention on the answer span"))
    ax.set_ylim(0, 1.25)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    best = float(share[-1].max())
    ax.set_title(
        _(
            "the heads read their answer's span far above chance\n"
            "(last layer best {best:.1f}, shuffled-span baseline ~{mean:.1f})"
        ).format(best=best, mean=float(baseline.mean()))
    )
    ax.legend(loc="upper center", fontsize=8, ncol=3)
    fig.tight_layout()
    return fig


def plot_share_vs_ablation(
    share: torch.Tensor, ablated_accuracy: torch.Tensor, full_accuracy: float
) -> Figure:
    """One point per cross-attention head: its span share (x) against the accuracy when that head
    alone is switched off (y); the dashed line is the accuracy with every head on."""
    if share.shape != ablated_accuracy.shape or share.dim() != 2:
        raise ValueError("share and ablated_accuracy must both be (layers, H)")
    n_layers, H = share.shape
    markers = ("o", "s", "^", "D")
    colours = OKABE_ITO[:4]
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for layer in range(n_layers):
        ax.scatter(
            share[layer].tolist(),
            (100 * ablated_accuracy[layer]).tolist(),
            s=60,
            marker=markers[layer % 4],
            color=colours[layer % 4],
            label=_("decoder layer {layer}").format(layer=layer),
        )
        for h in range(H):
            ax.annotate(
                f"h{h}",
                (float(share[layer, h]), 100 * float(ablated_accuracy[layer, h])),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=8,
            )
    ax.axhline(100 * full_accuracy, color="grey", ls="--", lw=1, label=_("no head switched off"))
    ax.set_xlabel(_("share of the head's attention on the answer span"))
    ax.set_ylabel(_("exact match with this head switched off (%)"))
    ax.set_title(_("a clear map does not mean the model needs that head"))
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def plot_one_head_per_format(runs: Sequence[dict], layer: int, head: int, title: str) -> Figure:
    """The cross-attention of one head for several :func:`run_date` results, side by side (two
    rows of panels), each titled with its source text (Hangul romanised)."""
    from ..dates import char_label
    from ..viz import plot_attention

    if not runs or not all(isinstance(r, dict) and r.get("ok") for r in runs):
        raise ValueError("runs must be successful run_date(...) results")
    cols = (len(runs) + 1) // 2
    fig, axes = plt.subplots(2, cols, figsize=(min(4.6 * cols, 17), 8), squeeze=False, layout="constrained")
    for ax, r in zip(axes.flat, runs, strict=False):
        plot_attention(
            r["cross"][layer, head], r["out_labels"], r["src_labels"], title="", ax=ax, colorbar=False
        )
        ax.set_title("".join(char_label(c) if c != " " else " " for c in r["source"]), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("")
        ax.set_ylabel("")
    for ax in axes.flat[len(runs) :]:
        ax.axis("off")
    fig.supxlabel(_("source character"))
    fig.supylabel(_("output being produced"))
    fig.colorbar(axes[0, 0].images[0], ax=axes, fraction=0.02, pad=0.01, label=_("attention weight"))
    fig.suptitle(_(title))
    return fig
