"""Property-based fuzz of the public API: every call gives a correct result or a named error.

Every public function and module of ``attn_lib`` (and of ``attn_lib.efficient``) is driven with
random shapes (zero sizes too), dtypes (four float dtypes, integers, bool), non-contiguous,
expanded (stride-0) and sliced tensors, NaN/inf, wrong types and out-of-range scalars. Each
call must

- either return a result that is correct (compared with PyTorch or an explicit float64
  formula where one exists) and holds no NaN when every input is finite,
- or raise ``ValueError``/``TypeError`` whose message names the offending argument,

and never raise a raw torch error (``RuntimeError``, ``IndexError``, ``ZeroDivisionError``...)
and never modify its input tensors. ``tests/conftest.py`` derandomizes hypothesis, so CI sees
the same examples on every run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import attn_lib
from attn_lib import data as data_mod
from attn_lib import efficient
from attn_lib import train as train_mod

FLOATS = [torch.float32, torch.float64, torch.bfloat16, torch.float16]
ALL_DTYPES = [*FLOATS, torch.int64, torch.int32, torch.bool]
HALF = (torch.float16, torch.bfloat16)
TOL = {torch.float64: 1e-9, torch.float32: 1e-4, torch.float16: 2e-2, torch.bfloat16: 8e-2}
REJECTED = object()
# words of torch's own errors: a message with one of them leaked from inside the library
RAW = (
    "invalid combination of arguments",
    "mat1 and mat2",
    "expected scalar type",
    "index out of range in self",
    "unsupported operand",
    "expected m1 and m2",
    "Expected tensor for argument",
)
WRONG_TYPES = [None, "3", [1, 2], 2.5, True, object()]
FEW = settings(max_examples=40, deadline=None)
MANY = settings(max_examples=80, deadline=None)


# ------------------------------------------------------------------ the harness


def tensors_in(objs: Iterable[object]) -> list[torch.Tensor]:
    out = []
    for o in objs:
        if isinstance(o, torch.Tensor):
            out.append(o)
        elif isinstance(o, (list, tuple)):
            out += tensors_in(o)
        elif isinstance(o, dict):
            out += tensors_in(o.values())
    return out


def all_finite(objs: Iterable[object]) -> bool:
    return all(not t.is_floating_point() or bool(torch.isfinite(t).all()) for t in tensors_in(objs))


def no_nan(result: object) -> bool:
    return all(not t.is_floating_point() or not bool(t.isnan().any()) for t in tensors_in([result]))


def call(fn: Callable, *args: object, names: Iterable[str], **kwargs: object) -> object:
    """``fn(*args, **kwargs)``, or REJECTED after a ValueError/TypeError naming one of ``names``.

    Fails on any other exception, on a mutated input tensor, and on NaN out of finite input.
    """
    inputs = [*args, *kwargs.values()]
    before = [(t, t.clone()) for t in tensors_in(inputs)]
    try:
        result = fn(*args, **kwargs)
    except (ValueError, TypeError) as err:
        msg = str(err)
        assert not any(r in msg for r in RAW), f"a raw torch message leaked: {type(err).__name__}: {msg}"
        names = list(names)
        assert any(n in msg for n in names), f"{type(err).__name__} names none of {names}: {msg}"
        result = REJECTED
    except Exception as err:  # the point of the test: any other exception is a bug
        raise AssertionError(f"raw {type(err).__name__} from {getattr(fn, '__name__', fn)}: {err}") from err
    for t, copy in before:
        torch.testing.assert_close(
            t, copy, atol=0, rtol=0, equal_nan=True, msg="an input tensor was modified"
        )
    if result is not REJECTED and all_finite(inputs):
        assert no_nan(result), f"NaN from finite input in {getattr(fn, '__name__', fn)}"
    return result


@st.composite
def tensors(draw, shape: tuple[int, ...], dtypes=FLOATS, special: bool = True, scale: float | None = None):
    """A tensor of ``shape``: random dtype, layout (contiguous, transposed, expanded, sliced) and values."""
    dtype = draw(dtypes if isinstance(dtypes, st.SearchStrategy) else st.sampled_from(dtypes))
    layout = draw(st.sampled_from(["contiguous", "transposed", "expanded", "sliced"]))
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    shape = tuple(shape)
    base_shape = list(shape)
    if layout == "transposed" and len(shape) >= 2:
        base_shape[-1], base_shape[-2] = base_shape[-2], base_shape[-1]
    elif layout == "expanded" and len(shape) >= 1:
        base_shape[0] = 1
    elif layout == "sliced" and len(shape) >= 1:
        base_shape[-1] = 2 * base_shape[-1]
    if dtype == torch.bool:
        base = torch.randint(0, 2, base_shape, generator=g).bool()
    elif not dtype.is_floating_point:
        base = torch.randint(-2, 15, base_shape, generator=g).to(dtype)
    else:
        s = draw(st.sampled_from([0.1, 1.0, 10.0])) if scale is None else scale
        base = (torch.randn(base_shape, generator=g, dtype=torch.float64) * s).to(dtype)
        if special and base.numel() > 0 and draw(st.integers(0, 9)) == 0:
            base.view(-1)[draw(st.integers(0, base.numel() - 1))] = draw(
                st.sampled_from([float("nan"), float("inf"), float("-inf")])
            )
    if layout == "transposed" and len(shape) >= 2:
        t = base.transpose(-1, -2)
    elif layout == "expanded" and len(shape) >= 1:
        t = base.expand(shape)
    elif layout == "sliced" and len(shape) >= 1:
        t = base[..., ::2]
    else:
        t = base
    assert tuple(t.shape) == shape
    return t


sizes = st.integers(0, 4)
pos_sizes = st.integers(1, 4)


def mostly(valid, *invalid: object, tenths: int = 8):
    """``valid`` (a strategy or a value) ``tenths``/10 of the time, else one of ``invalid``:
    so that most calls get far enough to check a result and every check is still reached."""
    valid = valid if isinstance(valid, st.SearchStrategy) else st.just(valid)
    return st.integers(0, 9).flatmap(
        lambda i: valid if i < tenths or not invalid else st.sampled_from(invalid)
    )


def ref_softmax(x: torch.Tensor, dim: int) -> torch.Tensor:
    """float64 softmax with the library's rule: a slice of only -inf gets zeros."""
    x64 = x.double()
    blocked = (x64 == float("-inf")).all(dim=dim, keepdim=True)
    return torch.softmax(x64, dim=dim).masked_fill(blocked, 0.0)


