"""Widget logic and figures of lesson 10 (decoder-only models and induction heads): pure functions.

Letters: ``L`` layers, ``H`` heads, ``T`` tokens, ``P`` the period of a repeated segment.
A token is a character of :data:`attn_lib.lm.LM_ALPHABET`; figures label it ``'i: c'`` (a space
is shown as ``'␣'``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..i18n import N_, _
from ..viz import BLUE, DARK_GREY, ORANGE, SKY_BLUE
from ._common import _check_index

PROMPT_MAX_CHARS = 32  # the lesson's model was trained on 32 tokens (max_len)
_ROLE_COLOURS = {"previous-token": ORANGE, "induction": SKY_BLUE}  # Okabe-Ito orange, sky blue
_ROLE_NAMES = (N_("previous-token"), N_("induction"))  # the roles as the catalogue knows them


def char_labels(ids: Sequence[int] | torch.Tensor, numbered: bool = True) -> list[str]:
    """``[0, 26, 1]`` -> ``['0: a', '1: ␣', '2: b']`` (or without the position)."""
    from ..lm import LM_ALPHABET

    chars = [LM_ALPHABET[int(i)].replace(" ", "␣") for i in ids]
    return [f"{i}: {c}" for i, c in enumerate(chars)] if numbered else chars


def select_heads(scores: torch.Tensor, layer: int, threshold: float) -> list[tuple[int, int]]:
    """The ``(layer, head)`` pairs of ``layer`` whose score in ``scores`` ``(L, H)`` exceeds ``threshold``."""
    if not isinstance(scores, torch.Tensor) or scores.dim() != 2:
        raise ValueError(
            f"scores must be an (L, H) tensor, got {getattr(scores, 'shape', type(scores).__name__)}"
        )
    _check_index("layer", layer, scores.shape[0])
    return [(layer, h) for h in range(scores.shape[1]) if float(scores[layer, h]) > threshold]


def uniform_causal_scores(T: int, period: int) -> tuple[float, float]:
    """What a head that spreads its weight evenly over the causal prefix scores: (previous-token,
    induction) on a ``[s s]`` sequence of ``T = 2 * period`` tokens; the baseline of the bars."""
    from ..lm import induction_score, previous_token_score
    from ..masks import causal_mask

    allowed = causal_mask(T).float()
    uniform = allowed / allowed.sum(-1, keepdim=True)  # (T, T)
    return float(previous_token_score(uniform)), float(induction_score(uniform, period))


def target_mass(weights: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean attention mass on the induction targets, over the queries that have one.

    ``weights`` ``(..., T, T)``, ``targets`` bool ``(T, T)`` from :func:`attn_lib.lm.induction_targets`
    -> ``(...)``; NaN-free: 0 when no query has a target.
    """
    rows = targets.any(-1)  # (T,)
    if not bool(rows.any()):
        return torch.zeros(weights.shape[:-2])
    mass = (weights * targets).sum(-1)  # (..., T)
    return mass[..., rows].mean(-1)


def _frame(ax, colour: str, label: str) -> None:
    for spine in ax.spines.values():
        spine.set_edgecolor(colour)
        spine.set_linewidth(3)
    ax.text(
        0.98, 0.04, label, transform=ax.transAxes, ha="right", va="bottom", fontsize=8,
        color="black", bbox={"facecolor": colour, "edgecolor": "none", "pad": 1.5},
    )  # fmt: skip


def plot_lm_heads(
    maps: torch.Tensor,
    labels: Sequence[str],
    prev: torch.Tensor,
    ind: torch.Tensor,
    roles: Mapping[tuple[int, int], str],
    title: str,
) -> Figure:
    """Every head of a decoder-only model on one sequence: ``maps`` ``(L, H, T, T)``, each titled with
    its previous-token and induction scores ``prev``/``ind`` ``(L, H)``; the heads in ``roles``
    (``(layer, head) -> "previous-token" | "induction"``) framed in the role's colour."""
    from ..viz import plot_attention

    if not isinstance(maps, torch.Tensor) or maps.dim() != 4 or maps.shape[-1] != maps.shape[-2]:
        raise ValueError(f"maps must be (L, H, T, T), got {getattr(maps, 'shape', type(maps).__name__)}")
    n_layers, H, T, _T_k = maps.shape
    if len(labels) != T:
        raise ValueError(f"need {T} labels, got {len(labels)}")
    for name, s in (("prev", prev), ("ind", ind)):
        if not isinstance(s, torch.Tensor) or tuple(s.shape) != (n_layers, H):
            raise ValueError(f"{name} must be an (L, H) = {(n_layers, H)} tensor of scores")
    fig, axes = plt.subplots(
        n_layers, H, figsize=(3.1 * H + 1.2, 3.2 * n_layers + 0.8), squeeze=False, layout="constrained"
    )
    for layer in range(n_layers):
        for h in range(H):
            ax = axes[layer, h]
            plot_attention(
                maps[layer, h],
                labels,
                labels,
                title=_("layer {layer}, head {h}\nprev {prev:.2f}  ind {ind:.2f}").format(
                    layer=layer, h=h, prev=float(prev[layer, h]), ind=float(ind[layer, h])
                ),
                ax=ax,
                colorbar=False,
            )
            ax.set_xticks(range(0, T, 4))
            ax.set_yticks(range(0, T, 4))
            ax.set_xticklabels([labels[i] for i in range(0, T, 4)], rotation=90, fontsize=7)
            ax.set_yticklabels([labels[i] for i in range(0, T, 4)] if h == 0 else [], fontsize=7)
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.title.set_fontsize(9)
            role = roles.get((layer, h))
            if role is not None:
                _frame(ax, _ROLE_COLOURS[role], _(role))
    fig.colorbar(axes[0, 0].images[0], ax=axes, fraction=0.02, pad=0.01, label=_("attention weight"))
    fig.supxlabel(_("key position (attended to)"))
    fig.supylabel(_("query position (attending)"))
    fig.suptitle(_(title))
    return fig


