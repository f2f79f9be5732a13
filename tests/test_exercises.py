"""The exercise checkers: right answers pass, known mistakes are named, junk becomes a message.

Every test is parametrised over ``EXERCISES``, so a new exercise is covered as soon as it is
registered. The exercise cells of the lessons are run too: their stubs must report "not
attempted yet", never fail the notebook.
"""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import jupytext
import pytest
import torch

from attn_lib import exercises
from attn_lib.data import make_batch
from attn_lib.exercises import (
    EXERCISES,
    INPLACE_MISTAKE,
    CheckResult,
    Exercise,
    show_solution,
)
from attn_lib.exercises.core import _agree, _call, _Outcome
from attn_lib.exercises.result import _message_html

NAMES = sorted(EXERCISES)
MISTAKES = [
    pytest.param(name, mistake, variant, id=f"{name}-{mistake.name[:40]}-{i}")
    for name in NAMES
    for mistake in EXERCISES[name].mistakes
    for i, variant in enumerate((mistake.fn, *mistake.alternatives))
]


def first_case_expected(ex: Exercise) -> Any:
    return ex.expected(*ex.make_cases()[0].args)


def map_outputs(ex: Exercise, fn: Any) -> Any:
    """A learner function that returns ``fn(expected_tensor)`` for each returned tensor."""

    def learner(*args: Any) -> Any:
        expected = ex.expected(*args)
        if len(ex.outputs) == 1:
            return fn(expected)
        return tuple(fn(e) for e in expected)

    return learner


# ------------------------------------------------------------------ the registry


def test_every_lesson_01_to_11_has_two_or_three_exercises_and_lesson_00_one_warm_up():
    per_lesson = {f"{n:02d}": 0 for n in range(12)}
    for ex in EXERCISES.values():
        per_lesson[ex.lesson] += 1
    assert per_lesson.pop("00") == 1
    assert all(2 <= count <= 3 for count in per_lesson.values()), per_lesson


FLOAT_NAMES = [n for n in NAMES if all(o.kind == "float" for o in EXERCISES[n].outputs)]


@pytest.mark.parametrize("name", FLOAT_NAMES)  # bool and integer results cannot be slightly off
def test_a_result_slightly_off_everywhere_is_not_blamed_on_a_mistake_that_is_right_there(name: str):
    ex = EXERCISES[name]
    off = 5 * (ex.atol + ex.rtol)  # just outside the check's tolerance (|t| is at most a few here)
    result = ex.check(map_outputs(ex, lambda t: t + off * (1 + t.abs())))
    assert not result.passed
    assert result.mistake is None, result.message


@pytest.mark.parametrize("name", NAMES)
def test_each_exercise_has_a_public_checker_named_check_name(name: str):
    checker = getattr(exercises, f"check_{name}")
    assert f"check_{name}" in exercises.__all__
    assert checker(EXERCISES[name].reference).passed


@pytest.mark.parametrize("name", NAMES)
def test_record_describes_the_exercise(name: str):
    ex = EXERCISES[name]
    assert ex.name == name
    assert ex.description and ex.signature.startswith(f"my_{name}(")
    assert len(ex.mistakes) >= 3
    assert len({m.name for m in ex.mistakes}) == len(ex.mistakes), "mistake names must be unique"


# ------------------------------------------------------------------ right answers pass


@pytest.mark.parametrize("name", NAMES)
def test_reference_solution_passes(name: str):
    result = EXERCISES[name].check(EXERCISES[name].reference)
    assert result.passed, str(result)
    assert result.status == "pass" and result.mistake is None
    assert f"All {len(EXERCISES[name].make_cases())} inputs give the expected result" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_expected_answer_itself_passes(name: str):
    assert EXERCISES[name].check(EXERCISES[name].expected).passed


@pytest.mark.parametrize("name", NAMES)
def test_shown_solution_is_self_contained_and_passes(name: str):
    solution = show_solution(name)
    namespace: dict[str, Any] = {}
    exec(compile(solution.source, f"<solution {name}>", "exec"), namespace)
    assert EXERCISES[name].check(namespace[f"my_{name}"]).passed
    assert f"```python\n{solution.source}\n```" in solution._repr_markdown_()
    assert repr(solution) == solution.source


