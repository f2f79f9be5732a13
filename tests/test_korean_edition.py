"""The Korean edition (lessons/ko/) is complete, in step with the English lessons, and reads Korean.

- every English lesson has a Korean lesson;
- ``tools/ko.py``'s drift check finds nothing: the Korean code cells are the English code (up to
  translated comments and strings), every cell records the hash of the English cell it translates,
  and that hash is the English cell's current one;
- the drift check catches drift, shown on copies: an English markdown cell, code cell or code
  string edited, an English cell added, a number or identifier changed in the Korean code; and
  it accepts what a translation changes (comments, strings);
- what a learner reads is Korean: the markdown, the checkers' results stored in the notebooks, and
  the stored text outputs (no line of English prose).

The pairing of each Korean ``.py`` with its executed ``.ipynb`` is tested in test_notebook_pairs.py.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbformat import NotebookNode

# Tests of the drift check between the English and Korean lessons.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

REPO = Path(__file__).resolve().parent.parent
LESSONS = REPO / "lessons"
KO = LESSONS / "ko"
EN_PY = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
KO_PY = sorted(KO.glob("[0-9][0-9]_*.py"))
KO_IPYNB = sorted(KO.glob("[0-9][0-9]_*.ipynb"))


def _load_ko_tool():
    spec = importlib.util.spec_from_file_location("ko_tool", REPO / "tools" / "ko.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ko_tool"] = module
    spec.loader.exec_module(module)
    return module


ko = _load_ko_tool()


# --------------------------------------------------------------------------- (a) complete


def test_there_are_korean_lessons() -> None:
    assert KO_PY, f"no Korean lessons in {KO}"


@pytest.mark.parametrize("en", EN_PY, ids=lambda p: p.stem)
def test_every_english_lesson_has_a_korean_lesson(en: Path) -> None:
    assert (KO / en.name).exists(), (
        f"lesson {en.name} has no Korean edition lessons/ko/{en.name}: "
        f"`python tools/ko.py new {en.name[:2]}` writes a skeleton to translate"
    )


@pytest.mark.parametrize("ko_py", KO_PY, ids=lambda p: p.stem)
def test_every_korean_lesson_translates_an_english_lesson(ko_py: Path) -> None:
    assert (LESSONS / ko_py.name).exists(), f"lessons/ko/{ko_py.name} has no English lesson of that name"


# --------------------------------------------------------------------------- (b) in step


@pytest.mark.parametrize("ko_py", KO_PY, ids=lambda p: p.stem)
def test_korean_lesson_is_in_step_with_the_english_lesson(ko_py: Path) -> None:
    problems = ko.check(ko_py)
    report = "\n".join(f"  {p}" for p in problems)
    assert not problems, (
        f"lessons/ko/{ko_py.name} has drifted from lessons/{ko_py.name} ({len(problems)} problem(s); "
        f"cells are 0-based positions in the Korean lesson; see lessons/ko/README.md):\n{report}"
    )


# --------------------------------------------------------------------------- (c) drift is caught


@pytest.mark.parametrize(
    ("en", "ko_src", "same"),
    [
        ("x = 1  # one", "x = 1  # 하나", True),
        ('print("loss")', 'print("손실")', True),
        ('print("loss")', 'print("cost")', False),  # a string may change only into Korean
        ('print("max |diff| < 1e-6:", d < 1e-6)', 'print("최대 |차이| < 1e-6:", d < 1e-6)', True),
        ('print("max |diff| < 1e-6:", d < 1e-6)', 'print("최대 |차이| < 1e-5:", d < 1e-6)', False),
        ('print(f"loss {x:.2f} after {n} steps")', 'print(f"{n} 스텝 후 손실 {x:.2f}")', True),
        ('print(f"loss {x:.2f} after {n} steps")', 'print(f"{n} 스텝 후 손실 {x:.3f}")', False),
        ('print(f"loss {x:.2f}")', 'print(f"손실 {y:.2f}")', False),
        ('print("{} heads".format(h))', 'print("헤드 {}개".format(h))', True),
        ('print("{} heads".format(h))', 'print("헤드 개".format(h))', False),
        ('print("%d heads" % h)', 'print("헤드 %d개" % h)', True),
        ('print("%d heads" % h)', 'print("헤드 개" % h)', False),
        ('if mode == "causal":\n    pass', 'if mode == "인과":\n    pass', False),  # compared: stays
        ('print(drop["heads off"])', 'print(drop["헤드 끔"])', False),  # a key: stays
        ('ax.set_title("weights", fontsize=9)', 'ax.set_title("가중치", fontsize=9)', True),
        ('ax.set_title("weights", fontsize=9)', 'ax.set_title("가중치", fontsize=10)', False),
        ("y = attention(q, k)", "y = attention(k, q)", False),
        ("y = attention(q, k)", "y = attention(q, key)", False),
        ('"""Docstring."""\nx = 1', '"""독스트링."""\nx = 1', True),
        ("%timeit f(x)", "%timeit f(x)  # 시간 측정", True),
        ("%timeit f(x)", "%timeit f(y)", False),
    ],
)
def test_same_code_accepts_translations_and_rejects_other_changes(en: str, ko_src: str, same: bool) -> None:
    assert ko.same_code(en, ko_src) is same, (en, ko_src)


def _pair_source() -> tuple[Path, Path]:
    """A real English lesson and its Korean translation (lesson 02 if it is translated)."""
    for name in ("02_scaled_dot_product.py", *(p.name for p in KO_PY)):
        if (KO / name).exists() and (LESSONS / name).exists():
            return LESSONS / name, KO / name
    pytest.fail("no Korean lesson to test the drift check on: lessons/ko/ is empty")


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Copies of an English lesson and its Korean translation, laid out as in the repository."""
    en, ko_py = _pair_source()
    (tmp_path / "lessons" / "ko").mkdir(parents=True)
    en_copy, ko_copy = tmp_path / "lessons" / en.name, tmp_path / "lessons" / "ko" / ko_py.name
    shutil.copy2(en, en_copy)
    shutil.copy2(ko_py, ko_copy)
    yield en_copy, ko_copy


