"""What is wrong with a learner's result, in words: the type, length, shape, dtype, NaN or values.

Each ``_..._problem`` function returns a sentence saying what differs (where, by how much, and
often how to fix it), or None when nothing does; ``_error_text`` does the same for an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from .core import Exercise, Out


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


def _index(flat: int, shape: Sequence[int]) -> tuple[int, ...]:
    idx = []
    for size in reversed(shape):
        flat, r = divmod(flat, size)
        idx.append(r)
    return tuple(reversed(idx))


def _short_list(values: Sequence[int], limit: int = 8) -> str:
    values = sorted(set(values))
    if len(values) <= limit:
        return str(values)
    return "[" + ", ".join(map(str, values[:limit])) + f", ... ({len(values)} in all)]"


def _where(bad: torch.Tensor) -> str:
    """Which positions a boolean ``bad`` marks: rows and columns of the last two dimensions."""
    positions = bad.nonzero().tolist()
    if bad.dim() == 1:
        return f" (positions {_short_list([p[0] for p in positions])})"
    if bad.dim() >= 2:
        rows = _short_list([p[-2] for p in positions])
        cols = _short_list([p[-1] for p in positions])
        return f" (rows {rows} and columns {cols} of the last two dimensions)"
    return ""


def _type_name(obj: Any) -> str:
    if obj is None:
        return "None"
    if obj is Ellipsis:
        return "Ellipsis (`...`)"
    name = type(obj).__name__
    module = type(obj).__module__
    if module == "numpy":
        return f"a numpy.{name}"
    if isinstance(obj, str):
        return f"a str ({obj[:40]!r})"
    return f"{'an' if name[0] in 'aeiouAEIOU' else 'a'} {name}"


def _type_hint(obj: Any) -> str:
    if type(obj).__module__ == "numpy":
        return " Stay in torch (no `.numpy()`), or convert back with `torch.from_numpy(...)`."
    if isinstance(obj, (list, float, int)):
        return (
            " Keep the computation in tensors (no `.tolist()` / `.item()`), or wrap with `torch.tensor(...)`."
        )
    return ""


_KIND_TEXT = {"float": "a float tensor", "bool": "a bool tensor", "long": "an integer (torch.long) tensor"}


def _dtype_problem(kind: str, got: torch.Tensor, where: str) -> str | None:
    dt = got.dtype
    if kind == "float":
        if not dt.is_floating_point:
            return f"{where} has dtype {dt}; expected {_KIND_TEXT[kind]} (torch.float32)."
        if dt in (torch.float16, torch.bfloat16):
            return f"{where} has dtype {dt}; expected torch.float32 (half precision is too coarse here)."
        return None
    if kind == "bool":
        if dt == torch.bool:
            return None
        hint = " Build it from a comparison (`==`, `!=`) or with `dtype=torch.bool`, or call `.bool()`."
        if dt.is_floating_point:
            hint += " An additive 0 / −inf float tensor is a *bias*, not a mask."
        return f"{where} has dtype {dt}; expected a bool tensor (True = may attend).{hint}"
    if dt.is_floating_point or dt == torch.bool:
        return f"{where} has dtype {dt}; expected integer token ids (torch.long), as `argmax` gives."
    return None


def _value_problem(got: torch.Tensor, exp: torch.Tensor, ex: Exercise, where: str) -> str | None:
    n = got.numel()
    if not got.dtype.is_floating_point:
        bad = got.long() != exp.long()
        if not bad.any():
            return None
        idx = tuple(bad.nonzero()[0].tolist())
        return (
            f"{where} differs at {int(bad.sum())} of {n} entries{_where(bad)}, e.g. at index {idx}: "
            f"yours {_fmt(got[idx].item())}, expected {_fmt(exp[idx].item())}."
        )
    g, e = got.double(), exp.double()
    for name, test in (("NaN", torch.isnan), ("±inf", torch.isinf)):
        new = test(g) & ~test(e)
        if new.any():
            idx = tuple(new.nonzero()[0].tolist())
            return (
                f"{where} contains {name} at {int(new.sum())} of {n} entries{_where(new)}, e.g. at index "
                f"{idx}, where the expected value is {_fmt(e[idx].item())}."
            )
    bad = ~torch.isclose(g, e, rtol=ex.rtol, atol=ex.atol, equal_nan=True)
    if not bad.any():
        return None
    err = (g - e).abs().nan_to_num(nan=math.inf).masked_fill(~bad, -1.0)
    idx = _index(int(err.argmax()), err.shape)
    return (
        f"{where} differs from the expected values at {int(bad.sum())} of {n} entries{_where(bad)}; "
        f"the largest difference is {_fmt(err[idx].item())} at index {idx}: yours {_fmt(g[idx].item())}, "
        f"expected {_fmt(e[idx].item())}."
    )


def _tensor_problem(out: Out, got: Any, exp: torch.Tensor, ex: Exercise, where: str) -> str | None:
    shape = f"{tuple(exp.shape)} = {out.dims}"
    if not isinstance(got, torch.Tensor):
        return f"{where} is {_type_name(got)}; expected a torch.Tensor of shape {shape}.{_type_hint(got)}"
    if got.shape != exp.shape:
        msg = f"{where} has shape {tuple(got.shape)}; expected {shape}"
        if sorted(got.shape) == sorted(exp.shape):
            msg += " (the same sizes in another order: a transpose or permute is missing or wrong)"
        return msg + "."
    return _dtype_problem(out.kind, got, where) or _value_problem(got, exp, ex, where)


_ORDINAL = ("1st", "2nd", "3rd", "4th")


def _output_problem(got: Any, expected: Any, ex: Exercise) -> str | None:
    """What is wrong with a returned value (type, length, shape, dtype, NaN, values), or None."""
    if len(ex.outputs) == 1:
        return _tensor_problem(ex.outputs[0], got, expected, ex, "Your result")
    names = ", ".join(o.name for o in ex.outputs)
    if not isinstance(got, (tuple, list)):
        return f"Your function returned {_type_name(got)}; expected a tuple ({names})."
    if len(got) != len(ex.outputs):
        return f"Your function returned {len(got)} items; expected {len(ex.outputs)}: ({names})."
    for i, (out, g, e) in enumerate(zip(ex.outputs, got, expected, strict=True)):
        problem = _tensor_problem(out, g, e, ex, f"`{out.name}` (the {_ORDINAL[i]} item you return)")
        if problem:
            return problem
    return None


_ERROR_HINTS = (
    (
        "view size is not compatible",
        "`.view` needs a contiguous tensor: use `.reshape(...)` (or `.contiguous().view(...)`).",
    ),
    (
        "cannot be multiplied",
        "a matrix product got mismatched sizes: print the shapes of both operands just before it.",
    ),
    (
        "must match the size",
        "two tensors do not broadcast: print their shapes; `keepdim=True` keeps a reduced dimension.",
    ),
    (
        "Expected size for first two dimensions",
        "a batched matrix product got mismatched sizes: print both shapes.",
    ),
    ("positional argument", "check the signature: it must be `{signature}`."),
    ("NoneType", "something is None: does every helper you call `return` its result?"),
)


def _error_text(err: BaseException, ex: Exercise) -> str:
    try:
        said = str(err).strip()
    except Exception:  # an exception whose message itself raises
        said = "(its message could not be shown)"
    first = said.splitlines()[0] if said else ""
    if len(first) > 300:
        first = first[:300] + " ..."
    text = f"Your function raised {type(err).__name__}: {first}"
    if isinstance(err, (SystemExit, GeneratorExit)) or not isinstance(err, Exception):
        return f"{text}\nTip: a function checked here should return its result, not exit or stop the kernel."
    for needle, hint in _ERROR_HINTS:
        if needle in said:
            return f"{text}\nTip: {hint.format(signature=ex.signature)}"
    return text
