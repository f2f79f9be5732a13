"""Lesson 08 (efficient attention): ``online_softmax_update`` and ``kv_cache_step``.

For each exercise: the reference solution (``show_solution`` shows it), what a result is compared
with, the inputs the checker tries, the mistakes it names, and its :class:`~.core.Exercise`
record in ``LESSON_EXERCISES``.

Letters: ``T_q`` queries of a block, ``C`` keys of a chunk, ``d_v`` value width, ``H`` heads,
``t`` positions already cached, ``Dh`` head_dim.
"""

from __future__ import annotations

import math

import torch

from ..attention import scaled_dot_product_attention
from ..i18n import N_, _
from .core import Case, Exercise, Mistake, Out
from .inputs import _gen, _randn

# ------------------------------------------------------------------ one online-softmax step


def _solution_online_softmax_update(m, denom, acc, scores, v_chunk):
    m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True))  # (T_q, 1): the running max grows
    m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)  # a row with no key yet
    rescale = torch.exp(m - m_safe)  # (T_q, 1), <= 1: old sums were relative to the old max
    p = torch.exp(scores - m_safe)  # (T_q, C); a -inf score gives exactly 0
    denom_new = denom * rescale + p.sum(dim=-1, keepdim=True)  # (T_q, 1)
    acc_new = acc * rescale + p @ v_chunk  # (T_q, d_v)
    return m_new, denom_new, acc_new


def _expected_online_softmax_update(m, denom, acc, scores, v_chunk):
    """The same step, in float64 through ``torch.logsumexp`` (another route to the same numbers)."""
    m64, d64, a64, s64, v64 = (t.double() for t in (m, denom, acc, scores, v_chunk))
    m_new = torch.maximum(m64, s64.amax(dim=-1, keepdim=True))
    finite = torch.isfinite(m_new)
    shift = torch.where(finite, m_new, torch.zeros_like(m_new))
    denom_new = d64 * torch.exp(m64 - shift) + torch.exp(torch.logsumexp(s64, -1, keepdim=True) - shift)
    acc_new = a64 * torch.exp(m64 - shift) + torch.exp(s64 - shift) @ v64
    return m_new.float(), denom_new.float(), acc_new.float()


def _update_variant(rescale_acc=True, update_max=True, sum_factor="right", guard=True):
    def variant(m, denom, acc, scores, v_chunk):
        m_new = torch.maximum(m, scores.amax(dim=-1, keepdim=True)) if update_max else m
        m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new) if guard else m_new
        rescale = torch.exp(m - m_safe)
        p = torch.exp(scores - m_safe)
        factor = {"right": rescale, "none": torch.ones_like(rescale), "inverse": torch.exp(m_safe - m)}
        denom_new = denom * factor[sum_factor].nan_to_num(posinf=0.0) + p.sum(dim=-1, keepdim=True)
        acc_new = (acc * rescale if rescale_acc else acc) + p @ v_chunk
        return m_new, denom_new, acc_new

    return variant


_UPDATE_MISTAKES = (
    Mistake(
        N_("accumulator not rescaled"),
        N_(
            "`acc` holds Σ e^(s − m) v relative to the *old* maximum: multiply it by `exp(m - m_new)` before "
            "adding `p @ v_chunk`, exactly like the running sum."
        ),
        _update_variant(rescale_acc=False),
    ),
    Mistake(
        N_("running max not updated"),
        N_(
            "the new maximum is `torch.maximum(m, scores.amax(dim=-1, keepdim=True))`; return it, and "
            "subtract it (not the old `m`) from the scores."
        ),
        _update_variant(update_max=False),
    ),
    Mistake(
        N_("sum not rescaled"),
        N_(
            "the old sum was relative to the old maximum: `denom * exp(m - m_new) + p.sum(-1, keepdim=True)`."
        ),
        _update_variant(sum_factor="none"),
    ),
    Mistake(
        N_("sum rescaled with the wrong factor, exp(m_new − m)"),
        N_(
            "the factor is `exp(m - m_new)` (old minus new, never larger than 1): e^(s − m) · e^(m − m') = "
            "e^(s − m')."
        ),
        _update_variant(sum_factor="inverse"),
    ),
    Mistake(
        N_("a row whose scores are all −∞ gives NaN"),
        N_(
            "while a row has seen no key, `m_new` is −∞ and `scores - m_new` is −∞ − (−∞) = NaN. Subtract 0 "
            "there instead: `m_safe = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)`."
        ),
        _update_variant(guard=False),
    ),
)


