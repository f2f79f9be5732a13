"""Exercises whose checks name the mistake.

In a lesson the learner writes a function ``my_<name>`` and runs ``check_<name>(my_<name>)``.
The checker calls it on seeded random inputs and edge cases (length 1, a fully masked row,
T_q ≠ T_k, batch and head dimensions) and compares each result with ``attn_lib``. When a
result differs, it runs known *mistaken variants* of the solution on the same inputs: the
variant that behaves like the learner's code names the mistake, and its hint says what to
change. A checker never raises because of the learner's code: an exception, ``None``, the
wrong type, shape or dtype, NaN, or an input changed in place each becomes a message.

The result is a :class:`CheckResult`: a green box (passed), a red box (failed, naming the
mistake when it is recognised) or a yellow box (not attempted yet: the function still
returns ``None``, as the shipped stubs do) in a notebook; plain text in a console.

``EXERCISES`` maps each exercise name to its :class:`Exercise` record (lesson, description,
checker, reference solution, recognised mistakes); ``show_solution(name)`` shows the
reference solution under the learner's function name.

Letters: ``B`` batch, ``H`` heads, ``T_q``/``T_k`` query/key lengths, ``D`` d_model, ``Dh``
head_dim, ``d_k``/``d_v`` key/value widths, ``n`` number of keys, ``L`` answer length,
``V`` vocabulary size. Masks: bool, True = may attend.
"""

from __future__ import annotations

import functools
import html
import inspect
import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from .attention import scaled_dot_product_attention, softmax
from .data import BOS, EOS
from .masks import causal_mask, padding_mask, to_additive_mask
from .multihead import MultiHeadAttention, merge_heads, split_heads
from .positional import sinusoidal_positional_encoding

__all__ = [
    "EXERCISES",
    "INPLACE_MISTAKE",
    "CheckResult",
    "Exercise",
    "Mistake",
    "Solution",
    "check_attention_weights",
    "check_causal_mask",
    "check_cross_attention",
    "check_greedy_next_token",
    "check_masked_attention_weights",
    "check_merge_heads",
    "check_multi_head_attention",
    "check_padding_mask",
    "check_positional_encoding",
    "check_scaled_dot_product_attention",
    "check_self_attention",
    "check_soft_lookup",
    "check_split_heads",
    "check_stable_softmax",
    "check_teacher_forcing_pair",
    "show_solution",
]

# ======================================================================== the result

_STYLES = {  # status -> (icon, headline, border colour, background colour)
    "pass": ("✓", "correct", "#1e8e3e", "#e6f4ea"),
    "fail": ("✗", "not right yet", "#d93025", "#fce8e6"),
    "todo": ("○", "not attempted yet", "#f9ab00", "#fef7e0"),
}


def _message_html(message: str) -> str:
    """Escape a message for HTML; `backticks` become code and *stars* emphasis (outside code)."""
    parts = re.split(r"`([^`]+)`", html.escape(message))  # odd indices: the code spans
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = f"<code>{part}</code>"
        else:
            parts[i] = re.sub(r"(?<![\w*])\*(\w(?:[^*\n]*\w)?)\*(?![\w*])", r"<em>\1</em>", part)
    return "".join(parts)


@dataclass(frozen=True, repr=False)
class CheckResult:
    """What a checker found. True when the exercise passed; shows as a coloured box in a notebook.

    Attributes:
        passed: every input gave the expected result.
        message: what was checked, what differed, and a hint (plain text, `code` in backticks).
        exercise: the exercise name, e.g. ``"scaled_dot_product_attention"``.
        status: ``"pass"``, ``"fail"`` or ``"todo"`` (not attempted yet); derived from
            ``passed`` when left empty.
        mistake: the name of the recognised mistake, or None.
    """

    passed: bool
    message: str
    exercise: str
    status: str = ""
    mistake: str | None = None

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "pass" if self.passed else "fail")
        if self.status not in _STYLES:
            raise ValueError(f"status must be one of {sorted(_STYLES)}, got {self.status!r}")
        if (self.status == "pass") != bool(self.passed):
            raise ValueError(f"status {self.status!r} contradicts passed={self.passed}")

    def __bool__(self) -> bool:
        return self.passed

    @property
    def headline(self) -> str:
        """One line: icon, exercise and verdict, e.g. ``"✗ causal_mask: not right yet"``."""
        icon, verdict = _STYLES[self.status][:2]
        return f"{icon} {self.exercise}: {verdict}"

    def __str__(self) -> str:
        return f"{self.headline}\n{self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        _, _, border, background = _STYLES[self.status]
        style = (
            f"border-left: 6px solid {border}; background: {background}; color: #202124; "
            "padding: 8px 12px; margin: 4px 0; border-radius: 4px; line-height: 1.45"
        )
        return (
            f'<div class="attn-check attn-check-{self.status}" style="{style}">'
            f"<div><b>{_message_html(self.headline)}</b></div>"
            f'<div style="white-space: pre-wrap">{_message_html(self.message)}</div></div>'
        )


# ======================================================================== the records


@dataclass(frozen=True)
class Mistake:
    """A known mistake: its name, a hint, and a function that makes it (the exercise's signature).

    ``alternatives`` are other ways of writing the same mistake that give different numbers
    in corner cases (e.g. the same inverted mask with or without handling fully masked rows).
    """

    name: str
    hint: str
    fn: Callable[..., Any]
    alternatives: tuple[Callable[..., Any], ...] = ()


@dataclass(frozen=True)
class Out:
    """One returned tensor: its name, kind (``"float"``, ``"bool"`` or ``"long"``) and shape in letters."""

    name: str
    kind: str
    dims: str


@dataclass(frozen=True)
class Case:
    """One input the checker tries: a label a learner can read and the positional arguments."""

    label: str
    args: tuple


@dataclass(frozen=True)
class Exercise:
    """An exercise: what the learner writes, how it is checked, and the mistakes it recognises.

    Attributes:
        name: the exercise (the learner writes ``my_<name>``, checked by ``check_<name>``).
        lesson: the lesson number, ``"01"`` .. ``"07"``.
        description: one line: what the function computes.
        reference: a readable solution with the signature the learner writes (``show_solution``
            shows it); ``signature`` (e.g. ``"my_stable_softmax(x)"``) is read from it.
        expected: computes the right answer from ``attn_lib`` (the ground truth of the check).
        make_cases: builds the seeded inputs, a fresh list on every call.
        outputs: what the function returns (one :class:`Out`, or several for a tuple).
        mistakes: the mistakes the checker names.
        solution_imports: the imports the reference solution needs, shown with it.
        atol, rtol: tolerances of the comparison with ``expected``.
    """

    name: str
    lesson: str
    description: str
    reference: Callable[..., Any]
    expected: Callable[..., Any]
    make_cases: Callable[[], list[Case]]
    outputs: tuple[Out, ...]
    mistakes: tuple[Mistake, ...]
    solution_imports: str = "import torch"
    atol: float = 1e-5
    rtol: float = 1e-4
    arg_names: tuple[str, ...] = field(init=False)
    signature: str = field(init=False)

    def __post_init__(self) -> None:
        params = inspect.signature(self.reference).parameters.values()
        object.__setattr__(self, "arg_names", tuple(p.name for p in params))
        shown = [p.name if p.default is p.empty else f"{p.name}={p.default}" for p in params]
        object.__setattr__(self, "signature", f"my_{self.name}({', '.join(shown)})")

    def check(self, fn: Callable[..., Any]) -> CheckResult:
        """Run the learner's ``fn`` on every case; see :func:`_run_check`."""
        return _run_check(self, fn)


# ======================================================================== the engine

INPLACE_MISTAKE = "input changed in place"
_INPLACE_HINT = (
    "a function should not modify its arguments: the caller's tensor changes too, and re-running "
    "a cell then gives other numbers. Use the out-of-place form (`masked_fill`, not `masked_fill_`; "
    "`x = x + 1`, not `x += 1`)."
)
_MATCH_ATOL, _MATCH_RTOL = 1e-4, 1e-3  # looser: a learner's variant may sum in another order


@dataclass
class _Outcome:
    value: Any = None
    error: Exception | None = None
    mutated: str | None = None  # the name of an argument the call changed in place


def _clone(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.clone()
    if isinstance(obj, (tuple, list)):
        return type(obj)(_clone(o) for o in obj)
    return obj


def _same_tensor(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point():
        return bool(torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num()))
    return bool(torch.equal(a, b))


def _call(fn: Callable[..., Any], args: tuple, names: Sequence[str]) -> _Outcome:
    """Call ``fn`` on a copy of ``args``; catch what it raises and notice inputs changed in place."""
    copies = _clone(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = fn(*copies)
        except Exception as err:  # the learner's code may raise anything: it becomes a message
            return _Outcome(error=err)
    mutated = None
    for name, before, after in zip(names, args, copies, strict=False):
        if isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor):
            if not _same_tensor(before, after):
                mutated = name
                break
    return _Outcome(value=value, mutated=mutated)


def _values_agree(a: Any, b: Any, atol: float, rtol: float) -> bool:
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_values_agree(x, y, atol, rtol) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype.is_floating_point != b.dtype.is_floating_point:
            return False
        if (a.dtype == torch.bool) != (b.dtype == torch.bool):
            return False
        if not a.dtype.is_floating_point:
            return bool(torch.equal(a.long(), b.long()))
        return bool(torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol, equal_nan=True))
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _agree(a: _Outcome, b: _Outcome) -> bool:
    if a.error is not None or b.error is not None:
        return (
            a.error is not None
            and b.error is not None
            and type(a.error) is type(b.error)
            and str(a.error) == str(b.error)
        )
    return _values_agree(a.value, b.value, _MATCH_ATOL, _MATCH_RTOL)


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


