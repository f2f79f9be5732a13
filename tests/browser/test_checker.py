"""The browser checker itself: it passes a working notebook and catches a broken one.

Two throw-away notebooks are written into the server's scratch folder (never into the repo):
one whose widgets all work, one with a widget callback that raises, a callback whose redraw
silently fails, and a cell that raises. The same `check_notebook` that checks the lessons must
pass the first and name every fault of the second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from .lab import JupyterLab, check_notebook

pytestmark = pytest.mark.browser

SETUP = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np

def draw(freq=2, kind="sin", grid=False, title="a wave", mirror=False, phase="0"):
    x = np.linspace(0, 2 * np.pi, 200)
    y = (np.sin if kind == "sin" else np.cos)(freq * x + float(phase))
    fig, ax = plt.subplots(figsize=(5, 2))
    ax.plot(x, -y if mirror else y)
    ax.grid(grid)
    ax.set_title(title)
    plt.show()"""

GOOD_INTERACT = """\
widgets.interact(
    draw,
    freq=widgets.IntSlider(2, 1, 9, continuous_update=False, description="freq"),
    kind=widgets.Dropdown(options=["sin", "cos"], description="kind"),
    grid=widgets.Checkbox(False, description="grid"),
    title=widgets.Text("a wave", continuous_update=False, description="title"),
    mirror=widgets.ToggleButton(False, description="mirror"),
    phase=widgets.RadioButtons(options=["0", "1"], description="phase"),
);"""

GOOD_OBSERVE = """\
mode = widgets.ToggleButtons(options=["rows", "columns"], description="mode")
out = widgets.Output()

def show(change=None):
    with out:
        out.clear_output(wait=True)
        print("softmax over", mode.value)

mode.observe(show, "value")
show()
widgets.VBox([mode, out])"""

BROKEN_INTERACT = """\
def broken_draw(heads=1):
    if heads != 1:
        raise RuntimeError("this callback is broken on purpose")
    fig, ax = plt.subplots(figsize=(4, 2))
    ax.plot([0, heads])
    plt.show()

heads = widgets.IntSlider(1, 1, 8, continuous_update=False, description="heads")
widgets.interact(broken_draw, heads=heads);"""

BROKEN_OBSERVE = """\
picked = widgets.Dropdown(options=["causal", "padding"], description="mask")
shown = widgets.Output()

def redraw(change=None):
    if change is not None:
        raise ValueError("redraw is broken on purpose")
    with shown:
        print("mask:", picked.value)

picked.observe(redraw, "value")
redraw()
widgets.VBox([picked, shown])"""

ERROR_CELL = 'raise KeyError("a cell that fails on purpose")'
AFTER_ERROR = 'print("never reached")'


def write_notebook(path: Path, sources: list[str], kernelspec: bool = True) -> None:
    nb = nbformat.v4.new_notebook()
    if kernelspec:
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Self-test of the browser checker")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, path)


def test_checker_passes_working_widgets(jupyterlab: JupyterLab, page: Any, results_dir: Path) -> None:
    write_notebook(
        jupyterlab.root_dir / "scratch" / "selftest_good.ipynb", [SETUP, GOOD_INTERACT, GOOD_OBSERVE]
    )
    report = check_notebook(page, jupyterlab, "scratch/selftest_good.ipynb", results_dir=results_dir)
    print(report.summary())
    assert not report.problems, report.summary()
    operated = {c.kind for c in report.controls if c.changed}
    assert operated == {"slider", "dropdown", "checkbox", "text", "toggle", "radio", "toggle-buttons"}, (
        report.summary()
    )
    assert report.images >= 1, report.summary()


def test_checker_catches_a_broken_widget(jupyterlab: JupyterLab, page: Any, results_dir: Path) -> None:
    write_notebook(
        jupyterlab.root_dir / "scratch" / "selftest_broken.ipynb",
        [SETUP, BROKEN_INTERACT, BROKEN_OBSERVE, ERROR_CELL, AFTER_ERROR],
    )
    report = check_notebook(page, jupyterlab, "scratch/selftest_broken.ipynb", results_dir=results_dir)
    print(report.summary())
    problems = [str(p) for p in report.problems]

    def found(*needles: str) -> bool:
        return any(all(n in p for n in needles) for p in problems)

    # The slider's callback raises: the traceback in its output is reported, naming the cell.
    assert found("cell 3/6 `def broken_draw", "slider", "RuntimeError: this callback is broken on purpose"), (
        problems
    )
    # The dropdown's callback raises outside any cell: nothing changes, and the log console has the error.
    assert found("cell 4/6 `picked = widgets.Dropdown", "dropdown", "changed no output"), problems
    # The failing cell is named with its error, and so is the cell Run All never reached.
    assert found("cell 5/6 `raise KeyError", "KeyError"), problems
    assert found('cell 6/6 `print("never reached")`', "not executed"), problems
    assert (results_dir / "selftest_broken-failure.png").exists()
    # A failing lesson's first line (all that pytest's short summary keeps) names the first cell's problem.
    assert report.headline().startswith(f"{len(problems)} problem(s), the first: cell 3/6"), report.headline()


