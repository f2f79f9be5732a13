"""Widget logic of lesson 07 (tiny Transformer): pure functions, tested by pytest."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..i18n import _

REVERSAL_MIN_HEIGHT = 3.2  # inches: the figure of a 1-digit input is not squashed


def run_reversal(
    model: torch.nn.Module,
    text: str,
    max_digits: int = 20,
    trained_lengths: tuple[int, int] | None = (8, 12),
    task: str = "reverse",
) -> dict:
    """Reverse (or copy) a typed digit string with a trained model and collect its attention maps.

    Args:
        model: an :class:`attn_lib.Transformer` trained on :mod:`attn_lib.data`'s reversal task.
        text: what the learner typed, e.g. ``"31415926"`` (spaces are ignored).
        max_digits: longer input is refused with a message (the positional table is finite).
        trained_lengths: ``(min_len, max_len)`` seen in training; outside it the result
            carries a note that the model was never trained on such lengths.
        task: ``"reverse"`` (the expected output is the reversed string) or ``"copy"`` (the
            string itself), for a model trained on ``make_copy_batch``.

    Returns:
        A dict. ``ok`` False means the text was refused; ``message`` says why, in words.
        With ``ok`` True: ``source``, ``output``, ``expected`` (digit strings), ``correct`` (bool),
        ``src_labels`` (S source digits), ``out_labels`` (the tokens produced, ending in
        ``"<eos>"`` if the model stopped), ``cross``, the cross-attention weights of every
        decoder layer while producing them, ``(layers, H, T_out, S)``, ``self``, the decoder
        self-attention weights, ``(layers, H, T_out, T_out)``, and ``in_labels``, the decoder's
        input tokens (``"<bos>"`` and the outputs but the last).
    """
    from ..data import BOS, EOS, encode, token_labels
    from ..model import greedy_decode

    if task not in ("reverse", "copy"):
        raise ValueError(f"task must be 'reverse' or 'copy', got {task!r}")
    if not isinstance(text, str):
        return {
            "ok": False,
            "message": _("Please type digits (got {kind}).").format(kind=type(text).__name__),
        }
    digits = "".join(text.split())
    if not digits:
        return {"ok": False, "message": _("Type a few digits, e.g. 31415926.")}
    bad = sorted({c for c in digits if c not in "0123456789"})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        return {
            "ok": False,
            "message": _("Only the digits 0-9 are in the vocabulary; please remove {shown}.").format(
                shown=shown
            ),
        }
    pe = getattr(getattr(model, "pos", None), "pe", None)
    limit = max_digits if pe is None else min(max_digits, pe.shape[0] - 2)
    if len(digits) > limit:
        return {
            "ok": False,
            "message": _("{n} digits is too long for this demo; type at most {limit}.").format(
                n=len(digits), limit=limit
            ),
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
    self_maps = torch.stack([m[0] for m in maps.decoder_self])  # (layers, H, T_out, T_out)
    output = "".join(t for t in token_labels(out_tokens) if t.isdigit())
    expected = digits[::-1] if task == "reverse" else digits
    correct = output == expected and int(out_tokens[-1]) == EOS
    verdict = _("correct") if correct else _("expected {expected}").format(expected=expected)
    message = f"{digits} -> {output}  ({verdict})"
    if trained_lengths is not None and not trained_lengths[0] <= len(digits) <= trained_lengths[1]:
        lo, hi = trained_lengths
        message += _("\nNote: the model was trained on {lo}-{hi} digits only; you typed {digits}.").format(
            lo=lo, hi=hi, digits=len(digits)
        )
    return {
        "ok": True,
        "message": message,
        "source": digits,
        "output": output,
        "expected": expected,
        "correct": correct,
        "src_labels": list(digits),
        "out_labels": token_labels(out_tokens),
        "in_labels": token_labels(ys[0, : out_tokens.numel()]),
        "cross": cross,
        "self": self_maps,
    }


def position_labels(tokens: list[str]) -> list[str]:
    """``["7", "3"]`` -> ``["0: 7", "1: 3"]``: ticks that name the position first, then its token."""
    return [f"{i}: {t}" for i, t in enumerate(tokens)]


def plot_reversal_attention(
    result: dict, layer: int = -1, title: str | None = None, kind: str = "cross"
) -> Figure:
    """One decoder layer's attention for a :func:`run_reversal` result: one heatmap per head and
    their average. Ticks name positions (``"i: token"``), since the claims are about positions.

    ``kind="cross"``: rows = output position i (the token produced), columns = source position j.
    ``kind="self"``: the decoder self-attention, rows = output position i, columns = the decoder
    inputs it may read (``<bos>`` and the outputs before i; causal, so the upper triangle is 0).
    ``title`` replaces the default figure title (layer, input, output and whether it is correct).
    """
    from ..viz import plot_attention

    if not isinstance(result, dict) or not result.get("ok"):
        raise ValueError("result must be a successful run_reversal(...) result (its 'ok' is True)")
    if kind not in ("cross", "self"):
        raise ValueError(f"kind must be 'cross' or 'self', got {kind!r}")
    weights = result[kind]  # (layers, H, T_out, S) or (layers, H, T_out, T_out)
    n_layers, H = weights.shape[0], weights.shape[1]
    if isinstance(layer, bool) or not isinstance(layer, int) or not -n_layers <= layer < n_layers:
        raise ValueError(f"layer must be an int in [{-n_layers}, {n_layers - 1}], got {layer!r}")
    shown = layer % n_layers
    maps = [*weights[shown], weights[shown].mean(0)]  # H maps and the head average, each (T_out, K)
    names = [_("head {h}").format(h=h) for h in range(H)] + [_("average of heads")]
    rows = position_labels(result["out_labels"])
    cols = position_labels(result["src_labels"] if kind == "cross" else result["in_labels"])
    K, T = weights.shape[3], weights.shape[2]
    height = max(REVERSAL_MIN_HEIGHT, 1.6 + 0.3 * max(T, K))  # short inputs: still room for titles
    fig, axes = plt.subplots(1, H + 1, figsize=(min(3.6 * (H + 1), 13), height))
    for i, (ax, w, name) in enumerate(zip(axes, maps, names, strict=True)):
        plot_attention(w, rows, cols, title=_(name), ax=ax, colorbar=i == H)
        ax.set_xticklabels(cols, rotation=90)
        ax.set_xlabel(
            _("source position j: digit") if kind == "cross" else _("decoder input position: token")
        )
        ax.set_ylabel(_("output position i: token produced") if i == 0 else "")
    verdict = (
        _("correct")
        if result["correct"]
        else _("wrong, expected {expected}").format(expected=result["expected"])
    )
    if title is None:
        template = (
            _("decoder layer {layer} cross-attention: {source} -> {output} ({verdict})")
            if kind == "cross"
            else _("decoder layer {layer} self-attention: {source} -> {output} ({verdict})")
        )
        title = template.format(
            layer=shown, source=result["source"], output=result["output"], verdict=verdict
        )
    fig.suptitle(_(title))
    fig.tight_layout()
    return fig


def _check_maps_and_lengths(weights: torch.Tensor, lengths: torch.Tensor) -> None:
    if not isinstance(weights, torch.Tensor) or weights.dim() != 3:
        got = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(f"weights must be one attention map per string, (B, T, S), got {got}")
    if not isinstance(lengths, torch.Tensor) or lengths.shape != (weights.shape[0],):
        got = tuple(lengths.shape) if isinstance(lengths, torch.Tensor) else type(lengths).__name__
        raise ValueError(f"lengths must be (B,) = ({weights.shape[0]},), one length per string, got {got}")


def mirror_positions(lengths: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Where output position i of a reversal should look, and which positions produce a digit.

    Args:
        lengths: ``(B,)`` source lengths L (digits, without padding).
        T: the number of output positions (``tgt_in.shape[1]``).

    Returns ``(mirror, produces_digit)``, each ``(B, T)``: ``mirror[b, i] = L_b - 1 - i`` and
    ``produces_digit[b, i] = i < L_b`` (False at EOS and padding, where mirror is meaningless).
    """
    i = torch.arange(T)  # (T,) output positions
    return lengths[:, None] - 1 - i, i < lengths[:, None]  # (B, T) each


