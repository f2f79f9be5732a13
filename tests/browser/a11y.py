"""Accessibility and dark-theme checks of a notebook's outputs, shared by the browser tests.

- :data:`JS_CONTRAST` measures WCAG contrast (text colour against the background it is drawn on,
  from computed styles) of the check-result boxes and of the widgets' labels and readouts.
- :data:`JS_FIGURES` reads every figure's pixels in the page: how much of it is transparent.
- :data:`JS_LABELS` finds every control in the widget outputs and the visible label it has.
- :func:`run_axe` runs axe-core (the copy shipped by ``axe-playwright-python``) on the output
  areas only, not on JupyterLab's own interface, and names the cell of every violating element.
- :data:`ALLOWED` lists the violations that lie in JupyterLab or ipywidgets, with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

# WCAG 2 AA for normal text. Used for every text here, large or not: the boxes and labels are small.
MIN_CONTRAST = 4.5
# A figure with more than this share of (partly) transparent pixels shows the page through it.
MAX_TRANSPARENT_SHARE = 0.01

_JS_COLOUR = r"""
const parseColour = (c) => {
    // Computed colours read 'rgb(r, g, b)', 'rgba(r, g, b, a)' or, from color-mix(in srgb, ...),
    // 'color(srgb r g b / a)' with channels in 0..1.
    const m = /rgba?\(([^)]+)\)/.exec(c || '');
    const s = /color\(srgb ([^)]+)\)/.exec(c || '');
    if (!m && !s) return null;
    const p = (m ? m[1] : s[1]).split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
    const k = m ? 1 : 255;
    return [p[0] * k, p[1] * k, p[2] * k, p.length > 3 ? p[3] : 1];
};
const over = (top, bottom) => {  // alpha compositing of an rgba colour over an opaque one
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
};
const background = (el) => {
    const layers = [];
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
        const c = parseColour(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let bg = [255, 255, 255, 1];  // the canvas behind everything
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
};
const luminance = (c) => {
    const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
};
const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
};
const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length)
    && getComputedStyle(e).visibility !== 'hidden';