def _update_cases() -> list[Case]:
    g = _gen(801)

    def case(T_q: int, C: int, d_v: int, first: bool, label: str, masked_row: bool = False) -> Case:
        scores = _randn(g, T_q, C, std=2.0)
        if first:
            m, denom, acc = torch.full((T_q, 1), -math.inf), torch.zeros(T_q, 1), torch.zeros(T_q, d_v)
        else:
            m = _randn(g, T_q, 1) + 1.0  # some rows' max grows in this chunk, others' does not
            denom = torch.rand(T_q, 1, generator=g) * 3 + 1
            acc = _randn(g, T_q, d_v)
        if masked_row:
            scores[0] = -math.inf  # row 0: every key of this chunk is masked
            if first:
                scores[1, : C // 2] = -math.inf
        return Case(
            f"{label}: m, denom ({T_q}, 1), acc ({T_q}, {d_v}), scores ({T_q}, {C})",
            (m, denom, acc, scores, _randn(g, C, d_v)),
        )

    return [
        case(4, 3, 2, False, _("a later chunk")),
        case(3, 5, 4, True, _("the first chunk (m = −∞, sums 0)")),
        case(5, 4, 3, True, _("the first chunk, row 0 fully masked"), masked_row=True),
        case(2, 1, 2, False, _("a chunk of one key")),
    ]


# ------------------------------------------------------------------ one KV-cache step


def _solution_kv_cache_step(q_new, k_new, v_new, k_cache, v_cache, W_pos):
    t = k_cache.shape[-2]  # positions already in the cache: the new token is position t
    k_new = k_new + W_pos[t]  # (B, H, 1, Dh): the position offset of a one-token step
    q_new = q_new + W_pos[t]
    k_cache = torch.cat([k_cache, k_new], dim=-2)  # (B, H, t + 1, Dh): grow along the time axis
    v_cache = torch.cat([v_cache, v_new], dim=-2)
    weights = torch.softmax(q_new @ k_cache.transpose(-2, -1) / math.sqrt(q_new.shape[-1]), dim=-1)
    return weights @ v_cache, k_cache, v_cache  # (B, H, 1, Dh), (B, H, t + 1, Dh) x 2


def _expected_kv_cache_step(q_new, k_new, v_new, k_cache, v_cache, W_pos):
    """Full causal attention over all t + 1 positions, keeping the last query's row."""
    t = k_cache.shape[-2]
    k_all = torch.cat([k_cache, k_new + W_pos[t]], dim=-2)
    v_all = torch.cat([v_cache, v_new], dim=-2)
    out, _ = scaled_dot_product_attention(q_new + W_pos[t], k_all, v_all)
    return out, k_all, v_all


def _cache_variant(offset="right", append="once", axis=-2):
    def variant(q_new, k_new, v_new, k_cache, v_cache, W_pos):
        t = k_cache.shape[-2]
        pos = {"right": W_pos[t], "zero": W_pos[0], "none": torch.zeros_like(W_pos[0])}[offset]
        k_new, q_new = k_new + pos, q_new + pos
        if append == "once":
            k_all, v_all = torch.cat([k_cache, k_new], dim=axis), torch.cat([v_cache, v_new], dim=axis)
        elif append == "twice":
            k_all = torch.cat([k_cache, k_new, k_new], dim=axis)
            v_all = torch.cat([v_cache, v_new, v_new], dim=axis)
        else:  # the new key is never appended: the token cannot see itself
            k_all, v_all = k_cache, v_cache
        weights = torch.softmax(q_new @ k_all.transpose(-2, -1) / math.sqrt(q_new.shape[-1]), dim=-1)
        return weights @ v_all, k_all, v_all

    return variant


_CACHE_MISTAKES = (
    Mistake(
        N_("position offset forgotten: the new token is given position 0"),
        N_(
            "a one-token step still sits at position t = `k_cache.shape[-2]`, not 0: add `W_pos[t]`. "
            "Counted from 0 inside the step, every generated token would look like the first one."
        ),
        _cache_variant(offset="zero"),
        alternatives=(_cache_variant(offset="none"),),
    ),
    Mistake(
        N_("new key and value appended twice"),
        N_("append the new key and value once: `torch.cat([k_cache, k_new], dim=-2)`."),
        _cache_variant(append="twice"),
    ),
    Mistake(
        N_("new key and value not appended"),
        N_(
            "the new token also attends to itself: append its key and value before the softmax, "
            "`k_cache = torch.cat([k_cache, k_new], dim=-2)`, and return the grown caches."
        ),
        _cache_variant(append="never"),
    ),
    Mistake(
        N_("cache grown along the wrong axis"),
        N_(
            "the cache is (B, H, t, Dh): positions are axis -2, so `torch.cat(..., dim=-2)` (dim=-1 makes "
            "the head_dim longer instead)."
        ),
        _cache_variant(axis=-1),
    ),
)


def _cache_cases() -> list[Case]:
    g = _gen(802)

    def case(B: int, H: int, t: int, Dh: int, label: str) -> Case:
        new = [_randn(g, B, H, 1, Dh) for _ in range(3)]
        cache = [_randn(g, B, H, t, Dh) for _ in range(2)]
        W_pos = _randn(g, 16, Dh)  # one row per position, like a table of positional encodings
        return Case(
            f"{label}: q/k/v_new ({B}, {H}, 1, {Dh}), caches ({B}, {H}, {t}, {Dh}), W_pos (16, {Dh})",
            (*new, *cache, W_pos),
        )

    return [
        case(2, 2, 5, 4, _("five cached positions")),
        case(1, 3, 1, 2, _("one cached position")),
        case(1, 1, 0, 3, _("an empty cache (the first token)")),
        case(2, 1, 9, 4, _("nine cached positions")),
    ]


LESSON_EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "online_softmax_update",
        "08",
        N_(
            "one step of online softmax for a chunk of scores: the new running max, the rescaled running sum "
            "and the rescaled accumulator plus this chunk's exp(scores - m_new) @ v_chunk."
        ),
        _solution_online_softmax_update,
        _expected_online_softmax_update,
        _update_cases,
        (
            Out("m_new", "float", "(T_q, 1)"),
            Out("denom_new", "float", "(T_q, 1)"),
            Out("acc_new", "float", "(T_q, d_v)"),
        ),
        _UPDATE_MISTAKES,
    ),
    Exercise(
        "kv_cache_step",
        "08",
        N_(
            "one generation step with a KV cache: add the position offset W_pos[t] (t = cached positions) to "
            "the new query and key, append the new key and value to the caches along the time axis, attend."
        ),
        _solution_kv_cache_step,
        _expected_kv_cache_step,
        _cache_cases,
        (
            Out("output", "float", "(B, H, 1, Dh)"),
            Out("k_cache", "float", "(B, H, t + 1, Dh)"),
            Out("v_cache", "float", "(B, H, t + 1, Dh)"),
        ),
        _CACHE_MISTAKES,
        solution_imports="import math\n\nimport torch",
    ),
)
