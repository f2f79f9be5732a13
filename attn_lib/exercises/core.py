"""The records of an exercise, and the engine that runs a learner's function and judges it.

:class:`Exercise` describes an exercise: :class:`Out` what it returns, :class:`Case` one input,
:class:`Mistake` a mistake it recognises. :func:`_run_check` calls the learner's function on a
copy of every case (:func:`_call`: exceptions are caught, arguments changed in place noticed),
compares each outcome with the expected one, and at the first difference looks for the known
mistake whose variants behave the same (:func:`_match_mistake`). :mod:`.problems` puts what
differs into words; :mod:`.result` holds the :class:`CheckResult` it returns.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch

from .. import progress
from ..i18n import N_, _, ngettext
from .problems import _error_text, _output_problem, _type_name
from .result import CheckResult

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
        lesson: the lesson number, ``"00"`` (the warm-up) .. ``"07"``.
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
        """Run the learner's ``fn`` on every case (see :func:`_run_check`); record the outcome.

        The outcome goes to the learner's progress file (:mod:`attn_lib.progress`, outside the
        repository; ``ATTN_COURSE_PROGRESS=off`` switches it off), which never raises.
        """
        result = _run_check(self, fn)
        progress.record_result(self, result)
        return result


# ======================================================================== the engine

INPLACE_MISTAKE = N_("input changed in place")
_INPLACE_HINT = N_(
    "a function should not modify its arguments: the caller's tensor changes too, and re-running "
    "a cell then gives other numbers. Use the out-of-place form (`masked_fill`, not `masked_fill_`; "
    "`x = x + 1`, not `x += 1`)."
)
_MATCH_ATOL, _MATCH_RTOL = 1e-4, 1e-3  # looser: a learner's variant may sum in another order


@dataclass
class _Outcome:
    value: Any = None
    error: BaseException | None = None
    mutated: str | None = None  # the name of an argument the call changed in place
    unusable: str | None = None  # why the returned value cannot be compared (meta, sparse, ...)


# ------------------------------------------------------------------ the checker's own setting


@dataclass(frozen=True)
class _Setting:
    """The global torch state a learner's notebook may have changed and a check depends on."""

    dtype: torch.dtype
    device: torch.device
    grad: bool
    threads: int

    @classmethod
    def now(cls) -> _Setting:
        return cls(
            torch.get_default_dtype(),
            torch.get_default_device(),
            torch.is_grad_enabled(),
            torch.get_num_threads(),
        )

    def apply(self) -> None:
        torch.set_default_dtype(self.dtype)
        torch.set_default_device(None if self.device == torch.device("cpu") else self.device)
        torch.set_grad_enabled(self.grad)
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)


# float32 on the CPU, no autograd, one thread (the inputs are tiny: with several threads a busy
# machine makes every small softmax wait, 50x slower): the same for every learner, whatever
# `torch.set_default_dtype(...)`, `torch.set_default_device(...)`, `torch.set_grad_enabled(...)`
# or `torch.set_num_threads(...)` their notebook ran before.
_CHECK_SETTING = _Setting(torch.float32, torch.device("cpu"), grad=False, threads=1)


@contextmanager
def _checker_setting() -> Iterator[None]:
    """Run a check in :data:`_CHECK_SETTING` and the random stream of its own; restore the learner's after."""
    saved = _Setting.now()
    # fork_rng: neither the inputs nor the learner's code move the notebook's random stream.
    with torch.random.fork_rng(devices=[]):
        try:
            _CHECK_SETTING.apply()
            yield
        finally:
            saved.apply()