def ref_attention(q, k, v, mask, scale):
    """float64 explicit attention; rows with no visible key give zeros."""
    q, k, v = q.double(), k.double(), v.double()
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    s = (q @ k.transpose(-2, -1)) * scale
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf"))
    return ref_softmax(s, -1) @ v


def close(actual: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype, size: float = 1.0) -> None:
    tol = TOL[dtype] * max(1.0, size)
    torch.testing.assert_close(actual.double(), expected.double(), atol=tol, rtol=TOL[dtype], equal_nan=True)


# ------------------------------------------------------------------ attention.py


@MANY
@given(data=st.data(), shape=st.lists(sizes, min_size=0, max_size=3))
def test_softmax(data, shape):
    x = data.draw(tensors(tuple(shape), mostly(st.sampled_from(FLOATS), torch.int64, torch.bool)))
    dim = data.draw(mostly(st.integers(-4, 3), None, 1.5, "0", True))
    out = call(attn_lib.softmax, x, dim, names=["x", "dim"])
    if out is REJECTED:
        assert (
            not x.is_floating_point()
            or not isinstance(dim, int)
            or isinstance(dim, bool)
            or not (-max(x.dim(), 1) <= dim < max(x.dim(), 1))
        ), "a valid call was rejected"
        return
    assert out.dtype == x.dtype and out.shape == x.shape
    if x.numel():
        close(out, ref_softmax(x, dim), x.dtype)


@st.composite
def attention_inputs(draw):
    batch = draw(st.sampled_from([(), (2,), (2, 3)]))
    T_q, T_k, d, d_v = draw(sizes), draw(sizes), draw(sizes), draw(sizes)
    dt = draw(st.sampled_from(FLOATS))
    dts = draw(mostly([dt] * 3, [dt, torch.float64, dt], [dt, dt, torch.int64], [torch.bool] * 3))
    q = draw(tensors((*batch, T_q, d), [dts[0]]))
    k_batch = draw(mostly(batch, (3,) * len(batch), tenths=9))
    k = draw(tensors((*k_batch, T_k, draw(mostly(d, d + 1, tenths=9))), [dts[1]]))
    v = draw(tensors((*batch, draw(mostly(T_k, T_k + 1, tenths=9)), d_v), [dts[2]]))
    kind = draw(mostly(st.sampled_from(["none", "full", "row", "key"]), "float", "wrong", "list", tenths=9))
    g = torch.Generator().manual_seed(draw(st.integers(0, 999)))
    mask = None
    if kind == "full":
        mask = torch.rand((*batch, T_q, T_k), generator=g) > 0.4
    elif kind == "row":
        mask = torch.rand((T_q, T_k), generator=g) > 0.4
    elif kind == "key":
        mask = (torch.rand((*batch[:1], 1, T_k), generator=g) > 0.3) if batch else torch.ones(1, T_k).bool()
    elif kind == "float":
        mask = torch.zeros(T_q, T_k)
    elif kind == "wrong":
        mask = torch.ones(T_q + 1, T_k + 2).bool()
    elif kind == "list":
        mask = [[True] * T_k] * T_q
    return q, k, v, mask