def alignment_stats(weights: torch.Tensor, expected: torch.Tensor, valid: torch.Tensor) -> dict:
    """How well attention maps follow an expected alignment.

    Args:
        weights: ``(B, T, S)`` one attention map per string (a head, or the average of heads).
        expected: ``(B, T)`` the source position each output position should read.
        valid: ``(B, T)`` bool, the output positions to count (e.g. those that produce a digit).

    Returns a dict: ``exact`` (fraction of valid positions whose most-attended source position
    is the expected one), ``near`` (within one position of it), ``weight`` (mean weight on the
    expected position) and ``offsets`` (``{argmax - expected: count}``).
    """
    if weights.dim() != 3 or expected.shape != weights.shape[:2] or valid.shape != weights.shape[:2]:
        raise ValueError(
            f"weights must be (B, T, S) and expected, valid (B, T); got {tuple(weights.shape)}, "
            f"{tuple(expected.shape)}, {tuple(valid.shape)}"
        )
    top = weights.argmax(dim=-1)  # (B, T): the most-attended source position
    column = expected.clamp(0, weights.shape[-1] - 1)[..., None]  # (B, T, 1); invalid rows dropped below
    on_expected = weights.gather(-1, column)[..., 0]  # (B, T, S) -> (B, T)
    offsets = (top - expected)[valid]
    values, counts = offsets.unique(return_counts=True)
    return {
        "exact": (top == expected)[valid].float().mean().item(),
        "near": ((top - expected).abs() <= 1)[valid].float().mean().item(),
        "weight": on_expected[valid].mean().item(),
        "offsets": dict(zip(values.tolist(), counts.tolist(), strict=True)),
    }


