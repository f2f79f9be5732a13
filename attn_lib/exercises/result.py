"""The result of a check: :class:`CheckResult`, plain text in a console, a coloured box in a notebook."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ..i18n import N_, _

_STYLES = {  # status -> (icon, headline, border colour, background colour)
    "pass": ("✓", N_("correct"), "#1e8e3e", "#e6f4ea"),
    "fail": ("✗", N_("not right yet"), "#d93025", "#fce8e6"),
    "todo": ("○", N_("not attempted yet"), "#f9ab00", "#fef7e0"),
}


def _message_html(message: str) -> str:
    """Escape a message for HTML; `backticks` become code and *stars* emphasis (outside code)."""
    parts = re.split(r"`([^`]+)`", html.escape(message))  # odd indices: the code spans
    for i, part in enumerate(parts):
        if i % 2:
            parts[i] = f"<code>{part}</code>"
        else:
            parts[i] = re.sub(r"(?<![\w*])\*(\w(?:[^*\n]*\w)?)\*(?![\w*])", r"<em>\1</em>", part)
    return "".join(parts)


@dataclass(frozen=True, repr=False)
class CheckResult:
    """What a checker found. True when the exercise passed; shows as a coloured box in a notebook.

    Attributes:
        passed: every input gave the expected result.
        message: what was checked, what differed, and a hint (plain text, `code` in backticks).
        exercise: the exercise name, e.g. ``"scaled_dot_product_attention"``.
        status: ``"pass"``, ``"fail"`` or ``"todo"`` (not attempted yet); derived from
            ``passed`` when left empty.
        mistake: the name of the recognised mistake, or None.
    """

    passed: bool
    message: str
    exercise: str
    status: str = ""
    mistake: str | None = None

    def __post_init__(self) -> None:
        if not self.status:
            object.__setattr__(self, "status", "pass" if self.passed else "fail")
        if self.status not in _STYLES:
            raise ValueError(f"status must be one of {sorted(_STYLES)}, got {self.status!r}")
        if (self.status == "pass") != bool(self.passed):
            raise ValueError(f"status {self.status!r} contradicts passed={self.passed}")

    def __bool__(self) -> bool:
        return self.passed

    @property
    def headline(self) -> str:
        """One line: icon, exercise and verdict, e.g. ``"✗ causal_mask: not right yet"``."""
        icon, verdict = _STYLES[self.status][:2]
        return f"{icon} {self.exercise}: {_(verdict)}"

    def __str__(self) -> str:
        return f"{self.headline}\n{self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        border = _STYLES[self.status][2]
        # No text colour and a see-through tint of the status colour as background: the text keeps
        # the page's own colour and the tint lies over the page, so the box reads on a light page and
        # on a dark one (JupyterLab Dark, a dark GitHub), also where a sanitiser drops what it does
        # not know (untrusted notebooks drop color-mix(); without rgba() the box is just untinted).
        tint = "rgba({}, {}, {}, 0.14)".format(*(int(border[k : k + 2], 16) for k in (1, 3, 5)))
        style = (
            f"border-left: 6px solid {border}; background: {tint}; "
            "padding: 8px 12px; margin: 4px 0; border-radius: 4px; line-height: 1.45"
        )
        return (
            f'<div class="attn-check attn-check-{self.status}" style="{style}">'
            f"<div><b>{_message_html(self.headline)}</b></div>"
            f'<div style="white-space: pre-wrap">{_message_html(self.message)}</div></div>'
        )