@MANY
@given(
    inputs=attention_inputs(),
    need_weights=mostly(st.booleans(), 1, None, tenths=9),
    scale=mostly(st.sampled_from([None, None, 0.5, 0.0, -1.0, 2]), float("nan"), float("inf"), "1", True),
    dropout_p=mostly(st.sampled_from([0.0, 0.0, 0.0, 0.5]), 1.0, -0.1, float("nan"), "0"),
)
def test_scaled_dot_product_attention(inputs, need_weights, scale, dropout_p):
    q, k, v, mask = inputs
    res = call(
        attn_lib.scaled_dot_product_attention,
        q,
        k,
        v,
        mask=mask,
        dropout_p=dropout_p,
        scale=scale,
        need_weights=need_weights,
        names=["query", "key", "value", "mask", "dropout_p", "scale", "need_weights"],
    )
    if res is REJECTED:
        return
    out, w = res
    assert out.dtype == q.dtype
    assert out.shape[-2:] == (q.shape[-2], v.shape[-1])
    assert (w is None) == (not need_weights)
    if dropout_p == 0.0 and all_finite([q, k, v]):
        size = float(v.abs().max()) if v.numel() else 1.0
        close(out, ref_attention(q, k, v, mask, scale), q.dtype, size)
        if w is not None:
            expected = ref_softmax(
                (
                    (q.double() @ k.double().transpose(-2, -1))
                    * (scale if scale is not None else (1 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0))
                ).masked_fill(
                    ~mask if mask is not None else torch.zeros((), dtype=torch.bool), float("-inf")
                ),
                -1,
            )
            close(w, expected, q.dtype)


# ------------------------------------------------------------------ masks.py


length = mostly(st.integers(-1, 5), 2.0, True, "3")


@FEW
@given(
    T_q=length,
    T_k=mostly(st.one_of(st.none(), length), tenths=10),
    device=mostly(st.sampled_from([None, "cpu", torch.device("cpu")]), "nope", 3),
)
def test_causal_mask(T_q, T_k, device):
    m = call(attn_lib.causal_mask, T_q, T_k, device, names=["T_q", "T_k", "device"])
    if m is REJECTED:
        return
    T_k = T_q if T_k is None else T_k
    i, j = torch.arange(T_q)[:, None], torch.arange(T_k)[None, :]
    assert torch.equal(m, j <= i + max(T_k - T_q, 0))


@FEW
@given(data=st.data(), shape=mostly(st.tuples(sizes, sizes), (3,), (2, 2, 2)))
def test_padding_mask(data, shape):
    tokens = data.draw(
        tensors(tuple(shape), mostly(st.sampled_from([torch.int64, torch.int32]), torch.float32, torch.bool))
    )
    pad_id = data.draw(mostly(st.sampled_from([0, 3, -1]), 2.5, torch.tensor([0, 1]), None, True))
    m = call(attn_lib.padding_mask, tokens, pad_id, names=["tokens", "pad_id"])
    if m is REJECTED:
        return
    assert torch.equal(m, (tokens != pad_id)[:, None, None, :])


@FEW
@given(data=st.data(), n=st.integers(0, 3))
def test_combine_masks(data, n):
    masks = [
        data.draw(
            st.one_of(
                st.none(),
                tensors(
                    (data.draw(mostly(st.sampled_from([1, 3]), 2)), 4),
                    mostly(torch.bool, torch.float32, torch.int64),
                ),
            )
        )
        for _ in range(n)
    ]
    if data.draw(st.integers(0, 9)) == 0:
        masks.append(data.draw(st.sampled_from(WRONG_TYPES)))
    m = call(attn_lib.combine_masks, *masks, names=["masks"])
    if m is REJECTED:
        return
    real = [x for x in masks if x is not None]
    if not real:
        assert m is None
        return
    expected = real[0]
    for x in real[1:]:
        expected = expected & x
    assert torch.equal(m, expected)


@FEW
@given(data=st.data(), shape=st.lists(sizes, min_size=0, max_size=3))
def test_to_additive_mask_and_to_torch_mha_mask(data, shape):
    mask = data.draw(tensors(tuple(shape), mostly(torch.bool, torch.float32, torch.int64)))
    dtype = data.draw(mostly(st.sampled_from(FLOATS), torch.bool, torch.int64, "float32", None))
    bias = call(attn_lib.to_additive_mask, mask, dtype=dtype, names=["mask", "dtype"])
    if bias is not REJECTED:
        assert bias.dtype == dtype
        assert torch.equal(bias == 0, mask) and bool((bias[~mask] == float("-inf")).all())
    flipped = call(attn_lib.to_torch_mha_mask, mask, names=["mask"])
    if flipped is not REJECTED:
        assert torch.equal(flipped, ~mask)


# ------------------------------------------------------------------ multihead.py