def plot_head_scores(
    prev: torch.Tensor, ind: torch.Tensor, baselines: tuple[float, float], title: str
) -> Figure:
    """Both scores of every head as bars, ``prev``/``ind`` ``(L, H)``, with the scores of a head
    that attends uniformly (``baselines``) as dashed lines."""
    if not (isinstance(prev, torch.Tensor) and isinstance(ind, torch.Tensor) and prev.shape == ind.shape):
        raise ValueError("prev and ind must be (L, H) tensors of the same shape")
    n_layers, H = prev.shape
    names = [f"L{layer}H{h}" for layer in range(n_layers) for h in range(H)]
    x = torch.arange(len(names)).float()
    fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(names), 3.6))
    ax.bar(
        x - 0.2,
        prev.flatten().numpy(),
        0.4,
        color=_ROLE_COLOURS["previous-token"],
        label=_("previous-token score"),
    )
    ax.bar(
        x + 0.2,
        ind.flatten().numpy(),
        0.4,
        color=_ROLE_COLOURS["induction"],
        label=_("induction score"),
        hatch="//",
    )
    ax.axhline(baselines[0], color=DARK_GREY, ls="--", lw=1, label=_("uniform attention (prev)"))
    ax.axhline(baselines[1], color=DARK_GREY, ls=":", lw=1.2, label=_("uniform attention (ind)"))
    for layer in range(1, n_layers):
        ax.axvline(layer * H - 0.5, color="black", lw=0.8)
    ax.set_xticks(x.numpy(), names)
    ax.set_xlabel(_("head (layer L, head H)"))
    ax.set_ylabel(_("mean attention on the offset"))
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(_(title))
    fig.tight_layout()
    return fig


def plot_position_losses(
    curves: Mapping[str, torch.Tensor], period: int, reference: float, title: str
) -> Figure:
    """Loss per position of ``[s s]`` sequences (``|s| = period``) for several runs of the model:
    ``curves`` maps a label to ``(T - 1,)`` mean losses (entry ``t`` predicts token ``t + 1``);
    ``reference`` (e.g. ln V) as a dashed line and the start of the repeat as a vertical one."""
    from ..viz import OKABE_ITO

    if not curves:
        raise ValueError("curves must map at least one label to a (T - 1,) tensor of losses")
    fig, ax = plt.subplots(figsize=(8, 3.8))
    styles = ("-", "--", "-.", ":")
    for i, (label, c) in enumerate(curves.items()):
        c = torch.as_tensor(c).float()
        ax.plot(
            torch.arange(1, c.numel() + 1).numpy(),
            c.numpy(),
            styles[i % 4],
            color=OKABE_ITO[i],
            lw=2,
            label=label,
        )
    ax.axhline(
        reference,
        color=DARK_GREY,
        ls="--",
        lw=1,
        label=_("ln V = {reference:.2f}: a uniform guess").format(reference=reference),
    )
    ax.axvline(period - 0.5, color="black", lw=0.8)
    ax.text(period, ax.get_ylim()[1] * 0.97, _(" the repeat starts"), va="top", fontsize=8)
    ax.set_xlabel(_("position of the predicted token"))
    ax.set_ylabel(_("cross-entropy (nats)"))
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="center left")
    ax.set_title(_(title))
    fig.tight_layout()
    return fig


