"""Checkers a learner cannot crash, whatever their notebook changed or their function returns.

A checker computes what it expects in its own setting (float32, CPU, no autograd, one thread,
its own random stream), whatever the learner set before (`torch.set_default_dtype(torch.float64)`
and friends), and puts everything back afterwards. Whatever the learner's function returns or
raises (a meta or sparse tensor, a Tensor subclass whose ``__torch_function__`` raises,
``SystemExit``, ``GeneratorExit``, a custom ``BaseException``) becomes a red box with a message;
only ``KeyboardInterrupt`` still interrupts. Parametrised over every registered exercise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

from attn_lib.exercises import EXERCISES, Exercise

NAMES = sorted(EXERCISES)


def learner_returning(ex: Exercise, change: Callable[[torch.Tensor], Any]) -> Callable[..., Any]:
    """A learner function that returns the right answer with every tensor passed through ``change``."""

    def my_function(*args: Any) -> Any:
        expected = ex.expected(*args)
        if len(ex.outputs) == 1:
            return change(expected)
        return tuple(change(e) for e in expected)

    return my_function


def learner_raising(error: BaseException) -> Callable[..., Any]:
    def my_function(*args: Any) -> Any:
        raise error

    return my_function


@contextmanager
def learner_setting(
    dtype: torch.dtype = torch.float64, grad: bool = True, threads: int = 2
) -> Iterator[None]:
    """What a learner's notebook may have run before the check; undone after the test."""
    saved = torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads()
    torch.set_default_dtype(dtype)
    torch.set_grad_enabled(grad)
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_default_dtype(saved[0])
        torch.set_grad_enabled(saved[1])
        torch.set_num_threads(saved[2])


class RaisingTensor(torch.Tensor):
    """A Tensor subclass every torch function on which raises."""

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        raise RuntimeError("this tensor refuses every torch function")


class CustomStop(BaseException):
    """A learner's own BaseException subclass (not an Exception)."""


# ------------------------------------------------------------------ the learner's global setting


@pytest.mark.parametrize("name", NAMES)
def test_reference_passes_after_the_learner_set_float64_as_default_dtype(name: str):
    ex = EXERCISES[name]
    with learner_setting(dtype=torch.float64):
        result = ex.check(ex.reference)
        assert torch.get_default_dtype() == torch.float64, "the check did not restore the default dtype"
    assert result.passed, result.message


@pytest.mark.parametrize("name", NAMES)
def test_every_mistake_is_still_named_after_the_learner_set_float64_as_default_dtype(name: str):
    """E.g. "softmax overflow" only shows in float32: in a float64 check it would pass as right."""
    ex = EXERCISES[name]
    with learner_setting(dtype=torch.float64):
        named = {m.name: ex.check(m.fn).mistake for m in ex.mistakes}
    assert named == {m.name: m.name for m in ex.mistakes}


@pytest.mark.parametrize("name", ["multi_head_attention", "scaled_dot_product_attention"])
def test_the_issue_example_float64_default_then_check_multi_head_attention_gives_no_dtype_error(name: str):
    ex = EXERCISES[name]
    with learner_setting(dtype=torch.float64):
        result = ex.check(ex.reference)
    assert result.passed, result.message
    assert "dtype" not in result.message


def test_a_learner_tensor_built_with_the_default_dtype_matches_the_inputs_after_float64_default():
    """The issue's case: a learner's function makes a tensor with the default dtype (here an identity).

    With the learner's float64 default leaking into the check, ``x @ torch.eye(D)`` raised "expected
    m1 and m2 to have the same dtype"; in the checker's own setting it is float32 like the inputs.
    """
    ex = EXERCISES["multi_head_attention"]

    def my_multi_head_attention(x_q, x_kv, W_q, W_k, W_v, W_o, num_heads):
        eye = torch.eye(x_q.shape[-1])  # default dtype
        return ex.reference(x_q @ eye, x_kv, W_q, W_k, W_v, W_o, num_heads)

    with learner_setting(dtype=torch.float64):
        result = ex.check(my_multi_head_attention)
    assert result.passed, result.message


@pytest.mark.parametrize("name", NAMES)
def test_check_restores_default_dtype_grad_mode_and_threads(name: str):
    ex = EXERCISES[name]
    with learner_setting(dtype=torch.float64, grad=True, threads=2):
        ex.check(ex.reference)
        assert torch.get_default_dtype() == torch.float64
        assert torch.is_grad_enabled()
        assert torch.get_num_threads() == 2
    with learner_setting(dtype=torch.float32, grad=False, threads=1):
        ex.check(ex.reference)
        assert torch.get_default_dtype() == torch.float32
        assert not torch.is_grad_enabled()
        assert torch.get_num_threads() == 1


