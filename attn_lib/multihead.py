"""Multi-head attention: h scaled dot-product attentions side by side, then W^O.

Letters: ``B`` batch, ``H`` heads, ``H_kv`` key/value heads (GQA/MQA), ``T_q``/``T_k`` query/key
lengths, ``D`` = d_model, ``Dh`` = head_dim = D / H.

The switches of today's decoder LLMs (lesson 11) are arguments of one module, off by default:
``num_kv_heads`` (grouped-query / multi-query attention), ``rope`` (rotary positions) and
``window`` (sliding-window attention, with a rolling :class:`KVCache` that keeps ``window`` entries).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ._limits import check_tensor_size
from .attention import check_bool, check_number, scaled_dot_product_attention
from .masks import combine_masks, sliding_window_mask
from .rope import PAIRINGS, _check_base, _check_positions, apply_rope

__all__ = ["KVCache", "MultiHeadAttention", "merge_heads", "sliding_window_attention", "split_heads"]


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """``(B, T, D) -> (B, H, T, Dh)``: cut the feature axis into ``num_heads`` slices.

    The view puts the head index next to the features; the transpose moves heads in front
    of time so that each head is an independent ``(T, Dh)`` attention problem.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"split_heads expects x of shape (B, T, D), got shape {tuple(x.shape)}")
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads <= 0:
        raise ValueError(f"num_heads must be a positive int, got {num_heads!r}")
    B, T, D = x.shape
    if D % num_heads != 0:
        raise ValueError(f"the last dimension of x (D={D}) is not divisible by num_heads={num_heads}")
    return x.view(B, T, num_heads, D // num_heads).transpose(1, 2)  # (B, T, H, Dh) -> (B, H, T, Dh)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(B, H, T, Dh) -> (B, T, H*Dh)``: the inverse of :func:`split_heads` (concatenation)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 4:
        raise ValueError(f"merge_heads expects x of shape (B, H, T, Dh), got shape {tuple(x.shape)}")
    B, H, T, Dh = x.shape
    return x.transpose(1, 2).reshape(B, T, H * Dh)  # (B, H, T, Dh) -> (B, T, H, Dh) -> (B, T, D)


@dataclass
class KVCache:
    """Keys and values one attention layer has already computed, ``(B, H_kv, T_past, Dh)``.

    ``static=False`` (decoder self-attention): each call appends the new positions' keys and
    values, and queries attend to everything cached so far.
    ``static=True`` (cross-attention): keys and values are computed from the encoder output
    on the first call and reused unchanged afterwards.
    ``max_length=w`` (a *rolling* cache, for a module with ``window <= w``): after each call only
    the last ``w`` positions are kept, so memory stays bounded however long the generation runs;
    ``seen`` counts every position ever appended (the position of the next token). With GQA/MQA
    only the ``H_kv`` key/value heads are stored, not ``H``.
    """

    key: torch.Tensor | None = None
    value: torch.Tensor | None = None
    static: bool = False
    max_length: int | None = None
    seen: int = 0

    def __post_init__(self) -> None:
        m = self.max_length
        if m is not None and (isinstance(m, bool) or not isinstance(m, int) or m <= 0):
            raise ValueError(f"max_length must be None (unbounded) or a positive int, got {m!r}")
        if m is not None and self.static:
            raise ValueError("a static cache (cross-attention) cannot be rolling: pass max_length=None")

    @property
    def length(self) -> int:
        """How many positions are cached (``T_past``)."""
        return 0 if self.key is None else self.key.shape[-2]

    @property
    def position(self) -> int:
        """The position of the next token: ``seen`` for a rolling cache, else ``length``."""
        return max(self.seen, self.length) if self.max_length is not None else self.length


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V).

    The h per-head projections ``W_i^Q`` (D x Dh) are stored side by side as the columns
    of one ``nn.Linear(D, D)`` (``q_proj``, likewise ``k_proj``, ``v_proj``); head i owns
    output features ``i*Dh : (i+1)*Dh``. ``out_proj`` is W^O.

    Args:
        d_model: model width D.
        num_heads: number of (query) heads H; must divide ``d_model``.
        dropout: dropout on the attention weights while training.
        bias: whether the four projections have a bias.
        num_kv_heads: key/value heads ``H_kv`` (None = ``num_heads``: multi-head attention as in
            2017). ``1`` = multi-query attention (MQA), a divisor of ``num_heads`` in between =
            grouped-query attention (GQA, Llama 2 70B, Llama 3, Mistral). ``k_proj`` and ``v_proj``
            are ``nn.Linear(D, H_kv * Dh)``; query head ``h`` reads key/value head
            ``h // (H / H_kv)`` (consecutive query heads share one, like ``transformers``'
            ``repeat_kv`` and ``scaled_dot_product_attention(..., enable_gqa=True)``); the cache
            stores ``H_kv`` heads.
        rope: None (no rotation; positions come from outside, e.g. lesson 04's sinusoidal table),
            the RoPE frequency base (e.g. ``10000.0``), or a dict ``{"base": 10000.0, "pairing":
            "half"}`` (see :mod:`attn_lib.rope`). Queries and keys (never values) of self-attention
            are rotated by their positions (``positions`` of :meth:`forward`); cached keys are
            stored rotated.
        window: None (every earlier key) or ``w >= 1``: causal sliding-window attention; the query
            at position ``p`` may attend to keys ``p - w + 1 .. p`` (``w`` keys, itself included:
            Mistral's rule, :func:`~attn_lib.masks.sliding_window_mask`). The window is applied
            inside the module, by sequence index (cached positions counted), and combined by AND
            with the ``mask`` you pass (causal, padding).
    """

    def __init__(
        self,
        d_model: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        num_kv_heads: int | None = None,
        rope: float | dict | None = None,
        window: int | None = None,
    ):
        super().__init__()
        for name, v in (("d_model", d_model), ("num_heads", num_heads)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if d_model % num_heads != 0:
            raise ValueError(
                f"d_model={d_model} is not divisible by num_heads={num_heads}; each head gets "
                f"d_model / num_heads dimensions, so pick e.g. num_heads in "
                f"{[h for h in range(1, min(d_model, 16) + 1) if d_model % h == 0]}"
            )
        dropout = check_number("dropout", dropout, 0.0, 1.0, high_open=True)
        check_bool("bias", bias)
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.dropout = dropout
        self.num_kv_heads = self._check_num_kv_heads(num_kv_heads)
        self.rope_base, self.rope_pairing = self._check_rope(rope)
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window <= 0):
            raise ValueError(
                f"window must be None (no window) or an int >= 1 (keys per query, itself included), "
                f"got {window!r}"
            )
        self.window = window
        kv_width = self.num_kv_heads * self.head_dim  # H_kv * Dh
        check_tensor_size(f"MultiHeadAttention(d_model={d_model}): q_proj", (d_model, d_model))
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, kv_width, bias=bias)
        self.v_proj = nn.Linear(d_model, kv_width, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self._packed: tuple[tuple, torch.Tensor, torch.Tensor | None] | None = None

    def _check_num_kv_heads(self, num_kv_heads: object) -> int:
        H = self.num_heads
        if num_kv_heads is None:
            return H
        if isinstance(num_kv_heads, bool) or not isinstance(num_kv_heads, int) or num_kv_heads <= 0:
            raise ValueError(f"num_kv_heads must be None or a positive int, got {num_kv_heads!r}")
        if H % num_kv_heads != 0:
            raise ValueError(
                f"num_kv_heads={num_kv_heads} must divide num_heads={H} (each KV head serves a group "
                f"of query heads); pick one of {[h for h in range(1, H + 1) if H % h == 0]}"
            )
        return num_kv_heads

    def _check_rope(self, rope: object) -> tuple[float | None, str]:
        if rope is None:
            return None, "half"
        if isinstance(rope, dict):
            unknown = set(rope) - {"base", "pairing"}
            if unknown:
                raise ValueError(f"rope dict takes the keys 'base' and 'pairing', got also {sorted(unknown)}")
            base, pairing = rope.get("base", 10000.0), rope.get("pairing", "half")
        else:
            base, pairing = rope, "half"
        if pairing not in PAIRINGS:
            raise ValueError(f"rope pairing must be one of {PAIRINGS}, got {pairing!r}")
        if self.head_dim % 2:
            raise ValueError(f"rope rotates pairs of dimensions: head_dim must be even, got {self.head_dim}")
        try:
            return _check_base(base), pairing
        except TypeError:
            raise TypeError(
                f"rope must be None, a frequency base (e.g. 10000.0) or a dict, got "
                f"{type(rope).__name__} {rope!r}"
            ) from None

    def _packed_qkv_params(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """W^Q, W^K, W^V stacked into one ``(3D, D)`` weight (and ``(3D,)`` bias) for self-attention.

        Without autograd (``torch.no_grad()``, ``torch.inference_mode()``) the stack is kept
        and reused until a parameter changes: an optimizer step or ``load_state_dict`` (in
        place: the tensor's version counter moves), ``.to()`` or a new ``nn.Parameter``
        (another tensor). With autograd it is rebuilt on every call, so that gradients flow
        back to ``q_proj``, ``k_proj`` and ``v_proj``. (Writing through ``weight.data``
        bypasses the version counter: call ``module.train()`` or ``module.eval()`` afterwards,
        which drops the stack.)
        """
        params = [self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]
        if self.q_proj.bias is not None:
            params += [self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]
        # with autograd the stack must be in the graph; parameters made under inference_mode
        # have no version counter to tell when they change: stack them anew in both cases
        if torch.is_grad_enabled() or any(p.is_inference() for p in params):
            self._packed = None
            w = torch.cat(params[:3])  # (D + 2 H_kv Dh, D)
            return w, torch.cat(params[3:]) if len(params) > 3 else None
        # the tensors themselves (kept alive, so their memory cannot be reused) and their versions
        key = tuple((p, p.data_ptr(), p._version) for p in params)
        packed = self._packed
        if (
            packed is None
            or len(packed[0]) != len(key)
            or any(a[0] is not b[0] or a[1:] != b[1:] for a, b in zip(packed[0], key, strict=True))
        ):
            with torch.no_grad():
                w = torch.cat(params[:3])  # (D + 2 H_kv Dh, D)
                b = torch.cat(params[3:]) if len(params) > 3 else None
            self._packed = packed = (key, w, b)
        return packed[1], packed[2]

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_packed"] = None  # a cache of the parameters, never copied or pickled
        return state

    def train(self, mode: bool = True) -> MultiHeadAttention:
        self._packed = None
        return super().train(mode)

    def _project_qkv(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, contiguous: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Project and split into heads: ``q`` ``(B, H, T_q, Dh)``, ``k`` and ``v`` ``(B, H_kv, T_k, Dh)``."""
        H, H_kv, Dh = self.num_heads, self.num_kv_heads, self.head_dim
        if query is key and key is value and H_kv != H:  # self-attention, GQA: one packed matmul
            w, b = self._packed_qkv_params()  # (D + 2 H_kv Dh, D), bias or None
            B, T, _ = query.shape
            q, k, v = F.linear(query, w, b).split([H * Dh, H_kv * Dh, H_kv * Dh], dim=-1)
            q = q.view(B, T, H, Dh).transpose(1, 2)  # (B, T, H, Dh) -> (B, H, T, Dh)
            k = k.view(B, T, H_kv, Dh).transpose(1, 2)  # (B, T, H_kv, Dh) -> (B, H_kv, T, Dh)
            v = v.view(B, T, H_kv, Dh).transpose(1, 2)
            if contiguous:
                q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
            return q, k, v
        if query is key and key is value:  # self-attention: one packed (D -> 3D) matmul
            w, b = self._packed_qkv_params()  # (3D, D), (3D,) or None
            B, T, _ = query.shape
            qkv = F.linear(query, w, b).view(B, T, 3, H, self.head_dim)  # (B, T, 3D) -> (B, T, 3, H, Dh)
            qkv = qkv.permute(2, 0, 3, 1, 4)  # (B, T, 3, H, Dh) -> (3, B, H, T, Dh), a strided view
            # PyTorch's fused kernel reads the strided view as it is; the explicit matmuls
            # (need_weights) would copy each of q, k, v: one copy of all three is cheaper.
            if contiguous:
                qkv = qkv.contiguous()
            return qkv.unbind(0)  # 3 x (B, H, T, Dh)
        q = split_heads(self.q_proj(query), H)  # (B, T_q, D) -> (B, H, T_q, Dh)
        k = split_heads(self.k_proj(key), H_kv)  # (B, T_k, H_kv Dh) -> (B, H_kv, T_k, Dh)
        v = split_heads(self.v_proj(value), H_kv)  # (B, T_k, H_kv Dh) -> (B, H_kv, T_k, Dh)
        return q, k, v

    def _check_inputs(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, cache: KVCache | None
    ) -> None:
        weight = self.q_proj.weight
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if t.dim() != 3 or t.shape[-1] != self.d_model:
                raise ValueError(
                    f"{name} must have shape (B, T, d_model={self.d_model}), got {tuple(t.shape)}"
                )
            if t.dtype != weight.dtype:
                raise TypeError(
                    f"{name} has dtype {t.dtype} but this MultiHeadAttention's parameters are "
                    f"{weight.dtype}; convert the input ({name}.to({weight.dtype})) or the module "
                    f"(.to({t.dtype}))"
                )
            if t.device != weight.device:
                raise ValueError(
                    f"{name} is on device {t.device} but this MultiHeadAttention is on "
                    f"{weight.device}; move one of them"
                )
        if key.shape[1] != value.shape[1]:
            raise ValueError(
                f"key has length {key.shape[1]} but value has {value.shape[1]}; they must match (T_k)"
            )
        if not query.shape[0] == key.shape[0] == value.shape[0]:
            raise ValueError(
                f"query, key and value must have the same batch size B, got {query.shape[0]}, "
                f"{key.shape[0]} and {value.shape[0]}"
            )
        if cache is None:
            return
        if not isinstance(cache, KVCache):
            raise TypeError(f"cache must be a KVCache or None, got {type(cache).__name__}")
        if (cache.key is None) != (cache.value is None):
            raise ValueError("cache holds a key but no value (or a value but no key)")
        if cache.key is None:
            return
        expected = (query.shape[0], self.num_kv_heads, self.head_dim)
        heads = "H" if self.num_kv_heads == self.num_heads else "H_kv"  # the cache holds the KV heads
        for name, t in (("cache.key", cache.key), ("cache.value", cache.value)):
            if (
                not isinstance(t, torch.Tensor)
                or t.dim() != 4
                or (t.shape[0], t.shape[1], t.shape[3]) != expected
            ):
                got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                raise ValueError(
                    f"{name} must have shape (B={expected[0]}, {heads}={expected[1]}, T_past, "
                    f"Dh={expected[2]}), got {got}; was the cache filled by another batch or layer?"
                )
            if t.dtype != weight.dtype or t.device != weight.device:
                raise TypeError(
                    f"{name} is {t.dtype} on {t.device} but this MultiHeadAttention is "
                    f"{weight.dtype} on {weight.device}"
                )
        if cache.key.shape[2] != cache.value.shape[2]:
            raise ValueError(
                f"cache.key holds {cache.key.shape[2]} positions but cache.value {cache.value.shape[2]}"
            )

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        mask: torch.Tensor | None = None,
        need_weights: bool = True,
        cache: KVCache | None = None,
        positions: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: ``(B, T_q, D)``.
            key: ``(B, T_k, D)``.
            value: ``(B, T_k, D)``.
            mask: bool, True = may attend, broadcastable to ``(B, H, T_q, T_k)``
                (e.g. ``(T_q, T_k)`` causal or ``(B, 1, 1, T_k)`` padding). With a cache,
                ``T_k`` counts the cached positions too (for a rolling cache: the ones it holds).
                A ``window`` is added to it inside the module.
            need_weights: return the per-head weights; False takes PyTorch's fused kernel.
            cache: a :class:`KVCache` to read from and (unless static and filled) append to.
            positions: only with ``rope``: integer positions of the ``T_q`` new tokens, ``(T_q,)`` or
                ``(B, T_q)`` (e.g. shifted per sequence for left padding). None = ``t .. t + T_q - 1``
                with ``t = cache.position`` (0 without a cache), so a cached one-token step is
                rotated by its true position ``t``, not 0.

        Returns:
            ``output`` ``(B, T_q, D)`` and ``weights`` ``(B, H, T_q, T_k)`` or None.
        """
        self._check_inputs(query, key, value, cache)
        check_bool("need_weights", need_weights)
        self._check_switch_inputs(query, key, cache, positions)
        start = 0 if cache is None else cache.position  # sequence index of the first new token
        if cache is not None and cache.static and cache.key is not None:
            q = split_heads(self.q_proj(query), self.num_heads)  # (B, H, T_q, Dh)
            k, v = cache.key, cache.value  # (B, H_kv, T_k, Dh)
        else:
            q, k, v = self._project_qkv(query, key, value, contiguous=need_weights)  # (B, H(_kv), T, Dh)
            if self.rope_base is not None:
                if positions is None:
                    positions = torch.arange(start, start + query.shape[1], device=query.device)  # (T_q,)
                q = apply_rope(q, positions, self.rope_base, self.rope_pairing)  # (B, H, T_q, Dh)
                k = apply_rope(k, positions, self.rope_base, self.rope_pairing)  # (B, H_kv, T_q, Dh)
            if cache is not None:
                if not cache.static and cache.key is not None:
                    k = torch.cat([cache.key, k], dim=-2)  # (B, H_kv, T_past + T_k, Dh)
                    v = torch.cat([cache.value, v], dim=-2)
                if cache.max_length is not None and k.shape[-2] > cache.max_length:
                    # a rolling cache keeps the last max_length positions (copied: the rest is freed)
                    cache.key = k[..., -cache.max_length :, :].clone()  # (B, H_kv, w, Dh)
                    cache.value = v[..., -cache.max_length :, :].clone()
                else:
                    cache.key, cache.value = k, v
                if not cache.static:
                    cache.seen = start + query.shape[1]
        if self.window is not None:
            mask = combine_masks(mask, self._window_mask(start, query.shape[1], k.shape[-2], q.device))
        if self.num_kv_heads != self.num_heads:
            groups = self.num_heads // self.num_kv_heads
            k = k.repeat_interleave(groups, dim=1)  # (B, H_kv, T_k, Dh) -> (B, H, T_k, Dh)
            v = v.repeat_interleave(groups, dim=1)  # query head h reads KV head h // groups
        out, weights = scaled_dot_product_attention(
            q,
            k,
            v,
            mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            need_weights=need_weights,
        )  # (B, H, T_q, Dh), (B, H, T_q, T_k)
        return self.out_proj(merge_heads(out)), weights  # (B, T_q, D)

    def _window_mask(self, start: int, T_q: int, T_k: int, device: torch.device) -> torch.Tensor:
        """Bool ``(T_q, T_k)``: the query at index ``start + i`` sees keys ``p - w + 1 .. p``.

        The ``T_k`` keys are the last ones before and including the new tokens: key ``j`` has
        index ``start + T_q - T_k + j`` (for a rolling cache the oldest entries are gone).
        """
        q_idx = torch.arange(start, start + T_q, device=device)[:, None]  # (T_q, 1)
        k_idx = torch.arange(start + T_q - T_k, start + T_q, device=device)[None, :]  # (1, T_k)
        return (k_idx <= q_idx) & (k_idx > q_idx - self.window)  # (T_q, T_k)

    def _check_switch_inputs(
        self, query: torch.Tensor, key: torch.Tensor, cache: KVCache | None, positions: object
    ) -> None:
        """Named errors for the inputs of ``rope``, ``window`` and a rolling cache."""
        if positions is not None:
            if self.rope_base is None:
                raise ValueError(
                    "positions were given but this MultiHeadAttention has rope=None: positions are "
                    "only used to rotate queries and keys (pass rope=10000.0 to use them)"
                )
            positions = _check_positions(positions)
            ok_shape = positions.dim() == 1 or (
                positions.dim() == 2 and positions.shape[0] in (1, query.shape[0])
            )
            if not ok_shape or positions.shape[-1] != query.shape[1]:
                raise ValueError(
                    f"positions must have shape (T_q,) or (B, T_q) = ({query.shape[1]},) or "
                    f"({query.shape[0]}, {query.shape[1]}), got {tuple(positions.shape)}"
                )
        if (self.rope_base is not None or self.window is not None) and key.shape[1] != query.shape[1]:
            raise ValueError(
                f"rope and window are for self-attention: the new keys sit at the queries' positions, "
                f"so key must have the length of query (T_q = {query.shape[1]}), got T_k = {key.shape[1]}"
            )
        if cache is not None and (self.rope_base is not None or self.window is not None) and cache.static:
            raise ValueError(
                "rope and window are for self-attention; a static (cross-attention) cache has no positions"
            )
        if (
            cache is not None
            and cache.max_length is not None
            and (self.window is None or self.window > cache.max_length)
        ):
            raise ValueError(
                f"a rolling cache of max_length={cache.max_length} drops keys this module still "
                f"attends to (window={self.window}); use max_length >= window, or an unbounded KVCache()"
            )

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Copy the weights of a ``torch.nn.MultiheadAttention(..., batch_first=True)``.

        PyTorch packs W^Q, W^K, W^V row-wise into ``in_proj_weight`` (3D x D); the rows
        ``[0:D]``, ``[D:2D]``, ``[2D:3D]`` become ``q_proj``, ``k_proj``, ``v_proj``.
        Remember that its bool masks mean the opposite (see ``to_torch_mha_mask``).
        """
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be a torch.nn.MultiheadAttention, got {type(mha).__name__}")
        if not mha.batch_first:
            raise ValueError(
                "mha has batch_first=False (inputs (T, B, D)); this library uses (B, T, D). "
                "Build it with torch.nn.MultiheadAttention(..., batch_first=True)"
            )
        if mha.bias_k is not None or mha.add_zero_attn:
            raise ValueError("mha uses add_bias_kv or add_zero_attn, which this library does not have")
        if not mha._qkv_same_embed_dim:
            raise ValueError("mha has kdim/vdim different from embed_dim; not supported")
        has_bias = mha.in_proj_bias is not None
        new = cls(mha.embed_dim, mha.num_heads, dropout=mha.dropout, bias=has_bias)
        # dtype/device first: copying float64 weights into float32 parameters would round them
        new = new.to(device=mha.in_proj_weight.device, dtype=mha.in_proj_weight.dtype)
        D = mha.embed_dim
        with torch.no_grad():
            for i, proj in enumerate((new.q_proj, new.k_proj, new.v_proj)):
                proj.weight.copy_(mha.in_proj_weight[i * D : (i + 1) * D])
                if has_bias:
                    proj.bias.copy_(mha.in_proj_bias[i * D : (i + 1) * D])
            new.out_proj.weight.copy_(mha.out_proj.weight)
            if has_bias:
                new.out_proj.bias.copy_(mha.out_proj.bias)
        return new


def sliding_window_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: int, block_size: int | None = None
) -> torch.Tensor:
    """Causal sliding-window attention that computes only the band: O(T·w) work instead of O(T²).

    ``q``, ``k``, ``v`` ``(B, H, T, Dh)`` (self-attention, key ``j`` at position ``j``). The queries
    are cut into blocks of ``block_size`` (default ``window``); block ``[s, e)`` meets only the keys
    ``[s - w + 1, e)``, the ones its window can reach, through PyTorch's fused kernel. Equal up to
    rounding to full attention with ``sliding_window_mask(T, T, window)``, which scores all T² pairs.
    Returns ``(B, H, T, Dh)``.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or t.dim() != 4:
            got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a tensor of shape (B, H, T, Dh), got {got}")
    if not (q.shape[:3] == k.shape[:3] and k.shape[:3] == v.shape[:3] and q.shape[-1] == k.shape[-1]):
        raise ValueError(
            f"q, k, v must be self-attention inputs of shapes (B, H, T, Dh), got {tuple(q.shape)}, "
            f"{tuple(k.shape)}, {tuple(v.shape)}"
        )
    if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
        raise ValueError(f"window must be an int >= 1 (keys per query, itself included), got {window!r}")
    b = window if block_size is None else block_size
    if isinstance(b, bool) or not isinstance(b, int) or b <= 0:
        raise ValueError(f"block_size must be None or a positive int, got {block_size!r}")
    T = q.shape[-2]
    if T == 0:  # no queries: the empty output, (B, H, 0, Dh)
        return v.clone()
    blocks = []
    for s in range(0, T, b):
        e, first = min(s + b, T), max(0, s - window + 1)  # queries s..e-1 reach keys first..e-1
        mask = sliding_window_mask(e - s, e - first, window, device=q.device)  # bottom-right aligned
        blocks.append(
            F.scaled_dot_product_attention(
                q[..., s:e, :], k[..., first:e, :], v[..., first:e, :], attn_mask=mask
            )
        )  # (B, H, e - s, Dh)
    return torch.cat(blocks, dim=-2)  # (B, H, T, Dh)