const ownText = (e) => {
    if (e.matches('input:not([type=checkbox]):not([type=radio]), textarea')) return e.value || '';
    if (e.matches('select')) return e.selectedIndex >= 0 ? (e.options[e.selectedIndex].text || '') : '';
    return Array.from(e.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join('');
};
const contrastOf = (e) => {
    const bg = background(e);
    const fg = over(parseColour(getComputedStyle(e).color) || [0, 0, 0, 1], bg);
    return {fg: hex(fg), bg: hex(bg), ratio: Math.round(ratio(fg, bg) * 100) / 100};
};
const cellIndex = (el) => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const cells = panel ? Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell')) : [];
    return cells.indexOf(el.closest('.jp-Cell'));
};
"""

# The texts whose contrast is measured: everything inside a check-result box, and the parts of a
# widget that carry words or numbers (labels, readouts, option texts, the value in a text box).
RESULT_BOX = ".attn-check"
WIDGET_TEXT = ", ".join(
    [
        ".widget-label",
        ".widget-label-basic",
        ".widget-readout",
        ".widget-html-content",
        ".widget-button",
        ".widget-toggle-button",
        ".widget-radio-box label",
        ".widget-dropdown select",
        ".widget-select select",
        ".widget-text input",
        ".widget-textarea textarea",
    ]
)

JS_CONTRAST = (
    "([boxSelector, widgetSelector]) => {"
    + _JS_COLOUR
    + r"""
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const out = [];
    const measure = (root, what) => {
        const els = [root].concat(Array.from(root.querySelectorAll('*')));
        for (const e of els) {
            const text = ownText(e).replace(/[\u200b\s]+/g, ' ').trim();
            if (!text || !visible(e)) continue;
            out.push(Object.assign({cell: cellIndex(e), what, text: text.slice(0, 60),
                                    tag: e.tagName.toLowerCase()}, contrastOf(e)));
        }
    };
    if (!panel) return out;
    panel.querySelectorAll('.jp-OutputArea-output ' + boxSelector).forEach((b) => measure(b, 'result box'));
    panel.querySelectorAll('.jp-OutputArea-output').forEach((o) => {
        o.querySelectorAll(widgetSelector).forEach((w) => {
            if (!w.parentElement.closest(widgetSelector)) measure(w, 'widget');
        });
    });
    return out;
}"""
)

JS_FIGURES = (
    "async () => {"
    + _JS_COLOUR
    + r"""
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const imgs = panel ? Array.from(panel.querySelectorAll('.jp-OutputArea-output img')) : [];
    const out = [];
    for (const img of imgs) {
        try { await img.decode(); } catch (e) { /* reported as broken by the main check */ }
        const w = img.naturalWidth, h = img.naturalHeight;
        if (!w || !h) continue;
        const canvas = document.createElement('canvas');
        canvas.width = w; canvas.height = h;
        const ctx = canvas.getContext('2d', {willReadFrequently: true});
        ctx.drawImage(img, 0, 0);
        let data;
        try { data = ctx.getImageData(0, 0, w, h).data; } catch (e) { continue; }
        let transparent = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] < 250) transparent++;
        const corner = data[3];
        out.push({cell: cellIndex(img), width: w, height: h, share: transparent / (w * h),
                  corner, page: hex(background(img.parentElement))});
    }
    return out;
}"""
)

# One entry per control a learner operates; ``label`` is the visible text that names it.
JS_LABELS = (
    "(controls) => {"
    + _JS_COLOUR
    + r"""
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    if (!panel) return [];
    const clean = (t) => (t || '').replace(/[\u200b\u00a0\s]+/g, ' ').trim();
    const shown = (e) => e && visible(e) && clean(e.textContent) ? clean(e.textContent) : '';
    const out = [];
    for (const [kind, selector] of controls) {
        panel.querySelectorAll('.jp-OutputArea-output ' + selector).forEach((w) => {
            if (!visible(w)) return;
            let label = '';
            let how = '';
            const own = w.querySelector(':scope > .widget-label, :scope > label.widget-label');
            if (shown(own)) { label = shown(own); how = 'description'; }
            if (!label && kind === 'checkbox') {
                const span = w.querySelector('.widget-label-basic');
                if (shown(span)) { label = shown(span); how = 'description'; }
            }
            if (!label && (kind === 'button' || kind === 'toggle')) {
                if (shown(w)) { label = shown(w); how = 'button text'; }
            }
            if (!label) {  // an adjacent label element: the previous sibling in the same box
                const prev = w.previousElementSibling;
                if (prev && prev.matches('.widget-label, .widget-html, .widget-htmlmath, label')
                        && shown(prev)) { label = shown(prev); how = 'adjacent label'; }
            }
            out.push({cell: cellIndex(w), kind, label, how,
                      options: kind === 'toggle-buttons'
                          ? Array.from(w.querySelectorAll('button')).map((b) => clean(b.textContent)) : []});
        });
    }
    return out;
}"""
)

# Control widgets whose label is checked: (kind, selector of the widget's outer element).
LABELLED_CONTROLS = [
    ("slider", ".widget-slider"),
    ("dropdown", ".widget-dropdown"),
    ("select", ".widget-select"),
    ("checkbox", ".widget-checkbox"),
    ("toggle", "button.widget-toggle-button.jupyter-widgets"),
    ("toggle-buttons", ".widget-toggle-buttons"),
    ("radio", ".widget-radio"),
    ("text", ".widget-text"),
    ("textarea", ".widget-textarea"),
    ("button", "button.widget-button"),
]


# --------------------------------------------------------------------------- axe-core

# The notebook's outputs only: JupyterLab's own menus, toolbars and side panels are not ours to fix.
AXE_CONTEXT = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
    # Checked against the whole page, not an output area: landmarks, headings order, page title.
    "rules": {
        "region": {"enabled": False},
        "landmark-one-main": {"enabled": False},
        "page-has-heading-one": {"enabled": False},
        "heading-order": {"enabled": False},
    },
}


@dataclass(frozen=True)
class Allowed:
    """A violation we accept because it lies outside our code: rule id + where (regex on the element)."""

    rule: str
    element: str  # regular expression searched in "<parent tag.classes> > <the element's HTML>"
    why: str

    def matches(self, rule: str, element: str) -> bool:
        return rule == self.rule and bool(re.search(self.element, element))


ALLOWED: list[Allowed] = [
    Allowed(
        "image-alt",
        r'^div(\.[\w-]+)*\.jp-RenderedImage(\.[\w-]+)* > <img src="data:image/png;[^ "]*">$',
        "JupyterLab's image/png renderer (rendermime's renderImage, JupyterLab 4.6) creates the <img> "
        "with src, width, height and a background class only: an image output of a notebook cannot carry "
        "alt text there. Every figure's finding is also stated in text beside it (its title and the prose).",
    ),
    Allowed(
        "aria-input-field-name",
        r'^div(\.[\w-]+)*\.noUi-origin(\.[\w-]+)* > <div class="noUi-handle[^"]*"[^>]* role="slider"',
        "ipywidgets' sliders (8.1, noUiSlider) give the handle role=slider but no aria-label or "
        "aria-labelledby: the visible description beside it is not tied to it, and no widget option sets "
        "one. Every slider here has a visible description (checked by check_labels).",
    ),
]


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    cell: int  # index of the cell in the notebook, -1 when the element is in no cell
    target: str
    html: str  # "<parent tag.classes> > <the element's own HTML as axe shows it>"
    help: str
    allowed: Allowed | None = None

    def __str__(self) -> str:
        return f"axe {self.rule} ({self.impact}): {self.help}; element {self.target} {self.html[:160]}"


JS_AXE = r"""async ([context, options]) => {
    if (!document.querySelector(context)) return [];
    const results = await axe.run(context, options);
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const cells = panel ? Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell')) : [];
    const out = [];
    for (const v of results.violations) {
        for (const n of v.nodes) {
            const sel = Array.isArray(n.target) ? n.target.join(' ') : String(n.target);
            let el = null;
            try { el = document.querySelector(sel); } catch (e) { el = null; }
            const up = el && el.parentElement;
            const parent = up ? [up.tagName.toLowerCase()].concat(Array.from(up.classList)).join('.') : '?';
            out.push({rule: v.id, impact: n.impact || v.impact || '', help: v.help, target: sel,
                      html: parent + ' > ' + (n.html || '').replace(/\s+/g, ' '),
                      cell: el ? cells.indexOf(el.closest('.jp-Cell')) : -1});
        }
    }
    return out;
}"""


def run_axe(page: Any, rules: list[str] | None = None) -> list[Violation]:
    """Every axe-core violation in the visible notebook's output areas, each with its cell.

    ``rules``: only these rule ids (e.g. ``["color-contrast"]`` for a second theme); default all of
    :data:`AXE_OPTIONS`.
    """
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    options = AXE_OPTIONS if rules is None else {"runOnly": {"type": "rule", "values": rules}}
    found = page.evaluate(JS_AXE, [AXE_CONTEXT, options])
    out = []
    for v in found:
        allowed = next((a for a in ALLOWED if a.matches(v["rule"], v["html"])), None)
        out.append(Violation(v["rule"], v["impact"], v["cell"], v["target"], v["html"], v["help"], allowed))
    return out


def violations_json(lesson: str, violations: list[Violation]) -> str:
    return json.dumps(
        [
            {
                "lesson": lesson,
                "cell": v.cell + 1,
                "rule": v.rule,
                "impact": v.impact,
                "target": v.target,
                "html": v.html[:300],
                "allowed": v.allowed.why if v.allowed else None,
            }
            for v in violations
        ],
        indent=1,
        ensure_ascii=False,
    )


# --------------------------------------------------------------------------- checks as problems


def contrast_findings(page: Any) -> list[dict]:
    """Contrast of every text in the result boxes and the widgets' labels/readouts (one dict each)."""
    return page.evaluate(JS_CONTRAST, [RESULT_BOX, WIDGET_TEXT])


def low_contrast(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["ratio"] < MIN_CONTRAST]


def figure_findings(page: Any) -> list[dict]:
    """Every figure in the output areas: its size and the share of its pixels that are transparent."""
    return page.evaluate(JS_FIGURES)


def transparent(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["share"] > MAX_TRANSPARENT_SHARE]


def label_findings(page: Any) -> list[dict]:
    return page.evaluate(JS_LABELS, [list(c) for c in LABELLED_CONTROLS])


def contrast_summary(findings: list[dict]) -> str:
    """The lowest ratio of the result boxes and of the widget texts, e.g. 'result box min 7.1:1 (n=12)'."""
    parts = []
    for what in ("result box", "widget"):
        ratios = [f["ratio"] for f in findings if f["what"] == what]
        if ratios:
            parts.append(f"{what} min {min(ratios):.2f}:1 (n={len(ratios)})")
    return ", ".join(parts) or "no result box or widget text"