@FEW
@given(data=st.data(), shape=st.lists(sizes, min_size=2, max_size=5))
def test_split_and_merge_heads(data, shape):
    x = data.draw(tensors(tuple(shape), ALL_DTYPES))
    num_heads = data.draw(mostly(st.sampled_from([1, 2, 3]), 0, -1, 2.0, True, None))
    heads = call(attn_lib.split_heads, x, num_heads, names=["x", "num_heads"])
    if heads is not REJECTED:
        assert torch.equal(attn_lib.merge_heads(heads), x)
    merged = call(attn_lib.merge_heads, x, names=["x"])
    if merged is not REJECTED:
        B, H, T, Dh = x.shape
        assert torch.equal(merged, x.transpose(1, 2).reshape(B, T, H * Dh))


module_size = mostly(st.integers(1, 8), 0, -1, 2.0, True, None, "4")
rate = mostly(st.sampled_from([0.0, 0.0, 0.1]), 1.0, -0.5, float("nan"), "0.1", None, tenths=9)


def build(cls, *args, names, **kwargs):
    """Construct a module; REJECTED (after a named error) or the module."""
    return call(cls, *args, names=names, **kwargs)


@MANY
@given(
    data=st.data(),
    head_dim=st.integers(1, 4),
    num_heads=mostly(st.integers(1, 3), 0, -1, 2.0, True, None, "4", tenths=9),
    dropout=rate,
    bias=mostly(st.booleans(), 1, tenths=9),
    param_dtype=st.sampled_from(FLOATS),
)
def test_multi_head_attention(data, head_dim, num_heads, dropout, bias, param_dtype):
    d_model = data.draw(mostly(head_dim * num_heads if isinstance(num_heads, int) else 4, 5, 0, tenths=9))
    names = ["d_model", "num_heads", "dropout", "bias"]
    mha = build(attn_lib.MultiHeadAttention, d_model, num_heads, dropout=dropout, bias=bias, names=names)
    if mha is REJECTED:
        return
    mha = mha.to(param_dtype).eval()
    B, T_q, T_k = data.draw(pos_sizes), data.draw(sizes), data.draw(sizes)
    widths = mostly(d_model, d_model + 1, tenths=9)
    in_dtypes = mostly(param_dtype, torch.float64, torch.int64, tenths=9)
    q = data.draw(tensors((B, T_q, data.draw(widths)), in_dtypes, scale=1.0))
    self_attention = data.draw(st.booleans())
    if self_attention:
        k = v = q
    else:
        k = data.draw(
            tensors((data.draw(mostly(B, B + 1, tenths=9)), T_k, data.draw(widths)), in_dtypes, scale=1.0)
        )
        v = data.draw(tensors((k.shape[0], T_k, d_model), [param_dtype], scale=1.0))
    mask = data.draw(mostly(st.sampled_from([None, "causal"]), "wrong", "float", tenths=9))
    if mask == "causal":
        mask = torch.rand(q.shape[1], k.shape[1]) > 0.3
    elif mask == "wrong":
        mask = torch.ones(q.shape[1] + 1, k.shape[1] + 1, dtype=torch.bool)
    elif mask == "float":
        mask = torch.zeros(q.shape[1], k.shape[1])
    need_weights = data.draw(mostly(st.booleans(), None, tenths=9))
    cache = data.draw(mostly(st.sampled_from([None, None, "fresh", "static"]), "foreign", "junk", tenths=9))
    if cache == "fresh":
        cache = attn_lib.KVCache()
    elif cache == "static":
        cache = attn_lib.KVCache(static=True)
    elif cache == "foreign":  # filled by another layout
        cache = attn_lib.KVCache(key=torch.zeros(B + 1, 1, 2, 3), value=torch.zeros(B + 1, 1, 2, 3))
    elif cache == "junk":
        cache = {"key": None}
    mask = mask if cache is None else None
    names = ["query", "key", "value", "mask", "need_weights", "cache"]
    with torch.no_grad():
        res = call(mha, q, k, v, mask=mask, need_weights=need_weights, cache=cache, names=names)
    if res is REJECTED:
        return
    out, w = res
    assert out.shape == q.shape and out.dtype == param_dtype
    if w is not None:
        assert w.shape[:3] == (B, num_heads, q.shape[1]) and w.shape[3] >= k.shape[1]
    if self_attention and dropout == 0.0 and all_finite([q]):  # the packed path equals the separate one
        with torch.no_grad():
            separate, _ = mha(q, q.clone(), q.clone(), mask=mask, need_weights=need_weights)
        close(out, separate, param_dtype, 4.0)


# ------------------------------------------------------------------ positional.py


