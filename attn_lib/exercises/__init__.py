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
returns ``None``, as the shipped stubs do) in a notebook; plain text in a console. Every check
also records a pass or a recognised mistake in the learner's progress file, outside the
repository (:mod:`attn_lib.progress`; ``python -m attn_lib progress`` shows it).

``EXERCISES`` maps each exercise name to its :class:`Exercise` record (lesson, description,
checker, reference solution, recognised mistakes); ``show_solution(name)`` shows the
reference solution under the learner's function name.

Letters: ``B`` batch, ``H`` heads, ``T_q``/``T_k`` query/key lengths, ``D`` d_model, ``Dh``
head_dim, ``d_k``/``d_v`` key/value widths, ``n`` number of keys, ``L`` answer length,
``V`` vocabulary size. Masks: bool, True = may attend.

The package, one concept per module: ``result`` (:class:`CheckResult`), ``core`` (the records
and the engine that runs, compares and matches mistakes), ``problems`` (what differs, in
words), ``inputs`` and ``flaws`` (seeded inputs and flawed variants several lessons share), and
``lesson00`` .. ``lesson07`` (each lesson's solutions, inputs and mistakes, in its
``LESSON_EXERCISES``). A new exercise goes into its lesson's module and gets a ``check_<name>``
here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..i18n import _
from . import (
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
    lesson10,
    lesson11,
)
from .core import INPLACE_MISTAKE, Exercise, Mistake
from .core import Case as Case  # Case and Out: not in __all__, importable from here as before
from .core import Out as Out
from .result import CheckResult

__all__ = [
    "EXERCISES",
    "INPLACE_MISTAKE",
    "CheckResult",
    "Exercise",
    "Mistake",
    "Solution",
    "check_answer_span_share",
    "check_anti_diagonal_hit_rate",
    "check_argmax_alignment",
    "check_attention_weights",
    "check_causal_mask",
    "check_cross_attention",
    "check_date_span_mask",
    "check_greedy_next_token",
    "check_induction_score",
    "check_induction_targets",
    "check_kv_cache_step",
    "check_masked_attention_weights",
    "check_merge_heads",
    "check_multi_head_attention",
    "check_normalise_rows",
    "check_online_softmax_update",
    "check_padding_mask",
    "check_positional_encoding",
    "check_previous_token_score",
    "check_repeat_kv",
    "check_rope_attention",
    "check_scaled_dot_product_attention",
    "check_self_attention",
    "check_soft_lookup",
    "check_split_heads",
    "check_stable_softmax",
    "check_teacher_forcing_pair",
    "check_window_mask",
    "show_solution",
]

# ======================================================================== the registry


# Every lesson's module, in order: the one place a new lesson's exercises are added.
_LESSONS = (
    lesson00,
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
    lesson09,
    lesson10,
    lesson11,
)

EXERCISES: dict[str, Exercise] = {ex.name: ex for lesson in _LESSONS for ex in lesson.LESSON_EXERCISES}


# ======================================================================== solutions


@dataclass(frozen=True)
class Solution:
    """The reference solution of an exercise, shown as highlighted Python in a notebook."""

    exercise: str
    source: str

    def __repr__(self) -> str:
        return self.source

    def _repr_markdown_(self) -> str:
        title = _("**A solution to `{name}`**").format(name=self.exercise)
        return f"{title}\n\n```python\n{self.source}\n```"


def show_solution(name: str) -> Solution:
    """The reference solution of exercise ``name``, renamed to ``my_<name>`` so that it can be pasted.

    A checked solution, not the only one: any function that passes ``check_<name>`` is right.
    """
    if name not in EXERCISES:
        raise ValueError(
            _("no exercise named {name}; the exercises are {names}").format(
                name=repr(name), names=sorted(EXERCISES)
            )
        )
    ex = EXERCISES[name]
    source = inspect.getsource(ex.reference)
    source = source.replace(f"def {ex.reference.__name__}(", f"def my_{name}(", 1)
    return Solution(name, f"{ex.solution_imports}\n\n\n{source.rstrip()}")


# ======================================================================== the checkers


def check_normalise_rows(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 00 (warm-up). Check ``my_normalise_rows(x)``: each row divided by its sum."""
    return EXERCISES["normalise_rows"].check(fn)


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


def check_anti_diagonal_hit_rate(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 07. Check ``my_anti_diagonal_hit_rate(weights, lengths)``: how often argmax == L-1-i."""
    return EXERCISES["anti_diagonal_hit_rate"].check(fn)


def check_online_softmax_update(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 08. Check ``my_online_softmax_update(m, denom, acc, scores, v_chunk)``: one step."""
    return EXERCISES["online_softmax_update"].check(fn)


def check_kv_cache_step(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 08. Check ``my_kv_cache_step(q_new, k_new, v_new, k_cache, v_cache, W_pos)``."""
    return EXERCISES["kv_cache_step"].check(fn)


def check_answer_span_share(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 09. Check ``my_answer_span_share(weights, span)``: each row's weight on its span, (T,)."""
    return EXERCISES["answer_span_share"].check(fn)


def check_argmax_alignment(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 09. Check ``my_argmax_alignment(weights)``: the most-attended source position per row."""
    return EXERCISES["argmax_alignment"].check(fn)


def check_date_span_mask(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 09. Check ``my_date_span_mask(spans, S)``: bool (10, S), the answer span of YYYY-MM-DD."""
    return EXERCISES["date_span_mask"].check(fn)


def check_previous_token_score(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 10. Check ``my_previous_token_score(weights)``: mean weight on key q - 1, (H,)."""
    return EXERCISES["previous_token_score"].check(fn)


def check_induction_score(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 10. Check ``my_induction_score(weights, period)``: mean weight on key q - period + 1, (H,)."""
    return EXERCISES["induction_score"].check(fn)


def check_induction_targets(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 10. Check ``my_induction_targets(tokens)``: bool (T, T), after an earlier occurrence."""
    return EXERCISES["induction_targets"].check(fn)


def check_rope_attention(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 11. Check ``my_rope_attention(q, k, v, positions, base)``: attention with rotated q, k."""
    return EXERCISES["rope_attention"].check(fn)


def check_repeat_kv(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 11. Check ``my_repeat_kv(kv, num_heads)``: (B, H_kv, T, Dh) -> (B, H, T, Dh), grouped."""
    return EXERCISES["repeat_kv"].check(fn)


def check_window_mask(fn: Callable[..., Any]) -> CheckResult:
    """Lesson 11. Check ``my_window_mask(T, window)``: bool (T, T), window keys including itself."""
    return EXERCISES["window_mask"].check(fn)
