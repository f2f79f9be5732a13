"""Validation helpers shared by the widget modules."""

from __future__ import annotations

import torch

from ..i18n import _


def _check_finite_number(name: str, value: object) -> float:
    import math
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _check_positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        wanted = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {value!r}")
    return value


def _check_index(name: str, value: object, size: int, note: str = "") -> int:
    """``value`` as an index into ``size`` things: an int in ``[0, size)`` (``note`` says what it indexes)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < size:
        raise ValueError(f"{name} must be an int in [0, {size - 1}]{note}, got {value!r}")
    return value


def _tied_with_max(weights: torch.Tensor, tolerance: float) -> list[int]:
    """Indices of the ``(n,)`` weights within ``tolerance`` of the largest: the winner and its ties."""
    top = float(weights.max())
    return [j for j in range(weights.numel()) if top - float(weights[j]) < tolerance]


# --- Static views ------------------------------------------------------------------------------
# A widget's display bundle holds `application/vnd.jupyter.widget-view+json` (a reference to a live
# model in the kernel) and `text/plain`. With a kernel, JupyterLab renders the widget view and only
# it (a front end shows one MIME type per output). Without one (GitHub, nbviewer, nbconvert HTML:
# no widget state is stored, so nbconvert skips the widget view) the next type in the front end's
# order is shown. `install_static_views` makes that an ordinary `image/png` of the widget's first
# view (the figures its `interactive_output` drew) plus a short deterministic `text/plain`.
# It uses two documented IPython hooks: a display-publisher hook that records what each
# `ipywidgets.Output` shows, and per-type formatters for `ipywidgets.Box`.

_STATIC_ATTR = "_attn_static_pngs"  # base64 PNGs an Output widget shows now, in order
_installed = False


def _active_outputs() -> list:
    """The ``ipywidgets.Output`` widgets whose ``with out:`` block is running (they capture output)."""
    from ipywidgets import Output
    from ipywidgets.widgets.widget import _instances

    return [w for w in list(_instances.values()) if isinstance(w, Output) and w.msg_id]


def _record_output(msg: dict) -> dict:
    """Display-publisher hook: remember the PNGs published into an active Output widget."""
    kind = msg.get("header", {}).get("msg_type")
    if kind in ("display_data", "clear_output"):
        for out in _active_outputs():
            shown = getattr(out, _STATIC_ATTR, [])
            if kind == "clear_output":
                shown = []
            elif "image/png" in msg["content"].get("data", {}):
                shown = [*shown, msg["content"]["data"]["image/png"]]
            setattr(out, _STATIC_ATTR, shown)
    return msg  # unchanged: the front end still receives it


def _descendants(widget) -> list:
    found = [widget]
    for child in getattr(widget, "children", ()):
        found.extend(_descendants(child))
    return found


def _stack_pngs(pngs: list[str]) -> str:
    """One base64 PNG: the given base64 PNGs stacked top to bottom on white."""
    import base64
    import io

    from PIL import Image

    if len(pngs) == 1:
        return pngs[0]
    images = [Image.open(io.BytesIO(base64.b64decode(p))).convert("RGB") for p in pngs]
    sheet = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    top = 0
    for image in images:
        sheet.paste(image, (0, top))
        top += image.height
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def static_png(box) -> str | None:
    """The base64 PNG of what the Output widgets inside ``box`` show now, or None if they show none."""
    from ipywidgets import Output

    pngs = [p for w in _descendants(box) if isinstance(w, Output) for p in getattr(w, _STATIC_ATTR, [])]
    return _stack_pngs(pngs) if pngs else None


def _control_text(widget) -> str | None:
    description = getattr(widget, "description", "")
    if not description or not hasattr(widget, "value"):
        return None
    shown = getattr(widget, "label", None)  # Dropdown, ToggleButtons, SelectionSlider: the label
    return f"{description} = {shown if isinstance(shown, str) else widget.value}"


def static_text(box) -> str:
    """A short, deterministic ``text/plain`` for ``box``: what it is, its controls and their first values."""
    from ipywidgets import FloatProgress, IntProgress, Output

    parts = _descendants(box)
    if not any(isinstance(w, Output) for w in parts):
        bars = [w for w in parts if isinstance(w, (IntProgress, FloatProgress))]
        if bars:
            name = bars[0].description or _("progress")
            return _("[progress bar: {name}; it moves while the cell runs]").format(name=name)
    controls = [
        t for w in parts if not isinstance(w, (IntProgress, FloatProgress)) and (t := _control_text(w))
    ]
    settings = ", ".join(controls) if controls else _("no controls")
    if any(isinstance(w, Output) for w in parts):
        text = _("[interactive figure: {settings}; run the notebook to use the controls]")
        return text.format(settings=settings)
    return _("[widget: {settings}; run the notebook to use the controls]").format(settings=settings)


def install_static_views() -> bool:
    """Give every ``ipywidgets`` box displayed from now on a static view (see the comment above).

    Does nothing outside an IPython kernel, and nothing the second time; returns whether it is
    installed. Called by ``import attn_lib.widgets``.
    """
    global _installed
    import sys

    if _installed:
        return True
    if "ipykernel" not in sys.modules:  # not running in a Jupyter kernel
        return False
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell.display_pub, "register_hook"):  # a terminal, not a kernel
        return False
    from ipywidgets import Box

    shell.display_pub.register_hook(_record_output)
    formatters = shell.display_formatter.formatters
    formatters["image/png"].for_type(Box, static_png)
    formatters["text/plain"].for_type(Box, lambda box, printer, cycle: printer.text(static_text(box)))
    _installed = True
    return True
