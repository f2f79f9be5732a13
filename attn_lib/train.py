"""Training a sequence-to-sequence model with teacher forcing, and measuring exact-match accuracy.

Letters: ``B`` batch, ``S`` source length, ``T`` target length, ``V`` vocabulary size.

The loss is the cross-entropy of the next token at every target position, averaged over the
real (non-PAD) positions: ``logits = model(src, tgt_in)`` ``(B, T, V)`` is compared with
``tgt_out`` ``(B, T)``. Nothing here needs a notebook; :class:`ProgressBar` shows an
ipywidgets bar only when it runs inside a Jupyter kernel.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .attention import check_number
from .model import Transformer, greedy_decode

__all__ = [
    "ProgressBar",
    "exact_match",
    "exact_match_accuracy",
    "sequence_loss",
    "train",
    "warmup_cosine_schedule",
]

BatchFn = Callable[[int], Sequence[torch.Tensor]]
ProgressFn = Callable[[int, float], None]


def sequence_loss(logits: torch.Tensor, tgt_out: torch.Tensor, pad_id: int | None) -> torch.Tensor:
    """Mean cross-entropy over the target positions that are not ``pad_id``.

    Args:
        logits: ``(B, T, V)`` scores for the next token.
        tgt_out: ``(B, T)`` the tokens to predict.
        pad_id: positions holding it are ignored (None: every position counts).
    """
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        got = logits.dtype if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise TypeError(f"logits must be a float tensor (B, T, V), got {got}")
    if not isinstance(tgt_out, torch.Tensor) or tgt_out.is_floating_point() or tgt_out.dtype == torch.bool:
        got = tgt_out.dtype if isinstance(tgt_out, torch.Tensor) else type(tgt_out).__name__
        raise TypeError(f"tgt_out must be an integer tensor of token ids (B, T), got {got}")
    if pad_id is not None and (isinstance(pad_id, bool) or not isinstance(pad_id, int)):
        raise TypeError(f"pad_id must be an int or None, got {type(pad_id).__name__} {pad_id!r}")
    if logits.dim() != 3 or logits.shape[:2] != tgt_out.shape:
        raise ValueError(
            f"logits must be (B, T, V) matching tgt_out (B, T); got {tuple(logits.shape)} "
            f"and {tuple(tgt_out.shape)}"
        )
    if logits.device != tgt_out.device:
        raise ValueError(f"logits are on {logits.device} but tgt_out is on {tgt_out.device}")
    if logits.shape[-1] == 0:
        raise ValueError("logits have a vocabulary of size 0 (V = 0)")
    counted = tgt_out if pad_id is None else tgt_out[tgt_out != pad_id]
    if counted.numel() == 0:
        raise ValueError("tgt_out has no position to predict: every position is pad_id")
    lo, hi = int(counted.min()), int(counted.max())
    if lo < 0 or hi >= logits.shape[-1]:
        bad = lo if lo < 0 else hi
        raise ValueError(f"tgt_out holds token id {bad}, outside the vocabulary 0..{logits.shape[-1] - 1}")
    ignore = -100 if pad_id is None else pad_id
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=ignore)


def warmup_cosine_schedule(step: int, steps: int, warmup: int, min_factor: float = 0.1) -> float:
    """Learning-rate factor: linear warm-up from ~0 to 1 over ``warmup`` steps, then a cosine decay
    to ``min_factor`` at the last step."""
    for name, v, smallest in (("step", step, 0), ("steps", steps, 1), ("warmup", warmup, 0)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int, got {type(v).__name__} {v!r}")
        if v < smallest:
            raise ValueError(f"{name} must be >= {smallest}, got {v}")
    min_factor = check_number("min_factor", min_factor, 0.0, 1.0)
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))


class ProgressBar:
    """A progress callback for :func:`train`: an ipywidgets bar in Jupyter, silent elsewhere.

    ``ProgressBar(steps)`` is called as ``bar(step, loss)``. Outside a Jupyter kernel (tests,
    scripts) or without ipywidgets it does nothing, so the library never needs a notebook.
    The bar is redrawn every ``every`` steps to keep the overhead small.
    """

    def __init__(self, total: int, description: str = "training", every: int = 10):
        _check_positive_int("total", total)
        _check_positive_int("every", every)
        if not isinstance(description, str):
            raise TypeError(f"description must be a str, got {type(description).__name__}")
        self.total = total
        self.every = max(1, every)
        self.description = description
        self.bar = None
        self.label = None
        if _in_jupyter_kernel():
            try:
                import ipywidgets as widgets
                from IPython.display import display
            except ImportError:  # pragma: no cover - ipywidgets is a dependency
                return
            self.bar = widgets.IntProgress(value=0, min=0, max=total, description=description)
            self.label = widgets.Label(value="")
            display(widgets.HBox([self.bar, self.label]))

    def __call__(self, step: int, loss: float) -> None:
        if self.bar is None:
            return
        done = step + 1
        if done % self.every == 0 or done == self.total:
            self.bar.value = done
            self.label.value = f"step {done}/{self.total}  loss {loss:.4f}"


def _in_jupyter_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _check_positive_int(name: str, value: object, allow_zero: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else 'positive'}, got {value}")


def fit(
    model: nn.Module,
    loss_fn: Callable[[int], torch.Tensor],
    steps: int,
    lr: float = 1e-3,
    warmup: int = 0,
    min_lr_factor: float = 1.0,
    clip_grad_norm: float | None = 1.0,
    weight_decay: float = 0.0,
    progress: ProgressFn | None = None,
) -> list[float]:
    """The optimisation loop shared by :func:`train` and :func:`attn_lib.lm.train_lm`.

    ``loss_fn(step)`` runs the model on batch ``step`` and returns the scalar loss; each step then
    zeroes the gradients, back-propagates, clips the global gradient norm (unless None), takes an
    Adam step (AdamW when ``weight_decay > 0``, betas 0.9 and 0.98) and advances the schedule
    (linear warm-up to ``lr``, cosine decay to ``lr * min_lr_factor``). The model is in training
    mode during the loop and left as it was found. Returns the loss of every step.
    """
    _check_positive_int("steps", steps)
    _check_positive_int("warmup", warmup, allow_zero=True)
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if check_number("lr", lr) <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    check_number("min_lr_factor", min_lr_factor, 0.0, 1.0)
    if clip_grad_norm is not None and check_number("clip_grad_norm", clip_grad_norm) <= 0:
        raise ValueError(f"clip_grad_norm must be positive or None, got {clip_grad_norm}")
    check_number("weight_decay", weight_decay, 0.0)
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be callable as progress(step, loss) or None, got {type(progress).__name__}"
        )
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: warmup_cosine_schedule(s, steps, warmup, min_lr_factor)
    )
    was_training = model.training
    model.train()
    history: list[float] = []
    try:
        with torch.enable_grad():  # also when called under torch.no_grad()
            for step in range(steps):
                loss = loss_fn(step)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
                optimizer.step()
                scheduler.step()
                history.append(loss.item())
                if progress is not None:
                    progress(step, history[-1])
    finally:
        model.train(was_training)
    return history


def train(
    model: nn.Module,
    batch_fn: BatchFn,
    steps: int,
    lr: float = 1e-3,
    warmup: int = 0,
    min_lr_factor: float = 1.0,
    clip_grad_norm: float | None = 1.0,
    weight_decay: float = 0.0,
    pad_id: int | None = None,
    progress: ProgressFn | None = None,
) -> list[float]:
    """Train ``model`` with Adam on ``steps`` batches; return the loss of every step.

    Args:
        model: maps ``(src (B, S), tgt_in (B, T))`` to logits ``(B, T, V)``, e.g. a
            :class:`~attn_lib.model.Transformer`.
        batch_fn: ``batch_fn(step) -> (src, tgt_in, tgt_out)`` (a :class:`~attn_lib.data.Batch`
            unpacks like that). Give it a seeded ``torch.Generator`` for reproducible runs.
        steps: number of optimisation steps.
        lr: peak learning rate of Adam (AdamW when ``weight_decay > 0``).
        warmup: steps of linear warm-up from ~0 to ``lr``.
        min_lr_factor: after warm-up the rate decays along a cosine to ``lr * min_lr_factor``
            (1.0 = constant).
        clip_grad_norm: clip the global gradient norm to this value (None = no clipping).
        pad_id: target positions to ignore in the loss; defaults to ``model.pad_id``.
        progress: called as ``progress(step, loss)`` after every step (e.g. a :class:`ProgressBar`).

    Returns:
        ``steps`` floats, the training loss before each update.

    The run is deterministic given the model's initial weights, the batches and the number of
    threads (``torch.set_num_threads``): nothing here draws random numbers except dropout.
    """
    if not callable(batch_fn):
        raise TypeError(f"batch_fn must be callable as batch_fn(step), got {type(batch_fn).__name__}")
    if pad_id is not None and (isinstance(pad_id, bool) or not isinstance(pad_id, int)):
        raise TypeError(f"pad_id must be an int or None, got {type(pad_id).__name__} {pad_id!r}")
    if pad_id is None:
        pad_id = getattr(model, "pad_id", None)

    def loss_fn(step: int) -> torch.Tensor:
        src, tgt_in, tgt_out = batch_fn(step)
        return sequence_loss(model(src, tgt_in), tgt_out, pad_id)  # (B, T, V) vs (B, T)

    return fit(model, loss_fn, steps, lr, warmup, min_lr_factor, clip_grad_norm, weight_decay, progress)


def exact_match(pred: torch.Tensor, tgt: torch.Tensor, eos_id: int, pad_id: int = 0) -> torch.Tensor:
    """Per-row bool: does ``pred`` equal ``tgt`` up to and including the first EOS?

    Args:
        pred: ``(B, T_p)`` generated tokens *without* BOS (e.g. ``greedy_decode(...)[:, 1:]``).
        tgt: ``(B, T)`` expected tokens, each row containing ``eos_id`` (e.g. ``tgt_out``).
        eos_id, pad_id: what ends a sequence and what fills it afterwards.

    Everything after the first EOS is ignored on both sides; a prediction without an EOS at the
    right place (too short, too long, never stopping) does not match.
    """
    for name, v in (("eos_id", eos_id), ("pad_id", pad_id)):
        if isinstance(v, bool) or not isinstance(v, int):
            raise TypeError(f"{name} must be an int token id, got {type(v).__name__} {v!r}")
    for name, t in (("pred", pred), ("tgt", tgt)):
        if not isinstance(t, torch.Tensor) or t.dim() != 2 or t.is_floating_point() or t.dtype == torch.bool:
            got = (t.dtype, tuple(t.shape)) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a (B, T) tensor of token ids, got {got}")
    if pred.shape[0] != tgt.shape[0]:
        raise ValueError(f"pred has {pred.shape[0]} rows but tgt has {tgt.shape[0]}")
    if not bool((tgt == eos_id).any(dim=1).all()):
        raise ValueError(f"every row of tgt must contain eos_id={eos_id} (tgt is answer + EOS, e.g. tgt_out)")
    T = max(pred.shape[1], tgt.shape[1])
    pred = F.pad(pred, (0, T - pred.shape[1]), value=pad_id)  # (B, T)
    tgt = F.pad(tgt, (0, T - tgt.shape[1]), value=pad_id)  # (B, T)

    def cut(x: torch.Tensor) -> torch.Tensor:  # fill everything after the first EOS with pad_id
        after = (x == eos_id).long().cumsum(dim=1) - (x == eos_id).long() > 0  # (B, T)
        return x.masked_fill(after, pad_id)

    return (cut(pred) == cut(tgt)).all(dim=1)  # (B,)


@torch.no_grad()
def exact_match_accuracy(
    model: Transformer,
    src: torch.Tensor,
    tgt: torch.Tensor,
    bos_id: int,
    eos_id: int,
    max_len: int | None = None,
    batch_size: int = 500,
    use_cache: bool = True,
) -> float:
    """Fraction of rows that greedy decoding gets exactly right (every token and the EOS).

    Args:
        model: a :class:`~attn_lib.model.Transformer`.
        src: ``(B, S)`` source tokens.
        tgt: ``(B, T)`` expected output, answer + EOS (``tgt_out``), padded.
        max_len: most tokens to generate; defaults to ``T`` (one more could never match).
        batch_size: rows decoded at once.
    """
    if not isinstance(model, Transformer):
        raise TypeError(f"model must be an attn_lib Transformer, got {type(model).__name__}")
    if not isinstance(src, torch.Tensor) or not isinstance(tgt, torch.Tensor):
        raise TypeError("src and tgt must be torch.Tensor of token ids")
    if src.dim() != 2 or tgt.dim() != 2:
        raise ValueError(
            f"src and tgt must be (B, S) and (B, T), got {tuple(src.shape)} and {tuple(tgt.shape)}"
        )
    if src.shape[0] != tgt.shape[0]:
        raise ValueError(f"src has {src.shape[0]} rows but tgt has {tgt.shape[0]}")
    _check_positive_int("batch_size", batch_size)
    if src.shape[0] == 0:
        raise ValueError("src has no rows: the accuracy of zero examples is undefined")
    max_len = tgt.shape[1] if max_len is None else max_len
    pad_id = eos_id if model.pad_id is None else model.pad_id
    correct = 0
    for i in range(0, src.shape[0], batch_size):
        ys = greedy_decode(model, src[i : i + batch_size], max_len, bos_id, eos_id, use_cache=use_cache)
        correct += int(exact_match(ys[:, 1:], tgt[i : i + batch_size], eos_id, pad_id).sum())
    return correct / src.shape[0]