def _error_text(err: Exception, ex: Exercise) -> str:
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if len(first) > 300:
        first = first[:300] + " ..."
    text = f"Your function raised {type(err).__name__}: {first}"
    for needle, hint in _ERROR_HINTS:
        if needle in str(err):
            return f"{text}\nTip: {hint.format(signature=ex.signature)}"
    return text


def _match_mistake(
    ex: Exercise, cases: list[Case], learner: list[_Outcome], failed: int
) -> tuple[Mistake, bool] | None:
    """The known mistake that behaves like the learner's code on the failing case.

    Among the variants that agree on it, the one agreeing on the most cases wins (ties: the
    order of ``ex.mistakes``). Returns the mistake and whether it agreed on every case.
    """
    best: tuple[Mistake, int] | None = None
    for mistake in ex.mistakes:
        for variant in (mistake.fn, *mistake.alternatives):
            if not _agree(_call(variant, cases[failed].args, ex.arg_names), learner[failed]):
                continue
            score = sum(
                _agree(_call(variant, case.args, ex.arg_names), out)
                for case, out in zip(cases, learner, strict=True)
            )
            if best is None or score > best[1]:
                best = (mistake, score)
    if best is None:
        return None
    return best[0], best[1] == len(cases)


def _not_attempted(outcome: _Outcome) -> bool:
    if outcome.error is not None:
        return isinstance(outcome.error, NotImplementedError)
    return outcome.value is None or outcome.value is Ellipsis


def _run_check(ex: Exercise, fn: Any) -> CheckResult:
    """Call ``fn`` on every case of ``ex`` and compare with ``ex.expected``; name a known mistake.

    Runs on one thread (the inputs are tiny: with several threads a busy machine makes every
    small softmax wait, 50x slower) and restores the thread count afterwards.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _check_on_cases(ex, fn)
    finally:
        torch.set_num_threads(threads)


def _check_on_cases(ex: Exercise, fn: Any) -> CheckResult:
    if not callable(fn):
        return CheckResult(
            False,
            f"`check_{ex.name}` expects your function itself, not its result: "
            f"`check_{ex.name}(my_{ex.name})` "
            f"(no parentheses after `my_{ex.name}`). It received {_type_name(fn)}.",
            ex.name,
        )
    fn_name = getattr(fn, "__name__", f"my_{ex.name}")
    # fork_rng: neither the inputs nor the learner's code move the notebook's random stream.
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        cases = ex.make_cases()
        learner = [_call(fn, c.args, ex.arg_names) for c in cases]
        if _not_attempted(learner[0]):
            what = (
                "raises NotImplementedError"
                if learner[0].error
                else f"returns {_type_name(learner[0].value)}"
            )
            return CheckResult(
                False,
                f"`{fn_name}` still {what}. Write its body and run this cell again.\nTask: {ex.description}",
                ex.name,
                status="todo",
            )
        for i, (case, out) in enumerate(zip(cases, learner, strict=True)):
            expected = ex.expected(*_clone(case.args))
            if out.error is not None:
                problem = _error_text(out.error, ex)
            elif out.value is None or out.value is Ellipsis:
                problem = (
                    f"Your function returned {_type_name(out.value)} here (it returned a value for an "
                    "earlier input): is a `return` missing in one branch?"
                )
            else:
                problem = _output_problem(out.value, expected, ex)
            if problem is None and out.mutated is not None:
                return CheckResult(
                    False,
                    f"Recognised mistake: {INPLACE_MISTAKE}.\nInput: {case.label}.\nThe result is right, but "
                    f"your function changed its argument `{out.mutated}` in place.\nHint: {_INPLACE_HINT}",
                    ex.name,
                    mistake=INPLACE_MISTAKE,
                )
            if problem is not None:
                return _failure(ex, cases, learner, i, problem)
    labels = "\n".join(f"  • {c.label}" for c in cases)
    return CheckResult(True, f"All {len(cases)} inputs give the expected result:\n{labels}", ex.name)


def _failure(ex: Exercise, cases: list[Case], learner: list[_Outcome], i: int, problem: str) -> CheckResult:
    match = _match_mistake(ex, cases, learner, i)
    lines = []
    if match is not None:
        lines.append(f"Recognised mistake: {match[0].name}.")
    lines += [f"Input: {cases[i].label}.", problem]
    if match is None:
        if i > 0:
            lines.append(f"(The {i} input{'s' if i > 1 else ''} before this one gave the expected result.)")
        return CheckResult(False, "\n".join(lines), ex.name)
    mistake, everywhere = match
    if everywhere:
        lines.append(f"That mistake gives exactly your results on all {len(cases)} inputs.")
    lines.append(f"Hint: {mistake.hint}")
    return CheckResult(False, "\n".join(lines), ex.name, mistake=mistake.name)


# ======================================================================== input helpers


def _randn(g: torch.Generator, *shape: int, std: float = 1.0) -> torch.Tensor:
    return torch.randn(*shape, generator=g) * std


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ======================================================================== lesson 01: soft lookup


def _solution_attention_weights(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    scores = keys @ query  # (n, d) @ (d,) -> (n,): one dot product per key
    return torch.softmax(scores, dim=-1)  # (n,): positive, sums to 1


def _expected_attention_weights(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    return softmax(keys @ query, dim=-1)


def _naive_softmax(scores: torch.Tensor) -> torch.Tensor:
    e = torch.exp(scores)  # overflows to inf for scores above ~88 (float32)
    return e / e.sum(dim=-1, keepdim=True)


def _lookup_cases(seed: int, with_values: bool) -> list[Case]:
    g = _gen(seed)
    shapes = (  # (label, d_k, n, d_v, query std)
        ("a small example: query (2,), keys (4, 2)", 2, 4, 3, 1.0),
        ("query (16,), keys (7, 16)", 16, 7, 5, 0.5),
        ("one key only: keys (1, 3)", 3, 1, 2, 1.0),
        ("a long query: the largest dot product is 500", 8, 5, 4, 0.0),
    )
    cases = []
    for label, d_k, n, d_v, std in shapes:
        query, keys = _randn(g, d_k, std=std), _randn(g, n, d_k)
        if std == 0.0:  # along key 0, long enough that query·key_0 = 500: exp(500) overflows float32
            query = keys[0] * 500 / keys[0].dot(keys[0])
        if with_values:
            cases.append(Case(f"{label}, values ({n}, {d_v})", (query, keys, _randn(g, n, d_v))))
        else:
            cases.append(Case(label, (query, keys)))
    return cases


_NAIVE_EXP_HINT = (
    "`torch.exp` of a score above ~88 is inf in float32, and inf/inf is NaN. Use `torch.softmax(scores, "
    "dim=-1)`, or subtract the largest score first (lesson 02 shows why that changes nothing else)."
)

_ATTENTION_WEIGHTS_MISTAKES = (
    Mistake(
        "no softmax (the raw dot products)",
        "the weights must be positive and sum to 1: apply `torch.softmax(scores, dim=-1)` to the dot "
        "products.",
        lambda query, keys: keys @ query,
    ),
    Mistake(
        "divided by the sum instead of a softmax",
        "dot products can be negative, so dividing by their sum does not give weights; exponentiate first: "
        "`torch.softmax(scores, dim=-1)`.",
        lambda query, keys: (keys @ query) / (keys @ query).sum(),
    ),
    Mistake(
        "scaled by √d (that is lesson 02)",
        "here the weights are `softmax(keys @ query)` with the plain dot product; the ÷√d_k comes in lesson "
        "02.",
        lambda query, keys: torch.softmax(keys @ query / math.sqrt(query.shape[-1]), dim=-1),
    ),
    Mistake(
        "softmax overflow (exp without subtracting the max)",
        _NAIVE_EXP_HINT,
        lambda query, keys: _naive_softmax(keys @ query),
    ),
)


def _solution_soft_lookup(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    weights = torch.softmax(keys @ query, dim=-1)  # (n,): how much each key matches the query
    return weights @ values  # (n,) @ (n, d_v) -> (d_v,): a weighted mix of the values


def _expected_soft_lookup(query: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    out, _ = scaled_dot_product_attention(query[None], keys, values, scale=1.0)  # (1, d_v)
    return out[0]


_SOFT_LOOKUP_MISTAKES = (
    Mistake(
        "returned the weights, not the weighted sum of the values",
        "the weights say how much of each value to take; finish with `weights @ values` (shape (d_v,)).",
        lambda query, keys, values: torch.softmax(keys @ query, dim=-1),
    ),
    Mistake(
        "mixed the keys instead of the values",
        "keys decide the weights, values are what is returned: `weights @ values`, not `weights @ keys`.",
        lambda query, keys, values: torch.softmax(keys @ query, dim=-1) @ keys,
    ),
    Mistake(
        "no softmax (raw dot products as weights)",
        "turn the dot products into weights with `torch.softmax(keys @ query, dim=-1)` before mixing the "
        "values.",
        lambda query, keys, values: (keys @ query) @ values,
    ),
    Mistake(
        "a hard lookup (only the best-matching value)",
        "a *soft* lookup mixes every value by its weight: `torch.softmax(keys @ query, dim=-1) @ values`.",
        lambda query, keys, values: values[(keys @ query).argmax()],
    ),
    Mistake(
        "a plain average of the values (the query is ignored)",
        "the weights must depend on the query: `torch.softmax(keys @ query, dim=-1)`.",
        lambda query, keys, values: values.mean(dim=0),
    ),
    Mistake(
        "softmax overflow (exp without subtracting the max)",
        _NAIVE_EXP_HINT,
        lambda query, keys, values: _naive_softmax(keys @ query) @ values,
    ),
)


# ======================================================================== lesson 02: scaled dot product


def _solution_scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)  # (..., T_q, d_k) @ (..., d_k, T_k) -> (..., T_q, T_k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))  # blocked -> -inf *before* the softmax
    weights = torch.softmax(scores, dim=-1)  # (..., T_q, T_k): each row sums to 1
    weights = torch.nan_to_num(weights)  # a fully masked row is all -inf: NaN -> 0
    return weights @ v, weights  # (..., T_q, d_v), (..., T_q, T_k)


def _expected_scaled_dot_product_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    out, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    return out, weights


_FILLS = {"-inf": float("-inf"), "zero": 0.0, "-1e9": -1e9}


def _flawed_masked_weights(
    scores: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    mode: str = "before",
    fill: str = "-inf",
    nan_rows: bool = False,
    dim: int = -1,
    in_place: bool = False,
) -> torch.Tensor:
    """Masked softmax with one chosen flaw.

    mode: "before" (right), "inverted" (blocks where mask is True), "after" (zeroes weights
    after the softmax), "ignore" (no mask). fill: the value of blocked scores. nan_rows: leave
    fully masked rows NaN. dim: the softmax axis. in_place: fill the caller's scores in place.
    """
    if mask is not None and mode in ("before", "inverted"):
        blocked = ~mask if mode == "before" else mask
        fill_with = scores.masked_fill_ if in_place else scores.masked_fill
        scores = fill_with(blocked, _FILLS[fill])
    weights = torch.softmax(scores, dim=dim)
    if not nan_rows:
        weights = torch.nan_to_num(weights)
    if mask is not None and mode == "after":
        weights = weights.masked_fill(~mask, 0.0)
    return weights


_SCALES = {"sqrt": lambda d: 1 / math.sqrt(d), "none": lambda d: 1.0, "dk": lambda d: 1 / d, "mul": math.sqrt}


def _flawed_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    scale: str = "sqrt",
    keys: str = "ok",
    use_values: bool = True,
    swap: bool = False,
    **mask_flaws: Any,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scaled dot-product attention with one chosen flaw (keyword flags; see the mistakes below)."""
    kt = {
        "ok": lambda: k.transpose(-2, -1),
        "none": lambda: k,
        "T": lambda: k.T,
        "01": lambda: k.transpose(0, 1),
    }
    scores = (q @ kt[keys]()) * _SCALES[scale](q.shape[-1])
    weights = _flawed_masked_weights(scores, mask, **mask_flaws)
    out = weights @ v if use_values else weights
    return (weights, out) if swap else (out, weights)


