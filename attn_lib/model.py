"""A tiny encoder-decoder Transformer and greedy decoding.

Letters: ``B`` batch, ``S`` source length, ``T`` target length, ``D`` d_model, ``H`` heads,
``V`` vocabulary size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ._limits import check_tensor_size
from .attention import check_bool, check_number
from .layers import DecoderLayer, EncoderLayer, check_activations, check_size
from .masks import causal_mask, combine_masks, padding_mask
from .multihead import KVCache
from .positional import PositionalEncoding

__all__ = ["AttentionMaps", "Decoder", "Encoder", "Transformer", "greedy_decode"]


@dataclass
class AttentionMaps:
    """Attention weights of every layer, each ``(B, H, T_q, T_k)``."""

    encoder: list[torch.Tensor] = field(default_factory=list)  # (B, H, S, S) per layer
    decoder_self: list[torch.Tensor] = field(default_factory=list)  # (B, H, T, T) per layer
    cross: list[torch.Tensor] = field(default_factory=list)  # (B, H, T, S) per layer


def _check_num_layers(num_layers: object) -> int:
    if isinstance(num_layers, bool) or not isinstance(num_layers, int):
        raise TypeError(f"num_layers must be an int >= 0, got {type(num_layers).__name__} {num_layers!r}")
    if num_layers < 0:
        raise ValueError(f"num_layers must be an int >= 0, got {num_layers}")
    return num_layers


def _check_stack_input(name: str, x: object, d_model: int, layers: nn.ModuleList) -> None:
    """What a stack's first layer would check, also for a stack of zero layers."""
    if len(layers) > 0:
        check_activations(name, x, d_model, layers[0].norm1.weight)
        return
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape (B, T, D), got {type(x).__name__}")
    if x.dim() != 3 or x.shape[-1] != d_model or not x.is_floating_point():
        raise ValueError(
            f"{name} must be float activations of shape (B, T, d_model={d_model}), got "
            f"{tuple(x.shape)} {x.dtype}"
        )


