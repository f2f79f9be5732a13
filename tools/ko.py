"""The Korean edition (lessons/ko/) kept in step with the English lessons.

Every Korean lesson ``lessons/ko/NN_name.py`` has the cells of ``lessons/NN_name.py`` in the same
order, plus one language cell (``set_language("ko")``) right before the first code cell. Each
translated cell records in its metadata ``en`` the hash of the English cell it translates; when the
English cell changes and its translation is not brought up to date, ``check`` names the cell.

Code cells must be the English code: the same syntax tree, except that comments and string literals
may be translated (a string may differ only if the Korean one contains Hangul).

    python tools/ko.py new 03        # skeleton lessons/ko/03_*.py from the English lesson (hashes stamped)
    python tools/ko.py check [03 ..] # drift report; exit status 1 if any lesson drifted
    python tools/ko.py stamp 03 12 14  # after updating the translation of cells 12 and 14 of lesson 03
"""

from __future__ import annotations

import ast
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
EN_DIR = ROOT / "lessons"
KO_DIR = EN_DIR / "ko"
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
SETUP_TAG = "setup"  # the ``en`` value of the language cell, which translates no English cell
SETUP_SOURCE = 'from attn_lib.i18n import set_language\n\nset_language("ko")'


def cell_hash(source: str) -> str:
    """The ``en`` stamp of an English cell: first 10 hex digits of the SHA-1 of its source."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]


def english_of(ko_path: Path, en_dir: Path = EN_DIR) -> Path:
    return en_dir / ko_path.name


def lesson_path(number: str, folder: Path) -> Path:
    found = sorted(folder.glob(f"{number}_*.py"))
    if len(found) != 1:
        raise SystemExit(f"no single lesson {number}_*.py in {folder}: found {[p.name for p in found]}")
    return found[0]


def skeleton(en_nb: NotebookNode) -> NotebookNode:
    """The English notebook with every cell stamped and the language cell inserted."""
    ko = jupytext.reads(jupytext.writes(en_nb, fmt="py:percent"), fmt="py:percent")
    for cell in ko.cells:
        cell.metadata["en"] = cell_hash(cell.source)
    first_code = next((i for i, c in enumerate(ko.cells) if c.cell_type == "code"), len(ko.cells))
    setup = new_code_cell(SETUP_SOURCE)
    setup.metadata["en"] = SETUP_TAG
    ko.cells.insert(first_code, setup)
    return ko


def _header(text: str) -> str:
    """The YAML header block of a percent-format file (up to and including the closing ``# ---``)."""
    end = text.index("# ---", text.index("# ---") + 5) + len("# ---\n")
    return text[:end]


def write_lesson(nb: NotebookNode, ko_path: Path, en_path: Path) -> None:
    """Write ``nb`` in percent format with the English lesson's header, so the pair config is the same."""
    text = jupytext.writes(nb, fmt="py:percent")
    ko_path.write_text(_header(en_path.read_text(encoding="utf-8")) + text[len(_header(text)) :], encoding="utf-8")


def _same_code(en: ast.AST, ko: ast.AST) -> bool:
    if type(en) is not type(ko):
        return False
    if isinstance(en, ast.Constant) and isinstance(en.value, str) and isinstance(ko.value, str):
        return en.value == ko.value or bool(HANGUL.search(ko.value))
    for field in en._fields:
        a, b = getattr(en, field, None), getattr(ko, field, None)
        if isinstance(a, list):
            if not isinstance(b, list) or len(a) != len(b):
                return False
            if not all(_same_code(x, y) if isinstance(x, ast.AST) else x == y for x, y in zip(a, b)):
                return False
        elif isinstance(a, ast.AST):
            if not isinstance(b, ast.AST) or not _same_code(a, b):
                return False
        elif a != b:
            return False
    return True


def same_code(en_source: str, ko_source: str) -> bool:
    """Is the Korean code cell the English one, up to translated comments and strings?"""
    try:
        return _same_code(ast.parse(en_source), ast.parse(ko_source))
    except SyntaxError:  # not plain Python (a magic): must be identical
        return en_source == ko_source


@dataclass
class Problem:
    lesson: str
    cell: int  # index in the Korean notebook
    what: str

    def __str__(self) -> str:
        return f"{self.lesson}, cell {self.cell}: {self.what}"


def _first_line(source: str) -> str:
    line = next((s for s in source.splitlines() if s.strip()), "")
    return line[:70] + ("…" if len(line) > 70 else "")


def check_pair(en_nb: NotebookNode, ko_nb: NotebookNode, lesson: str) -> list[Problem]:
    """Everything that keeps ``ko_nb`` from being an up-to-date translation of ``en_nb``."""
    problems: list[Problem] = []
    ko_cells = list(enumerate(ko_nb.cells))
    setups = [(i, c) for i, c in ko_cells if c.metadata.get("en") == SETUP_TAG]
    first_code = next((i for i, c in ko_cells if c.cell_type == "code"), None)
    if len(setups) != 1:
        problems.append(Problem(lesson, 0, f"needs exactly one language cell (en={SETUP_TAG!r}), found {len(setups)}"))
    else:
        i, c = setups[0]
        if c.cell_type != "code" or c.source.strip() != SETUP_SOURCE:
            problems.append(Problem(lesson, i, f"the language cell must be exactly:\n{SETUP_SOURCE}"))
        if i != first_code:
            problems.append(Problem(lesson, i, "the language cell must come before every other code cell"))
    translated = [(i, c) for i, c in ko_cells if c.metadata.get("en") != SETUP_TAG]
    if len(translated) != len(en_nb.cells):
        problems.append(
            Problem(
                lesson,
                0,
                f"has {len(translated)} cells besides the language cell, the English lesson {len(en_nb.cells)}: "
                "cells were added or removed on one side",
            )
        )
    for (i, ko), en in zip(translated, en_nb.cells):
        where = f"(English cell: {_first_line(en.source)!r})"
        if ko.cell_type != en.cell_type:
            problems.append(Problem(lesson, i, f"is a {ko.cell_type} cell, the English one a {en.cell_type} cell {where}"))
            continue
        stamp = ko.metadata.get("en")
        if stamp is None:
            problems.append(Problem(lesson, i, f"records no English cell (metadata 'en' missing) {where}"))
        elif stamp != cell_hash(en.source):
            problems.append(
                Problem(lesson, i, f"translates an older version of its English cell, which has changed {where}")
            )
        if en.cell_type == "code":
            if not same_code(en.source, ko.source):
                problems.append(
                    Problem(lesson, i, f"code differs from the English cell beyond comments and strings {where}")
                )
            if ko.metadata.get("tags", []) != en.metadata.get("tags", []):
                problems.append(Problem(lesson, i, f"tags {ko.metadata.get('tags', [])} differ from English {en.metadata.get('tags', [])}"))
        elif en.cell_type == "markdown" and re.search(r"[A-Za-z]{3}", en.source) and not HANGUL.search(ko.source):
            problems.append(Problem(lesson, i, f"is not translated (no Korean text) {where}"))
    return problems


def check(ko_path: Path, en_dir: Path = EN_DIR) -> list[Problem]:
    en_path = english_of(ko_path, en_dir)
    if not en_path.exists():
        return [Problem(ko_path.name, 0, f"has no English lesson {en_path.name}")]
    return check_pair(jupytext.read(en_path), jupytext.read(ko_path), ko_path.name)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"new", "check", "stamp"}:
        print(__doc__)
        return 2
    cmd, args = argv[0], argv[1:]
    if cmd == "new":
        for number in args:
            en_path = lesson_path(number, EN_DIR)
            ko_path = KO_DIR / en_path.name
            if ko_path.exists():
                raise SystemExit(f"{ko_path} exists; edit it (and `stamp` the cells you update) instead")
            KO_DIR.mkdir(exist_ok=True)
            write_lesson(skeleton(jupytext.read(en_path)), ko_path, en_path)
            print(f"wrote {ko_path.relative_to(ROOT)}: translate its markdown cells, comments and strings")
        return 0
    if cmd == "stamp":
        ko_path = lesson_path(args[0], KO_DIR)
        en_nb, ko_nb = jupytext.read(english_of(ko_path)), jupytext.read(ko_path)
        translated = [c for c in ko_nb.cells if c.metadata.get("en") != SETUP_TAG]
        for index in map(int, args[1:]):
            cell = ko_nb.cells[index]
            if cell.metadata.get("en") == SETUP_TAG:
                raise SystemExit(f"cell {index} is the language cell")
            cell.metadata["en"] = cell_hash(en_nb.cells[translated.index(cell)].source)
        write_lesson(ko_nb, ko_path, english_of(ko_path))
        return 0
    paths = [lesson_path(n, KO_DIR) for n in args] or sorted(KO_DIR.glob("[0-9][0-9]_*.py"))
    problems = [p for path in paths for p in check(path)]
    for p in problems:
        print(p)
    print(f"{len(paths)} Korean lessons checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