def _sdpa_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    alternatives = ()
    if flaw.get("mode") == "inverted":  # also without NaN handling: the inversion blocks whole rows
        alternatives = (functools.partial(_flawed_attention, nan_rows=True, **flaw),)
    return Mistake(name, hint, functools.partial(_flawed_attention, **flaw), alternatives)


_MASK_HINTS = {
    "inverted": (
        "True means *may attend*: block where the mask is False, `scores.masked_fill(~mask, "
        "float('-inf'))`. (torch.nn.MultiheadAttention uses the opposite meaning; this course does not.)"
    ),
    "after": (
        "zeroing weights after the softmax leaves rows that no longer sum to 1; set the blocked "
        "*scores* to −inf before the softmax, so the remaining weights are renormalised."
    ),
    "zero": (
        "a score of 0 still gets weight exp(0) > 0; fill blocked scores with `float('-inf')`, whose "
        "weight is exactly 0."
    ),
    "ignore": (
        "the mask is never used: `scores = scores.masked_fill(~mask, float('-inf'))` before the softmax."
    ),
    "nan": (
        "a row whose keys are all blocked is all −inf, and softmax gives 0/0 = NaN; the library's "
        "answer is zeros: `torch.nan_to_num(weights)` after the softmax."
    ),
    "-1e9": (
        "with a large negative number instead of −inf, a fully masked row gets *uniform* weights (every "
        "key equally); the library's answer is zeros: fill with `float('-inf')`, then "
        "`torch.nan_to_num(weights)`."
    ),
    "dim": (
        "each query's weights over the keys must sum to 1: the softmax runs over the last axis, "
        "`dim=-1` (the keys), not over the queries."
    ),
}

_SDPA_MISTAKES = (
    _sdpa_mistake(
        "no scaling (missing ÷√d_k)",
        "divide the scores by `math.sqrt(d_k)`, with `d_k = q.shape[-1]`, before the softmax.",
        scale="none",
    ),
    _sdpa_mistake(
        "divided by d_k instead of √d_k",
        "the scale is 1/√d_k: `/ math.sqrt(d_k)`, not `/ d_k`.",
        scale="dk",
    ),
    _sdpa_mistake(
        "multiplied by √d_k instead of dividing",
        "the scores are *divided* by √d_k: `/ math.sqrt(d_k)`.",
        scale="mul",
    ),
    _sdpa_mistake("softmax over the wrong axis", _MASK_HINTS["dim"], dim=-2),
    _sdpa_mistake(
        "keys not transposed",
        "Q Kᵀ needs the keys transposed on their last two axes: `q @ k.transpose(-2, -1)` (T_k ≠ d_k here).",
        keys="none",
    ),
    _sdpa_mistake(
        "keys transposed with .T (it reverses every dimension of a batched tensor)",
        "on a batched tensor `k.T` reverses all dimensions; transpose only the last two: `k.transpose(-2, "
        "-1)` "
        "(or `k.mT`).",
        keys="T",
    ),
    _sdpa_mistake(
        "keys transposed on the wrong dimensions (the batch ones)",
        "swap the last two axes, whatever the batch dimensions: `k.transpose(-2, -1)`.",
        keys="01",
    ),
    _sdpa_mistake(
        "weights not applied to V (returned the weights as the output)",
        "the output is the weighted sum of the values: `output = weights @ v`, shape (..., T_q, d_v).",
        use_values=False,
    ),
    _sdpa_mistake(
        "output and weights swapped",
        "return them in the order `(output, weights)`.",
        swap=True,
    ),
    _sdpa_mistake("mask inverted", _MASK_HINTS["inverted"], mode="inverted"),
    _sdpa_mistake("mask applied after the softmax (zeroed weights)", _MASK_HINTS["after"], mode="after"),
    _sdpa_mistake("masked scores filled with 0 instead of −inf", _MASK_HINTS["zero"], fill="zero"),
    _sdpa_mistake("mask ignored", _MASK_HINTS["ignore"], mode="ignore"),
    _sdpa_mistake("NaN for a fully masked row", _MASK_HINTS["nan"], nan_rows=True),
    _sdpa_mistake(
        "uniform weights for a fully masked row (filled with −1e9, not −inf)",
        _MASK_HINTS["-1e9"],
        fill="-1e9",
    ),
)


def _sdpa_cases() -> list[Case]:
    g = _gen(202)

    def qkv(*lead: int, t_q: int, t_k: int, d_v: int) -> tuple[torch.Tensor, ...]:  # d_k = 16
        return _randn(g, *lead, t_q, 16), _randn(g, *lead, t_k, 16), _randn(g, *lead, t_k, d_v)

    padding = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])[:, None, :]  # (B=2, 1, T_k=6)
    fully = torch.tensor([[True, False, True, True, False], [False] * 5, [True] * 5])  # row 1 blocked
    return [
        Case("q (3, 16), k (5, 16), v (5, 4), no mask", qkv(t_q=3, t_k=5, d_v=4)),
        Case("batch B=2: q (2, 4, 16), k (2, 6, 16), v (2, 6, 8)", qkv(2, t_q=4, t_k=6, d_v=8)),
        Case("batch and heads (B=2, H=3): q (2, 3, 4, 16), k (2, 3, 6, 16)", qkv(2, 3, t_q=4, t_k=6, d_v=8)),
        Case(
            "q (2, 4, 16), k (2, 6, 16), causal-style mask (4, 6)",
            (*qkv(2, t_q=4, t_k=6, d_v=8), causal_mask(4, 6)),
        ),
        Case(
            "q (2, 4, 16), k (2, 6, 16), padding mask (2, 1, 6): item 1 has 2 padded keys",
            (*qkv(2, t_q=4, t_k=6, d_v=8), padding),
        ),
        Case("length 1: q (1, 16), k (1, 16), v (1, 4)", qkv(t_q=1, t_k=1, d_v=4)),
        Case(
            "mask (3, 5) whose row 1 blocks every key (a fully masked row)",
            (*qkv(t_q=3, t_k=5, d_v=4), fully),
        ),
    ]


def _solution_stable_softmax(x: torch.Tensor) -> torch.Tensor:
    shifted = x - x.amax(dim=-1, keepdim=True)  # each row's largest entry becomes 0, so exp(...) <= 1
    e = torch.exp(shifted)  # no overflow; -inf entries give exactly 0
    return e / e.sum(dim=-1, keepdim=True)  # each row sums to 1