def _problems(ko_copy: Path) -> set[tuple[int, str]]:
    return {(p.cell, p.what) for p in ko.check(ko_copy, en_dir=ko_copy.parent.parent)}


def _new_problems(ko_copy: Path, before: set[tuple[int, str]]) -> list:
    fresh = [p for p in ko.check(ko_copy, en_dir=ko_copy.parent.parent) if (p.cell, p.what) not in before]
    return fresh


def _korean_index(en_nb: NotebookNode, ko_nb: NotebookNode, j: int) -> int:
    """The Korean cell that translates English cell j."""
    translated = [i for i, c in enumerate(ko_nb.cells) if c.metadata.get("en") != ko.SETUP_TAG]
    pairs = dict(ko.align(en_nb.cells, [ko_nb.cells[i] for i in translated]))
    assert pairs.get(j) is not None, f"English cell {j} has no Korean cell in the copy"
    return translated[pairs[j]]


def _clean_pairs(en_nb: NotebookNode, ko_nb: NotebookNode, lesson: str) -> list[tuple[int, int]]:
    """(English index, Korean index) of cells without any problem at the start."""
    bad = {p.cell for p in ko.check_pair(en_nb, ko_nb, lesson)}
    translated = [i for i, c in enumerate(ko_nb.cells) if c.metadata.get("en") != ko.SETUP_TAG]
    return [
        (j, translated[k])
        for j, k in ko.align(en_nb.cells, [ko_nb.cells[i] for i in translated])
        if j is not None and k is not None and translated[k] not in bad
    ]


def _print_string(code: str | ast.AST) -> ast.Constant | None:
    """A string literal that a translation may change: a print argument with words, no digits or fields."""
    for node in ast.walk(ast.parse(code) if isinstance(code, str) else code):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print":
            for arg in node.args:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and arg.lineno == arg.end_lineno
                    and not any(ch.isdigit() or ch in "{}%" for ch in arg.value)
                ):
                    return arg
    return None


