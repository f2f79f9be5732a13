"""What is wrong with a learner's result, in words: the type, length, shape, dtype, NaN or values.

Each ``_..._problem`` function returns a sentence saying what differs (where, by how much, and
often how to fix it), or None when nothing does; ``_error_text`` does the same for an exception.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from ..i18n import N_, _

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
    return "[" + ", ".join(map(str, values[:limit])) + _(", ... ({count} in all)]").format(count=len(values))


def _where(bad: torch.Tensor) -> str:
    """Which positions a boolean ``bad`` marks: rows and columns of the last two dimensions."""
    positions = bad.nonzero().tolist()
    if bad.dim() == 1:
        return _(" (positions {positions})").format(positions=_short_list([p[0] for p in positions]))
    if bad.dim() >= 2:
        rows = _short_list([p[-2] for p in positions])
        cols = _short_list([p[-1] for p in positions])
        return _(" (rows {rows} and columns {cols} of the last two dimensions)").format(rows=rows, cols=cols)
    return ""


def _type_name(obj: Any) -> str:
    if obj is None:
        return "None"
    if obj is Ellipsis:
        return _("Ellipsis (`...`)")
    name = type(obj).__name__
    module = type(obj).__module__
    if module == "numpy":
        return _("a numpy.{name}").format(name=name)
    if isinstance(obj, str):
        return _("a str ({text})").format(text=repr(obj[:40]))
    return (_("an {name}") if name[0] in "aeiouAEIOU" else _("a {name}")).format(name=name)


def _type_hint(obj: Any) -> str:
    if type(obj).__module__ == "numpy":
        return _(" Stay in torch (no `.numpy()`), or convert back with `torch.from_numpy(...)`.")
    if isinstance(obj, (list, float, int)):
        return _(
            " Keep the computation in tensors (no `.tolist()` / `.item()`), or wrap with `torch.tensor(...)`."
        )
    return ""


_KIND_TEXT = {
    "float": N_("a float tensor"),
    "bool": N_("a bool tensor"),
    "long": N_("an integer (torch.long) tensor"),
}


def _dtype_problem(kind: str, got: torch.Tensor, where: str) -> str | None:
    dt = got.dtype
    if kind == "float":
        if not dt.is_floating_point:
            return _("{where} has dtype {dtype}; expected {kind} (torch.float32).").format(
                where=where, dtype=dt, kind=_(_KIND_TEXT[kind])
            )
        if dt in (torch.float16, torch.bfloat16):
            return _(
                "{where} has dtype {dtype}; expected torch.float32 (half precision is too coarse here)."
            ).format(where=where, dtype=dt)
        return None
    if kind == "bool":
        if dt == torch.bool:
            return None
        hint = _(" Build it from a comparison (`==`, `!=`) or with `dtype=torch.bool`, or call `.bool()`.")
        if dt.is_floating_point:
            hint += _(" An additive 0 / −inf float tensor is a *bias*, not a mask.")
        return _("{where} has dtype {dtype}; expected a bool tensor (True = may attend).{hint}").format(
            where=where, dtype=dt, hint=hint
        )
    if dt.is_floating_point or dt == torch.bool:
        return _(
            "{where} has dtype {dtype}; expected integer token ids (torch.long), as `argmax` gives."
        ).format(where=where, dtype=dt)
    return None


def _value_problem(got: torch.Tensor, exp: torch.Tensor, ex: Exercise, where: str) -> str | None:
    n = got.numel()
    if not got.dtype.is_floating_point:
        bad = got.long() != exp.long()
        if not bad.any():
            return None
        idx = tuple(bad.nonzero()[0].tolist())
        return _(
            "{where} differs at {bad} of {n} entries{positions}, e.g. at index {index}: "
            "yours {yours}, expected {expected}."
        ).format(
            where=where,
            bad=int(bad.sum()),
            n=n,
            positions=_where(bad),
            index=idx,
            yours=_fmt(got[idx].item()),
            expected=_fmt(exp[idx].item()),
        )
    g, e = got.double(), exp.double()
    for name, test in (("NaN", torch.isnan), ("±inf", torch.isinf)):
        new = test(g) & ~test(e)
        if new.any():
            idx = tuple(new.nonzero()[0].tolist())
            return _(
                "{where} contains {name} at {bad} of {n} entries{positions}, e.g. at index "
                "{index}, where the expected value is {expected}."
            ).format(
                where=where,
                name=name,
                bad=int(new.sum()),
                n=n,
                positions=_where(new),
                index=idx,
                expected=_fmt(e[idx].item()),
            )
    bad = ~torch.isclose(g, e, rtol=ex.rtol, atol=ex.atol, equal_nan=True)
    if not bad.any():
        return None
    err = (g - e).abs().nan_to_num(nan=math.inf).masked_fill(~bad, -1.0)
    idx = _index(int(err.argmax()), err.shape)
    return _(
        "{where} differs from the expected values at {bad} of {n} entries{positions}; "
        "the largest difference is {diff} at index {index}: yours {yours}, "
        "expected {expected}."
    ).format(
        where=where,
        bad=int(bad.sum()),
        n=n,
        positions=_where(bad),
        diff=_fmt(err[idx].item()),
        index=idx,
        yours=_fmt(g[idx].item()),
        expected=_fmt(e[idx].item()),
    )


def _tensor_problem(out: Out, got: Any, exp: torch.Tensor, ex: Exercise, where: str) -> str | None:
    shape = f"{tuple(exp.shape)} = {out.dims}"
    if not isinstance(got, torch.Tensor):
        return _("{where} is {what}; expected a torch.Tensor of shape {shape}.{hint}").format(
            where=where, what=_type_name(got), shape=shape, hint=_type_hint(got)
        )
    if got.shape != exp.shape:
        if sorted(got.shape) == sorted(exp.shape):
            msg = _(
                "{where} has shape {got}; expected {shape}"
                " (the same sizes in another order: a transpose or permute is missing or wrong)."
            )
        else:
            msg = _("{where} has shape {got}; expected {shape}.")
        return msg.format(where=where, got=tuple(got.shape), shape=shape)
    return _dtype_problem(out.kind, got, where) or _value_problem(got, exp, ex, where)


_ORDINAL = (N_("1st"), N_("2nd"), N_("3rd"), N_("4th"))


def _output_problem(got: Any, expected: Any, ex: Exercise) -> str | None:
    """What is wrong with a returned value (type, length, shape, dtype, NaN, values), or None."""
    if len(ex.outputs) == 1:
        return _tensor_problem(ex.outputs[0], got, expected, ex, _("Your result"))
    names = ", ".join(o.name for o in ex.outputs)
    if not isinstance(got, (tuple, list)):
        return _("Your function returned {what}; expected a tuple ({names}).").format(
            what=_type_name(got), names=names
        )
    if len(got) != len(ex.outputs):
        return _("Your function returned {count} items; expected {expected}: ({names}).").format(
            count=len(got), expected=len(ex.outputs), names=names
        )
    for i, (out, g, e) in enumerate(zip(ex.outputs, got, expected, strict=True)):
        where = _("`{name}` (the {ordinal} item you return)").format(name=out.name, ordinal=_(_ORDINAL[i]))
        problem = _tensor_problem(out, g, e, ex, where)
        if problem:
            return problem
    return None


_ERROR_HINTS = (
    (
        "view size is not compatible",
        N_("`.view` needs a contiguous tensor: use `.reshape(...)` (or `.contiguous().view(...)`)."),
    ),
    (
        "cannot be multiplied",
        N_("a matrix product got mismatched sizes: print the shapes of both operands just before it."),
    ),
    (
        "must match the size",
        N_("two tensors do not broadcast: print their shapes; `keepdim=True` keeps a reduced dimension."),
    ),
    (
        "Expected size for first two dimensions",
        N_("a batched matrix product got mismatched sizes: print both shapes."),
    ),
    ("positional argument", N_("check the signature: it must be `{signature}`.")),
    ("NoneType", N_("something is None: does every helper you call `return` its result?")),
)


def _error_text(err: BaseException, ex: Exercise) -> str:
    try:
        said = str(err).strip()
    except Exception:  # an exception whose message itself raises
        said = _("(its message could not be shown)")
    first = said.splitlines()[0] if said else ""
    if len(first) > 300:
        first = first[:300] + " ..."
    text = _("Your function raised {error}: {message}").format(error=type(err).__name__, message=first)
    if isinstance(err, (SystemExit, GeneratorExit)) or not isinstance(err, Exception):
        return (
            text
            + "\n"
            + _("Tip: a function checked here should return its result, not exit or stop the kernel.")
        )
    for needle, hint in _ERROR_HINTS:
        if needle in said:
            return text + "\n" + _("Tip: {hint}").format(hint=_(hint).format(signature=ex.signature))
    return text