def _unnormalised(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(x - x.amax(dim=-1, keepdim=True))


def _stable_softmax_cases() -> list[Case]:
    g = _gen(203)
    scales = torch.tensor([[1000.0], [0.0]])  # row 0 near 1000, row 1 near 0
    with_inf = _randn(g, 3, 4)
    with_inf[0, 1] = with_inf[2, 0] = with_inf[2, 3] = float("-inf")
    return [
        Case("x (3, 5)", (_randn(g, 3, 5),)),
        Case("x (2, 3, 4): a batch of matrices", (_randn(g, 2, 3, 4),)),
        Case("square x (4, 4)", (_randn(g, 4, 4),)),
        Case("large logits, up to about ±1000: x (3, 5)", (_randn(g, 3, 5, std=400.0),)),
        Case(
            "rows on different scales: x (2, 4), row 0 near 1000, row 1 near 0", (_randn(g, 2, 4) + scales,)
        ),
        Case("some −inf entries (blocked positions): x (3, 4)", (with_inf,)),
        Case("one entry per row: x (3, 1)", (_randn(g, 3, 1),)),
        Case("a 1-D x (6,)", (_randn(g, 6),)),
    ]


_STABLE_SOFTMAX_MISTAKES = (
    Mistake(
        "the max is not subtracted (exp overflows)",
        "`torch.exp` of 1000 is inf and inf/inf is NaN; subtract each row's maximum first: "
        "`x - x.amax(dim=-1, keepdim=True)`.",
        _naive_softmax,
    ),
    Mistake(
        "one global max instead of each row's max",
        "`x.max()` is the largest entry of the whole tensor: a row far below it underflows to 0/0. Use each "
        "row's max: `x.amax(dim=-1, keepdim=True)`.",
        lambda x: _naive_softmax(x - x.max()),
    ),
    Mistake(
        "softmax over the wrong axis",
        "normalise along the last axis: reduce with `dim=-1` (and `keepdim=True`).",
        lambda x: torch.softmax(x, dim=0),
    ),
    Mistake(
        "max without keepdim=True",
        "`x.max(dim=-1).values` drops the reduced axis, so it lines up with the wrong axis of x; keep it: "
        "`x.amax(dim=-1, keepdim=True)`.",
        lambda x: _naive_softmax(x - x.max(dim=-1).values),
    ),
    Mistake(
        "sum without keepdim=True",
        "`e.sum(dim=-1)` drops the reduced axis, so it divides the wrong entries; keep it: "
        "`e.sum(dim=-1, keepdim=True)`.",
        lambda x: _unnormalised(x) / _unnormalised(x).sum(dim=-1),
    ),
    Mistake(
        "subtracted the min instead of the max",
        "subtracting the minimum makes every exponent ≥ 0, so large entries still overflow (and −inf entries "
        "give NaN); subtract the maximum.",
        lambda x: _naive_softmax(x - x.amin(dim=-1, keepdim=True)),
    ),
    Mistake(
        "not normalised (exp without dividing by the sum)",
        "divide by each row's sum so that it sums to 1: `e / e.sum(dim=-1, keepdim=True)`.",
        _unnormalised,
    ),
)


# ======================================================================== lesson 03: multi-head


def _solution_split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    B, T, D = x.shape
    x = x.view(B, T, num_heads, D // num_heads)  # (B, T, D) -> (B, T, H, Dh): cut the features into heads
    return x.transpose(1, 2)  # (B, T, H, Dh) -> (B, H, T, Dh): heads in front of time


def _split_cases() -> list[Case]:
    g = _gen(301)
    return [
        Case("x (2, 5, 12), 3 heads", (_randn(g, 2, 5, 12), 3)),
        Case("x (3, 4, 8), 2 heads", (_randn(g, 3, 4, 8), 2)),
        Case("length 1: x (1, 1, 8), 2 heads", (_randn(g, 1, 1, 8), 2)),
        Case("one head: x (2, 4, 6), 1 head", (_randn(g, 2, 4, 6), 1)),
        Case("head_dim 1: x (2, 3, 8), 8 heads", (_randn(g, 2, 3, 8), 8)),
    ]


def _shape4(x: torch.Tensor, num_heads: int) -> tuple[int, int, int, int]:
    B, T, D = x.shape
    return B, T, num_heads, D // num_heads  # (B, T, H, Dh)


def _heads_first_shape(x: torch.Tensor, num_heads: int) -> tuple[int, int, int, int]:
    B, T, H, Dh = _shape4(x, num_heads)
    return B, H, T, Dh


_SPLIT_HEADS_MISTAKES = (
    Mistake(
        "view to (B, H, T, Dh) without the transpose (mixes positions and heads)",
        "the features of one position are contiguous, so first `view(B, T, H, Dh)`, then `transpose(1, 2)`; "
        "viewing straight to (B, H, T, Dh) cuts across positions.",
        lambda x, num_heads: x.reshape(_heads_first_shape(x, num_heads)),
    ),
    Mistake(
        "forgot the transpose (returned (B, T, H, Dh))",
        "after `view(B, T, H, Dh)` move the heads in front of time: `.transpose(1, 2)` -> (B, H, T, Dh).",
        lambda x, num_heads: x.reshape(_shape4(x, num_heads)),
    ),
    Mistake(
        "features cut in the wrong order (head_dim before heads: heads interleaved)",
        "head i owns the consecutive features i·Dh … (i+1)·Dh − 1: `view(B, T, H, Dh)`, not `view(B, T, Dh, "
        "H)`.",
        lambda x, num_heads: x.reshape(*x.shape[:2], x.shape[2] // num_heads, num_heads).permute(0, 3, 1, 2),
    ),
    Mistake(
        "batch and heads folded into one dimension (B·H, T, Dh)",
        "keep batch and heads apart: the expected layout is (B, H, T, Dh).",
        lambda x, num_heads: _solution_split_heads(x, num_heads).reshape(
            -1, x.shape[1], x.shape[2] // num_heads
        ),
    ),
)


def _solution_merge_heads(x: torch.Tensor) -> torch.Tensor:
    B, H, T, Dh = x.shape
    x = x.transpose(1, 2)  # (B, H, T, Dh) -> (B, T, H, Dh): positions first again
    return x.reshape(B, T, H * Dh)  # (B, T, H, Dh) -> (B, T, D): the heads side by side (concatenation)


def _merge_cases() -> list[Case]:
    g = _gen(302)
    return [
        Case("x (2, 3, 5, 4): B=2, H=3, T=5, Dh=4", (_randn(g, 2, 3, 5, 4),)),
        Case("x (1, 4, 3, 2): B=1, H=4, T=3, Dh=2", (_randn(g, 1, 4, 3, 2),)),
        Case("length 1: x (1, 2, 1, 3)", (_randn(g, 1, 2, 1, 3),)),
        Case("one head: x (2, 1, 4, 6)", (_randn(g, 2, 1, 4, 6),)),
    ]


_MERGE_HEADS_MISTAKES = (
    Mistake(
        "merged without the transpose (mixes positions and heads)",
        "bring positions in front of heads before flattening: `x.transpose(1, 2).reshape(B, T, H * Dh)`.",
        lambda x: x.reshape(x.shape[0], x.shape[2], -1),
    ),
    Mistake(
        "heads merged in the wrong order (head_dim before heads: heads interleaved)",
        "the concatenation puts head 0's Dh features first, then head 1's, ...: (B, T, H, Dh) -> (B, T, "
        "H·Dh), "
        "not (B, T, Dh, H).",
        lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], x.shape[2], -1),
    ),
    Mistake(
        "view on the transposed tensor (not contiguous)",
        "after a transpose the memory is not in order: use `.reshape(B, T, H * Dh)` or "
        "`.contiguous().view(...)`.",
        lambda x: x.transpose(1, 2).view(x.shape[0], x.shape[2], -1),
    ),
    Mistake(
        "not merged (returned (B, T, H, Dh))",
        "after the transpose, flatten the last two axes: `.reshape(B, T, H * Dh)`.",
        lambda x: x.transpose(1, 2),
    ),
    Mistake(
        "heads concatenated in reverse order",
        "keep the heads in order 0, 1, ..., H−1: no flip.",
        lambda x: _solution_merge_heads(x.flip(1)),
    ),
)


def _solution_multi_head_attention(
    x_q: torch.Tensor,
    x_kv: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor,
    num_heads: int,
) -> torch.Tensor:
    q = split_heads(x_q @ W_q, num_heads)  # (B, T_q, D) -> (B, H, T_q, Dh)
    k = split_heads(x_kv @ W_k, num_heads)  # (B, T_k, D) -> (B, H, T_k, Dh)
    v = split_heads(x_kv @ W_v, num_heads)  # (B, T_k, D) -> (B, H, T_k, Dh)
    out, _ = scaled_dot_product_attention(q, k, v)  # (B, H, T_q, Dh): every head at once, ÷√Dh
    return merge_heads(out) @ W_o  # (B, T_q, H·Dh) -> (B, T_q, D): concatenate, then W^O


def _expected_multi_head_attention(
    x_q: torch.Tensor,
    x_kv: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor,
    num_heads: int,
) -> torch.Tensor:
    mha = MultiHeadAttention(W_q.shape[0], num_heads, bias=False)
    with torch.no_grad():  # x @ W is nn.Linear with weight W.T
        for proj, w in ((mha.q_proj, W_q), (mha.k_proj, W_k), (mha.v_proj, W_v), (mha.out_proj, W_o)):
            proj.weight.copy_(w.T)
    out, _ = mha(x_q, x_kv, x_kv)
    return out


def _flawed_multi_head_attention(
    x_q: torch.Tensor,
    x_kv: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor,
    num_heads: int,
    *,
    split: str = "ok",
    merge: str = "ok",
    out_proj: bool = True,
    scale_by: str = "head_dim",
    transposed_weights: bool = False,
) -> torch.Tensor:
    """Functional multi-head attention with one chosen flaw (keyword flags; see the mistakes below)."""
    B, D = x_q.shape[0], x_q.shape[-1]
    H = 1 if split == "ignored" else num_heads
    Dh = D // H

    def heads(t: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, H, T, Dh)
        if split == "no_transpose":
            return t.reshape(B, H, t.shape[1], Dh)
        return t.reshape(B, t.shape[1], H, Dh).transpose(1, 2)

    proj = (lambda w: w.T) if transposed_weights else (lambda w: w)
    q, k, v = heads(x_q @ proj(W_q)), heads(x_kv @ proj(W_k)), heads(x_kv @ proj(W_v))
    scale = 1 / math.sqrt(D if scale_by == "d_model" else Dh)
    weights = torch.softmax(q @ k.transpose(-2, -1) * scale, dim=-1)  # (B, H, T_q, T_k)
    out = weights @ v  # (B, H, T_q, Dh)
    if merge == "no_transpose":
        out = out.reshape(B, -1, D)
    elif merge == "interleaved":
        out = out.permute(0, 2, 3, 1).reshape(B, -1, D)
    else:
        out = out.transpose(1, 2).reshape(B, -1, D)
    return out @ proj(W_o) if out_proj else out


def _mha_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    return Mistake(name, hint, functools.partial(_flawed_multi_head_attention, **flaw))


_MHA_MISTAKES = (
    _mha_mistake(
        "heads split with view but without the transpose (mixes positions and heads)",
        "split as `t.view(B, T, H, Dh).transpose(1, 2)` (your `my_split_heads`, or `attn_lib.split_heads`).",
        split="no_transpose",
    ),
    _mha_mistake(
        "heads merged without the transpose (mixes positions and heads)",
        "merge as `out.transpose(1, 2).reshape(B, T_q, D)` (or `attn_lib.merge_heads`).",
        merge="no_transpose",
    ),
    _mha_mistake(
        "heads merged in the wrong order (heads interleaved)",
        "concatenate head 0's features, then head 1's, ...: `out.transpose(1, 2).reshape(B, T_q, D)`.",
        merge="interleaved",
    ),
    _mha_mistake(
        "output projection W_o forgotten",
        "after concatenating the heads, multiply by W^O: `merge_heads(out) @ W_o`.",
        out_proj=False,
    ),
    _mha_mistake(
        "scores scaled by √d_model instead of √head_dim",
        "each head works in head_dim = d_model / num_heads dimensions, so divide its scores by √head_dim "
        "(what `scaled_dot_product_attention` does with each head's q and k).",
        scale_by="d_model",
    ),
    _mha_mistake(
        "weights used transposed (x @ W.T, as nn.Linear stores them)",
        "here the matrices are applied as in the paper, Q = X W^Q: `x_q @ W_q`, not `x_q @ W_q.T`.",
        transposed_weights=True,
    ),
    _mha_mistake(
        "num_heads ignored (one head over the full d_model)",
        "split Q, K and V into `num_heads` heads of head_dim = d_model / num_heads each, attend per head, "
        "then merge.",
        split="ignored",
    ),
)


def _mha_cases() -> list[Case]:
    g = _gen(303)

    def case(label: str, B: int, t_q: int, t_k: int | None, D: int, H: int) -> Case:
        x_q = _randn(g, B, t_q, D)
        x_kv = x_q.clone() if t_k is None else _randn(g, B, t_k, D)
        weights = tuple(_randn(g, D, D, std=D**-0.5) for _ in range(4))  # W_q, W_k, W_v, W_o: (D, D)
        return Case(label, (x_q, x_kv, *weights, H))

    return [
        case("self-attention: x (2, 5, 16), 4 heads (head_dim 4)", 2, 5, None, 16, 4),
        case("cross: x_q (2, 3, 16), x_kv (2, 6, 16), 4 heads", 2, 3, 6, 16, 4),
        case("d_model 8, 2 heads: x_q (1, 4, 8), x_kv (1, 7, 8)", 1, 4, 7, 8, 2),
        case("one head: x_q (2, 3, 16), x_kv (2, 5, 16), num_heads 1", 2, 3, 5, 16, 1),
        case("length 1: x_q (2, 1, 16), x_kv (2, 1, 16), 4 heads", 2, 1, 1, 16, 4),
    ]


# ======================================================================== lesson 04: encoder self-attention


def _solution_positional_encoding(max_len: int, d_model: int) -> torch.Tensor:
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]  # (T, 1): positions 0 .. max_len - 1
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)  # (D/2,): 2i = 0, 2, 4, ...
    angle = pos / 10000 ** (two_i / d_model)  # (T, D/2): one frequency per pair of columns
    pe = torch.stack([torch.sin(angle), torch.cos(angle)], dim=-1)  # (T, D/2, 2): sin, cos of the same angle
    return pe.reshape(max_len, d_model)  # (T, D): columns sin, cos, sin, cos, ...