def test_checker_reports_the_select_kernel_dialog(
    jupyterlab: JupyterLab, page: Any, results_dir: Path
) -> None:
    """A notebook without kernelspec metadata greets the learner with a dialog: that fails."""
    write_notebook(
        jupyterlab.root_dir / "scratch" / "selftest_no_kernelspec.ipynb", ['print("hi")'], kernelspec=False
    )
    report = check_notebook(page, jupyterlab, "scratch/selftest_no_kernelspec.ipynb", results_dir=results_dir)
    print(report.summary())
    # The dialog is named by its title ("Select Kernel") or its body ("Select kernel for: …"): once (1 run
    # in ~40, CI included) its text was read before its title was drawn. The checker now reads a dialog
    # until it reads the same twice, but the test does not depend on that.
    assert any("dialog" in p.what and "select kernel" in p.what.lower() for p in report.problems), (
        report.summary()
    )


@pytest.fixture(scope="module")
def jupyterlab_asking_for_news(
    jupyterlab: JupyterLab, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterLab]:
    """A second server whose user settings undo the project's "no news" setting."""
    lab = JupyterLab(
        jupyterlab.root_dir, tmp_path_factory.mktemp("lab-news"), notification_settings={"fetchNews": "none"}
    )
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()


def test_checker_reports_the_news_notification(
    jupyterlab_asking_for_news: JupyterLab, page: Any, results_dir: Path
) -> None:
    """Without the project's setting JupyterLab asks about news in a toast: the checker says so."""
    lab = jupyterlab_asking_for_news
    write_notebook(lab.root_dir / "scratch" / "selftest_news.ipynb", ['print("hi")'])
    report = check_notebook(page, lab, "scratch/selftest_news.ipynb", results_dir=results_dir)
    print(report.summary())
    assert any("notification" in p.what and "news" in p.what.lower() for p in report.problems), (
        report.summary()
    )


UNLABELLED = """\
nameless = widgets.IntSlider(2, 1, 9, continuous_update=False)  # no description: no visible label
said = widgets.Output()

def say(change=None):
    said.clear_output()
    with said:
        print("value:", nameless.value)

nameless.observe(say, "value")
say()
widgets.VBox([nameless, said])"""

# (Not an <img> without alt: JupyterLab's HTML renderer adds alt="Image". Not faint text either: axe's
# color-contrast rule does not apply to output text in JupyterLab, hence a11y's own contrast check.)
OWN_NAMELESS_BUTTON = """\
from IPython.display import HTML
HTML('<button type="button"></button> a button of our own HTML with no name')"""


def test_checker_catches_a_control_without_label_and_a_nameless_button_of_ours(
    jupyterlab: JupyterLab, page: Any, results_dir: Path
) -> None:
    """The accessibility checks can fail: a nameless slider, a nameless button in our own HTML (axe).

    The slider is still moved by the keyboard alone (Tab from its output, arrow keys), and its output
    must change; ipywidgets' unnamed slider handle is allowed, our HTML's unnamed button is not.
    """
    write_notebook(
        jupyterlab.root_dir / "scratch" / "selftest_a11y.ipynb", [SETUP, UNLABELLED, OWN_NAMELESS_BUTTON]
    )
    report = check_notebook(
        page, jupyterlab, "scratch/selftest_a11y.ipynb", results_dir=results_dir, accessibility=True
    )
    print(report.summary())
    problems = [str(p) for p in report.problems]
    assert any(p.startswith("cell 3/4 `nameless") and "no visible label" in p for p in problems), problems
    assert any(p.startswith("cell 4/4 `from IPython") and "axe button-name" in p for p in problems), problems
    keyed = [c for c in report.controls if "keyboard only" in c.kind]
    assert keyed and keyed[0].changed and "Tab x" in keyed[0].action, report.summary()
    assert (results_dir / "selftest_a11y-dark.png").exists()
