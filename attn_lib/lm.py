"""A decoder-only language model (GPT-style), the repeated-segment task, and induction-head scores.

Letters: ``B`` batch, ``T`` sequence length, ``D`` d_model, ``H`` heads, ``Dh`` head_dim,
``V`` vocabulary size, ``L`` number of layers.

A decoder-only model has no encoder and no cross-attention: every block is causal
self-attention (and, unless ``d_ff=0``, a feed-forward network), each pre-norm with a residual
connection: ``x = x + Attn(LayerNorm(x))``, ``x = x + FF(LayerNorm(x))``. It is trained to
predict token ``t + 1`` from tokens ``0..t``, the causal mask keeping the future out.

Induction heads (Olsson et al., 2022): on a sequence in which a segment repeats, a
*previous-token head* (layer 0) copies each token's predecessor into its position; an
*induction head* (layer 1) then finds, for the current token ``A``, the earlier position whose
predecessor was ``A`` (the token after the earlier ``A``) and copies what stands there. Its
attention sits on the diagonal ``key = query - P + 1`` when the segment repeats with period
``P``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ._limits import check_tensor_size
from .attention import check_bool, check_number
from .data import _check_ids
from .layers import FeedForward, check_size
from .masks import causal_mask
from .multihead import MultiHeadAttention
from .positional import sinusoidal_positional_encoding

__all__ = [
    "LM_ALPHABET",
    "POSITIONAL_CHOICES",
    "DecoderBlock",
    "DecoderOnlyLM",
    "ablation_mask",
    "decode_text",
    "encode_text",
    "half_losses",
    "induction_score",
    "induction_targets",
    "make_repeated_segments",
    "previous_token_score",
    "token_losses",
    "train_induction_model",
    "train_lm",
]

POSITIONAL_CHOICES = ("learned", "sinusoidal", "none")


class DecoderBlock(nn.Module):
    """Pre-norm causal self-attention, then (if ``d_ff > 0``) a pre-norm feed-forward network.

    ``x = x + Attn(LN(x), mask)``; ``x = x + FF(LN(x))``. ``d_ff=0`` makes the block
    attention-only (no ``ff``, no second LayerNorm).
    ``attention_options`` are passed to :class:`~attn_lib.multihead.MultiHeadAttention`.

    ``head_scale`` (``(H,)`` float, None = all 1) multiplies each head's output before W^O;
    0 switches a head off (ablation). Its attention weights are still computed and returned.
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        d_ff: int = 0,
        dropout: float = 0.0,
        attention_options: dict | None = None,
    ):
        super().__init__()
        self.d_model = check_size("d_model", d_model)
        if isinstance(d_ff, bool) or not isinstance(d_ff, int) or d_ff < 0:
            raise ValueError(f"d_ff must be an int >= 0 (0 = attention-only block), got {d_ff!r}")
        options = _check_attention_options(attention_options)
        self.norm1 = nn.LayerNorm(d_model)
        self.self_attn = MultiHeadAttention(d_model, num_heads, dropout=dropout, **options)
        self.ff = FeedForward(d_model, d_ff, dropout) if d_ff > 0 else None
        self.norm2 = nn.LayerNorm(d_model) if d_ff > 0 else None
        self.dropout = nn.Dropout(dropout)
        self.head_scale: torch.Tensor | None = None
        self.self_attn.out_proj.register_forward_pre_hook(self._scale_heads)

    def _scale_heads(self, module: nn.Module, args: tuple[torch.Tensor]) -> tuple[torch.Tensor] | None:
        """Forward pre-hook on W^O: multiply head ``i``'s slice ``i*Dh:(i+1)*Dh`` by ``head_scale[i]``."""
        if self.head_scale is None:
            return None
        (x,) = args  # (B, T, H*Dh), the heads side by side
        H = self.head_scale.shape[0]
        B, T, HD = x.shape
        scale = self.head_scale.to(dtype=x.dtype, device=x.device)
        x = (x.reshape(B, T, H, HD // H) * scale[:, None]).reshape(B, T, HD)  # (B, T, H, Dh) -> (B, T, D)
        return (x,)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None, need_weights: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``x`` ``(B, T, D)``, ``mask`` bool True = may attend, broadcastable to ``(B, H, T, T)``.

        Returns ``(x (B, T, D), weights (B, H, T, T) | None)``.
        """
        h = self.norm1(x)
        a, w = self.self_attn(h, h, h, mask=mask, need_weights=need_weights)
        x = x + self.dropout(a)
        if self.ff is not None:
            x = x + self.dropout(self.ff(self.norm2(x)))
        return x, w


def _check_attention_options(options: object) -> dict:
    if options is None:
        return {}
    if not isinstance(options, dict):
        raise TypeError(
            f"attention_options must be a dict of MultiHeadAttention arguments or None, got "
            f"{type(options).__name__}"
        )
    known = set(inspect.signature(MultiHeadAttention.__init__).parameters) - {"self"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"attention_options has {unknown}, which MultiHeadAttention does not take; it takes "
            f"{sorted(known - {'d_model', 'num_heads', 'dropout'})}"
        )
    for reserved in ("d_model", "num_heads", "dropout"):
        if reserved in options:
            raise ValueError(
                f"attention_options must not set {reserved!r}: it is an argument of the model itself"
            )
    return dict(options)


class DecoderOnlyLM(nn.Module):
    """A decoder-only (GPT-style) language model: embed, add positions, L causal blocks, LayerNorm, unembed.

    Args:
        vocab_size: number of token ids V.
        d_model, num_heads, num_layers: sizes (``num_layers`` >= 1).
        d_ff: width of each block's feed-forward network; 0 = attention-only blocks.
        max_len: longest sequence (learned and sinusoidal positions are tabulated up to it).
        positional: ``"learned"`` (a trained ``(max_len, D)`` table), ``"sinusoidal"`` (the fixed
            table of lesson 04) or ``"none"`` (no positional information; the causal mask alone).
        dropout: dropout on sub-layer outputs and attention weights (0 for the toy tasks).
        attention_options: extra keyword arguments for every
            :class:`~attn_lib.multihead.MultiHeadAttention` the model builds, or None.

    ``model(tokens)`` with ``tokens`` ``(B, T)`` int64 returns logits ``(B, T, V)``: row ``t``
    scores the token at ``t + 1``. ``need_weights=True`` also returns one ``(B, H, T, T)``
    attention map per layer. ``head_mask`` ``(num_layers, num_heads)`` (bool or float, 1 = keep,
    0 = switch off) multiplies each head's output before W^O for this call.
    """

    def __init__(
        self,
        vocab_size: int,
        d_model: int = 64,
        num_heads: int = 4,
        num_layers: int = 2,
        d_ff: int = 0,
        max_len: int = 256,
        positional: str = "learned",
        dropout: float = 0.0,
        attention_options: dict | None = None,
    ):
        super().__init__()
        check_size("vocab_size", vocab_size)
        check_size("d_model", d_model)
        check_size("num_heads", num_heads)
        check_size("num_layers", num_layers)
        check_size("max_len", max_len)
        check_number("dropout", dropout, 0.0, 1.0, high_open=True)
        if d_model % num_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        if positional not in POSITIONAL_CHOICES:
            raise ValueError(f"positional must be one of {POSITIONAL_CHOICES}, got {positional!r}")
        if positional == "sinusoidal" and d_model % 2 != 0:
            raise ValueError(f"positional='sinusoidal' needs an even d_model, got {d_model}")
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.num_heads = num_heads
        self.max_len = max_len
        self.positional = positional
        check_tensor_size(f"DecoderOnlyLM(vocab_size={vocab_size}, d_model={d_model})", (vocab_size, d_model))
        check_tensor_size(f"DecoderOnlyLM(max_len={max_len}, d_model={d_model})", (max_len, d_model))
        self.embed = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embed.weight, std=1.0 / math.sqrt(d_model))
        self.pos_embed: nn.Embedding | None = None
        if positional == "learned":
            self.pos_embed = nn.Embedding(max_len, d_model)
            nn.init.normal_(self.pos_embed.weight, std=1.0 / math.sqrt(d_model))
        pe = sinusoidal_positional_encoding(max_len, d_model) if positional == "sinusoidal" else None
        self.register_buffer("pe", pe, persistent=False)
        self.layers = nn.ModuleList(
            DecoderBlock(d_model, num_heads, d_ff, dropout, attention_options) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.unembed = nn.Linear(d_model, vocab_size)
        self.drop = nn.Dropout(dropout)

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def _check_tokens(self, tokens: object) -> torch.Tensor:
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"tokens must be a torch.Tensor of token ids (B, T), got {type(tokens).__name__}")
        if tokens.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            raise TypeError(f"tokens must hold integer token ids (B, T), got dtype {tokens.dtype}")
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (B, T), got {tuple(tokens.shape)}")
        B, T = tokens.shape
        if B == 0 or T == 0:
            raise ValueError(f"tokens must hold at least one sequence of at least one token, got {(B, T)}")
        if T > self.max_len:
            raise ValueError(f"tokens has length T={T} but the model was built with max_len={self.max_len}")
        lo, hi = int(tokens.min()), int(tokens.max())
        if lo < 0 or hi >= self.vocab_size:
            bad = lo if lo < 0 else hi
            raise ValueError(f"tokens holds id {bad}, outside the vocabulary 0..{self.vocab_size - 1}")
        if tokens.device != self.embed.weight.device:
            raise ValueError(f"tokens are on {tokens.device} but the model is on {self.embed.weight.device}")
        return tokens.long()

    def _check_head_mask(self, head_mask: object) -> torch.Tensor | None:
        if head_mask is None:
            return None
        if not isinstance(head_mask, torch.Tensor):
            raise TypeError(
                f"head_mask must be a tensor (num_layers, num_heads) or None, got {type(head_mask).__name__}"
            )
        expected = (self.num_layers, self.num_heads)
        if tuple(head_mask.shape) != expected:
            raise ValueError(
                f"head_mask must have shape (num_layers, num_heads) = {expected}, got "
                f"{tuple(head_mask.shape)}"
            )
        if not (head_mask.dtype == torch.bool or head_mask.is_floating_point()):
            raise TypeError(f"head_mask must be bool or float (1 = keep, 0 = off), got {head_mask.dtype}")
        if head_mask.is_floating_point() and not bool(torch.isfinite(head_mask).all()):
            raise ValueError("head_mask holds NaN or infinity; use 1 to keep a head and 0 to switch it off")
        return head_mask.float()

    def embed_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``(B, T)`` ids -> ``(B, T, D)``: token embedding plus the positional one (if any)."""
        x = self.embed(tokens)  # (B, T, D)
        T = tokens.shape[1]
        if self.pos_embed is not None:
            x = x + self.pos_embed.weight[:T]  # (T, D) broadcast over B
        elif self.pe is not None:
            x = x + self.pe[:T].to(x.dtype)
        return self.drop(x)

    def forward(
        self, tokens: torch.Tensor, need_weights: bool = False, head_mask: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """``tokens`` ``(B, T)`` -> logits ``(B, T, V)`` (and, if ``need_weights``, a list of
        ``num_layers`` maps ``(B, H, T, T)``)."""
        tokens = self._check_tokens(tokens)
        check_bool("need_weights", need_weights)
        scales = self._check_head_mask(head_mask)
        T = tokens.shape[1]
        mask = causal_mask(T, device=tokens.device)  # (T, T), True = may attend
        x = self.embed_tokens(tokens)  # (B, T, D)
        maps = []
        try:
            for i, layer in enumerate(self.layers):
                layer.head_scale = None if scales is None else scales[i]
                x, w = layer(x, mask, need_weights=need_weights)
                if w is not None:
                    maps.append(w)
        finally:
            for layer in self.layers:
                layer.head_scale = None
        logits = self.unembed(self.norm(x))  # (B, T, V)
        return (logits, maps) if need_weights else logits


def ablation_mask(model: DecoderOnlyLM, heads: list[tuple[int, int]]) -> torch.Tensor:
    """A ``head_mask`` ``(num_layers, num_heads)`` of ones with 0 at each listed ``(layer, head)``.

    ``model(tokens, head_mask=ablation_mask(model, [(1, 2)]))`` runs the model with head 2 of
    layer 1 switched off (its output before W^O set to 0); the weights are not changed.
    """
    if not isinstance(model, DecoderOnlyLM):
        raise TypeError(f"model must be a DecoderOnlyLM, got {type(model).__name__}")
    scales = torch.ones(model.num_layers, model.num_heads)
    for pair in heads:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"heads must be (layer, head) pairs, got {pair!r}")
        layer, head = pair
        for name, v, n in (("layer", layer, model.num_layers), ("head", head, model.num_heads)):
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n:
                raise ValueError(f"{name} must be an int in [0, {n - 1}], got {v!r}")
        scales[layer, head] = 0.0
    return scales


# ----------------------------------------------------------------------------- the task


def make_repeated_segments(
    batch_size: int,
    vocab_size: int,
    seq_len: int,
    min_period: int = 4,
    max_period: int | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences made of one random segment repeated: ``s s s ...`` cut to ``seq_len`` tokens.

    Each row draws a period ``P`` uniformly from ``[min_period, max_period]`` (default
    ``max_period = seq_len // 2``, so the segment occurs at least twice) and a segment ``s`` of
    ``P`` uniform tokens; ``tokens[:, t] = s[t % P]``. Since ``P`` varies from row to row, no
    fixed position offset predicts the repeat: only the content does (an induction head).
    ``min_period = max_period = seq_len // 2`` with an even ``seq_len`` gives ``[s s]``: a
    first half and its repeat.

    Returns ``(tokens (B, T) int64, periods (B,) int64)``.
    """
    check_size("batch_size", batch_size)
    check_size("vocab_size", vocab_size)
    check_size("seq_len", seq_len)
    lo = check_size("min_period", min_period)
    hi = seq_len // 2 if max_period is None else check_size("max_period", max_period)
    if not lo <= hi or 2 * hi > seq_len:
        raise ValueError(
            f"need 1 <= min_period <= max_period <= seq_len // 2 (the segment must occur twice), got "
            f"min_period={lo}, max_period={hi}, seq_len={seq_len}"
        )
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    segments = torch.randint(vocab_size, (batch_size, hi), generator=generator)  # (B, P_max)
    periods = torch.randint(lo, hi + 1, (batch_size,), generator=generator)  # (B,)
    source = torch.arange(seq_len) % periods[:, None]  # (B, T): t % P, the segment index
    return torch.gather(segments, 1, source), periods


def token_losses(
    model: nn.Module, tokens: torch.Tensor, head_mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy of predicting ``tokens[:, t + 1]`` from ``tokens[:, :t + 1]``: ``(B, T - 1)``."""
    with torch.no_grad():
        logits = model(tokens, head_mask=head_mask) if head_mask is not None else model(tokens)
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1), reduction="none").view(
        tokens.shape[0], -1
    )  # (B, T - 1)


def half_losses(losses: torch.Tensor, period: int) -> tuple[float, float]:
    """Mean loss on the first occurrence and on the repeat of a ``[s s]`` sequence (``|s| = period``).

    ``losses`` ``(B, T - 1)`` from :func:`token_losses`; entry ``t`` predicts token ``t + 1``.
    First half: predicting tokens ``1 .. P - 1`` (entries ``0 .. P - 2``). Repeat: predicting
    tokens ``P + 1 .. 2P - 1`` (entries ``P .. 2P - 2``); token ``P`` (the first of the repeat)
    is left out of both: nothing announces it.
    """
    P = check_size("period", period)
    if losses.dim() != 2 or losses.shape[1] < 2 * P - 1:
        raise ValueError(
            f"losses must be (B, T - 1) with T >= 2 * period = {2 * P}, got {tuple(losses.shape)}"
        )
    return float(losses[:, : P - 1].mean()), float(losses[:, P : 2 * P - 1].mean())


def _check_map(weights: object) -> torch.Tensor:
    if not isinstance(weights, torch.Tensor) or not weights.is_floating_point():
        raise TypeError("weights must be a float tensor of attention weights (..., T, T)")
    if weights.dim() < 2 or weights.shape[-1] != weights.shape[-2]:
        raise ValueError(f"weights must be self-attention maps (..., T, T), got {tuple(weights.shape)}")
    return weights


def previous_token_score(weights: torch.Tensor) -> torch.Tensor:
    """Mean attention on the key just before the query (the sub-diagonal ``k = q - 1``).

    ``weights`` ``(..., T, T)`` -> ``(...)``: the mean over queries ``1 .. T - 1`` of
    ``weights[..., q, q - 1]`` (query 0 has no predecessor). 1 = a perfect previous-token head.
    """
    w = _check_map(weights)
    if w.shape[-1] < 2:
        raise ValueError("a previous-token score needs T >= 2")
    return torch.diagonal(w, offset=-1, dim1=-2, dim2=-1).mean(-1)


def induction_score(weights: torch.Tensor, period: int) -> torch.Tensor:
    """Mean attention on the token after the earlier occurrence: ``k = q - period + 1``.

    For a ``[s s]`` sequence with ``|s| = period``, the query at ``q`` in the repeat (``q >= period``)
    holds the same token as ``q - period``; an induction head attends to the token that followed
    it, at ``q - period + 1``. ``weights`` ``(..., T, T)`` -> ``(...)``: the mean over the repeated
    queries ``q = period .. T - 1`` of ``weights[..., q, q - period + 1]``.
    """
    w = _check_map(weights)
    T = w.shape[-1]
    P = check_size("period", period)
    if not 2 <= P <= T - 1:
        raise ValueError(f"period must be in [2, T - 1] = [2, {T - 1}], got {P}")
    return torch.diagonal(w, offset=-(P - 1), dim1=-2, dim2=-1)[..., 1:].mean(-1)


def induction_targets(tokens: torch.Tensor) -> torch.Tensor:
    """Where an induction head would look: ``(T,)`` ids -> bool ``(T, T)``.

    ``targets[q, k]`` is True when ``1 <= k <= q`` and ``tokens[k - 1] == tokens[q]``: key ``k``
    holds the token that followed an earlier occurrence of the query's token. For ``[s s]`` with
    ``|s| = P`` and no token twice in ``s``, the True entries of the repeat are ``k = q - P + 1``.
    """
    if not isinstance(tokens, torch.Tensor) or tokens.dim() != 1 or tokens.is_floating_point():
        raise TypeError("tokens must be a 1-D integer tensor of token ids (T,)")
    T = tokens.shape[0]
    same = tokens[:, None] == tokens[None, :]  # (T, T): same[q, j] = tokens[q] == tokens[j]
    targets = torch.zeros(T, T, dtype=torch.bool)
    targets[:, 1:] = same[:, :-1]  # key k = j + 1 follows the earlier occurrence j
    return targets & causal_mask(T)  # 1 <= k <= q: the earlier occurrence j = k - 1 < q


# ----------------------------------------------------------------------------- text and training

#: The 32 characters the lesson's model reads: a token id is a character's index here.
LM_ALPHABET = "abcdefghijklmnopqrstuvwxyz .,!?-"


def encode_text(text: str) -> torch.Tensor:
    """``"abc"`` -> ``tensor([0, 1, 2])``: each character's index in :data:`LM_ALPHABET`."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    bad = sorted({c for c in text.lower() if c not in LM_ALPHABET})
    if bad:
        raise ValueError(f"text holds {bad}, not in the alphabet {LM_ALPHABET!r} (letters, space and .,!?-)")
    if not text:
        raise ValueError("text is empty; type at least one character")
    return torch.tensor([LM_ALPHABET.index(c) for c in text.lower()])


def decode_text(ids: torch.Tensor) -> str:
    """The inverse of :func:`encode_text`: token ids ``(T,)`` (a tensor or a list of ints) -> text."""
    values = _check_ids("ids", ids)
    bad = sorted({i for i in values if not 0 <= i < len(LM_ALPHABET)})
    if bad:
        raise ValueError(f"ids holds {bad}, outside the alphabet's ids 0..{len(LM_ALPHABET) - 1}")
    return "".join(LM_ALPHABET[i] for i in values)


def train_lm(
    model: nn.Module,
    batch_fn: Callable[[int], torch.Tensor],
    steps: int,
    lr: float = 3e-3,
    warmup: int = 50,
    min_lr_factor: float = 0.1,
    clip_grad_norm: float = 1.0,
    progress: Callable[[int, float], None] | None = None,
) -> list[float]:
    """Next-token training: ``batch_fn(step) -> tokens (B, T)``; the loss of ``logits[:, t]``
    against ``tokens[:, t + 1]``. AdamW (betas 0.9, 0.98), linear warm-up then cosine decay to
    ``lr * min_lr_factor``, gradient norm clipped. Returns the loss of every step."""
    from .train import fit

    check_size("steps", steps)
    if not callable(batch_fn):
        raise TypeError(
            f"batch_fn must be callable as batch_fn(step) -> tokens, got {type(batch_fn).__name__}"
        )

    def next_token_loss(step: int) -> torch.Tensor:
        tokens = batch_fn(step)  # (B, T)
        logits = model(tokens)  # (B, T, V)
        V = logits.shape[-1]
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), tokens[:, 1:].reshape(-1))

    history = fit(model, next_token_loss, steps, lr, warmup, min_lr_factor, clip_grad_norm, progress=progress)
    model.eval()
    return history


def train_induction_model(
    seed: int = 0,
    steps: int = 800,
    progress: Callable[[int, float], None] | None = None,
    watch: Callable[[int, DecoderOnlyLM], None] | None = None,
    watch_every: int = 25,
) -> tuple[DecoderOnlyLM, list[float]]:
    """The lesson's model: 2 attention-only layers, 4 heads, d_model 64, learned positions,
    trained on :func:`make_repeated_segments` (32 tokens, periods 4..16, batches of 32).

    Seeded by ``seed`` (weights and data). ``progress(step, loss)`` is called after every step,
    ``watch(steps_done, model)`` after every ``watch_every`` steps (e.g. to score the heads while
    they form; it must not change the model). Returns ``(model in eval mode, losses)``.
    """
    check_size("watch_every", watch_every)
    torch.manual_seed(seed)
    model = DecoderOnlyLM(len(LM_ALPHABET), d_model=64, num_heads=4, num_layers=2, d_ff=0, max_len=32)
    g = torch.Generator().manual_seed(seed + 1)

    def batch(step: int) -> torch.Tensor:
        return make_repeated_segments(32, len(LM_ALPHABET), 32, generator=g)[0]

    def on_step(step: int, loss: float) -> None:
        if progress is not None:
            progress(step, loss)
        if watch is not None and (step + 1) % watch_every == 0:
            with torch.no_grad():
                watch(step + 1, model)

    losses = train_lm(model, batch, steps, progress=on_step)
    return model, losses