def _flawed_positional_encoding(
    max_len: int,
    d_model: int,
    *,
    base: float = 10000.0,
    exponent: str = "2i",
    layout: str = "interleaved",
    swap: bool = False,
    start: int = 0,
) -> torch.Tensor:
    """The sinusoidal table with one chosen flaw (keyword flags; see the mistakes below)."""
    pos = torch.arange(start, start + max_len, dtype=torch.float32)[:, None]  # (T, 1)
    if exponent == "per_column":  # column j gets its own frequency base^(-j/D)
        j = torch.arange(d_model, dtype=torch.float32)
        angle = pos / base ** (j / d_model)  # (T, D)
        first, second = torch.sin(angle[:, 0::2]), torch.cos(angle[:, 1::2])
    else:
        i = torch.arange(d_model // 2, dtype=torch.float32)
        power = 2 * i / d_model if exponent == "2i" else i / d_model
        angle = pos / base**power  # (T, D/2)
        first, second = torch.sin(angle), torch.cos(angle)
    if swap:
        first, second = torch.cos(angle), torch.sin(angle)
    if layout == "halves":
        return torch.cat([first, second], dim=-1)
    return torch.stack([first, second], dim=-1).reshape(max_len, d_model)


def _pe_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    return Mistake(name, hint, functools.partial(_flawed_positional_encoding, **flaw))


_PE_MISTAKES = (
    _pe_mistake(
        "sin and cos swapped",
        "even columns 2i hold the sine, odd columns 2i+1 the cosine: PE[pos, 2i] = sin(pos / "
        "10000^(2i/d_model)).",
        swap=True,
    ),
    _pe_mistake(
        "wrong base (1000 instead of 10000)",
        "the wavelengths grow geometrically up to 10000·2π: divide by `10000 ** (2i / d_model)`.",
        base=1000.0,
    ),
    _pe_mistake(
        "exponent i/d_model instead of 2i/d_model",
        "for the pair of columns (2i, 2i+1) the exponent is 2i / d_model: with `two_i = torch.arange(0, "
        "d_model, 2)` "
        "use `two_i / d_model`.",
        exponent="i",
    ),
    _pe_mistake(
        "pairing of dimensions: each column gets its own frequency",
        "columns 2i and 2i+1 share one frequency 1/10000^(2i/d_model); compute the angles once per pair "
        "(`torch.arange(0, d_model, 2)`), then take their sin and their cos.",
        exponent="per_column",
    ),
    _pe_mistake(
        "sin in the first half, cos in the second half (not interleaved)",
        "interleave: column 2i is sin, column 2i+1 is cos of the same angle (`pe[:, 0::2] = ...`, "
        "`pe[:, 1::2] = ...`, or `torch.stack([sin, cos], dim=-1).reshape(max_len, d_model)`).",
        layout="halves",
    ),
    _pe_mistake(
        "positions counted from 1",
        "the first position is 0: `torch.arange(max_len)`, so row 0 is [0, 1, 0, 1, ...].",
        start=1,
    ),
)


def _pe_cases() -> list[Case]:
    return [
        Case("max_len 50, d_model 16", (50, 16)),
        Case("max_len 12, d_model 64", (12, 64)),
        Case("max_len 7, d_model 6", (7, 6)),
        Case("length 1: max_len 1, d_model 2", (1, 2)),
    ]


def _solution_self_attention(
    x: torch.Tensor, W_q: torch.Tensor, W_k: torch.Tensor, W_v: torch.Tensor
) -> torch.Tensor:
    q, k, v = x @ W_q, x @ W_k, x @ W_v  # all three from the same x: (B, T, d_k), (B, T, d_k), (B, T, d_v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(k.shape[-1])  # (B, T, T): every position with every position
    return torch.softmax(scores, dim=-1) @ v  # (B, T, d_v)


def _expected_self_attention(
    x: torch.Tensor, W_q: torch.Tensor, W_k: torch.Tensor, W_v: torch.Tensor
) -> torch.Tensor:
    return scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v)[0]


def _self_attention_cases() -> list[Case]:
    g = _gen(402)

    def case(B: int, T: int, D: int, d_k: int, d_v: int) -> Case:
        args = (_randn(g, B, T, D), _randn(g, D, d_k, std=D**-0.5), _randn(g, D, d_k, std=D**-0.5))
        label = f"x ({B}, {T}, {D}), W_q and W_k ({D}, {d_k}), W_v ({D}, {d_v})"
        return Case(("length 1: " if T == 1 else "") + label, (*args, _randn(g, D, d_v, std=D**-0.5)))

    return [case(2, 5, 16, 4, 8), case(3, 7, 16, 8, 4), case(1, 1, 16, 4, 8), case(1, 4, 9, 4, 4)]