def _replace(source: str, node: ast.AST, text: str) -> str:
    lines = source.splitlines(keepends=True)
    line = lines[node.lineno - 1]
    start, end = _char_offset(line, node.col_offset), _char_offset(line, node.end_col_offset)
    lines[node.lineno - 1] = line[:start] + text + line[end:]
    return "".join(lines)


def _char_offset(line: str, byte_offset: int | None) -> int:
    return len(line.encode("utf-8")[: byte_offset or 0].decode("utf-8"))


def _write(nb: NotebookNode, path: Path) -> None:
    jupytext.write(nb, path, fmt="py:percent")


def _expect_one_cell(fresh: list, cell: int, *phrases: str, en_cell: int | None = None) -> None:
    summary = "\n".join(map(str, fresh))
    assert fresh, f"the drift check missed the change to cell {cell}"
    assert {p.cell for p in fresh} == {cell}, f"expected problems at Korean cell {cell} only:\n{summary}"
    for phrase in phrases:
        assert any(phrase in p.what for p in fresh), f"no problem says {phrase!r}:\n{summary}"
    if en_cell is not None:
        assert all(p.en_cell == en_cell for p in fresh), f"expected English cell {en_cell}:\n{summary}"


def test_an_edited_english_markdown_cell_is_caught_and_named(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    j, i = next(
        (j, i) for j, i in _clean_pairs(en_nb, ko_nb, ko_copy.name) if en_nb.cells[j].cell_type == "markdown"
    )
    en_nb.cells[j].source += "\n\nA sentence the translation does not have yet."
    _write(en_nb, en_copy)
    fresh = _new_problems(ko_copy, before)
    _expect_one_cell(fresh, i, "older version of its English cell", en_cell=j)
    first_line = ko._first_line(en_nb.cells[j].source)
    assert repr(first_line) in str(fresh[0]), f"the problem does not quote the English cell: {fresh[0]}"


def test_an_edited_english_code_cell_is_caught_and_named(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    j, i = next(
        (j, i)
        for j, i in _clean_pairs(en_nb, ko_nb, ko_copy.name)
        if en_nb.cells[j].cell_type == "code" and en_nb.cells[j].source.strip()
    )
    en_nb.cells[j].source += "\nextra_line_the_korean_lesson_lacks = 1"
    _write(en_nb, en_copy)
    fresh = _new_problems(ko_copy, before)
    _expect_one_cell(fresh, i, "older version", "code differs", en_cell=j)


def test_an_edited_english_code_string_is_caught_and_named(pair: tuple[Path, Path]) -> None:
    """A changed English string leaves the Korean code valid, but its stamp is stale."""
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    j, i = next(
        (j, i)
        for j, i in _clean_pairs(en_nb, ko_nb, ko_copy.name)
        if en_nb.cells[j].cell_type == "code" and _print_string(en_nb.cells[j].source)
    )
    node = _print_string(en_nb.cells[j].source)
    assert node is not None
    en_nb.cells[j].source = _replace(en_nb.cells[j].source, node, repr(node.value + " (now said otherwise)"))
    _write(en_nb, en_copy)
    fresh = _new_problems(ko_copy, before)
    _expect_one_cell(fresh, i, "older version", en_cell=j)


def test_an_added_english_cell_is_caught_and_named_without_a_cascade(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    j = len(en_nb.cells) // 2
    following = _korean_index(en_nb, ko_nb, j)  # the Korean cell of the English cell that moves down
    en_nb.cells.insert(j, nbformat.v4.new_markdown_cell("## A new section\n\nWith words to translate."))
    _write(en_nb, en_copy)
    fresh = _new_problems(ko_copy, before)
    _expect_one_cell(fresh, following, f"English markdown cell {j} has no translation", en_cell=j)
    assert "## A new section" in str(fresh[0])


def test_a_removed_english_cell_is_caught_and_named(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    j, i = next(
        (j, i) for j, i in _clean_pairs(en_nb, ko_nb, ko_copy.name) if en_nb.cells[j].cell_type == "markdown"
    )
    del en_nb.cells[j]
    _write(en_nb, en_copy)
    fresh = _new_problems(ko_copy, before)
    _expect_one_cell(fresh, i, "translates no English cell")


def _korean_code_cell(en_nb: NotebookNode, ko_nb: NotebookNode, lesson: str, want) -> tuple[int, ast.AST]:
    for j, i in _clean_pairs(en_nb, ko_nb, lesson):
        if en_nb.cells[j].cell_type != "code":
            continue
        try:
            tree = ast.parse(ko_nb.cells[i].source)
        except SyntaxError:
            continue
        node = want(tree)
        if node is not None:
            return i, node
    pytest.fail(f"no suitable code cell in {lesson}")


def _number(tree: ast.AST) -> ast.Constant | None:
    return next(
        (
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and type(n.value) in (int, float) and n.lineno == n.end_lineno
        ),
        None,
    )


def _name(tree: ast.AST) -> ast.Name | None:
    return next((n for n in ast.walk(tree) if isinstance(n, ast.Name)), None)


def test_translated_comments_and_strings_are_accepted(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    i, string = _korean_code_cell(en_nb, ko_nb, ko_copy.name, _print_string)
    source = ko_nb.cells[i].source
    ko_nb.cells[i].source = _replace(source, string, repr("다르게 번역한 문장")) + "\n# 번역한 주석을 하나 더"
    _write(ko_nb, ko_copy)
    fresh = _new_problems(ko_copy, before)
    assert not fresh, "a translated string and comment were taken for drift:\n" + "\n".join(map(str, fresh))


def test_a_changed_number_in_the_korean_code_is_caught(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    i, node = _korean_code_cell(en_nb, ko_nb, ko_copy.name, _number)
    assert isinstance(node, ast.Constant)
    ko_nb.cells[i].source = _replace(ko_nb.cells[i].source, node, repr(node.value + 1))
    _write(ko_nb, ko_copy)
    _expect_one_cell(_new_problems(ko_copy, before), i, "code differs")


def test_a_changed_identifier_in_the_korean_code_is_caught(pair: tuple[Path, Path]) -> None:
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    i, node = _korean_code_cell(en_nb, ko_nb, ko_copy.name, _name)
    assert isinstance(node, ast.Name)
    ko_nb.cells[i].source = _replace(ko_nb.cells[i].source, node, node.id + "_ko")
    _write(ko_nb, ko_copy)
    _expect_one_cell(_new_problems(ko_copy, before), i, "code differs")


def test_stamp_records_the_updated_translation(pair: tuple[Path, Path]) -> None:
    """After an English edit, updating the translation and `stamp` make the problem go away."""
    en_copy, ko_copy = pair
    before = _problems(ko_copy)
    en_nb, ko_nb = jupytext.read(en_copy), jupytext.read(ko_copy)
    j, i = next(
        (j, i) for j, i in _clean_pairs(en_nb, ko_nb, ko_copy.name) if en_nb.cells[j].cell_type == "markdown"
    )
    en_nb.cells[j].source += "\n\nOne more sentence."
    _write(en_nb, en_copy)
    assert _new_problems(ko_copy, before)
    ko_nb.cells[i].source += "\n\n한 문장 더."
    _write(ko_nb, ko_copy)
    ko.stamp(ko_copy, [i], en_dir=en_copy.parent)
    assert not _new_problems(ko_copy, before)


def test_a_skeleton_passes_the_check_once_translated(tmp_path: Path) -> None:
    """`new` writes a skeleton whose only problems are the untranslated markdown cells."""
    en = LESSONS / "01_attention_as_lookup.py"
    nb = ko.skeleton(jupytext.read(en))
    problems = ko.check_pair(jupytext.read(en), nb, en.name)
    assert problems and all("not translated" in p.what for p in problems), "\n".join(map(str, problems))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = "번역: " + cell.source
    assert not ko.check_pair(jupytext.read(en), nb, en.name)


# --------------------------------------------------------------------------- (e) reads Korean


@pytest.mark.parametrize("ko_py", KO_PY, ids=lambda p: p.stem)
def test_korean_lesson_markdown_is_korean(ko_py: Path) -> None:
    markdown = [c for c in jupytext.read(ko_py).cells if c.cell_type == "markdown" and c.source.strip()]
    korean = [c for c in markdown if ko.HANGUL.search(c.source)]
    share = len(korean) / max(len(markdown), 1)
    assert share >= 0.9, f"only {len(korean)} of {len(markdown)} markdown cells of {ko_py.name} hold Korean"


def _check_results(nb: NotebookNode) -> list[str]:
    """The plain text of every stored checker result (the coloured boxes of attn_lib.exercises)."""
    return [
        out["data"].get("text/plain", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if "attn-check" in out.get("data", {}).get("text/html", "")
    ]


@pytest.mark.parametrize("ipynb", KO_IPYNB, ids=lambda p: p.stem)
def test_korean_notebook_shows_checker_results_in_korean(ipynb: Path) -> None:
    nb = nbformat.read(ipynb, as_version=4)
    english = nbformat.read(LESSONS / ipynb.name, as_version=4)
    results = _check_results(nb)
    expected = len(_check_results(english))
    assert len(results) == expected, (
        f"{ipynb.name} stores {len(results)} checker results, the English lesson {expected}"
    )
    not_korean = [r.splitlines()[0] for r in results if not ko.HANGUL.search(r)]
    assert not not_korean, (
        f"{ipynb.name}: checker results shown in English (is set_language('ko') run, and the notebook "
        f"re-executed with the catalogue?): {not_korean}"
    )


# Words that make a printed line English prose (a sentence or phrase meant for the reader): a line of
# code, a tensor, a shape or the data's tokens ("the cat sat on the mat") rarely holds one of these.
_ENGLISH_PROSE = re.compile(r"\b(of|and|with|is|are|not|from|for|to|by|per|each|all|than|its|which|when)\b")
# Stored lines that may stay English: matplotlib's repr of a figure, and an exception message quoted as
# it is raised (PyTorch's and attn_lib's errors are English in both editions).
_MAY_STAY_ENGLISH = re.compile(r"^<Figure size \d+x\d+ with \d+ Axes>$|\b[A-Z][A-Za-z]*Error: ")


def _english_prose_lines(nb: NotebookNode) -> list[str]:
    """The stored text output lines (streams and text/plain) that read as English prose, without Hangul."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = out.get("text", "") if out.get("output_type") == "stream" else ""
            text += out.get("data", {}).get("text/plain", "")
            for line in text.splitlines():
                line = line.strip()
                if ko.HANGUL.search(line) or _MAY_STAY_ENGLISH.search(line):
                    continue
                if _ENGLISH_PROSE.search(line):
                    found.append(f"cell {i}: {line[:120]}")
    return found


@pytest.mark.parametrize("ipynb", KO_IPYNB, ids=lambda p: p.stem)
def test_korean_notebook_prints_no_english_prose(ipynb: Path) -> None:
    english = _english_prose_lines(nbformat.read(ipynb, as_version=4))
    assert not english, (
        f"{ipynb.name} prints English to the Korean reader (a label made in code or a dictionary key "
        "shown as is? show a Korean label for it; a library message? give it a catalogue entry):\n"
        + "\n".join(english)
    )


def test_the_english_prose_scan_finds_the_english_lessons_prose() -> None:
    """The scan can fail: on an English lesson it finds many lines (and the figure reprs it lets pass)."""
    found = _english_prose_lines(nbformat.read(LESSONS / "02_scaled_dot_product.ipynb", as_version=4))
    assert len(found) >= 10, found
    assert not any("<Figure size" in line for line in found)
