"""Rotary position embedding: the properties that define it, and parity with what Llama runs."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attn_lib.rope import PAIRINGS, apply_rope, rope_angles, rope_cos_sin

torch.manual_seed(0)


def half_to_interleaved_perm(head_dim: int) -> torch.Tensor:
    """Dimension order that turns an interleaved layout into the half layout: (0, 2, 4, ..., 1, 3, 5, ...)."""
    return torch.cat([torch.arange(0, head_dim, 2), torch.arange(1, head_dim, 2)])


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_position_zero_is_the_identity(pairing: str):
    x = torch.randn(2, 3, 5, 8)
    out = apply_rope(x, torch.zeros(5, dtype=torch.long), pairing=pairing)
    torch.testing.assert_close(out, x, rtol=0, atol=0)


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_rotation_keeps_the_norm_of_every_vector(pairing: str):
    x = torch.randn(2, 4, 50, 16, dtype=torch.float64)
    out = apply_rope(x, torch.arange(50), pairing=pairing)
    torch.testing.assert_close(out.norm(dim=-1), x.norm(dim=-1))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    m=st.integers(0, 2000),
    n=st.integers(0, 2000),
    shift=st.integers(0, 2000),
    half_dim=st.integers(1, 16),
    pairing=st.sampled_from(PAIRINGS),
)
def test_score_depends_only_on_the_offset_m_minus_n(m: int, n: int, shift: int, half_dim: int, pairing: str):
    g = torch.Generator().manual_seed(m * 7919 + n)
    q, k = torch.randn(2, 2 * half_dim, generator=g, dtype=torch.float64).unbind(0)

    def score(a: int, b: int) -> torch.Tensor:
        qa = apply_rope(q[None], torch.tensor([a]), pairing=pairing)
        kb = apply_rope(k[None], torch.tensor([b]), pairing=pairing)
        return (qa * kb).sum()

    torch.testing.assert_close(score(m, n), score(m + shift, n + shift), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("pairing", PAIRINGS)
def test_a_one_token_step_at_position_t_equals_row_t_of_the_whole_sequence(pairing: str):
    """The position offset a KV-cache step needs: rotating token t alone by position t."""
    x = torch.randn(1, 2, 9, 8)
    whole = apply_rope(x, torch.arange(9), pairing=pairing)
    step = apply_rope(x[:, :, 6:7], torch.tensor([6]), pairing=pairing)
    torch.testing.assert_close(step, whole[:, :, 6:7])
    forgot_offset = apply_rope(x[:, :, 6:7], torch.tensor([0]), pairing=pairing)
    assert (forgot_offset - whole[:, :, 6:7]).abs().max() > 0.1


def test_interleaved_pairing_is_multiplication_by_a_complex_phase():
    """The paper's form (and Meta's original code's): pairs (2i, 2i+1) as complex numbers times e^{i m w}."""
    x = torch.randn(3, 7, 10, dtype=torch.float64)
    pos = torch.arange(7)
    angles = rope_angles(pos, 10, dtype=torch.float64)  # (T, Dh/2)
    as_complex = torch.view_as_complex(x.reshape(3, 7, 5, 2).contiguous())
    expected = torch.view_as_real(as_complex * torch.polar(torch.ones_like(angles), angles)).reshape(3, 7, 10)
    torch.testing.assert_close(apply_rope(x, pos, pairing="interleaved"), expected, rtol=1e-6, atol=1e-6)


def test_half_and_interleaved_agree_up_to_a_fixed_permutation_of_the_head_dimensions():
    x = torch.randn(2, 3, 11, 12)
    perm = half_to_interleaved_perm(12)
    pos = torch.arange(11)
    torch.testing.assert_close(
        apply_rope(x[..., perm], pos, pairing="half"), apply_rope(x, pos, pairing="interleaved")[..., perm]
    )


def test_first_pair_turns_one_radian_per_position_and_frequencies_fall_geometrically():
    angles = rope_angles(torch.arange(4), 8, base=10000.0)  # (4, 4)
    torch.testing.assert_close(angles[:, 0], torch.arange(4.0))
    ratios = angles[1, 1:] / angles[1, :-1]
    torch.testing.assert_close(ratios, torch.full((3,), 10000.0 ** (-2 / 8)))