_SELF_ATTENTION_MISTAKES = (
    Mistake(
        "no projections (Q = K = V = x)",
        "self-attention uses the same *input* for all three, through three different matrices: "
        "`q, k, v = x @ W_q, x @ W_k, x @ W_v`.",
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x, x, x)[0],
    ),
    Mistake(
        "scaled by √d_model instead of √d_k",
        "the scale is the width of the keys, `k.shape[-1]` (d_k), not the width of x.",
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(
            x @ W_q, x @ W_k, x @ W_v, scale=x.shape[-1] ** -0.5
        )[0],
    ),
    Mistake(
        "no scaling (missing ÷√d_k)",
        "divide the scores by `math.sqrt(d_k)` before the softmax.",
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v, scale=1.0)[0],
    ),
    Mistake(
        "returned the attention weights, not the output",
        "finish with `weights @ v`: the output has one d_v-vector per position, shape (B, T, d_v).",
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v)[1],
    ),
    Mistake(
        "softmax over the wrong axis",
        _MASK_HINTS["dim"],
        lambda x, W_q, W_k, W_v: _flawed_attention(x @ W_q, x @ W_k, x @ W_v, dim=-2)[0],
    ),
    Mistake(
        "weights used transposed (x @ W.T)",
        "the matrices are (d_model, d_k) and apply as `x @ W_q` (Q = X W^Q).",
        lambda x, W_q, W_k, W_v: scaled_dot_product_attention(x @ W_q.T, x @ W_k.T, x @ W_v.T)[0],
    ),
)


# ======================================================================== lesson 05: masking


def _solution_causal_mask(T: int) -> torch.Tensor:
    # True on and below the diagonal: query i may attend to keys j <= i (itself and the past).
    return torch.ones(T, T, dtype=torch.bool).tril()  # (T, T)


_CAUSAL_MISTAKES = (
    Mistake(
        "off by one: the diagonal is excluded (a position cannot see itself)",
        "position i may attend to itself: `tril()` (diagonal=0), not `tril(-1)`.",
        lambda T: torch.ones(T, T, dtype=torch.bool).tril(-1),
    ),
    Mistake(
        "off by one: one step of the future is allowed",
        "query i may see keys j <= i only: `tril()` (diagonal=0), not `tril(1)`.",
        lambda T: torch.ones(T, T, dtype=torch.bool).tril(1),
    ),
    Mistake(
        "inverted: True marks the blocked future (torch.nn.MultiheadAttention's meaning)",
        "in this course True = *may attend*: True on and below the diagonal, `torch.ones(T, T, "
        "dtype=torch.bool)"
        ".tril()`.",
        lambda T: torch.ones(T, T, dtype=torch.bool).triu(1),
    ),
    Mistake(
        "upper triangle instead of lower (queries see the future)",
        "row i is query i; it may see columns j <= i, the *lower* triangle: `tril()`, not `triu()`.",
        lambda T: torch.ones(T, T, dtype=torch.bool).triu(),
    ),
    Mistake(
        "a float 0/1 mask instead of bool",
        "make it bool: `torch.ones(T, T, dtype=torch.bool).tril()` (or `.bool()`).",
        lambda T: torch.ones(T, T).tril(),
    ),
    Mistake(
        "an additive 0/−inf bias instead of a bool mask",
        "the exercise asks for the bool *mask* (True = may attend); `attn_lib.to_additive_mask` turns it "
        "into the "
        "additive bias.",
        lambda T: to_additive_mask(torch.ones(T, T, dtype=torch.bool).tril()),
    ),
)


def _solution_masked_attention_weights(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    scores = scores.masked_fill(~mask, float("-inf"))  # blocked -> -inf *before* the softmax (a new tensor)
    weights = torch.softmax(scores, dim=-1)  # exp(-inf) = 0: blocked weights are exactly 0
    return torch.nan_to_num(weights)  # a row with every key blocked: 0/0 = NaN -> 0


def _expected_masked_attention_weights(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def _masked_mistake(name: str, hint: str, **flaw: Any) -> Mistake:
    alternatives = ()
    if flaw.get("mode") == "inverted":
        alternatives = (functools.partial(_flawed_masked_weights, nan_rows=True, **flaw),)
    return Mistake(name, hint, functools.partial(_flawed_masked_weights, **flaw), alternatives)


_MASKED_WEIGHTS_MISTAKES = (
    _masked_mistake("mask applied after the softmax (zeroed weights)", _MASK_HINTS["after"], mode="after"),
    _masked_mistake("masked scores filled with 0 instead of −inf", _MASK_HINTS["zero"], fill="zero"),
    _masked_mistake("mask inverted", _MASK_HINTS["inverted"], mode="inverted"),
    _masked_mistake("mask ignored", _MASK_HINTS["ignore"], mode="ignore"),
    _masked_mistake("softmax over the wrong axis", _MASK_HINTS["dim"], dim=-2),
    _masked_mistake("NaN for a fully masked row", _MASK_HINTS["nan"], nan_rows=True),
    _masked_mistake(
        "uniform weights for a fully masked row (filled with −1e9, not −inf)",
        _MASK_HINTS["-1e9"],
        fill="-1e9",
    ),
    _masked_mistake(INPLACE_MISTAKE, _INPLACE_HINT, in_place=True),
)


def _masked_weights_cases() -> list[Case]:
    g = _gen(502)
    mixed = torch.tensor(
        [[1, 0, 1, 1, 0, 1], [0, 1, 1, 0, 1, 1], [1, 1, 0, 0, 0, 1], [1, 1, 1, 1, 1, 1]]
    ).bool()
    padding = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])[:, None, :]  # (2, 1, 6)
    fully = torch.tensor([[True, True, False, True], [False] * 4, [True, False, False, False]])
    return [
        Case(
            "scores (4, 6), mask (4, 6) with some keys blocked in each row", (_randn(g, 4, 6, std=2.0), mixed)
        ),
        Case(
            "scores (2, 3, 5, 5): batch and heads, causal mask (5, 5)",
            (_randn(g, 2, 3, 5, 5, std=2.0), causal_mask(5)),
        ),
        Case(
            "scores (2, 4, 6), padding mask (2, 1, 6): item 1 has 3 padded keys",
            (_randn(g, 2, 4, 6, std=2.0), padding),
        ),
        Case("length 1: scores (1, 1), mask [[True]]", (_randn(g, 1, 1), torch.ones(1, 1, dtype=torch.bool))),
        Case(
            "scores (3, 4), mask whose row 1 blocks every key (a fully masked row)",
            (_randn(g, 3, 4, std=2.0), fully),
        ),
    ]


# ======================================================================== lesson 06: cross-attention


def _solution_cross_attention(
    decoder_x: torch.Tensor,
    encoder_out: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
) -> torch.Tensor:
    q = decoder_x @ W_q  # (B, T_dec, d_k): the decoder asks
    k = encoder_out @ W_k  # (B, T_enc, d_k): every source position answers ...
    v = encoder_out @ W_v  # (B, T_enc, d_v): ... with its value
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)  # (B, T_dec, T_enc)
    return weights @ v  # (B, T_dec, d_v)


def _expected_cross_attention(
    decoder_x: torch.Tensor,
    encoder_out: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
) -> torch.Tensor:
    return scaled_dot_product_attention(decoder_x @ W_q, encoder_out @ W_k, encoder_out @ W_v)[0]


def _cross_variant(q_from: str, k_from: str, v_from: str, **flaw: Any) -> Callable[..., torch.Tensor]:
    def variant(
        decoder_x: torch.Tensor,
        encoder_out: torch.Tensor,
        W_q: torch.Tensor,
        W_k: torch.Tensor,
        W_v: torch.Tensor,
    ) -> torch.Tensor:
        side = {"dec": decoder_x, "enc": encoder_out}
        return _flawed_attention(side[q_from] @ W_q, side[k_from] @ W_k, side[v_from] @ W_v, **flaw)[0]

    return variant


_CROSS_MISTAKES = (
    Mistake(
        "sides swapped: queries from the encoder, keys and values from the decoder",
        "the decoder asks, the encoder answers: `q = decoder_x @ W_q`, `k = encoder_out @ W_k`, "
        "`v = encoder_out @ W_v`; the output has one row per *decoder* position.",
        _cross_variant("enc", "dec", "dec"),
    ),
    Mistake(
        "keys taken from the decoder",
        "keys and values both come from the encoder output: `k = encoder_out @ W_k`.",
        _cross_variant("dec", "dec", "enc"),
    ),
    Mistake(
        "values taken from the decoder",
        "keys and values both come from the encoder output: `v = encoder_out @ W_v`.",
        _cross_variant("dec", "enc", "dec"),
    ),
    Mistake(
        "self-attention on the decoder (the encoder output is never used)",
        "cross-attention reads the *encoder*: keys and values from `encoder_out`.",
        _cross_variant("dec", "dec", "dec"),
    ),
    Mistake(
        "no scaling (missing ÷√d_k)",
        "divide the scores by `math.sqrt(d_k)`, with `d_k = W_q.shape[1]`.",
        _cross_variant("dec", "enc", "enc", scale="none"),
    ),
    Mistake(
        "softmax over the decoder positions (wrong axis)",
        "each decoder position's weights over the *source* positions sum to 1: `softmax(..., dim=-1)`.",
        _cross_variant("dec", "enc", "enc", dim=-2),
    ),
)


