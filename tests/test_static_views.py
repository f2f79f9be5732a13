"""The stored lessons read without a kernel: GitHub, nbviewer and nbconvert HTML show every widget's figure.

A widget cell's stored output is a display bundle with `application/vnd.jupyter.widget-view+json`
(the live widget, for JupyterLab), `image/png` (its first view) and `text/plain`. No widget state
is stored, so nbconvert skips the widget view and shows the PNG; these tests render every stored
lesson (English and, where present, Korean) to HTML the way nbviewer does, without executing it.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")) + sorted(
    (ROOT / "lessons" / "ko").glob("[0-9][0-9]_*.ipynb")
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _prefixes(message: str) -> tuple[str, ...]:
    """How a static view's text/plain starts, in every language of the catalogue (Korean lessons
    store the Korean text): the part of ``message`` before its first placeholder."""
    from attn_lib import i18n

    before = i18n.get_language()
    try:
        found = []
        for lang in i18n.LANGUAGES:
            i18n.set_language(lang)
            found.append(i18n._(message).split("{")[0])
        return tuple(found)
    finally:
        i18n.set_language(before)


FIGURE = _prefixes("[interactive figure: {settings}; run the notebook to use the controls]")
PROGRESS = _prefixes("[progress bar: {name}; it moves while the cell runs]")


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT / "lessons"))


def _widget_cells(nb) -> list[tuple[int, object]]:
    return [
        (i, cell)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and any(WIDGET_VIEW in out.get("data", {}) for out in cell.get("outputs", []))
    ]


def _cell_html(html: str) -> dict[str, str]:
    """The rendered HTML of each cell, by cell id (nbconvert's lab template anchors cells by id)."""
    starts = [(m.start(), m.group(1)) for m in re.finditer(r'<div [^>]*id="cell-id=([^"]+)"', html)]
    ends = [s for s, _ in starts[1:]] + [len(html)] if starts else []
    return {cell_id: html[s:e] for (s, cell_id), e in zip(starts, ends, strict=True)}


@pytest.fixture(scope="module")
def exporter():
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab")


def test_the_lessons_are_found():
    assert len(NOTEBOOKS) >= 12, [p.name for p in NOTEBOOKS]


def _bundle_text(cell) -> str:
    texts = [out["data"].get("text/plain", "") for out in cell.outputs if WIDGET_VIEW in out.get("data", {})]
    return "".join(texts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_every_widget_cell_shows_an_image_in_the_html_export(path, exporter):
    """Every interactive figure shows its first view as an <img>; the only other widgets are progress bars."""
    nb = nbformat.read(path, as_version=4)
    cells = _widget_cells(nb)
    if not cells:
        pytest.skip(f"{_name(path)} stores no widget output (not executed, or no widget)")
    only = nbformat.v4.new_notebook(
        metadata=nb.metadata, cells=[cell for _, cell in cells]
    )  # faster to render
    html, _ = exporter.from_notebook_node(
        only, resources={"metadata": {"name": path.stem, "path": str(path.parent)}}
    )
    rendered = _cell_html(html)
    wrong = []
    for index, cell in cells:
        part, text = rendered.get(cell.id, ""), _bundle_text(cell)
        where = f"cell {index} ({cell.source.strip().splitlines()[0]!r})"
        if text.startswith(PROGRESS):
            continue  # a training progress bar: nothing to see without a kernel
        if not text.startswith(FIGURE):
            wrong.append(
                f"{where}: stored text {text[:60]!r} is a widget repr, not a static view (execute again)"
            )
        elif "<img" not in part:
            wrong.append(f"{where}: no <img> in the HTML export")
        elif WIDGET_VIEW in part:
            wrong.append(f"{where}: the HTML export renders the widget view, not the image")
    assert not wrong, f"{_name(path)}:\n" + "\n".join(wrong)


def test_a_widget_bundle_has_image_and_deterministic_text():
    """The first view's bundle: widget view + PNG + a short text that names the controls, no object repr."""
    path = ROOT / "lessons" / "01_attention_as_lookup.ipynb"
    (index, cell), *_ = _widget_cells(nbformat.read(path, as_version=4))
    (bundle,) = [out["data"] for out in cell.outputs if WIDGET_VIEW in out.get("data", {})]
    assert "image/png" in bundle, f"cell {index}: no image/png beside the widget view"
    text = bundle["text/plain"]
    assert "angle (°) = 30" in text and "children=" not in text and "0x" not in text, text


def _pngs(nb):
    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                yield index, out["data"]["image/png"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_name)
def test_every_stored_figure_is_opaque(path):
    """A transparent figure is black-on-nothing: unreadable on a dark page (JupyterLab Dark, GitHub dark)."""
    from PIL import Image

    transparent = []
    for index, data in _pngs(nbformat.read(path, as_version=4)):
        image = Image.open(io.BytesIO(base64.b64decode(data)))
        if "A" in image.getbands() or "transparency" in image.info:
            lowest = image.convert("RGBA").getchannel("A").getextrema()[0]
            if lowest < 255:
                transparent.append(f"cell {index}: lowest alpha {lowest} (of 255)")
    assert not transparent, f"{_name(path)}: figures with a transparent background:\n" + "\n".join(
        transparent
    )
