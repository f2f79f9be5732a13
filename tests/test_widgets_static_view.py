"""The static view of a widget box: what its Output widgets showed, as one PNG, and a deterministic text."""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import pytest
from PIL import Image

from attn_lib.widgets import _common
from attn_lib.widgets._common import _record_output, install_static_views, static_png, static_text


def _png(width: int, height: int, colour: str) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _publish(kind: str, data: dict | None = None) -> dict:
    msg = {"header": {"msg_type": kind}, "content": {"data": data or {}}}
    assert _record_output(msg) is msg  # the hook never changes or swallows a message


@pytest.fixture
def out():
    view = widgets.Output()
    view.msg_id = "capturing"  # as inside `with view:`
    yield view
    view.msg_id = ""
    view.close()


def test_the_figure_drawn_into_an_output_becomes_the_box_png(out):
    _publish("display_data", {"image/png": _png(4, 3, "white"), "text/plain": "<Figure>"})
    box = widgets.VBox([widgets.IntSlider(value=2, description="n"), out])
    assert static_png(box) == _png(4, 3, "white")


def test_clear_output_forgets_the_earlier_figures(out):
    _publish("display_data", {"image/png": _png(4, 3, "white")})
    _publish("clear_output")
    _publish("display_data", {"image/png": _png(2, 2, "black")})
    assert static_png(widgets.VBox([out])) == _png(2, 2, "black")


def test_two_figures_are_stacked_into_one_opaque_png(out):
    _publish("display_data", {"image/png": _png(4, 3, "white")})
    _publish("display_data", {"image/png": _png(2, 5, "black")})
    image = Image.open(io.BytesIO(base64.b64decode(static_png(widgets.HBox([out])))))
    assert image.size == (4, 8) and image.mode == "RGB"


def test_an_output_that_is_not_capturing_records_nothing():
    idle = widgets.Output()
    _publish("display_data", {"image/png": _png(4, 3, "white")})
    assert static_png(widgets.VBox([idle])) is None
    idle.close()


def test_the_text_names_the_controls_and_their_first_values_not_the_repr(out):
    controls = [
        widgets.IntSlider(value=30, description="angle (°)"),
        widgets.Dropdown(
            options=[("decoder layer 0", 0), ("decoder layer 1", 1)], value=1, description="layer"
        ),
        widgets.Checkbox(value=False, description="switch this head off"),
    ]
    text = static_text(widgets.VBox([widgets.HBox(controls), out]))
    assert text == (
        "[interactive figure: angle (°) = 30, layer = decoder layer 1, switch this head off = False; "
        "run the notebook to use the controls]"
    )


def test_a_progress_bar_gets_a_short_text_without_its_value():
    bar = widgets.HBox(
        [widgets.IntProgress(value=7, max=10, description="training"), widgets.Label("step 7")]
    )
    assert static_text(bar) == "[progress bar: training; it moves while the cell runs]"


def test_install_outside_a_kernel_does_nothing(monkeypatch):
    monkeypatch.setattr(_common, "_installed", False)
    monkeypatch.delitem(__import__("sys").modules, "ipykernel", raising=False)
    assert install_static_views() is False
