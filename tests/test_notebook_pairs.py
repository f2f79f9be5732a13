"""Every lesson, English and Korean, is a jupytext pair whose .py and .ipynb hold the same cells."""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest
from jupytext.compare import compare_notebooks

# Tests of that every lesson's .py and .ipynb are a jupytext pair.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
# The English lessons and the Korean edition (lessons/ko/), paired and executed the same way.
EDITIONS = (LESSONS, LESSONS / "ko")
PY_FILES = sorted(p for folder in EDITIONS for p in folder.glob("[0-9][0-9]_*.py"))
IPYNB_FILES = sorted(p for folder in EDITIONS for p in folder.glob("[0-9][0-9]_*.ipynb"))


def _id(path: Path) -> str:
    return str(path.relative_to(LESSONS))  # 00_start_here.ipynb, ko/00_start_here.ipynb


def test_there_are_lessons():
    assert PY_FILES, f"no lessons found in {LESSONS}"
    assert any(p.parent == LESSONS / "ko" for p in PY_FILES), f"no Korean lessons found in {LESSONS / 'ko'}"


@pytest.mark.parametrize("ipynb", IPYNB_FILES, ids=_id)
def test_every_notebook_has_a_paired_py(ipynb: Path):
    assert ipynb.with_suffix(".py").exists(), f"{_id(ipynb)} has no paired .py"


@pytest.mark.parametrize("py", PY_FILES, ids=_id)
def test_pair_inputs_agree(py: Path):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), (
        f"{_id(py)} has no executed .ipynb: run `make execute NB={py.relative_to(LESSONS.parent)}`"
    )
    compare_notebooks(jupytext.read(ipynb), jupytext.read(py), fmt="py:percent")


def _cells_text(nb: nbformat.NotebookNode) -> str:
    text = jupytext.writes(nb, fmt="py:percent")
    return text.split("# ---\n", 2)[-1] if text.startswith("# ---") else text


@pytest.mark.parametrize("py", PY_FILES, ids=_id)
def test_pair_opens_in_jupyterlab_whichever_file_is_newer(py: Path):
    """jupytext's server refuses a pair whose .ipynb is newer unless both write the same cells as text
    (a fresh clone gives arbitrary modification times); cell metadata order counts there."""
    ipynb = py.with_suffix(".ipynb")
    if not ipynb.exists():
        pytest.fail(f"{_id(py)} has no executed .ipynb", pytrace=False)
    assert _cells_text(jupytext.read(py)) == _cells_text(jupytext.read(ipynb)), (
        f"{_id(py)} and its .ipynb write different text (for a Korean lesson: metadata en= must come "
        f"before tags=, `python tools/ko.py tidy {py.name[:2]}`); JupyterLab would show a File Load Error"
    )


@pytest.mark.parametrize("ipynb", IPYNB_FILES, ids=_id)
def test_notebook_is_fully_executed_without_errors(ipynb: Path):
    nb = nbformat.read(ipynb, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.get("execution_count") for c in code), f"{_id(ipynb)} has cells that were never executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{_id(ipynb)} holds error outputs: {[e.ename for e in errors]}"


@pytest.mark.parametrize("ipynb", IPYNB_FILES, ids=_id)
def test_kernelspec_opens_without_a_dialog(ipynb: Path):
    meta = nbformat.read(ipynb, as_version=4).metadata
    assert meta.kernelspec.name == "python3"
    assert meta.kernelspec.display_name
    assert meta.language_info.name == "python"
