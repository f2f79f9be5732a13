"""Sinusoidal positional encoding (Vaswani et al., 2017, section 3.5), checked against the formula.

PE[pos, 2i] = sin(pos / 10000^(2i / d_model)),  PE[pos, 2i+1] = cos(pos / 10000^(2i / d_model)).
"""

from __future__ import annotations

import math

import pytest
import torch

from attn_lib import PositionalEncoding, sinusoidal_positional_encoding


def paper_formula(pos: int, column: int, d_model: int, base: float = 10000.0) -> float:
    """One entry of the table, computed independently in float64 from the paper's formula."""
    two_i = column - column % 2
    angle = pos / base ** (two_i / d_model)
    return math.sin(angle) if column % 2 == 0 else math.cos(angle)


# ---------------------------------------------------------------- the table


@pytest.mark.parametrize(
    ("pos", "column"), [(0, 0), (0, 1), (1, 0), (1, 1), (7, 4), (7, 5), (49, 30), (49, 31)]
)
def test_table_matches_the_paper_formula(pos, column):
    pe = sinusoidal_positional_encoding(50, 32)
    assert pe[pos, column].item() == pytest.approx(paper_formula(pos, column, 32), abs=1e-5)


def test_whole_table_matches_the_paper_formula():
    pe = sinusoidal_positional_encoding(20, 8)
    ref = torch.tensor([[paper_formula(p, c, 8) for c in range(8)] for p in range(20)], dtype=torch.float64)
    torch.testing.assert_close(pe.double(), ref, rtol=0, atol=1e-5)


def test_table_uses_the_given_base():
    pe = sinusoidal_positional_encoding(10, 4, base=100.0)
    assert pe[3, 2].item() == pytest.approx(paper_formula(3, 2, 4, base=100.0), abs=1e-6)


def test_table_has_shape_max_len_by_d_model_in_float32():
    pe = sinusoidal_positional_encoding(7, 6)
    assert (pe.shape, pe.dtype) == ((7, 6), torch.float32)


def test_table_values_lie_in_minus_one_to_one():
    pe = sinusoidal_positional_encoding(200, 64)
    assert bool((pe.abs() <= 1).all())


def test_position_zero_is_sin_zero_cos_zero():
    assert torch.equal(sinusoidal_positional_encoding(4, 6)[0], torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0, 1.0]))


def test_every_row_has_norm_sqrt_d_model_over_2():
    pe = sinusoidal_positional_encoding(30, 16)  # sin² + cos² = 1 for each of the 8 frequencies
    torch.testing.assert_close(pe.norm(dim=-1), torch.full((30,), math.sqrt(8)))


@pytest.mark.parametrize(("args", "name", "got"), [((0, 8), "max_len", 0), ((5, -2), "d_model", -2)])
def test_table_rejects_non_positive_sizes(args, name, got):
    with pytest.raises(ValueError, match=f"{name} must be positive, got {got}"):
        sinusoidal_positional_encoding(*args)


@pytest.mark.parametrize(
    ("args", "name", "got"), [((5.0, 8), "max_len", "float"), ((5, "8"), "d_model", "str")]
)
def test_table_rejects_non_int_sizes(args, name, got):
    with pytest.raises(TypeError, match=f"{name} must be an int, got {got}"):
        sinusoidal_positional_encoding(*args)


def test_table_rejects_an_odd_d_model():
    with pytest.raises(
        ValueError, match=r"d_model must be even .*a sin and a cos column per frequency.*got 7"
    ):
        sinusoidal_positional_encoding(10, 7)


# ---------------------------------------------------------------- the module


def test_module_adds_the_first_t_rows_of_the_table():
    pos_enc = PositionalEncoding(8, max_len=20)
    x = torch.randn(2, 5, 8)
    torch.testing.assert_close(pos_enc(x) - x, sinusoidal_positional_encoding(20, 8)[:5].expand(2, 5, 8))