@FEW
@given(
    max_len=module_size,
    d_model=module_size,
    base=mostly(
        st.sampled_from([10000.0, 100, 2.0]), 1.0, 0.0, -5.0, float("nan"), float("inf"), "1e4", None
    ),
)
def test_sinusoidal_positional_encoding(max_len, d_model, base):
    pe = call(
        attn_lib.sinusoidal_positional_encoding,
        max_len,
        d_model,
        base=base,
        names=["max_len", "d_model", "base"],
    )
    if pe is REJECTED:
        return
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    freq = float(base) ** (-torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    torch.testing.assert_close(pe[:, 0::2].double(), torch.sin(pos * freq), atol=1e-5, rtol=0)
    torch.testing.assert_close(pe[:, 1::2].double(), torch.cos(pos * freq), atol=1e-5, rtol=0)


@FEW
@given(
    data=st.data(),
    d_model=mostly(st.sampled_from([2, 4]), 3, 0),
    max_len=mostly(st.sampled_from([1, 6]), 0),
    dropout=rate,
)
def test_positional_encoding_module(data, d_model, max_len, dropout):
    pos = build(
        attn_lib.PositionalEncoding,
        d_model,
        max_len,
        dropout=dropout,
        names=["d_model", "max_len", "dropout"],
    )
    if pos is REJECTED:
        return
    pos.eval()
    x = data.draw(
        tensors(
            (data.draw(pos_sizes), data.draw(sizes), data.draw(mostly(d_model, d_model + 2, tenths=9))),
            mostly(st.sampled_from(FLOATS), torch.int64, torch.bool),
        )
    )
    start = data.draw(mostly(st.sampled_from([0, 0, 2, 5]), -1, 1.5, None))
    out = call(pos, x, start=start, names=["x", "start", "max_len", "d_model"])
    if out is REJECTED:
        return
    assert out.dtype == x.dtype
    expected = (
        x.double()
        + attn_lib.sinusoidal_positional_encoding(max_len, d_model)[start : start + x.shape[1]].double()
    )
    close(out, expected, x.dtype, 10.0)


# ------------------------------------------------------------------ layers.py and model.py


@FEW
@given(data=st.data(), d_model=module_size, d_ff=module_size, dropout=rate, dtype=st.sampled_from(FLOATS))
def test_feed_forward(data, d_model, d_ff, dropout, dtype):
    ff = build(attn_lib.FeedForward, d_model, d_ff, dropout=dropout, names=["d_model", "d_ff", "dropout"])
    if ff is REJECTED:
        return
    ff = ff.to(dtype).eval()
    shape = data.draw(
        mostly(st.sampled_from([(2, 3, d_model), (1, 0, d_model)]), (2, 3, d_model + 1), (3, d_model))
    )
    x = data.draw(tensors(shape, mostly(dtype, torch.float64, torch.int64), scale=1.0))
    out = call(ff, x, names=["x"])
    if out is not REJECTED:
        expected = ff.linear2(torch.relu(ff.linear1(x)))
        close(out, expected, dtype)


@MANY
@given(
    data=st.data(),
    d_model=mostly(st.sampled_from([4, 8]), 6, 0, -2, 4.0, tenths=9),
    num_heads=mostly(st.sampled_from([1, 2]), 3, 0, tenths=9),
    d_ff=mostly(8, 0, -1, tenths=9),
    norm_first=mostly(st.booleans(), 1, None, tenths=9),
    dtype=st.sampled_from(FLOATS),
)
def test_encoder_and_decoder_layers(data, d_model, num_heads, d_ff, norm_first, dtype):
    names = ["d_model", "num_heads", "d_ff", "norm_first", "dropout"]
    enc = build(attn_lib.EncoderLayer, d_model, num_heads, d_ff, norm_first=norm_first, names=names)
    dec = build(attn_lib.DecoderLayer, d_model, num_heads, d_ff, norm_first=norm_first, names=names)
    assert (enc is REJECTED) == (dec is REJECTED)
    if enc is REJECTED:
        return
    enc, dec = enc.to(dtype).eval(), dec.to(dtype).eval()
    B = data.draw(pos_sizes)
    width = mostly(d_model, d_model + 1, tenths=9)
    x = data.draw(
        tensors(
            (B, data.draw(sizes), data.draw(width)),
            mostly(dtype, torch.float64, torch.int64, tenths=9),
            scale=1.0,
        )
    )
    memory = data.draw(
        tensors(
            (data.draw(mostly(B, B + 1, tenths=9)), data.draw(sizes), data.draw(width)), [dtype], scale=1.0
        )
    )
    need_weights = data.draw(st.booleans())
    with torch.no_grad():
        res = call(enc, x, need_weights=need_weights, names=["x", "mask", "need_weights"])
        if res is not REJECTED:
            assert res[0].shape == x.shape and res[0].dtype == dtype
        res = call(
            dec, x, memory, need_weights=need_weights, names=["x", "memory", "mask", "need_weights", "key"]
        )
        if res is not REJECTED:
            assert res[0].shape == x.shape and res[0].dtype == dtype


small_vocab = mostly(st.sampled_from([5, 13, 1]), 0, -3, 5.0, tenths=9)


@MANY
@given(
    data=st.data(),
    src_vocab=small_vocab,
    tgt_vocab=small_vocab,
    d_model=mostly(8, 6, 0, 7, tenths=9),
    num_heads=mostly(2, 3, 0, tenths=9),
    layers=mostly(st.sampled_from([(1, 1), (0, 1), (1, 0), (2, 1)]), (-1, 1), (1, 2.0), tenths=9),
    pad_id=mostly(st.sampled_from([0, 0, None, 4]), 12, -1, 1.5, tenths=9),
    max_len=mostly(st.sampled_from([16, 5]), 0, tenths=9),
    dtype=st.sampled_from(FLOATS),
)
def test_transformer(data, src_vocab, tgt_vocab, d_model, num_heads, layers, pad_id, max_len, dtype):
    names = [
        "src_vocab_size",
        "tgt_vocab_size",
        "d_model",
        "num_heads",
        "num_encoder_layers",
        "num_decoder_layers",
        "pad_id",
        "max_len",
        "d_ff",
        "dropout",
        "norm_first",
    ]
    model = build(
        attn_lib.Transformer,
        src_vocab,
        tgt_vocab,
        d_model=d_model,
        num_heads=num_heads,
        num_encoder_layers=layers[0],
        num_decoder_layers=layers[1],
        d_ff=16,
        max_len=max_len,
        pad_id=pad_id,
        names=names,
    )
    if model is REJECTED:
        return
    model = model.to(dtype).eval()
    B = data.draw(pos_sizes)
    high = data.draw(mostly(src_vocab, src_vocab + 1, tenths=9))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 999)))
    src = torch.randint(0, high, (B, data.draw(st.integers(1, 5))), generator=g)
    tgt = torch.randint(
        0,
        min(tgt_vocab, high),
        (data.draw(mostly(B, B + 1, tenths=9)), data.draw(mostly(st.integers(1, 4), 0))),
        generator=g,
    )
    tgt = data.draw(mostly(tgt, tgt.bool(), tgt.float(), tgt - 2, tgt[0]))
    with torch.no_grad():
        logits = call(model, src, tgt, names=["src", "tgt", "max_len"])
    if logits is not REJECTED:
        assert logits.shape == (*tgt.shape, tgt_vocab) and logits.dtype == dtype
    maps = call(model.attention_maps, src, tgt, names=["src", "tgt", "max_len"])
    if maps is not REJECTED:
        assert len(maps.cross) == layers[1]
    bos, eos = data.draw(mostly(st.sampled_from([(1, 2), (0, 0)]), (99, 2), (1.5, 2), (1, -1), (None, 2)))
    ys = call(
        attn_lib.greedy_decode,
        model,
        src,
        data.draw(mostly(st.sampled_from([1, 3]), 0, 100, 2.0)),
        bos,
        eos,
        use_cache=data.draw(mostly(st.booleans(), "yes")),
        names=["max_len", "bos_id", "eos_id", "use_cache", "src"],
    )
    if ys is not REJECTED:
        assert ys.shape[0] == B and bool((ys[:, 0] == bos).all())
        assert bool(((ys >= 0) & (ys < tgt_vocab)).all())