def test_show_solution_of_an_unknown_exercise_lists_the_names():
    with pytest.raises(ValueError, match=r"no exercise named 'attention'.*scaled_dot_product_attention"):
        show_solution("attention")


def test_teacher_forcing_reference_agrees_with_attn_lib_data_make_batch():
    answers = torch.tensor([[3, 4, 5], [9, 8, 7]])
    tgt_in, tgt_out = EXERCISES["teacher_forcing_pair"].reference(answers, 1, 2)
    batch = make_batch(answers.tolist(), answers.tolist())
    assert torch.equal(tgt_in, batch.tgt_in) and torch.equal(tgt_out, batch.tgt_out)


def test_greedy_reference_is_the_step_greedy_decode_takes():
    logits = torch.randn(3, 4, 13, generator=torch.Generator().manual_seed(0))
    assert torch.equal(EXERCISES["greedy_next_token"].reference(logits), logits[:, -1].argmax(dim=-1))


def test_span_share_reference_agrees_with_attn_lib_dates_span_share():
    from attn_lib import dates

    batch = dates.held_out_batch([dates.FIRST_DATE, dates.LAST_DATE], ["dmy_long"])
    S = batch.src.shape[1]
    cross = torch.softmax(torch.randn(2, 1, 11, S, generator=torch.Generator().manual_seed(0)), dim=-1)
    rows = []
    for b in range(2):
        span = EXERCISES["date_span_mask"].reference(batch.spans[b], S)  # (10, S)
        rows.append(EXERCISES["answer_span_share"].reference(cross[b, 0, :10], span))  # (10,)
    digits = [i for i, f in enumerate(dates.OUTPUT_FIELD) if f >= 0]
    expected = dates.span_share(cross, batch.spans)  # (H=1,)
    torch.testing.assert_close(torch.stack(rows)[:, digits].mean().reshape(1), expected)


# ------------------------------------------------------------------ known mistakes are named


@pytest.mark.parametrize(("name", "mistake", "variant"), MISTAKES)
def test_each_mistake_fails_with_a_message_naming_it(name: str, mistake: exercises.Mistake, variant: Any):
    result = EXERCISES[name].check(variant)
    assert not result.passed
    assert result.status == "fail"
    assert result.mistake == mistake.name, str(result)
    assert f"Recognised mistake: {mistake.name}." in result.message
    assert f"Hint: {mistake.hint}" in result.message


@pytest.mark.parametrize(("name", "mistake", "variant"), MISTAKES)
def test_each_mistake_really_differs_from_the_expected_answer(name: str, mistake: Any, variant: Any):
    ex = EXERCISES[name]
    learner = [_call(variant, c.args, ex.arg_names) for c in ex.make_cases()]
    truth = [_Outcome(value=ex.expected(*c.args)) for c in ex.make_cases()]
    same = [_agree(a, b) and a.mutated is None for a, b in zip(learner, truth, strict=True)]
    assert not all(same), f"{mistake.name!r} gives the expected answer on every input"


def test_a_mistake_is_named_in_the_part_of_a_tuple_the_learner_returned():
    def unscaled_without_weights(q, k, v, mask=None):  # no scaling, and `None` for the weights
        return torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v, None

    result = exercises.check_scaled_dot_product_attention(unscaled_without_weights)
    assert result.mistake == "no scaling (missing ÷√d_k)", str(result)

    def right_without_weights(q, k, v, mask=None):  # right output, weights left out: no mistake to name
        return exercises.lesson02._solution_scaled_dot_product_attention(q, k, v)[0], None

    result = exercises.check_scaled_dot_product_attention(right_without_weights)
    assert not result.passed and result.mistake is None
    assert "`weights` (the 2nd item you return) is None" in result.message


def test_a_combination_of_mistakes_is_not_misnamed_and_says_what_differs():
    def two_mistakes(q, k, v, mask=None):  # no scaling and the softmax over the wrong axis
        weights = torch.softmax(q @ k.transpose(-2, -1), dim=-2)
        return weights @ v, weights

    result = exercises.check_scaled_dot_product_attention(two_mistakes)
    assert not result.passed and result.mistake is None
    assert "largest difference" in result.message and "rows [0, 1, 2]" in result.message


