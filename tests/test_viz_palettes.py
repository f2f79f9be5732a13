"""Colour-blind-safe palettes, defined once in attn_lib.viz, and heatmaps whose numbers are readable text."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from attn_lib import viz

# Tests of the colour palettes and their contrast.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "attn_lib").glob("*.py")) + sorted((ROOT / "attn_lib" / "widgets").glob("*.py"))
LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.py"))

# Machado, Oliveira & Fernandes (2009), severity 1.0, on linear RGB: what a protanope,
# deuteranope or tritanope sees.
CVD = {
    "protanopia": (
        (0.152286, 1.052583, -0.204868),
        (0.114503, 0.786281, 0.099216),
        (-0.003882, -0.048116, 1.051998),
    ),
    "deuteranopia": (
        (0.367322, 0.860646, -0.227968),
        (0.280085, 0.672501, 0.047413),
        (-0.011820, 0.042940, 0.968881),
    ),
    "tritanopia": (
        (1.255528, -0.076749, -0.178779),
        (-0.078411, 0.930809, 0.147602),
        (0.004733, 0.691367, 0.303900),
    ),
}
MIN_DELTA_E = 15.0  # CIELAB distance two category colours keep under every simulated deficiency


def _lab(hex_colour: str, deficiency: str | None = None) -> torch.Tensor:
    rgb = torch.tensor(matplotlib.colors.to_rgb(hex_colour), dtype=torch.float64)
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    if deficiency:
        lin = (torch.tensor(CVD[deficiency], dtype=torch.float64) @ lin).clamp(0, 1)
    to_xyz = torch.tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = (to_xyz.double() @ lin) / torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
    f = torch.where(xyz > 0.008856, xyz ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a: str, b: str, deficiency: str | None) -> float:
    return float((_lab(a, deficiency) - _lab(b, deficiency)).norm())


@pytest.mark.parametrize("deficiency", [None, *CVD])
def test_every_pair_of_category_colours_stays_distinct_in_every_colour_vision(deficiency):
    close = [
        (a, b, round(d, 1))
        for a, b in itertools.combinations(viz.OKABE_ITO, 2)
        if (d := _delta_e(a, b, deficiency)) < MIN_DELTA_E
    ]
    assert not close, f"{deficiency or 'normal vision'}: too alike: {close}"


def test_the_check_can_fail_on_a_red_green_pair():
    """Plain red and green, or tab10's red and green, collapse for a deuteranope: the check sees it."""
    assert _delta_e("#FF0000", "#00A000", "deuteranopia") < MIN_DELTA_E
    assert _delta_e("#d62728", "#2ca02c", "deuteranopia") < MIN_DELTA_E


def test_the_named_colours_are_the_okabe_ito_ones():
    named = (viz.BLUE, viz.ORANGE, viz.GREEN, viz.PINK, viz.SKY_BLUE, viz.VERMILLION, viz.YELLOW, viz.BLACK)
    assert named == viz.OKABE_ITO
    assert (viz.UNSCALED_COLOUR, viz.SCALED_COLOUR, viz.DK_COLOUR) == (viz.VERMILLION, viz.BLUE, viz.GREEN)


def test_colour_maps_are_perceptually_uniform_or_cvd_safe_diverging():
    assert viz.SEQUENTIAL_CMAP in {"viridis", "cividis", "magma", "inferno", "plasma"}
    assert viz.DIVERGING_CMAP in {"RdBu", "RdBu_r", "PuOr", "PuOr_r", "BrBG", "BrBG_r"}


BANNED_MAPS = re.compile(
    r"""["'](jet|rainbow|gist_rainbow|hsv|turbo|nipy_spectral|Spectral|RdYlGn|RdYlGn_r|PiYG|PRGn)["']"""
)


@pytest.mark.parametrize("path", LIBRARY + LESSONS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_rainbow_or_red_green_colour_map(path):
    found = BANNED_MAPS.findall(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} uses {found}: use viz.SEQUENTIAL_CMAP / viz.DIVERGING_CMAP"


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_colours_are_defined_in_one_place(path):
    """Hex colours and red/green colour names appear only in viz's palette block."""
    text = path.read_text(encoding="utf-8")
    if path.name == "viz.py":
        start, end = text.index("# ---- Palettes"), text.index("def text_colour_on")
        text = text[:start] + text[end:]
    hexes = re.findall(r"#[0-9a-fA-F]{6}\b", text)
    names = re.findall(r"""color\w*\s*=\s*["'](red|green|lime|tab:red|tab:green)["']""", text)
    assert not hexes and not names, f"{path.relative_to(ROOT)}: {hexes + names}; name them in attn_lib.viz"


@pytest.mark.parametrize(("rgba", "expected"), [((0, 0, 0, 1), "white"), ((1, 1, 1, 1), "black")])
def test_text_colour_contrasts_with_the_cell(rgba, expected):
    assert viz.text_colour_on(rgba) == expected


def test_text_on_viridis_is_white_on_the_dark_end_and_black_on_the_bright_end():
    cmap = plt.get_cmap(viz.SEQUENTIAL_CMAP)
    assert viz.text_colour_on(cmap(0.0)) == "white"
    assert viz.text_colour_on(cmap(1.0)) == "black"


def test_a_small_attention_map_prints_every_weight_in_its_cell():
    w = torch.softmax(torch.randn(3, 4, generator=torch.Generator().manual_seed(0)), -1)
    ax = viz.plot_attention(w)
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(i, j): f"{round(float(w[i, j]), 2) + 0.0:.2f}" for i in range(3) for j in range(4)}
    plt.close(ax.figure)


def test_a_large_attention_map_prints_no_numbers_but_heatmap_table_gives_them():
    w = torch.full((13, 13), 1 / 13)
    ax = viz.plot_attention(w)
    assert len(ax.texts) == 0
    plt.close(ax.figure)
    table = viz.heatmap_table(w).splitlines()
    assert len(table) == 1 + 13
    assert table[1].split()[1:] == ["0.08"] * 13


def test_heatmap_table_names_rows_and_columns():
    table = viz.heatmap_table([[0.25, 0.75], [1.0, 0.0]], ["the", "cat"], ["a", "b"])
    assert table.splitlines() == ["       a    b", "the 0.25 0.75", "cat 1.00 0.00"]


def test_heatmap_table_rejects_labels_that_do_not_fit():
    with pytest.raises(ValueError, match="must name the 2 rows and 2 columns, got 3 and 2"):
        viz.heatmap_table([[0.0, 1.0], [1.0, 0.0]], ["a", "b", "c"])


def test_masked_cells_keep_their_label_and_get_no_number():
    w = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    ax = viz.plot_masked_matrix(w, hidden=torch.tensor([[False, True], [False, False]]), hidden_text="-inf")
    assert sorted(t.get_text() for t in ax.texts) == ["-inf", "0.50", "0.50", "1.00"]
    plt.close(ax.figure)