def _cross_cases() -> list[Case]:
    g = _gen(601)

    def case(B: int, t_dec: int, t_enc: int, extra: str = "") -> Case:
        D, d_k, d_v = 12, 8, 4
        args = (_randn(g, B, t_dec, D), _randn(g, B, t_enc, D))
        mats = (
            _randn(g, D, d_k, std=D**-0.5),
            _randn(g, D, d_k, std=D**-0.5),
            _randn(g, D, d_v, std=D**-0.5),
        )
        label = f"{extra}decoder_x ({B}, {t_dec}, {D}), encoder_out ({B}, {t_enc}, {D}), d_k 8, d_v 4"
        return Case(label, (*args, *mats))

    return [
        case(2, 3, 6),
        case(1, 5, 2),
        case(2, 1, 4, "one target position: "),
        case(3, 4, 1, "one source position: "),
    ]


def _solution_padding_mask(tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    is_real = tokens != pad_id  # (B, T): True for a real token, False for padding
    return is_real[:, None, None, :]  # (B, 1, 1, T): broadcasts over heads and queries, masks *keys*


def _padding_cases() -> list[Case]:
    return [
        Case(
            "tokens (3, 6) padded with 0 on the right, pad_id 0",
            (torch.tensor([[5, 3, 8, 4, 9, 7], [6, 4, 0, 0, 0, 0], [3, 3, 3, 9, 0, 0]]), 0),
        ),
        Case(
            "pad_id 12, and 0 is a real token: tokens (2, 5)",
            (torch.tensor([[0, 4, 12, 12, 12], [7, 0, 5, 9, 12]]), 12),
        ),
        Case("length 1: tokens (1, 1), no padding", (torch.tensor([[4]]), 0)),
        Case(
            "a row that is all padding: tokens (2, 4), pad_id 1",
            (torch.tensor([[3, 1, 1, 1], [1, 1, 1, 1]]), 1),
        ),
    ]


_PADDING_MISTAKES = (
    Mistake(
        "inverted: True at the padding",
        "True = *may attend*: True where the token is real, `tokens != pad_id`.",
        lambda tokens, pad_id: (tokens == pad_id)[:, None, None, :],
    ),
    Mistake(
        "shape (B, T): the mask cannot broadcast against the (B, H, T_q, T_k) scores",
        "add the head and query axes: `mask[:, None, None, :]` -> (B, 1, 1, T).",
        lambda tokens, pad_id: tokens != pad_id,
    ),
    Mistake(
        "shape (B, 1, T): the batch axis lines up with the heads",
        "scores are (B, H, T_q, T_k) and broadcasting aligns from the right: (B, 1, T) reads as (1, B, 1, "
        "T). "
        "Use (B, 1, 1, T): `mask[:, None, None, :]`.",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, :],
    ),
    Mistake(
        "masks the padded queries instead of the padded keys (shape (B, 1, T, 1))",
        "padding must not be *attended to*, so the mask runs along the keys (last axis): (B, 1, 1, T).",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, :, None],
    ),
    Mistake(
        "pad id hard-coded as 0",
        "compare with the argument: `tokens != pad_id`.",
        lambda tokens, pad_id: (tokens != 0)[:, None, None, :],
    ),
    Mistake(
        "a float 0/1 mask instead of bool",
        "keep the comparison's bool result: `(tokens != pad_id)[:, None, None, :]`.",
        lambda tokens, pad_id: (tokens != pad_id)[:, None, None, :].float(),
    ),
)


# ======================================================================== lesson 07: tiny Transformer


def _solution_teacher_forcing_pair(
    answers: torch.Tensor, bos_id: int, eos_id: int
) -> tuple[torch.Tensor, torch.Tensor]:
    B = answers.shape[0]
    bos = torch.full((B, 1), bos_id, dtype=answers.dtype)  # (B, 1)
    eos = torch.full((B, 1), eos_id, dtype=answers.dtype)  # (B, 1)
    tgt_in = torch.cat([bos, answers], dim=1)  # (B, L+1): BOS y_1 .. y_L, what the decoder reads
    tgt_out = torch.cat([answers, eos], dim=1)  # (B, L+1): y_1 .. y_L EOS, what it must predict
    return tgt_in, tgt_out


def _with_token(answers: torch.Tensor, token: int, at_start: bool) -> torch.Tensor:
    column = torch.full((answers.shape[0], 1), token, dtype=answers.dtype)
    return torch.cat([column, answers] if at_start else [answers, column], dim=1)


def _teacher_forcing_cases() -> list[Case]:
    g = _gen(701)

    def digits(B: int, L: int) -> torch.Tensor:  # random digit ids 3 .. 12, as in attn_lib.data
        return torch.randint(3, 13, (B, L), generator=g)

    return [
        Case("answers (3, 5), bos_id 1, eos_id 2", (digits(3, 5), BOS, EOS)),
        Case("length 1: answers (2, 1), bos_id 1, eos_id 2", (digits(2, 1), BOS, EOS)),
        Case("answers (2, 8), bos_id 20, eos_id 21", (digits(2, 8), 20, 21)),
    ]


_TEACHER_FORCING_MISTAKES = (
    Mistake(
        "no shift: tgt_in equals tgt_out (the decoder would read the token it must predict)",
        "the input is the answer shifted one step right: `tgt_in` starts with BOS, `tgt_out` ends with EOS.",
        lambda a, bos_id, eos_id: (_with_token(a, eos_id, False), _with_token(a, eos_id, False)),
    ),
    Mistake(
        "tgt_in and tgt_out swapped",
        "return `(tgt_in, tgt_out)`: first BOS + answer, then answer + EOS.",
        lambda a, bos_id, eos_id: _solution_teacher_forcing_pair(a, bos_id, eos_id)[::-1],
    ),
    Mistake(
        "EOS forgotten in tgt_out (the model never learns to stop)",
        "append EOS to the answer: `tgt_out = torch.cat([answers, eos], dim=1)`, shape (B, L+1).",
        lambda a, bos_id, eos_id: (_with_token(a, bos_id, True), a),
    ),
    Mistake(
        "BOS appended at the end instead of the start",
        "BOS is what the decoder reads *first*: `torch.cat([bos, answers], dim=1)`.",
        lambda a, bos_id, eos_id: (_with_token(a, bos_id, False), _with_token(a, eos_id, False)),
    ),
    Mistake(
        "BOS and EOS swapped",
        "`tgt_in` starts with BOS (`bos_id`), `tgt_out` ends with EOS (`eos_id`).",
        lambda a, bos_id, eos_id: (_with_token(a, eos_id, True), _with_token(a, bos_id, False)),
    ),
    Mistake(
        "BOS/EOS ids hard-coded instead of using bos_id and eos_id",
        "use the arguments `bos_id` and `eos_id`: another vocabulary has other ids.",
        lambda a, bos_id, eos_id: (_with_token(a, BOS, True), _with_token(a, EOS, False)),
    ),
)


def _solution_greedy_next_token(logits: torch.Tensor) -> torch.Tensor:
    last = logits[:, -1, :]  # (B, t, V) -> (B, V): only the newest position predicts the next token
    return last.argmax(dim=-1)  # (B,): the id of the highest score


def _greedy_cases() -> list[Case]:
    g = _gen(702)
    return [
        Case("logits (2, 3, 13): B=2, t=3, V=13", (_randn(g, 2, 3, 13, std=3.0),)),
        Case("logits (4, 6, 13)", (_randn(g, 4, 6, 13, std=3.0),)),
        Case("one position so far: logits (3, 1, 7)", (_randn(g, 3, 1, 7, std=3.0),)),
        Case("batch of 1: logits (1, 5, 9)", (_randn(g, 1, 5, 9, std=3.0),)),
    ]


_GREEDY_MISTAKES = (
    Mistake(
        "a prediction for every position, not only the last",
        "only the last position predicts the *next* token: `logits[:, -1, :].argmax(dim=-1)`, shape (B,).",
        lambda logits: logits.argmax(dim=-1),
    ),
    Mistake(
        "the first position instead of the last",
        "the newest position is the last one: `logits[:, -1, :]`.",
        lambda logits: logits[:, 0, :].argmax(dim=-1),
    ),
    Mistake(
        "indexed the batch instead of time (logits[-1])",
        "`logits[-1]` is the last *sequence* of the batch; take the last position of every sequence: "
        "`logits[:, -1, :]`.",
        lambda logits: logits[-1].argmax(dim=-1),
    ),
    Mistake(
        "argmax over the wrong axis",
        "pick the best token of each sequence: argmax over the vocabulary, `dim=-1`.",
        lambda logits: logits[:, -1, :].argmax(dim=0),
    ),
    Mistake(
        "returned the highest score, not its token id",
        "`max(...).values` is the score; the token is its index: `argmax(dim=-1)` (or `max(...).indices`).",
        lambda logits: logits[:, -1, :].max(dim=-1).values,
    ),
)


# ======================================================================== the registry