def test_in_place_change_of_an_input_is_named_even_when_the_result_is_right():
    def in_place(scores, mask):
        scores.masked_fill_(~mask, float("-inf"))
        return torch.nan_to_num(torch.softmax(scores, dim=-1))

    result = exercises.check_masked_attention_weights(in_place)
    assert result.mistake == INPLACE_MISTAKE
    assert "changed its argument `scores` in place" in result.message


def test_an_error_only_a_later_input_shows_says_the_earlier_ones_passed():
    ex = EXERCISES["scaled_dot_product_attention"]

    def batched_only(q, k, v):  # breaks on the first input with two batch dimensions (B, H)
        if q.dim() == 4:
            raise IndexError("only one batch dimension handled")
        return ex.reference(q, k, v)

    result = ex.check(batched_only)
    assert "IndexError: only one batch dimension handled" in result.message
    assert "The 2 inputs before this one gave the expected result" in result.message


# ------------------------------------------------------------------ junk becomes a message


@pytest.mark.parametrize("name", NAMES)
def test_stub_returning_none_is_not_attempted_yet(name: str):
    def my_stub(*args):
        """The shipped stub: an empty body."""
        ...

    result = EXERCISES[name].check(my_stub)
    assert not result.passed and result.status == "todo" and result.mistake is None
    assert "`my_stub` still returns None" in result.message
    assert EXERCISES[name].description in result.message


@pytest.mark.parametrize("name", NAMES)
def test_stub_returning_ellipsis_or_raising_not_implemented_is_not_attempted_yet(name: str):
    def raises(*args):
        raise NotImplementedError

    assert EXERCISES[name].check(lambda *a: ...).status == "todo"
    result = EXERCISES[name].check(raises)
    assert result.status == "todo" and "raises NotImplementedError" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_learner_code_that_raises_gets_a_message(name: str):
    def broken(*args):
        raise ValueError("something broke")

    result = EXERCISES[name].check(broken)
    assert not result.passed and result.status == "fail"
    assert "Your function raised ValueError: something broke" in result.message
    assert f"Input: {EXERCISES[name].make_cases()[0].label}." in result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_string_is_reported_as_the_wrong_type(name: str):
    result = EXERCISES[name].check(lambda *a: "hello")
    assert not result.passed and "a str ('hello')" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_numpy_array_is_reported_with_how_to_convert(name: str):
    ex = EXERCISES[name]
    result = ex.check(map_outputs(ex, lambda t: t.numpy()))
    assert not result.passed and "numpy.ndarray" in result.message and "torch.from_numpy" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_wrong_shape_says_expected_and_got(name: str):
    ex = EXERCISES[name]
    result = ex.check(map_outputs(ex, lambda t: torch.zeros(7, 3, 2, dtype=t.dtype)))
    expected = first_case_expected(ex)
    first = expected if len(ex.outputs) == 1 else expected[0]
    assert not result.passed
    assert f"has shape (7, 3, 2); expected {tuple(first.shape)} = {ex.outputs[0].dims}" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_wrong_dtype_is_reported(name: str):
    ex = EXERCISES[name]
    convert = {"float": lambda t: t.long(), "bool": lambda t: t.float(), "long": lambda t: t.float()}
    result = ex.check(map_outputs(ex, lambda t: convert[_kind(t)](t)))
    assert not result.passed and "has dtype" in result.message and "expected" in result.message


def _kind(t: torch.Tensor) -> str:
    return "bool" if t.dtype == torch.bool else "float" if t.is_floating_point() else "long"


@pytest.mark.parametrize("name", [n for n in NAMES if EXERCISES[n].outputs[0].kind == "float"])
def test_nan_is_reported_with_where_it_is(name: str):
    ex = EXERCISES[name]

    def with_nan(t: torch.Tensor) -> torch.Tensor:
        t = t.clone(memory_format=torch.contiguous_format)
        t.view(-1)[0] = float("nan")
        return t

    result = ex.check(map_outputs(ex, with_nan))
    assert not result.passed and "contains NaN at 1 of" in result.message
    assert "e.g. at index (" + ", ".join(["0"] * first_case_expected_dim(ex)) in result.message