class Encoder(nn.Module):
    """A stack of :class:`EncoderLayer`; layer l's output is layer l+1's Q, K and V."""

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
    ):
        super().__init__()
        _check_num_layers(num_layers)
        self.d_model = check_size("d_model", d_model)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, d_ff, dropout, norm_first) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None, need_weights: bool = False
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``x`` ``(B, S, D)`` -> ``(B, S, D)`` and, if asked, one ``(B, H, S, S)`` map per layer."""
        _check_stack_input("x", x, self.d_model, self.layers)
        maps = []
        for layer in self.layers:
            x, w = layer(x, mask, need_weights=need_weights)
            if w is not None:
                maps.append(w)
        return self.norm(x), maps


class Decoder(nn.Module):
    """A stack of :class:`DecoderLayer`, each attending to the same encoder memory."""

    def __init__(
        self,
        num_layers: int,
        d_model: int,
        num_heads: int,
        d_ff: int,
        dropout: float = 0.0,
        norm_first: bool = False,
    ):
        super().__init__()
        _check_num_layers(num_layers)
        self.d_model = check_size("d_model", d_model)
        self.layers = nn.ModuleList(
            DecoderLayer(d_model, num_heads, d_ff, dropout, norm_first) for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model) if norm_first else nn.Identity()

    def new_cache(self) -> list[tuple[KVCache, KVCache]]:
        """Empty caches, one ``(self-attention, cross-attention)`` pair per layer."""
        return [(KVCache(), KVCache(static=True)) for _ in self.layers]

    def forward(
        self,
        x: torch.Tensor,
        memory: torch.Tensor,
        self_mask: torch.Tensor | None = None,
        memory_mask: torch.Tensor | None = None,
        need_weights: bool = False,
        cache: list[tuple[KVCache, KVCache]] | None = None,
    ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        """``x`` ``(B, T, D)``, ``memory`` ``(B, S, D)`` -> ``(B, T, D)``, self maps, cross maps."""
        _check_stack_input("x", x, self.d_model, self.layers)
        _check_stack_input("memory", memory, self.d_model, self.layers)
        if cache is not None and not (isinstance(cache, (list, tuple)) and len(cache) == len(self.layers)):
            raise ValueError(
                f"cache must be a list of {len(self.layers)} (self, cross) KVCache pairs, one per "
                "layer (from decoder.new_cache()), or None"
            )
        self_maps, cross_maps = [], []
        for i, layer in enumerate(self.layers):
            x, ws, wc = layer(
                x,
                memory,
                self_mask,
                memory_mask,
                need_weights,
                cache=None if cache is None else cache[i],
            )
            if ws is not None:
                self_maps.append(ws)
                cross_maps.append(wc)
        return self.norm(x), self_maps, cross_maps


class Transformer(nn.Module):
    """Encoder-decoder Transformer (Vaswani et al., 2017) at toy size.

    Token embeddings (initialised with std 1/√d_model) are scaled by √d_model and added to
    sinusoidal positional encodings.
    Masks are built from ``pad_id``: the source padding mask reaches every encoder
    self-attention and every cross-attention; the decoder self-attention gets the causal
    mask combined with the target padding mask.

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes.
        d_model, num_heads, num_encoder_layers, num_decoder_layers, d_ff: sizes.
        dropout: dropout probability everywhere (0 for the toy tasks).
        max_len: longest source or target sequence.
        pad_id: token id used for padding, or None if sequences are never padded.
        norm_first: pre-norm layers instead of the paper's post-norm.
    """

    def __init__(
        self,
        src_vocab_size: int,
        tgt_vocab_size: int,
        d_model: int = 64,
        num_heads: int = 4,
        num_encoder_layers: int = 2,
        num_decoder_layers: int = 2,
        d_ff: int = 256,
        dropout: float = 0.0,
        max_len: int = 512,
        pad_id: int | None = 0,
        norm_first: bool = False,
    ):
        super().__init__()
        check_size("src_vocab_size", src_vocab_size)
        check_size("tgt_vocab_size", tgt_vocab_size)
        check_size("d_model", d_model)
        check_size("num_heads", num_heads)
        if d_model % num_heads != 0:
            raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
        for name, n in (
            ("num_encoder_layers", num_encoder_layers),
            ("num_decoder_layers", num_decoder_layers),
        ):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"{name} must be an int >= 0, got {n!r}")
        check_size("d_ff", d_ff)
        check_number("dropout", dropout, 0.0, 1.0, high_open=True)
        check_size("max_len", max_len)
        check_bool("norm_first", norm_first)
        if pad_id is not None:
            if isinstance(pad_id, bool) or not isinstance(pad_id, int):
                raise TypeError(f"pad_id must be an int token id or None, got {type(pad_id).__name__}")
            if not 0 <= pad_id < min(src_vocab_size, tgt_vocab_size):
                raise ValueError(
                    f"pad_id={pad_id} is not a token id of both vocabularies "
                    f"(0..{min(src_vocab_size, tgt_vocab_size) - 1})"
                )
        self.d_model = d_model
        self.max_len = max_len
        self.pad_id = pad_id
        for name, vocab in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size)):
            check_tensor_size(f"Transformer({name}={vocab}, d_model={d_model})", (vocab, d_model))
        self.src_embed = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, d_model)
        # Embeddings start at std 1/√d_model, not nn.Embedding's 1: after the paper's
        # multiplication by √d_model, tokens and positional encodings then have the same
        # scale (with std 1 the tokens are √d_model times larger and drown the positions).
        for embed in (self.src_embed, self.tgt_embed):
            nn.init.normal_(embed.weight, mean=0.0, std=d_model**-0.5)
        self.pos = PositionalEncoding(d_model, max_len, dropout)
        self.encoder = Encoder(num_encoder_layers, d_model, num_heads, d_ff, dropout, norm_first)
        self.decoder = Decoder(num_decoder_layers, d_model, num_heads, d_ff, dropout, norm_first)
        self.generator = nn.Linear(d_model, tgt_vocab_size)

    def _check_tokens(self, name: str, tokens: torch.Tensor, vocab_size: int | None = None) -> None:
        if not isinstance(tokens, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor of token ids, got {type(tokens).__name__}")
        if tokens.dtype == torch.bool or tokens.is_floating_point() or tokens.is_complex():
            raise TypeError(f"{name} must hold integer token ids, got dtype {tokens.dtype}")
        if tokens.dim() != 2:
            raise ValueError(f"{name} must be integer token ids of shape (B, T), got {tuple(tokens.shape)}")
        if tokens.shape[1] == 0:
            raise ValueError(f"{name} must hold at least one token per row, got shape {tuple(tokens.shape)}")
        if vocab_size is None:
            embed = self.src_embed if name == "src" else self.tgt_embed
            vocab_size = embed.num_embeddings
        if tokens.numel() > 0:
            lo, hi = int(tokens.min()), int(tokens.max())
            if lo < 0 or hi >= vocab_size:
                bad = lo if lo < 0 else hi
                raise ValueError(f"{name} holds token id {bad}, outside the vocabulary 0..{vocab_size - 1}")

    def _check_pair(self, src: torch.Tensor, tgt: torch.Tensor) -> None:
        self._check_tokens("src", src)
        self._check_tokens("tgt", tgt)
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(
                f"src has batch size {src.shape[0]} but tgt has {tgt.shape[0]}; one target per source"
            )

    def src_mask(self, src: torch.Tensor) -> torch.Tensor | None:
        """``(B, 1, 1, S)`` padding mask of the source, or None without ``pad_id``."""
        self._check_tokens("src", src)
        return None if self.pad_id is None else padding_mask(src, self.pad_id)

    def tgt_mask(self, tgt: torch.Tensor) -> torch.Tensor:
        """``(B, 1, T, T)`` causal AND target-padding mask (``(T, T)`` without ``pad_id``)."""
        self._check_tokens("tgt", tgt)
        causal = causal_mask(tgt.shape[1], device=tgt.device)
        pad = None if self.pad_id is None else padding_mask(tgt, self.pad_id)
        return combine_masks(causal, pad)

    def _embed(self, embed: nn.Embedding, tokens: torch.Tensor, start: int = 0) -> torch.Tensor:
        return self.pos(embed(tokens.long()) * math.sqrt(self.d_model), start=start)  # (B, T, D)

    def encode(self, src: torch.Tensor) -> torch.Tensor:
        """Source tokens ``(B, S)`` -> memory ``(B, S, D)``."""
        self._check_tokens("src", src)
        memory, _ = self.encoder(self._embed(self.src_embed, src), self.src_mask(src))
        return memory

    def decode(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        memory_mask: torch.Tensor | None = None,
        cache: list[tuple[KVCache, KVCache]] | None = None,
    ) -> torch.Tensor:
        """Target tokens ``(B, T)`` and memory ``(B, S, D)`` -> logits ``(B, T, V)``.

        ``memory_mask`` is the source padding mask (``self.src_mask(src)``). With a
        ``cache`` (from ``self.decoder.new_cache()``), ``tgt`` holds only the new
        positions; the cached ones are attended to without a mask (they are all in the past).
        """
        self._check_tokens("tgt", tgt)
        check_activations("memory", memory, self.d_model, self.generator.weight)
        if memory.shape[0] != tgt.shape[0]:
            raise ValueError(
                f"tgt has batch size {tgt.shape[0]} but memory has {memory.shape[0]}; they must match"
            )
        if cache is not None and not (
            isinstance(cache, (list, tuple))
            and len(cache) == len(self.decoder.layers)
            and all(
                isinstance(c, (list, tuple)) and len(c) == 2 and all(isinstance(k, KVCache) for k in c)
                for c in cache
            )
        ):
            raise TypeError(
                f"cache must be a list of {len(self.decoder.layers)} (self, cross) KVCache pairs "
                "from model.decoder.new_cache(), or None"
            )
        start = 0 if cache is None or not cache else cache[0][0].length
        self_mask = self.tgt_mask(tgt) if cache is None else None
        if cache is not None and tgt.shape[1] > 1:
            self_mask = causal_mask(tgt.shape[1], start + tgt.shape[1], device=tgt.device)
        x, _, _ = self.decoder(
            self._embed(self.tgt_embed, tgt, start), memory, self_mask, memory_mask, cache=cache
        )
        return self.generator(x)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``src`` ``(B, S)``, ``tgt`` ``(B, T)`` (BOS + shifted target) -> ``(B, T, V)``."""
        self._check_pair(src, tgt)
        return self.decode(tgt, self.encode(src), self.src_mask(src))

    @torch.no_grad()
    def attention_maps(self, src: torch.Tensor, tgt: torch.Tensor) -> AttentionMaps:
        """Every attention map of one teacher-forced pass, for plotting."""
        self._check_pair(src, tgt)
        src_mask = self.src_mask(src)
        memory, enc = self.encoder(self._embed(self.src_embed, src), src_mask, need_weights=True)
        _, dec_self, cross = self.decoder(
            self._embed(self.tgt_embed, tgt),
            memory,
            self.tgt_mask(tgt),
            src_mask,
            need_weights=True,
        )
        return AttentionMaps(encoder=enc, decoder_self=dec_self, cross=cross)