def test_a_learner_function_that_changes_the_default_dtype_inside_does_not_spoil_the_later_inputs():
    ex = EXERCISES["scaled_dot_product_attention"]

    def my_scaled_dot_product_attention(*args: Any) -> Any:
        out = ex.reference(*args)
        torch.set_default_dtype(torch.float64)  # a stray line in the learner's function
        return out

    with learner_setting(dtype=torch.float32):
        result = ex.check(my_scaled_dot_product_attention)
        assert torch.get_default_dtype() == torch.float32
    assert result.passed, result.message


def test_calling_a_learner_function_outside_a_check_leaves_the_global_setting_alone():
    from attn_lib.exercises.core import _call

    ex = EXERCISES["stable_softmax"]
    with learner_setting(dtype=torch.float64, grad=True, threads=2):
        _call(ex.reference, ex.make_cases()[0].args, ex.arg_names)
        assert torch.is_grad_enabled()
        assert torch.get_default_dtype() == torch.float64
        assert torch.get_num_threads() == 2


def test_check_under_a_default_device_of_meta_still_judges_on_the_cpu():
    ex = EXERCISES["stable_softmax"]
    torch.set_default_device("meta")
    try:
        result = ex.check(ex.reference)
        assert torch.get_default_device() == torch.device("meta"), "the learner's default device is restored"
    finally:
        torch.set_default_device(None)
    assert result.passed, result.message


# ------------------------------------------------------------------ what the learner's function returns


def _meta(t: torch.Tensor) -> torch.Tensor:
    return torch.empty_like(t, device="meta")


def _sparse(t: torch.Tensor) -> torch.Tensor:
    return t.to_sparse()


def _raising_subclass(t: torch.Tensor) -> torch.Tensor:
    return t.as_subclass(RaisingTensor)


@pytest.mark.parametrize("name", NAMES)
def test_a_meta_tensor_gets_a_red_box_saying_it_has_no_values(name: str):
    result = EXERCISES[name].check(learner_returning(EXERCISES[name], _meta))
    assert not result.passed and result.status == "fail"
    assert "meta tensor" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_sparse_tensor_gets_a_red_box_saying_to_densify_it(name: str):
    result = EXERCISES[name].check(learner_returning(EXERCISES[name], _sparse))
    assert not result.passed and result.status == "fail"
    assert "to_dense" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_tensor_subclass_whose_torch_function_raises_is_judged_by_its_values(name: str):
    """The values are right, so the check passes: the subclass is read as a plain tensor."""
    result = EXERCISES[name].check(learner_returning(EXERCISES[name], _raising_subclass))
    assert result.passed, result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_tensor_subclass_with_wrong_values_fails_with_a_message(name: str):
    ex = EXERCISES[name]

    def wrong_and_raising(t: torch.Tensor) -> torch.Tensor:
        wrong = (t.float() + 1.0).to(t.dtype) if t.dtype != torch.bool else ~t
        return wrong.as_subclass(RaisingTensor)

    result = ex.check(learner_returning(ex, wrong_and_raising))
    assert not result.passed and result.status == "fail"
    assert result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_tensor_with_autograd_history_is_judged_by_its_values(name: str):
    ex = EXERCISES[name]

    def with_history(t: torch.Tensor) -> torch.Tensor:
        if not t.is_floating_point():
            return t
        with torch.enable_grad():
            return t.clone().requires_grad_() * 1.0

    result = ex.check(learner_returning(ex, with_history))
    assert result.passed, result.message


# ------------------------------------------------------------------ what the learner's function raises


@pytest.mark.parametrize(
    "error",
    [SystemExit(1), GeneratorExit(), CustomStop("stop here")],
    ids=["SystemExit", "GeneratorExit", "custom-BaseException"],
)
@pytest.mark.parametrize("name", NAMES)
def test_a_base_exception_from_the_learner_becomes_a_red_box(name: str, error: BaseException):
    result = EXERCISES[name].check(learner_raising(error))
    assert not result.passed and result.status == "fail"
    assert type(error).__name__ in result.message


def test_an_exception_whose_message_raises_still_becomes_a_red_box():
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no message for you")

    result = EXERCISES["stable_softmax"].check(learner_raising(Unprintable()))
    assert not result.passed
    assert "Unprintable" in result.message


@pytest.mark.parametrize("name", ["stable_softmax", "causal_mask"])
def test_keyboard_interrupt_still_interrupts_and_the_setting_is_restored(name: str):
    with learner_setting(dtype=torch.float64, grad=True, threads=2):
        with pytest.raises(KeyboardInterrupt):
            EXERCISES[name].check(learner_raising(KeyboardInterrupt()))
        assert torch.get_default_dtype() == torch.float64
        assert torch.is_grad_enabled()
        assert torch.get_num_threads() == 2