def test_module_starts_at_the_given_position():
    pos_enc = PositionalEncoding(8, max_len=20)
    x = torch.zeros(1, 3, 8)
    torch.testing.assert_close(pos_enc(x, start=4)[0], sinusoidal_positional_encoding(20, 8)[4:7])


def test_module_step_by_step_equals_all_at_once():
    pos_enc = PositionalEncoding(8, max_len=20)
    x = torch.randn(2, 6, 8)
    steps = [pos_enc(x[:, t : t + 1], start=t) for t in range(6)]
    torch.testing.assert_close(torch.cat(steps, dim=1), pos_enc(x))


def test_module_keeps_the_input_dtype():
    assert PositionalEncoding(4, max_len=8)(torch.zeros(1, 2, 4, dtype=torch.float64)).dtype == torch.float64


def test_module_table_is_not_saved_in_the_state_dict():
    assert "pe" not in PositionalEncoding(4, max_len=8).state_dict()


def test_module_rejects_a_non_tensor():
    with pytest.raises(TypeError, match=r"x must be a torch.Tensor of shape \(B, T, D\), got list"):
        PositionalEncoding(4, max_len=8)([[[0.0] * 4]])


def test_module_rejects_a_tensor_that_is_not_b_t_d():
    with pytest.raises(ValueError, match=r"x must have shape \(B, T, D\), got \(2, 4\)"):
        PositionalEncoding(4, max_len=8)(torch.zeros(2, 4))


def test_module_rejects_the_wrong_width():
    with pytest.raises(ValueError, match="x has d_model=6 but this PositionalEncoding was built for 4"):
        PositionalEncoding(4, max_len=8)(torch.zeros(1, 2, 6))


def test_module_rejects_positions_beyond_max_len():
    with pytest.raises(ValueError, match=r"sequence positions up to 10 exceed max_len=8; .*larger max_len"):
        PositionalEncoding(4, max_len=8)(torch.zeros(1, 4, 4), start=6)


@pytest.mark.parametrize("start", [-1, 1.5])
def test_module_rejects_a_start_that_is_not_a_non_negative_int(start):
    with pytest.raises(ValueError, match=f"start must be a non-negative int .*got {start}"):
        PositionalEncoding(4, max_len=8)(torch.zeros(1, 2, 4), start=start)


def test_module_rejects_an_odd_d_model():
    with pytest.raises(ValueError, match="d_model must be even"):
        PositionalEncoding(5)


# ---------------------------------------------------------------- named errors (issue 12)


@pytest.mark.parametrize("base", [float("nan"), float("inf"), 0, -2.0, 1.0])
def test_encoding_rejects_a_base_that_is_not_a_finite_number_above_one(base):
    with pytest.raises(ValueError, match="base must be a finite number > 1"):
        sinusoidal_positional_encoding(4, 8, base=base)


def test_encoding_rejects_a_base_that_is_not_a_number():
    with pytest.raises(TypeError, match="base must be a real number, got str"):
        sinusoidal_positional_encoding(4, 8, base="10000")


@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_module_rejects_integer_activations_instead_of_truncating_the_encoding(dtype):
    with pytest.raises(TypeError, match="x must be float activations"):
        PositionalEncoding(4, max_len=8)(torch.zeros(1, 2, 4, dtype=dtype))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_module_returns_the_dtype_of_its_input(dtype):
    x = torch.zeros(1, 3, 4, dtype=dtype)
    out = PositionalEncoding(4, max_len=8)(x)
    assert out.dtype == dtype
    torch.testing.assert_close(out.float(), sinusoidal_positional_encoding(3, 4)[None], atol=1e-2, rtol=0)


@pytest.mark.parametrize("dropout", [-0.1, 1.0, float("nan"), "0.1"])
def test_module_rejects_a_dropout_outside_zero_one(dropout):
    with pytest.raises(ValueError, match="dropout must be a number in"):
        PositionalEncoding(4, dropout=dropout)