def _plain(value: Any) -> tuple[Any, str | None]:
    """The returned ``value`` with every tensor made an ordinary dense CPU tensor, or why it cannot be.

    A learner may return a Tensor subclass (whose ``__torch_function__`` may raise), a tensor on
    another device or with autograd history, a meta tensor (shape, no values) or a sparse one.
    The first three are converted; the last two are explained, since comparing them means nothing.
    """
    if isinstance(value, (tuple, list)):
        items = [_plain(v) for v in value]
        why = next((w for _, w in items if w is not None), None)
        return type(value)(v for v, _ in items), why
    if not isinstance(value, torch.Tensor):
        return value, None
    kind = type(value).__name__ if type(value) is not torch.Tensor else "tensor"
    try:
        with torch._C.DisableTorchFunctionSubclass():
            tensor = value if type(value) is torch.Tensor else torch.Tensor.as_subclass(value, torch.Tensor)
            if tensor.is_meta:
                return None, _(
                    "Your function returned a meta tensor (device='meta', shape {shape}): "
                    "it has a shape but no values. Create tensors without `device='meta'`."
                ).format(shape=tuple(tensor.shape))
            if tensor.layout != torch.strided:
                return None, _(
                    "Your function returned a tensor with layout {layout} (a sparse tensor); "
                    "expected an ordinary dense tensor: call `.to_dense()` on it."
                ).format(layout=tensor.layout)
            return tensor.detach().cpu(), None
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # a subclass that cannot even be converted
        what = (_("an {name}") if kind[0] in "aeiouAEIOU" else _("a {name}")).format(name=kind)
        return None, _(
            "Your function returned {what} (a subclass of "
            "torch.Tensor) that cannot be read as a plain tensor ({error}). "
            "Return an ordinary torch.Tensor."
        ).format(what=what, error=type(err).__name__)


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
    setting = _Setting.now()  # inside a check, the checker's own (see _checker_setting)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = fn(*copies)
        except KeyboardInterrupt:  # the learner pressed stop: that still interrupts
            raise
        except BaseException as err:  # anything else (SystemExit, GeneratorExit, ...) becomes a message
            return _Outcome(error=err)
        finally:
            setting.apply()  # the learner's code may have changed the default dtype, grad mode, ...
    value, unusable = _plain(value)
    if unusable is not None:
        return _Outcome(unusable=unusable)
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
    if _values_agree(a.value, b.value, _MATCH_ATOL, _MATCH_RTOL):
        return True
    # A learner who returns only part of a tuple (``(out, None)`` for ``(out, weights)``) can still
    # show a known mistake in the part they did return.
    given = _given_items(a.value, b.value)
    return bool(given) and _all_agree(given)


def _given_items(reference: Any, learner: Any) -> list[tuple[Any, Any]] | None:
    """``(reference item, learner item)`` for the items a learner's partial tuple holds.

    None unless ``learner`` is a tuple as long as ``reference`` with some items left as None.
    """
    if not (isinstance(reference, tuple) and isinstance(learner, tuple) and len(reference) == len(learner)):
        return None
    given = [(x, y) for x, y in zip(reference, learner, strict=True) if y is not None]
    return given if len(given) < len(learner) else None


def _all_agree(pairs: list[tuple[Any, Any]]) -> bool:
    return all(_values_agree(x, y, _MATCH_ATOL, _MATCH_RTOL) for x, y in pairs)


def _match_mistake(
    ex: Exercise, cases: list[Case], learner: list[_Outcome], failed: int
) -> tuple[Mistake, bool] | None:
    """The known mistake that behaves like the learner's code on the failing case.

    Only a variant that is itself wrong on that case can explain the failure (matching uses a
    looser tolerance than the check, so a variant that is right there could otherwise match a
    result that is only slightly off). Among the variants that agree on it, the one agreeing
    on the most cases wins (ties: the order of ``ex.mistakes``). Returns the mistake and
    whether it agreed on every case.
    """
    best: tuple[Mistake, int] | None = None
    expected = ex.expected(*_clone(cases[failed].args))
    given = _given_items(expected, learner[failed].value)
    if given is not None and _all_agree(given):
        return None  # what they returned is right; only the items left as None are missing
    for mistake in ex.mistakes:
        for variant in (mistake.fn, *mistake.alternatives):
            theirs = _call(variant, cases[failed].args, ex.arg_names)
            if not _agree(theirs, learner[failed]):
                continue
            if theirs.error is None and _output_problem(theirs.value, expected, ex) is None:
                continue  # right on this input (e.g. a mistake that only shows elsewhere): cannot explain it
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
    if outcome.unusable is not None:
        return False
    if outcome.error is not None:
        return isinstance(outcome.error, NotImplementedError)
    return outcome.value is None or outcome.value is Ellipsis