def test_greedy_decode_rejects_what_is_not_a_transformer():
    call(
        attn_lib.greedy_decode,
        torch.nn.Linear(2, 2),
        torch.ones(1, 2, dtype=torch.long),
        3,
        1,
        2,
        names=["model"],
    )


# ------------------------------------------------------------------ data.py and train.py


@FEW
@given(
    digits=st.one_of(
        st.text(alphabet="0123456789", max_size=5), st.text(max_size=3), st.sampled_from(WRONG_TYPES)
    ),
    ids=st.one_of(
        st.lists(st.integers(-2, 15), max_size=6),
        st.sampled_from(
            [[1.5, 3], "123", None, torch.tensor([1, 5, 2]), torch.tensor([[3]]), torch.tensor([3.0]), [True]]
        ),
    ),
)
def test_encode_decode_and_labels(digits, ids):
    tokens = call(data_mod.encode, digits, names=["digits"])
    if tokens is not REJECTED:
        assert data_mod.decode(tokens) == digits
    text = call(data_mod.decode, ids, names=["ids", "token id"])
    labels = call(data_mod.token_labels, ids, names=["ids", "token id"])
    if labels is not REJECTED:
        assert len(labels) == len(ids)
    if text is not REJECTED:
        assert set(text) <= set("0123456789")


@FEW
@given(
    seqs=st.one_of(
        st.lists(st.lists(st.integers(0, 12), max_size=4), max_size=3),
        st.sampled_from([[[1.5]], "12", None, [[1], "2"], torch.ones(2, 2)]),
    ),
    pad_id=st.sampled_from([0, 7, 1.5, None, True]),
)
def test_pad_sequences_and_make_batch(seqs, pad_id):
    out = call(data_mod.pad_sequences, seqs, pad_id=pad_id, names=["seqs", "pad_id"])
    if out is not REJECTED:
        assert out.shape == (len(seqs), max(len(s) for s in seqs))
        for row, s in zip(out.tolist(), seqs, strict=True):
            assert row == [*s, *[pad_id] * (out.shape[1] - len(s))]
    batch = call(data_mod.make_batch, seqs, seqs, names=["sources", "answers", "seqs"])
    if batch is not REJECTED:
        assert len(batch) == len(seqs)


