"""Multi-head attention: h scaled dot-product attentions side by side, then W^O.

Letters: ``B`` batch, ``H`` heads, ``T_q``/``T_k`` query/key lengths, ``D`` = d_model,
``Dh`` = head_dim = D / H.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .attention import check_bool, check_number, scaled_dot_product_attention

__all__ = ["KVCache", "MultiHeadAttention", "merge_heads", "split_heads"]


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
    """Keys and values one attention layer has already computed, ``(B, H, T_past, Dh)``.

    ``static=False`` (decoder self-attention): each call appends the new positions' keys and
    values, and queries attend to everything cached so far.
    ``static=True`` (cross-attention): keys and values are computed from the encoder output
    on the first call and reused unchanged afterwards.
    """

    key: torch.Tensor | None = None
    value: torch.Tensor | None = None
    static: bool = False

    @property
    def length(self) -> int:
        """How many positions are cached (``T_past``)."""
        return 0 if self.key is None else self.key.shape[-2]


class MultiHeadAttention(nn.Module):
    """MultiHead(Q, K, V) = Concat(head_1, ..., head_h) W^O, head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V).

    The h per-head projections ``W_i^Q`` (D x Dh) are stored side by side as the columns
    of one ``nn.Linear(D, D)`` (``q_proj``, likewise ``k_proj``, ``v_proj``); head i owns
    output features ``i*Dh : (i+1)*Dh``. ``out_proj`` is W^O.

    Args:
        d_model: model width D.
        num_heads: number of heads H; must divide ``d_model``.
        dropout: dropout on the attention weights while training.
        bias: whether the four projections have a bias.
    """

    def __init__(self, d_model: int, num_heads: int, dropout: float = 0.0, bias: bool = True):
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
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)
        self._packed: tuple[tuple, torch.Tensor, torch.Tensor | None] | None = None

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
            w = torch.cat(params[:3])  # (3D, D)
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
                w = torch.cat(params[:3])  # (3D, D)
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
        """Project and split into heads: ``q`` ``(B, H, T_q, Dh)``, ``k`` and ``v`` ``(B, H, T_k, Dh)``."""
        H = self.num_heads
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
        k = split_heads(self.k_proj(key), H)  # (B, T_k, D) -> (B, H, T_k, Dh)
        v = split_heads(self.v_proj(value), H)  # (B, T_k, D) -> (B, H, T_k, Dh)
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
        expected = (query.shape[0], self.num_heads, self.head_dim)
        for name, t in (("cache.key", cache.key), ("cache.value", cache.value)):
            if (
                not isinstance(t, torch.Tensor)
                or t.dim() != 4
                or (t.shape[0], t.shape[1], t.shape[3]) != expected
            ):
                got = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                raise ValueError(
                    f"{name} must have shape (B={expected[0]}, H={expected[1]}, T_past, "
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
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Attend from ``query`` to ``key``/``value``.

        Args:
            query: ``(B, T_q, D)``.
            key: ``(B, T_k, D)``.
            value: ``(B, T_k, D)``.
            mask: bool, True = may attend, broadcastable to ``(B, H, T_q, T_k)``
                (e.g. ``(T_q, T_k)`` causal or ``(B, 1, 1, T_k)`` padding). With a cache,
                ``T_k`` counts the cached positions too.
            need_weights: return the per-head weights; False takes PyTorch's fused kernel.
            cache: a :class:`KVCache` to read from and (unless static and filled) append to.

        Returns:
            ``output`` ``(B, T_q, D)`` and ``weights`` ``(B, H, T_q, T_k)`` or None.
        """
        self._check_inputs(query, key, value, cache)
        check_bool("need_weights", need_weights)
        if cache is not None and cache.static and cache.key is not None:
            q = split_heads(self.q_proj(query), self.num_heads)  # (B, H, T_q, Dh)
            k, v = cache.key, cache.value
        else:
            q, k, v = self._project_qkv(query, key, value, contiguous=need_weights)  # (B, H, T, Dh)
            if cache is not None:
                if not cache.static and cache.key is not None:
                    k = torch.cat([cache.key, k], dim=-2)  # (B, H, T_past + T_k, Dh)
                    v = torch.cat([cache.value, v], dim=-2)
                cache.key, cache.value = k, v
        out, weights = scaled_dot_product_attention(
            q,
            k,
            v,
            mask=mask,
            dropout_p=self.dropout if self.training else 0.0,
            need_weights=need_weights,
        )  # (B, H, T_q, Dh), (B, H, T_q, T_k)
        return self.out_proj(merge_heads(out)), weights  # (B, T_q, D)

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
