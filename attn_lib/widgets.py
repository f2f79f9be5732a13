"""The logic behind every widget of the course, as pure functions.

A notebook cell only wires ipywidgets controls to these functions; each function takes
plain numbers (the control values) and returns numbers or a matplotlib ``Figure``, so it
is tested by pytest without a browser. Sections follow the lessons.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

# ------------------------------------------------ lesson 01 (soft lookup)

# ------------------------------------------------ lesson 02 (scaled dot product)

# ------------------------------------------------ lesson 03 (multi-head)

# ------------------------------------------------ lesson 04 (encoder self-attention)


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

    def _check_index(name: str, value: object, size: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
            raise ValueError(f"{name} must be an int in [0, {size - 1}], got {value!r}")
        return value

    if not maps or any(not isinstance(m, torch.Tensor) or m.dim() != 4 for m in maps):
        raise ValueError("maps must be a non-empty list of (B, H, T, T) tensors, one per layer")
    layer = _check_index("layer", layer, len(maps))
    B, H, T, _ = maps[layer].shape
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
) -> Figure:
    """The encoder self-attention map of one sentence (layer, head) with the chosen query
    row framed, and that row as bars: how much the token takes from every key.

    Args:
        maps: one ``(B, H, T, T)`` weight tensor per layer.
        labels: per sentence, its T token strings (padding included, written ``pad_label``).
        sentence, token, layer, head: as in :func:`encoder_attention_row`.
    """
    from matplotlib.patches import Rectangle

    from .viz import plot_attention

    row = encoder_attention_row(maps, sentence, token, layer, head)  # (T,)
    words = list(labels[sentence])
    T = row.numel()
    if len(words) != T:
        raise ValueError(f"labels[{sentence}] has {len(words)} tokens but the maps have T={T}")
    w = maps[layer][sentence].detach().float()  # (H, T, T)
    full = w.mean(0) if head is None else w[head]  # (T, T)
    head_name = "mean of heads" if head is None else f"head {head}"
    is_pad = [t == pad_label for t in words]

    fig, (ax_map, ax_bar) = plt.subplots(1, 2, figsize=(10, 3.9), gridspec_kw={"width_ratios": [1.15, 1]})
    plot_attention(full, words, words, title=f"layer {layer}, {head_name}", ax=ax_map, vmax=None)
    ax_map.add_patch(Rectangle((-0.5, token - 0.5), T, 1, fill=False, edgecolor="red", linewidth=2.5))

    colours = ["#bbbbbb" if p else "#2a9d8f" for p in is_pad]
    best = int(row.argmax())
    colours[best] = "#e76f51"
    ax_bar.bar(range(T), row.numpy(), color=colours)
    for j in range(T):
        note = "0 (pad)" if is_pad[j] else f"{float(row[j]):.2f}"
        ax_bar.text(j, float(row[j]) + 0.02, note, ha="center", va="bottom", fontsize=8)
    n_real = T - sum(is_pad)
    ax_bar.axhline(1.0 / n_real, color="black", linestyle=":", linewidth=1, label=f"uniform: 1/{n_real}")
    ax_bar.legend(loc="upper left", fontsize=8, frameon=False)
    ax_bar.set_xticks(range(T))
    ax_bar.set_xticklabels(words, rotation=90 if max(map(len, words)) > 2 else 0)
    ax_bar.set_ylim(0, 1.05)
    ax_bar.set_xlabel("key token (attended to)")
    ax_bar.set_ylabel("attention weight")
    ax_bar.set_title(f'row of query "{words[token]}" (position {token})')
    where = " (a padding position: it attends, but its output is never used)" if is_pad[token] else ""
    fig.suptitle(f'"{words[token]}" takes most from "{words[best]}" ({float(row[best]):.2f}){where}')
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 05 (masking, decoder)


def _check_generation_step(model: torch.nn.Module, tgt: torch.Tensor, t: int, layer: int, head: int) -> None:
    if not isinstance(tgt, torch.Tensor) or tgt.dim() != 2 or tgt.shape[0] != 1:
        got = tuple(tgt.shape) if isinstance(tgt, torch.Tensor) else type(tgt).__name__
        raise ValueError(f"tgt must be one decoder input sequence of shape (1, T), got {got}")
    T = tgt.shape[1]
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < T:
        raise ValueError(f"t must be an int in [0, {T - 1}] (a position of tgt), got {t!r}")
    n_layers = len(model.decoder.layers)
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < n_layers:
        raise ValueError(f"layer must be an int in [0, {n_layers - 1}], got {layer!r}")
    H = model.decoder.layers[0].self_attn.num_heads
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < H:
        raise ValueError(f"head must be an int in [0, {H - 1}], got {head!r}")


@torch.no_grad()
def generation_prefix_attention(
    model: torch.nn.Module, src: torch.Tensor, tgt: torch.Tensor, t: int, layer: int = 0, head: int = 0
) -> tuple[torch.Tensor, int]:
    """Decoder self-attention at generation step ``t``, computed from the prefix ``tgt[:, :t+1]`` only.

    Args:
        model: an :class:`attn_lib.Transformer`.
        src: source tokens ``(1, S)``.
        tgt: the decoder input ``(1, T)`` (BOS followed by the generated tokens).
        t: the step: the decoder has seen positions ``0..t`` and predicts token ``t + 1``.
        layer, head: which decoder layer and head to show.

    Returns:
        ``(weights, next_id)``: a ``(T, T)`` map whose rows ``0..t`` are the weights of that
        step (later rows are NaN: those positions do not exist yet) and the id the model
        predicts next (argmax of the logits at position ``t``).
    """
    _check_generation_step(model, tgt, t, layer, head)
    was_training = model.training
    model.eval()
    prefix = tgt[:, : t + 1]  # (1, t+1): all the decoder has at step t
    maps = model.attention_maps(src, prefix).decoder_self[layer]  # (1, H, t+1, t+1)
    logits = model.decode(prefix, model.encode(src), model.src_mask(src))  # (1, t+1, V)
    model.train(was_training)
    T = tgt.shape[1]
    out = torch.full((T, T), float("nan"))
    out[: t + 1, : t + 1] = maps[0, head]
    return out, int(logits[0, -1].argmax())


def generation_step_view(
    model: torch.nn.Module,
    src: torch.Tensor,
    tgt: torch.Tensor,
    t: int,
    vocab: list[str],
    layer: int = 0,
    head: int = 0,
) -> Figure:
    """Step ``t`` of generation: the decoder self-attention map of the rows that exist so far.

    Rows ``0..t`` are coloured by weight; their future cells (j > i) are grey, blocked by
    the causal mask (weight exactly 0); rows after ``t`` are hatched: not generated yet.
    ``vocab[id]`` is the string of token ``id``.
    """
    from matplotlib.patches import Patch, Rectangle

    weights, next_id = generation_prefix_attention(model, src, tgt, t, layer, head)  # (T, T)
    T = tgt.shape[1]
    words = [vocab[int(i)] for i in tgt[0]]
    shown = [w if i <= t else "?" for i, w in enumerate(words)]
    grid = weights.clone()
    grid[torch.ones(T, T, dtype=torch.bool).triu(1)] = float("nan")  # blocked cells: grey

    fig, ax = plt.subplots(figsize=(8, 4.6))
    cmap = plt.get_cmap("viridis").copy()
    cmap.set_bad("#d9d9d9")
    im = ax.imshow(grid.numpy(), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    if t + 1 < T:
        ax.add_patch(
            Rectangle((-0.5, t + 0.5), T, T - t - 1, facecolor="white", edgecolor="#999999", hatch="//")
        )
    ax.add_patch(Rectangle((-0.5, t - 0.5), t + 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    for i in range(t + 1):
        for j in range(i + 1):
            v = float(weights[i, j])
            ax.text(
                j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.5 else "black"
            )
    ax.set_xticks(range(T))
    ax.set_yticks(range(T))
    ax.set_xticklabels(shown, rotation=90 if max(map(len, shown)) > 2 else 0)
    ax.set_yticklabels(shown)
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position (attending)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="weight")
    ax.legend(
        handles=[
            Patch(facecolor="#d9d9d9", label="future key: masked, weight exactly 0"),
            Patch(facecolor="white", edgecolor="#999999", hatch="//", label="not generated yet"),
            Patch(facecolor="none", edgecolor="red", linewidth=2, label=f"step {t}: the newest row"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.25, 1.0),
        fontsize=8,
        frameon=False,
    )
    seen = " ".join(words[: t + 1])
    ax.set_title(
        f"step {t}: decoder input “{seen}” → predicts “{vocab[next_id]}”\n"
        f"decoder self-attention, layer {layer}, head {head}",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 06 (cross-attention)

# ------------------------------------------------ lesson 07 (tiny Transformer)


def run_reversal(
    model: torch.nn.Module,
    text: str,
    max_digits: int = 20,
    trained_lengths: tuple[int, int] | None = (8, 12),
) -> dict:
    """Reverse a typed digit string with a trained reversal model and collect its cross-attention.

    Args:
        model: an :class:`attn_lib.Transformer` trained on :mod:`attn_lib.data`'s reversal task.
        text: what the learner typed, e.g. ``"31415926"`` (spaces are ignored).
        max_digits: longer input is refused with a message (the positional table is finite).
        trained_lengths: ``(min_len, max_len)`` seen in training; outside it the result
            carries a note that the model was never trained on such lengths.

    Returns:
        A dict. ``ok`` False means the text was refused; ``message`` says why, in words.
        With ``ok`` True: ``source``, ``output``, ``expected`` (digit strings), ``correct`` (bool),
        ``src_labels`` (S source digits), ``out_labels`` (the tokens produced, ending in
        ``"<eos>"`` if the model stopped) and ``cross``, the cross-attention weights of every
        decoder layer while producing them, ``(layers, H, T_out, S)``.
    """
    from .data import BOS, EOS, encode, token_labels
    from .model import greedy_decode

    if not isinstance(text, str):
        return {"ok": False, "message": f"Please type digits (got {type(text).__name__})."}
    digits = "".join(text.split())
    if not digits:
        return {"ok": False, "message": "Type a few digits, e.g. 31415926."}
    bad = sorted({c for c in digits if c not in "0123456789"})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return {"ok": False, "message": f"Only the digits 0-9 are in the vocabulary; please remove {shown}."}
    pe = getattr(getattr(model, "pos", None), "pe", None)
    limit = max_digits if pe is None else min(max_digits, pe.shape[0] - 2)
    if len(digits) > limit:
        return {
            "ok": False,
            "message": f"{len(digits)} digits is too long for this demo; type at most {limit}.",
        }
    src = torch.tensor([encode(digits)])  # (1, S)
    ys = greedy_decode(model, src, len(digits) + 2, BOS, EOS)  # (1, 1 + n): BOS + output
    out_tokens = ys[0, 1:]  # (n,)
    if bool((out_tokens == EOS).any()):  # keep everything up to and including the first EOS
        out_tokens = out_tokens[: int((out_tokens == EOS).nonzero()[0, 0]) + 1]
    # One teacher-forced pass over BOS + output (minus its last token) gives, row by row,
    # exactly the attention each generation step used: causality makes later tokens irrelevant.
    was_training = model.training
    model.eval()
    maps = model.attention_maps(src, ys[:, : out_tokens.numel()])  # cross: layers x (1, H, T_out, S)
    model.train(was_training)
    cross = torch.stack([c[0] for c in maps.cross])  # (layers, H, T_out, S)
    output = "".join(t for t in token_labels(out_tokens) if t.isdigit())
    expected = digits[::-1]
    correct = output == expected and int(out_tokens[-1]) == EOS
    message = f"{digits} -> {output}  ({'correct' if correct else 'expected ' + expected})"
    if trained_lengths is not None and not trained_lengths[0] <= len(digits) <= trained_lengths[1]:
        lo, hi = trained_lengths
        message += f"\nNote: the model was trained on {lo}-{hi} digits only; you typed {len(digits)}."
    return {
        "ok": True,
        "message": message,
        "source": digits,
        "output": output,
        "expected": expected,
        "correct": correct,
        "src_labels": list(digits),
        "out_labels": token_labels(out_tokens),
        "cross": cross,
    }


def plot_reversal_attention(result: dict, layer: int = -1, title: str | None = None) -> Figure:
    """Cross-attention of one decoder layer for a :func:`run_reversal` result: one heatmap per
    head and their average, rows = output token being produced, columns = source digit.

    ``title`` replaces the default figure title (layer, input, output and whether it is correct).
    """
    from .viz import plot_attention

    if not isinstance(result, dict) or not result.get("ok"):
        raise ValueError("result must be a successful run_reversal(...) result (its 'ok' is True)")
    cross = result["cross"]  # (layers, H, T_out, S)
    n_layers, H = cross.shape[0], cross.shape[1]
    if isinstance(layer, bool) or not isinstance(layer, int) or not -n_layers <= layer < n_layers:
        raise ValueError(f"layer must be an int in [{-n_layers}, {n_layers - 1}], got {layer!r}")
    shown = layer % n_layers
    maps = [*cross[shown], cross[shown].mean(0)]  # H maps and the head average, each (T_out, S)
    names = [f"head {h}" for h in range(H)] + ["average of heads"]
    S, T = cross.shape[3], cross.shape[2]
    fig, axes = plt.subplots(1, H + 1, figsize=(min(3.2 * (H + 1), 12), 1.4 + 0.28 * max(T, S)))
    for i, (ax, w, name) in enumerate(zip(axes, maps, names, strict=True)):
        plot_attention(w, result["out_labels"], result["src_labels"], title=name, ax=ax, colorbar=i == H)
        ax.set_xlabel("source digit")
        ax.set_ylabel("output being produced" if i == 0 else "")
    verdict = "correct" if result["correct"] else f"wrong, expected {result['expected']}"
    if title is None:
        title = f"decoder layer {shown} cross-attention: {result['source']} -> {result['output']} ({verdict})"
    fig.suptitle(title)
    fig.tight_layout()
    return fig


# ------------------------------------------------ lesson 08 (efficient attention)