@FEW
@given(
    batch_size=module_size,
    min_len=module_size,
    max_len=module_size,
    generator=st.sampled_from([None, "g", 3]),
    task=st.sampled_from(["reversal", "copy", "held_out"]),
)
def test_random_batches(batch_size, min_len, max_len, generator, task):
    names = ["batch_size", "min_len", "max_len", "generator", "n", "seed"]
    if task == "held_out":
        batch = call(data_mod.reversal_held_out_set, batch_size, min_len, max_len, names=names)
    else:
        fn = data_mod.make_reversal_batch if task == "reversal" else data_mod.make_copy_batch
        batch = call(fn, batch_size, min_len, max_len, generator=generator, names=names)
    if batch is REJECTED:
        return
    src, tgt_in, tgt_out = batch
    shifted = tgt_out[:, :-1].masked_fill(tgt_out[:, :-1] == data_mod.EOS, data_mod.PAD)  # teacher forcing
    assert torch.equal(tgt_in[:, 1:], shifted) and bool((tgt_in[:, 0] == data_mod.BOS).all())
    for s, t in zip(data_mod.to_strings(src), data_mod.to_strings(tgt_out), strict=True):
        assert min_len <= len(s) <= max_len
        assert t == (s if task == "copy" else s[::-1])


@FEW
@given(data=st.data(), V=st.sampled_from([5, 0]), pad_id=st.sampled_from([0, None, 1.5, 4]))
def test_sequence_loss(data, V, pad_id):
    B, T = data.draw(pos_sizes), data.draw(pos_sizes)
    logits = data.draw(tensors((B, T, V), [torch.float32, torch.float64, torch.int64]))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 99)))
    tgt = torch.randint(
        0,
        max(V, 1) + data.draw(st.sampled_from([0, 0, 2])),
        (B, data.draw(st.sampled_from([T, T, T + 1]))),
        generator=g,
    )
    tgt = data.draw(st.sampled_from([tgt, tgt, tgt.float(), tgt - 1]))
    loss = call(train_mod.sequence_loss, logits, tgt, pad_id, names=["logits", "tgt_out", "pad_id"])
    if loss is not REJECTED:
        keep = torch.ones_like(tgt, dtype=torch.bool) if pad_id is None else tgt != pad_id
        expected = F.cross_entropy(logits[keep].double(), tgt[keep])
        torch.testing.assert_close(loss.double(), expected, atol=1e-5, rtol=1e-5, equal_nan=True)


@FEW
@given(
    step=st.sampled_from([0, 3, 9, -1, 1.5]),
    steps=st.sampled_from([10, 1, 0, "10"]),
    warmup=st.sampled_from([0, 2, -1, None]),
    min_factor=st.sampled_from([0.1, 0.0, 1.0, 1.5, float("nan")]),
)
def test_warmup_cosine_schedule(step, steps, warmup, min_factor):
    f = call(
        train_mod.warmup_cosine_schedule,
        step,
        steps,
        warmup,
        min_factor,
        names=["step", "steps", "warmup", "min_factor"],
    )
    if f is not REJECTED:
        assert min(min_factor, 1 / max(warmup, 1)) - 1e-12 <= f <= 1.0 + 1e-12


@FEW
@given(data=st.data(), eos=st.sampled_from([2, 2, 1.5, None]), pad=st.sampled_from([0, 0, "0"]))
def test_exact_match(data, eos, pad):
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 99)))
    B = data.draw(pos_sizes)
    tgt = torch.randint(3, 6, (B, 4), generator=g)
    tgt[:, data.draw(st.integers(0, 3))] = 2
    pred = data.draw(
        st.sampled_from(
            [tgt.clone(), tgt[:, :2], torch.randint(2, 6, (B, 5), generator=g), tgt.float(), tgt[:1]]
        )
    )
    res = call(train_mod.exact_match, pred, tgt, eos, pad, names=["pred", "tgt", "eos_id", "pad_id"])
    if res is not REJECTED and pred.shape == tgt.shape and torch.equal(pred, tgt):
        assert bool(res.all())