@torch.no_grad()
def greedy_decode(
    model: Transformer,
    src: torch.Tensor,
    max_len: int,
    bos_id: int,
    eos_id: int,
    use_cache: bool = False,
) -> torch.Tensor:
    """Generate up to ``max_len`` tokens after BOS, always taking the most likely next token.

    Output position i is fed back as input i+1 (auto-regressive). A sequence that has
    produced ``eos_id`` is padded with ``model.pad_id`` (or ``eos_id``) from then on, and
    the loop stops once every sequence has ended. ``model.pad_id`` is never generated: it
    is filler, and the decoder's padding mask would hide a generated one from later steps.

    Args:
        model: a :class:`Transformer`.
        src: source tokens ``(B, S)``.
        max_len: the most tokens to generate (BOS not counted).
        use_cache: keep keys/values of past positions (:class:`KVCache`) instead of
            recomputing the whole prefix at every step; the tokens are identical.

    Returns:
        ``(B, 1 + n)`` token ids starting with BOS, ``n <= max_len``.
    """
    if not isinstance(model, Transformer):
        raise TypeError(f"model must be an attn_lib Transformer, got {type(model).__name__}")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len <= 0:
        raise ValueError(f"max_len must be a positive int, got {max_len!r}")
    if max_len > model.max_len:
        raise ValueError(
            f"max_len={max_len} is more positions than the model has encodings for "
            f"(model.max_len={model.max_len})"
        )
    vocab = model.tgt_embed.num_embeddings
    for name, token in (("bos_id", bos_id), ("eos_id", eos_id)):
        if isinstance(token, bool) or not isinstance(token, int):
            raise TypeError(f"{name} must be an int token id, got {type(token).__name__} {token!r}")
        if not 0 <= token < vocab:
            raise ValueError(f"{name}={token} is not in the target vocabulary 0..{vocab - 1}")
    check_bool("use_cache", use_cache)
    model._check_tokens("src", src)
    was_training = model.training
    model.eval()
    memory_mask = model.src_mask(src)
    memory = model.encode(src)  # (B, S, D)
    B = src.shape[0]
    ys = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)  # (B, 1)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    fill = eos_id if model.pad_id is None else model.pad_id
    cache = model.decoder.new_cache() if use_cache else None
    for _ in range(max_len):
        step_input = ys[:, -1:] if use_cache else ys  # (B, 1) with a cache, else (B, t)
        logits = model.decode(step_input, memory, memory_mask, cache=cache)[:, -1]  # (B, V)
        if model.pad_id is not None and model.pad_id != eos_id and 0 <= model.pad_id < logits.shape[-1]:
            logits[:, model.pad_id] = float("-inf")  # never predict filler
        next_token = logits.argmax(dim=-1)  # (B,)
        next_token = torch.where(done, torch.full_like(next_token, fill), next_token)
        ys = torch.cat([ys, next_token[:, None]], dim=1)
        done |= next_token == eos_id
        if bool(done.all()):
            break
    model.train(was_training)
    return ys
