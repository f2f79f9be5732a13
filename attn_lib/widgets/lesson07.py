"""Widget logic of lesson 07 (tiny Transformer): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

REVERSAL_MIN_HEIGHT = 3.2  # inches: the figure of a 1-digit input is not squashed


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
    from ..data import BOS, EOS, encode, token_labels
    from ..model import greedy_decode

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
    from ..viz import plot_attention

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
    height = max(REVERSAL_MIN_HEIGHT, 1.4 + 0.28 * max(T, S))  # short inputs: still room for titles
    fig, axes = plt.subplots(1, H + 1, figsize=(min(3.2 * (H + 1), 12), height))
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