def test_per_sequence_positions_b_t_broadcast_over_heads():
    x = torch.randn(2, 3, 4, 8)
    pos = torch.tensor([[0, 1, 2, 3], [5, 6, 7, 8]])
    out = apply_rope(x, pos)
    torch.testing.assert_close(out[1], apply_rope(x[1], torch.arange(5, 9)))
    torch.testing.assert_close(out[0], apply_rope(x[0], torch.arange(4)))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_computed_in_float32_and_returned_in_its_dtype(dtype: torch.dtype):
    x = torch.randn(1, 2, 300, 64)
    out = apply_rope(x.to(dtype), torch.arange(300))
    assert out.dtype == dtype
    assert torch.isfinite(out).all()
    torch.testing.assert_close(
        out.float(), apply_rope(x.to(dtype).float(), torch.arange(300)), rtol=1e-2, atol=1e-2
    )


def test_input_is_not_changed():
    x = torch.randn(2, 5, 8)
    before = x.clone()
    apply_rope(x, torch.arange(5))
    assert torch.equal(x, before)


def test_gradient_flows_through_the_rotation():
    x = torch.randn(1, 1, 3, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: apply_rope(t, torch.arange(3)), (x,))


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: apply_rope(torch.randn(4, 7), torch.arange(4)),
            ValueError,
            "head_dim must be a positive even",
        ),
        (lambda: apply_rope(torch.randn(4, 8), torch.arange(5)), ValueError, "positions has 5 positions"),
        (lambda: apply_rope(torch.randn(4, 8), 4), TypeError, "torch.arange"),
        (lambda: apply_rope(torch.randn(4, 8), torch.arange(4.0)), TypeError, "integer tensor"),
        (lambda: apply_rope(torch.randn(4, 8), torch.tensor([0, -1, 2, 3])), ValueError, ">= 0"),
        (
            lambda: apply_rope(torch.ones(4, 8, dtype=torch.long), torch.arange(4)),
            TypeError,
            "floating-point",
        ),
        (lambda: apply_rope([[1.0, 2.0]], torch.arange(1)), TypeError, "x must be a torch.Tensor"),
        (lambda: apply_rope(torch.randn(8), torch.arange(1)), ValueError, r"\(\.\.\., T, Dh\)"),
        (lambda: apply_rope(torch.randn(4, 8), torch.arange(4), pairing="pairs"), ValueError, "pairing"),
        (lambda: apply_rope(torch.randn(4, 8), torch.arange(4), base=1.0), ValueError, "base"),
        (lambda: apply_rope(torch.randn(4, 8), torch.arange(4), base=math.nan), ValueError, "base"),
        (
            lambda: apply_rope(torch.randn(2, 3, 4, 8), torch.zeros(3, 4, dtype=torch.long)),
            ValueError,
            "broadcast",
        ),
        (lambda: rope_angles(torch.arange(3), 0), ValueError, "head_dim"),
        (lambda: rope_angles(torch.arange(3), 4.0), TypeError, "head_dim must be an int"),
        (lambda: rope_cos_sin(torch.arange(3), 4, pairing=None), ValueError, "pairing"),
    ],
)
def test_bad_input_gets_an_error_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ------------------------------------------------------------------ what people actually run


def test_cos_sin_and_rotation_equal_hugging_face_llamas():
    transformers = pytest.importorskip("transformers")
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding, apply_rotary_pos_emb

    config = transformers.LlamaConfig(
        hidden_size=64,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        rope_theta=10000.0,
    )
    rotary = LlamaRotaryEmbedding(config)
    B, H, T, Dh = 2, 4, 37, 16
    q, k = torch.randn(2, B, H, T, Dh).unbind(0)
    position_ids = torch.stack([torch.arange(T), torch.arange(5, 5 + T)])  # (B, T), the second one shifted
    cos, sin = rotary(q, position_ids)  # (B, T, Dh)
    ours_cos, ours_sin = rope_cos_sin(position_ids, Dh)
    torch.testing.assert_close(ours_cos, cos, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ours_sin, sin, rtol=1e-5, atol=1e-5)
    q_hf, k_hf = apply_rotary_pos_emb(q, k, cos, sin)
    torch.testing.assert_close(apply_rope(q, position_ids), q_hf, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(apply_rope(k, position_ids), k_hf, rtol=1e-5, atol=1e-5)