def anti_diagonal_hit_rate(weights: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The lesson's statistic: the fraction of digit-producing output positions (i < L) whose
    most-attended source position is L - 1 - i. ``weights`` ``(B, T, S)``, ``lengths`` ``(B,)``;
    returns a float scalar tensor."""
    _check_maps_and_lengths(weights, lengths)
    mirror, produces_digit = mirror_positions(lengths, weights.shape[1])  # (B, T) each
    hits = weights.argmax(dim=-1) == mirror  # (B, T)
    return hits[produces_digit].float().mean()


@torch.no_grad()
def probe_neighbour_digits(
    model: torch.nn.Module,
    train_src: torch.Tensor,
    test_src: torch.Tensor,
    offsets: tuple[int, ...] = (-1, 0, 1),
) -> dict[int, float]:
    """Which source digits can be read off the encoder output at position j? A linear probe.

    For each offset k, a (ridge) least-squares linear map from the encoder output at position j
    ``(D,)`` to the one-hot digit at position j + k is fitted on ``train_src`` and scored on
    ``test_src`` (``(B, S)`` token ids with PAD): the fraction of positions whose predicted
    digit is right (chance: 0.1). k = -1 asks whether position j carries its left neighbour.
    """
    from ..data import PAD

    was_training = model.training
    model.eval()

    def features_and_digits(src: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        memory = model.encode(src)  # (B, S, D)
        j = torch.arange(src.shape[1])  # (S,)
        neighbour = (j + k).clamp(0, src.shape[1] - 1)  # (S,)
        digits = src[:, neighbour]  # (B, S): the token at j + k
        ok = (src != PAD) & (digits != PAD) & (j + k >= 0) & (j + k < src.shape[1])  # (B, S)
        x = torch.cat([memory[ok], torch.ones(int(ok.sum()), 1)], dim=1)  # (N, D + 1) with a bias
        return x.double(), digits[ok] - 3  # digit ids 3..12 -> 0..9

    accuracy = {}
    for k in offsets:
        x, y = features_and_digits(train_src, k)
        # least squares with a small ridge, so that unused (all-zero) features do no harm
        gram = x.T @ x + 1e-3 * torch.eye(x.shape[1], dtype=x.dtype)  # (D + 1, D + 1)
        w = torch.linalg.solve(gram, x.T @ torch.nn.functional.one_hot(y, 10).double())  # (D + 1, 10)
        x_test, y_test = features_and_digits(test_src, k)
        accuracy[k] = ((x_test @ w).argmax(-1) == y_test).double().mean().item()
    model.train(was_training)
    return accuracy