def _exercise_list() -> list[Exercise]:
    F, L = "float", "long"
    return [
        Exercise(
            "attention_weights",
            "01",
            "the soft-lookup weights of one query over n keys: softmax of the dot products, shape (n,).",
            _solution_attention_weights,
            _expected_attention_weights,
            lambda: _lookup_cases(101, with_values=False),
            (Out("weights", F, "(n,)"),),
            _ATTENTION_WEIGHTS_MISTAKES,
        ),
        Exercise(
            "soft_lookup",
            "01",
            "a soft dictionary lookup: the values mixed by the softmax weights of query·key, shape (d_v,).",
            _solution_soft_lookup,
            _expected_soft_lookup,
            lambda: _lookup_cases(102, with_values=True),
            (Out("output", F, "(d_v,)"),),
            _SOFT_LOOKUP_MISTAKES,
        ),
        Exercise(
            "scaled_dot_product_attention",
            "02",
            "softmax(Q Kᵀ / √d_k) V with an optional bool mask (True = may attend; a fully masked row gives "
            "zeros), returning (output (..., T_q, d_v), weights (..., T_q, T_k)).",
            _solution_scaled_dot_product_attention,
            _expected_scaled_dot_product_attention,
            _sdpa_cases,
            (Out("output", F, "(..., T_q, d_v)"), Out("weights", F, "(..., T_q, T_k)")),
            _SDPA_MISTAKES,
            solution_imports="import math\n\nimport torch",
        ),
        Exercise(
            "stable_softmax",
            "02",
            "a softmax over the last axis that does not overflow for large inputs (subtract each row's max).",
            _solution_stable_softmax,
            softmax,
            _stable_softmax_cases,
            (Out("result", F, "x.shape"),),
            _STABLE_SOFTMAX_MISTAKES,
        ),
        Exercise(
            "split_heads",
            "03",
            "(B, T, D) -> (B, H, T, Dh): cut the features into num_heads consecutive slices, heads before "
            "time.",
            _solution_split_heads,
            split_heads,
            _split_cases,
            (Out("result", F, "(B, H, T, Dh)"),),
            _SPLIT_HEADS_MISTAKES,
        ),
        Exercise(
            "merge_heads",
            "03",
            "(B, H, T, Dh) -> (B, T, H·Dh): the inverse of split_heads, i.e. the concatenation of the heads.",
            _solution_merge_heads,
            merge_heads,
            _merge_cases,
            (Out("result", F, "(B, T, H·Dh)"),),
            _MERGE_HEADS_MISTAKES,
        ),
        Exercise(
            "multi_head_attention",
            "03",
            "multi-head attention with given (D, D) matrices: project (x @ W), split into heads, scaled "
            "dot-product attention per head, merge, then @ W_o; shape (B, T_q, D).",
            _solution_multi_head_attention,
            _expected_multi_head_attention,
            _mha_cases,
            (Out("output", F, "(B, T_q, D)"),),
            _MHA_MISTAKES,
            solution_imports="from attn_lib import merge_heads, scaled_dot_product_attention, split_heads",
        ),
        Exercise(
            "positional_encoding",
            "04",
            "the sinusoidal table (max_len, d_model): PE[pos, 2i] = sin(pos / 10000^(2i/d_model)), "
            "PE[pos, 2i+1] = cos(same angle).",
            _solution_positional_encoding,
            sinusoidal_positional_encoding,
            _pe_cases,
            (Out("pe", F, "(max_len, d_model)"),),
            _PE_MISTAKES,
            atol=1e-4,
        ),
        Exercise(
            "self_attention",
            "04",
            "single-head self-attention: Q, K, V all from x through W_q, W_k, W_v, scaled by √d_k; "
            "shape (B, T, d_v).",
            _solution_self_attention,
            _expected_self_attention,
            _self_attention_cases,
            (Out("output", F, "(B, T, d_v)"),),
            _SELF_ATTENTION_MISTAKES,
            solution_imports="import math\n\nimport torch",
        ),
        Exercise(
            "causal_mask",
            "05",
            "the (T, T) bool mask, True where query i may attend to key j, i.e. j <= i.",
            _solution_causal_mask,
            causal_mask,
            lambda: [Case(f"T = {t}" + (" (length 1)" if t == 1 else ""), (t,)) for t in (5, 1, 2, 8)],
            (Out("mask", "bool", "(T, T)"),),
            _CAUSAL_MISTAKES,
        ),
        Exercise(
            "masked_attention_weights",
            "05",
            "attention weights from scores and a bool mask (True = may attend): blocked scores -> −inf "
            "before "
            "the softmax; a fully masked row gives zeros; the input is not modified.",
            _solution_masked_attention_weights,
            _expected_masked_attention_weights,
            _masked_weights_cases,
            (Out("weights", F, "scores.shape"),),
            _MASKED_WEIGHTS_MISTAKES,
        ),
        Exercise(
            "cross_attention",
            "06",
            "single-head cross-attention: queries from decoder_x, keys and values from encoder_out, scaled "
            "by √d_k; shape (B, T_dec, d_v).",
            _solution_cross_attention,
            _expected_cross_attention,
            _cross_cases,
            (Out("output", F, "(B, T_dec, d_v)"),),
            _CROSS_MISTAKES,
            solution_imports="import math\n\nimport torch",
        ),
        Exercise(
            "padding_mask",
            "06",
            "the (B, 1, 1, T) bool mask, True where a token is real (not pad_id), so no query attends to "
            "padding.",
            _solution_padding_mask,
            padding_mask,
            _padding_cases,
            (Out("mask", "bool", "(B, 1, 1, T)"),),
            _PADDING_MISTAKES,
        ),
        Exercise(
            "teacher_forcing_pair",
            "07",
            "(tgt_in, tgt_out) for teacher forcing from answers (B, L): BOS + answer and answer + EOS, each "
            "(B, L+1).",
            _solution_teacher_forcing_pair,
            _solution_teacher_forcing_pair,
            _teacher_forcing_cases,
            (Out("tgt_in", L, "(B, L+1)"), Out("tgt_out", L, "(B, L+1)")),
            _TEACHER_FORCING_MISTAKES,
        ),
        Exercise(
            "greedy_next_token",
            "07",
            "one greedy decoding step: the id of the highest-scoring token at the last position, shape (B,).",
            _solution_greedy_next_token,
            _solution_greedy_next_token,
            _greedy_cases,
            (Out("next_token", L, "(B,)"),),
            _GREEDY_MISTAKES,
        ),
    ]


EXERCISES: dict[str, Exercise] = {ex.name: ex for ex in _exercise_list()}


# ======================================================================== solutions


@dataclass(frozen=True)
class Solution:
    """The reference solution of an exercise, shown as highlighted Python in a notebook."""

    exercise: str
    source: str

    def __repr__(self) -> str:
        return self.source

    def _repr_markdown_(self) -> str:
        return f"**A solution to `{self.exercise}`**\n\n```python\n{self.source}\n```"


def show_solution(name: str) -> Solution:
    """The reference solution of exercise ``name``, renamed to ``my_<name>`` so that it can be pasted.

    A checked solution, not the only one: any function that passes ``check_<name>`` is right.
    """
    if name not in EXERCISES:
        raise ValueError(f"no exercise named {name!r}; the exercises are {sorted(EXERCISES)}")
    ex = EXERCISES[name]
    source = inspect.getsource(ex.reference)
    source = source.replace(f"def {ex.reference.__name__}(", f"def my_{name}(", 1)
    return Solution(name, f"{ex.solution_imports}\n\n\n{source.rstrip()}")


# ======================================================================== the checkers


def check_attention_weights(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 01. Check ``my_attention_weights(query, keys)``: softmax(keys @ query), shape (n,)."""
    return EXERCISES["attention_weights"].check(fn)


def check_soft_lookup(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 01. Check ``my_soft_lookup(query, keys, values)``: softmax(keys @ query) @ values."""
    return EXERCISES["soft_lookup"].check(fn)


def check_scaled_dot_product_attention(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 02. Check ``my_scaled_dot_product_attention(q, k, v, mask=None) -> (output, weights)``."""
    return EXERCISES["scaled_dot_product_attention"].check(fn)


def check_stable_softmax(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 02. Check ``my_stable_softmax(x)``: softmax over the last axis, without overflow."""
    return EXERCISES["stable_softmax"].check(fn)


def check_split_heads(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 03. Check ``my_split_heads(x, num_heads)``: (B, T, D) -> (B, H, T, Dh)."""
    return EXERCISES["split_heads"].check(fn)


def check_merge_heads(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 03. Check ``my_merge_heads(x)``: (B, H, T, Dh) -> (B, T, H·Dh)."""
    return EXERCISES["merge_heads"].check(fn)


def check_multi_head_attention(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 03. Check ``my_multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, num_heads)``."""
    return EXERCISES["multi_head_attention"].check(fn)


def check_positional_encoding(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 04. Check ``my_positional_encoding(max_len, d_model)``: the sinusoidal table."""
    return EXERCISES["positional_encoding"].check(fn)


def check_self_attention(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 04. Check ``my_self_attention(x, W_q, W_k, W_v)``: single-head self-attention."""
    return EXERCISES["self_attention"].check(fn)


def check_causal_mask(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 05. Check ``my_causal_mask(T)``: bool (T, T), True on and below the diagonal."""
    return EXERCISES["causal_mask"].check(fn)


def check_masked_attention_weights(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 05. Check ``my_masked_attention_weights(scores, mask)``: the masked softmax."""
    return EXERCISES["masked_attention_weights"].check(fn)


def check_cross_attention(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 06. Check ``my_cross_attention(decoder_x, encoder_out, W_q, W_k, W_v)``."""
    return EXERCISES["cross_attention"].check(fn)


def check_padding_mask(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 06. Check ``my_padding_mask(tokens, pad_id)``: bool (B, 1, 1, T), True = real token."""
    return EXERCISES["padding_mask"].check(fn)


def check_teacher_forcing_pair(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 07. Check ``my_teacher_forcing_pair(answers, bos_id, eos_id) -> (tgt_in, tgt_out)``."""
    return EXERCISES["teacher_forcing_pair"].check(fn)


def check_greedy_next_token(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 07. Check ``my_greedy_next_token(logits)``: argmax at the last position, shape (B,)."""
    return EXERCISES["greedy_next_token"].check(fn)