def _run_check(ex: Exercise, fn: Any) -> CheckResult:
    """Call ``fn`` on every case of ``ex`` and compare with ``ex.expected``; name a known mistake.

    Runs in the checker's own setting (:func:`_checker_setting`: float32, CPU, no autograd, one
    thread, its own random stream) and restores the learner's afterwards. Never raises because of
    the learner's code; only KeyboardInterrupt goes through.
    """
    with _checker_setting():
        try:
            return _check_on_cases(ex, fn)
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # a last net: the check itself must never crash a notebook
            return CheckResult(
                False,
                _(
                    "The checker could not judge what `{function}` "
                    "returned: {error} while comparing it. Make it return plain tensors "
                    "(if it does, this is a bug in the checker: please report it)."
                ).format(function=getattr(fn, "__name__", _("your function")), error=type(err).__name__),
                ex.name,
            )


def _check_on_cases(ex: Exercise, fn: Any) -> CheckResult:
    if not callable(fn):
        return CheckResult(
            False,
            _(
                "`check_{name}` expects your function itself, not its result: "
                "`check_{name}(my_{name})` "
                "(no parentheses after `my_{name}`). It received {what}."
            ).format(name=ex.name, what=_type_name(fn)),
            ex.name,
        )
    fn_name = getattr(fn, "__name__", f"my_{ex.name}")
    cases = ex.make_cases()
    learner = [_call(fn, c.args, ex.arg_names) for c in cases]
    if _not_attempted(learner[0]):
        if learner[0].error:
            todo = _("`{function}` still raises NotImplementedError. Write its body and run this cell again.")
        else:
            todo = _("`{function}` still returns {what}. Write its body and run this cell again.")
        todo = todo.format(function=fn_name, what=_type_name(learner[0].value))
        return CheckResult(
            False,
            todo + "\n" + _("Task: {task}").format(task=_(ex.description)),
            ex.name,
            status="todo",
        )
    for i, (case, out) in enumerate(zip(cases, learner, strict=True)):
        expected = ex.expected(*_clone(case.args))
        if out.unusable is not None:
            return CheckResult(
                False, _("Input: {label}.").format(label=case.label) + "\n" + out.unusable, ex.name
            )
        if out.error is not None:
            problem = _error_text(out.error, ex)
        elif out.value is None or out.value is Ellipsis:
            problem = _(
                "Your function returned {what} here (it returned a value for an "
                "earlier input): is a `return` missing in one branch?"
            ).format(what=_type_name(out.value))
        else:
            problem = _output_problem(out.value, expected, ex)
        if problem is None and out.mutated is not None:
            return CheckResult(
                False,
                "\n".join(
                    [
                        _("Recognised mistake: {mistake}.").format(mistake=_(INPLACE_MISTAKE)),
                        _("Input: {label}.").format(label=case.label),
                        _(
                            "The result is right, but your function changed its argument `{name}` in place."
                        ).format(name=out.mutated),
                        _("Hint: {hint}").format(hint=_(_INPLACE_HINT)),
                    ]
                ),
                ex.name,
                mistake=INPLACE_MISTAKE,
            )
        if problem is not None:
            return _failure(ex, cases, learner, i, problem)
    labels = "\n".join(f"  • {c.label}" for c in cases)
    passed = _("All {count} inputs give the expected result:").format(count=len(cases))
    return CheckResult(True, f"{passed}\n{labels}", ex.name)


def _failure(ex: Exercise, cases: list[Case], learner: list[_Outcome], i: int, problem: str) -> CheckResult:
    match = _match_mistake(ex, cases, learner, i)
    lines = []
    if match is not None:
        lines.append(_("Recognised mistake: {mistake}.").format(mistake=_(match[0].name)))
    lines += [_("Input: {label}.").format(label=cases[i].label), problem]
    if match is None:
        if i > 0:
            lines.append(
                ngettext(
                    "(The {count} input before this one gave the expected result.)",
                    "(The {count} inputs before this one gave the expected result.)",
                    i,
                ).format(count=i)
            )
        return CheckResult(False, "\n".join(lines), ex.name)
    mistake, everywhere = match
    if everywhere:
        lines.append(
            _("That mistake gives exactly your results on all {count} inputs.").format(count=len(cases))
        )
    lines.append(_("Hint: {hint}").format(hint=_(mistake.hint)))
    return CheckResult(False, "\n".join(lines), ex.name, mistake=mistake.name)