def first_case_expected_dim(ex: Exercise) -> int:
    expected = first_case_expected(ex)
    return (expected if len(ex.outputs) == 1 else expected[0]).dim()


@pytest.mark.parametrize("name", NAMES)
def test_an_unknown_wrong_answer_says_what_differs_and_names_no_mistake(name: str):
    ex = EXERCISES[name]

    def nudge(t: torch.Tensor) -> torch.Tensor:
        t = t.clone(memory_format=torch.contiguous_format)
        flat = t.view(-1)
        if t.dtype == torch.bool:
            flat[-1] = ~flat[-1]
        else:
            flat[-1] += 0.5 if t.is_floating_point() else 1
        return t

    result = ex.check(map_outputs(ex, nudge))
    assert not result.passed and result.mistake is None
    assert "differs" in result.message and "of" in result.message
    if ex.outputs[0].kind == "float":
        assert "the largest difference is 0.5" in result.message


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_return_on_a_later_input_is_reported(name: str):
    ex = EXERCISES[name]
    calls = []

    def sometimes_none(*args):
        calls.append(1)
        return ex.expected(*args) if len(calls) == 1 else None

    result = ex.check(sometimes_none)
    assert result.status == "fail" and "is a `return` missing in one branch?" in result.message


@pytest.mark.parametrize("name", [n for n in NAMES if len(EXERCISES[n].outputs) > 1])
def test_a_tuple_of_the_wrong_length_or_a_bare_tensor_is_reported(name: str):
    ex = EXERCISES[name]
    n = len(ex.outputs)
    assert f"returned 1 items; expected {n}" in ex.check(lambda *a: (ex.expected(*a)[0],)).message
    assert "returned a Tensor; expected a tuple" in ex.check(lambda *a: ex.expected(*a)[0]).message
    second_none = ex.check(lambda *a: (ex.expected(*a)[0], None, *ex.expected(*a)[2:])).message
    assert "is None; expected a torch.Tensor" in second_none


def test_passing_the_result_instead_of_the_function_is_explained():
    result = exercises.check_causal_mask(torch.ones(3, 3))
    assert not result.passed
    assert "expects your function itself" in result.message and "a Tensor" in result.message


def test_half_precision_and_python_lists_are_reported():
    ex = EXERCISES["stable_softmax"]
    assert "half precision is too coarse" in ex.check(lambda x: torch.softmax(x, -1).half()).message
    assert "`.tolist()`" in ex.check(lambda x: torch.softmax(x, -1).tolist()).message


def test_checking_leaves_the_global_random_stream_alone():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    exercises.check_multi_head_attention(lambda *a: torch.randn(3))  # the learner draws random numbers
    exercises.check_multi_head_attention(EXERCISES["multi_head_attention"].reference)
    assert torch.equal(before, torch.get_rng_state())


def test_checking_does_not_warn_or_print(
    capsys: pytest.CaptureFixture[str], recwarn: pytest.WarningsRecorder
):
    for ex in EXERCISES.values():
        for mistake in ex.mistakes:
            ex.check(mistake.fn)
    assert capsys.readouterr() == ("", "")
    assert len(recwarn) == 0


def test_a_whole_check_is_quick():
    import time

    start = time.perf_counter()
    for ex in EXERCISES.values():
        ex.check(ex.mistakes[-1].fn)
    assert time.perf_counter() - start < 5.0


# ------------------------------------------------------------------ the result object