def plot_training_and_scores(
    losses: Sequence[float],
    steps: Sequence[int],
    prev_curve: Sequence[float],
    ind_curve: Sequence[float],
    reference: float,
    title: str,
) -> Figure:
    """The training loss of every step (top) and, on the same steps axis, the best previous-token
    score of layer 0 and the best induction score of layer 1 measured at ``steps`` (bottom)."""
    from ..viz import OKABE_ITO

    if not (len(steps) == len(prev_curve) == len(ind_curve)) or not steps:
        raise ValueError("steps, prev_curve and ind_curve must be non-empty and of the same length")
    fig, (ax_loss, ax_score) = plt.subplots(
        2, 1, figsize=(8, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
    )
    ax_loss.plot(range(1, len(losses) + 1), list(losses), lw=1, color=OKABE_ITO[0], label=_("training loss"))
    ax_loss.axhline(
        reference,
        color=DARK_GREY,
        ls="--",
        lw=1,
        label=_("ln V = {reference:.2f}: a uniform guess").format(reference=reference),
    )
    ax_loss.set_ylabel(_("cross-entropy per token\n(nats)"))
    ax_loss.legend(fontsize=8)
    ax_loss.set_title(_(title))
    ax_score.plot(list(steps), list(prev_curve), "-o", ms=3, color=_ROLE_COLOURS["previous-token"],
                  label=_("best previous-token score, layer 0"))  # fmt: skip
    ax_score.plot(list(steps), list(ind_curve), "--s", ms=3, color=BLUE,
                  label=_("best induction score, layer 1"))  # fmt: skip
    ax_score.set_ylim(0, 1)
    ax_score.set_ylabel(_("score on held-out\n[s s] sequences"))
    ax_score.set_xlabel(_("training step"))
    ax_score.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def prompt_attention(model: torch.nn.Module, text: str) -> dict:
    """Run a typed prompt through the lesson's model and collect what the widget shows.

    Returns a dict; ``ok`` False means the text was refused and ``message`` says why. With ``ok``
    True: ``tokens`` ``(T,)``, ``labels``, ``maps`` ``(L, H, T, T)``, ``targets`` bool ``(T, T)``
    (the induction targets of :func:`attn_lib.lm.induction_targets`), ``mass`` ``(L, H)`` (each
    head's mean weight on those targets), ``prediction`` (the most likely next character after
    each position, a str of length T) and ``message``.
    """
    from ..lm import LM_ALPHABET, encode_text, induction_targets

    if not isinstance(text, str):
        return {
            "ok": False,
            "message": _("Please type some characters (got {kind}).").format(kind=type(text).__name__),
        }
    if len(text) < 2:
        return {"ok": False, "message": _("Type at least two characters, e.g. 'the cat. the cat.'")}
    if len(text) > PROMPT_MAX_CHARS:
        return {
            "ok": False,
            "message": _("{n} characters is too long; the model reads at most {limit}.").format(
                n=len(text), limit=PROMPT_MAX_CHARS
            ),
        }
    try:
        tokens = encode_text(text)
    except ValueError:
        bad = " ".join(repr(c) for c in sorted({c for c in text.lower() if c not in LM_ALPHABET}))
        return {
            "ok": False,
            "message": _("The model only reads letters, space and .,!?- ; please remove {bad}.").format(
                bad=bad
            ),
        }
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits, maps = model(tokens[None], need_weights=True)  # (1, T, V), L x (1, H, T, T)
    model.train(was_training)
    maps = torch.stack([w[0] for w in maps])  # (L, H, T, T)
    targets = induction_targets(tokens)  # (T, T)
    prediction = "".join(LM_ALPHABET[int(i)] for i in logits[0].argmax(-1))
    has = int(targets.any(-1).sum())
    return {
        "ok": True,
        "tokens": tokens,
        "labels": char_labels(tokens),
        "maps": maps,
        "targets": targets,
        "mass": target_mass(maps, targets),
        "prediction": prediction,
        "message": _(
            "{has} of {n} positions hold a character seen before (they have an induction target). "
            "Next character predicted after the last one: {next!r}"
        ).format(has=has, n=len(text), next=prediction[-1].replace(" ", "␣")),
    }


def plot_prompt_attention(state: dict, layer: int, head: int, role: str | None = None) -> Figure:
    """One head's map for a :func:`prompt_attention` result, the induction targets outlined.

    The row of each query is labelled with the model's guess for the next character."""
    from ..viz import plot_attention

    if not isinstance(state, dict) or not state.get("ok"):
        raise ValueError("state must be a successful prompt_attention(...) result (its 'ok' is True)")
    maps = state["maps"]
    _check_index("layer", layer, maps.shape[0])
    _check_index("head", head, maps.shape[1])
    T = maps.shape[-1]
    labels = state["labels"]
    guesses = [f"{lab} → {c.replace(' ', '␣')}" for lab, c in zip(labels, state["prediction"], strict=True)]
    fig, ax = plt.subplots(figsize=(2.4 + 0.3 * T, 1.6 + 0.3 * T))
    plot_attention(maps[layer, head], guesses, labels, title="", ax=ax)
    for q, k in state["targets"].nonzero().tolist():
        ax.add_patch(Rectangle((k - 0.5, q - 0.5), 1, 1, fill=False, edgecolor=ORANGE, lw=1.8))
    ax.set_ylabel(_("query (attending) → the model's next-character guess"))
    tag = _(" ({role} head)").format(role=_(role)) if role else ""
    ax.set_title(
        _(
            "layer {layer}, head {head}{tag}: {mass:.0%} of its weight on the induction targets\n"
            "(orange squares: the character after an earlier occurrence of the query's)"
        ).format(layer=layer, head=head, tag=tag, mass=float(state["mass"][layer, head]))
    )
    fig.tight_layout()
    return fig