def test_train_and_accuracy_reject_bad_arguments_by_name():
    model = attn_lib.Transformer(
        13, 13, d_model=8, num_heads=2, num_encoder_layers=1, num_decoder_layers=1, d_ff=16
    )
    batch = data_mod.make_reversal_batch(4, 2, 3, torch.Generator().manual_seed(0))
    for kwargs, name in [
        ({"steps": 0}, "steps"),
        ({"steps": 1.0}, "steps"),
        ({"lr": "1e-3"}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"warmup": -1}, "warmup"),
        ({"min_lr_factor": 2.0}, "min_lr_factor"),
        ({"clip_grad_norm": 0.0}, "clip_grad_norm"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"pad_id": 1.5}, "pad_id"),
        ({"progress": 3}, "progress"),
    ]:
        args = {"steps": 1, **kwargs}
        assert call(train_mod.train, model, lambda s: batch, names=[name], **args) is REJECTED, kwargs
    assert call(train_mod.train, "model", lambda s: batch, 1, names=["model"]) is REJECTED
    assert call(train_mod.train, model, batch, 1, names=["batch_fn"]) is REJECTED
    losses = call(train_mod.train, model, lambda s: batch, 2, names=["-"])
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)
    for args, name in [
        ((model, batch.src, batch.tgt_out[:1], 1, 2), "tgt"),
        ((model, batch.src, batch.tgt_out, 1.5, 2), "bos_id"),
        ((model, batch.src, batch.tgt_out, 1, 2, None, 0), "batch_size"),
        (("m", batch.src, batch.tgt_out, 1, 2), "model"),
        ((model, batch.src[:0], batch.tgt_out[:0], 1, 2), "src"),
    ]:
        assert call(train_mod.exact_match_accuracy, *args, names=[name]) is REJECTED, name
    acc = call(train_mod.exact_match_accuracy, model, batch.src, batch.tgt_out, 1, 2, names=["-"])
    assert 0.0 <= acc <= 1.0
    for args, name in [((0,), "total"), ((5, 3), "description"), ((5, "x", 0), "every")]:
        assert call(train_mod.ProgressBar, *args, names=[name]) is REJECTED, name


# ------------------------------------------------------------------ efficient.py (another engineer's module)


@MANY
@given(
    inputs=attention_inputs(),
    chunk_size=st.sampled_from([1, 2, 256, 0, -1, 2.0, None]),
    scale=st.sampled_from([None, None, 0.5, float("nan"), "1"]),
)
def test_chunked_attention(inputs, chunk_size, scale):
    q, k, v, mask = inputs
    names = ["query", "key", "value", "mask", "chunk_size", "scale"]
    out = call(
        efficient.chunked_attention, q, k, v, mask=mask, chunk_size=chunk_size, scale=scale, names=names
    )
    if out is REJECTED:
        return
    assert out.dtype == q.dtype
    if all_finite([q, k, v]):
        size = float(v.abs().max()) if v.numel() else 1.0
        close(out, ref_attention(q, k, v, mask, scale), q.dtype, size)


@pytest.mark.skipif(
    not hasattr(efficient, "tiled_attention"), reason="efficient.tiled_attention not built yet"
)
@MANY
@given(
    inputs=attention_inputs(),
    block_q=mostly(st.sampled_from([1, 2, 256]), 0, -1, 2.0, None),
    block_k=mostly(st.sampled_from([1, 3, 256]), 0, 1.5, None),
    scale=mostly(st.sampled_from([None, None, 0.5]), float("nan"), "1"),
)
def test_tiled_attention(inputs, block_q, block_k, scale):
    q, k, v, mask = inputs
    names = ["query", "key", "value", "mask", "block_q", "block_k", "scale"]
    res = call(
        efficient.tiled_attention,
        q,
        k,
        v,
        mask=mask,
        block_q=block_q,
        block_k=block_k,
        scale=scale,
        names=names,
    )
    if res is REJECTED:
        return
    out, lse = res
    assert out.dtype == q.dtype and lse.shape == out.shape[:-1]
    if all_finite([q, k, v]):
        size = float(v.abs().max()) if v.numel() else 1.0
        close(out, ref_attention(q, k, v, mask, scale), q.dtype, size)


@FEW
@given(
    data=st.data(),
    shape=st.lists(sizes, min_size=0, max_size=2),
    chunk_size=st.sampled_from([1, 3, 0, 1.5, None]),
)
def test_online_softmax_steps(data, shape, chunk_size):
    scores = data.draw(st.one_of(tensors(tuple(shape), ALL_DTYPES), st.sampled_from(WRONG_TYPES)))
    steps = call(efficient.online_softmax_steps, scores, chunk_size, names=["scores", "chunk_size"])
    if steps is REJECTED or not all_finite([scores]) or scores.numel() == 0:
        return
    torch.testing.assert_close(
        torch.tensor(steps[-1]["weights"], dtype=torch.float64),
        ref_softmax(scores, 0).double(),
        atol=1e-6,
        rtol=1e-6,
    )


@pytest.mark.parametrize(
    "fn, args, name",
    [
        ("measure_time", (3,), "fn"),
        ("measure_time", (lambda: None, 0), "repeats"),
        ("measure_time", (lambda: None, 2, -1), "warmup"),
        ("measure_peak_memory", ("f",), "fn"),
        ("operators_called", (None,), "fn"),
    ],
)
def test_efficient_measurement_helpers_reject_bad_arguments_by_name(fn, args, name):
    assert call(getattr(efficient, fn), *args, names=[name]) is REJECTED