@pytest.mark.parametrize(
    ("status", "passed", "colour_class", "icon"),
    [
        ("pass", True, "attn-check-pass", "✓"),
        ("fail", False, "attn-check-fail", "✗"),
        ("todo", False, "attn-check-todo", "○"),
    ],
)
def test_result_renders_a_coloured_box_with_the_message(
    status: str, passed: bool, colour_class: str, icon: str
):
    message = "Input: q (3, 16) <b>.\nHint: True = *may attend*; use `k.transpose(-2, -1)`."
    result = CheckResult(passed, message, "demo", status=status)
    page = result._repr_html_()
    assert f'class="attn-check {colour_class}"' in page
    assert _message_html(result.message) in page
    assert (
        "&lt;b&gt;" in page and "<code>k.transpose(-2, -1)</code>" in page and "<em>may attend</em>" in page
    )
    assert str(result).startswith(f"{icon} demo: ") and repr(result) == str(result)
    assert bool(result) is passed


@pytest.mark.parametrize("name", NAMES)
def test_real_results_render_in_the_colour_of_their_status(name: str):
    ex = EXERCISES[name]
    for fn, colour in ((ex.reference, "pass"), (ex.mistakes[0].fn, "fail"), (lambda *a: None, "todo")):
        result = ex.check(fn)
        assert f"attn-check-{colour}" in result._repr_html_()
        assert _message_html(result.message) in result._repr_html_()
        assert str(result).splitlines()[0] == result.headline


def test_result_rejects_an_unknown_or_contradictory_status():
    with pytest.raises(ValueError, match="status must be one of"):
        CheckResult(False, "m", "x", status="maybe")
    with pytest.raises(ValueError, match="contradicts"):
        CheckResult(False, "m", "x", status="pass")
    assert CheckResult(True, "m", "x").status == "pass"
    assert CheckResult(False, "m", "x").status == "fail"


# ------------------------------------------------------------------ the exercise cells in the lessons

LESSONS = Path(__file__).resolve().parent.parent / "lessons"


def _lesson(nn: str) -> Path:
    (path,) = LESSONS.glob(f"{nn}_*.py")
    return path


def _section_cells(path: Path, start: str, stop: str) -> list:
    """The cells of a lesson from the markdown cell containing ``start`` up to the one containing ``stop``."""
    cells = jupytext.read(path).cells
    first = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and start in c.source)
    last = next(
        i for i, c in enumerate(cells) if i > first and c.cell_type == "markdown" and stop in c.source
    )
    return cells[first:last]


def _run_cells(cells: list, label: str) -> list[CheckResult]:
    """Run code cells as a notebook would, collecting the CheckResults they display."""
    namespace: dict[str, Any] = {"torch": torch, "math": math}  # every lesson imports these first
    results = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):
            exec(compile(ast.Module(tree.body[:-1], []), label, "exec"), namespace)
            value = eval(compile(ast.Expression(last.value), label, "eval"), namespace)
            if isinstance(value, CheckResult):
                results.append(value)
        else:
            exec(compile(tree, label, "exec"), namespace)
    return results


@pytest.mark.parametrize("nn", [f"{n:02d}" for n in range(1, 11)])
def test_lesson_has_every_exercise_of_its_lesson_and_ships_it_not_attempted(nn: str):
    path = _lesson(nn)
    names = sorted(n for n, ex in EXERCISES.items() if ex.lesson == nn)
    assert 2 <= len(names) <= 3, f"lesson {nn} should have 2-3 exercises, has {names}"
    results = _run_cells(_section_cells(path, "## Exercises", "## Summary"), str(path))
    assert sorted(r.exercise for r in results) == names
    assert all(r.status == "todo" for r in results), [str(r) for r in results]
    text = path.read_text()
    for name in names:
        assert f"def my_{name}(" in text and f'show_solution("{name}")' in text


def test_lesson_00_warm_up_is_not_one_of_the_later_lessons_exercises():
    text = _lesson("00").read_text()
    later = [n for n, ex in EXERCISES.items() if ex.lesson != "00"]
    assert not [n for n in later if f"check_{n}" in text or f"def my_{n}(" in text]


def test_lesson_00_shows_not_attempted_then_a_named_mistake_then_a_pass():
    path = _lesson("00")
    results = _run_cells(_section_cells(path, "How exercises report", "Resetting a lesson"), str(path))
    assert [r.status for r in results] == ["todo", "fail", "pass"]
    assert results[1].mistake is not None


def test_checking_restores_the_number_of_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        exercises.check_causal_mask(EXERCISES["causal_mask"].reference)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
