"""The Korean edition (lessons/ko/) kept in step with the English lessons.

Every Korean lesson ``lessons/ko/NN_name.py`` has the cells of ``lessons/NN_name.py`` in the same
order, plus one language cell (``set_language("ko")``) right before the first code cell. Each
translated cell records in its metadata ``en`` the hash of the English cell it translates (the first
10 hex digits of the SHA-1 of the English cell's source); when the English cell changes and its
translation is not brought up to date, ``check`` names the cell.

Code cells must be the English code: the same syntax tree, except that comments and string literals
may be translated. A string may differ only if the Korean one contains Hangul, keeps the English
string's numbers and its ``{...}`` (and, for ``%`` formatting, ``%``) fields, and is not compared
(``x == "causal"``) or used as a key (``d["loss"]``), where a translation would change what the
code does. An f-string may reorder its ``{...}`` fields (Korean word order), not change them.

    python tools/ko.py new 03          # skeleton lessons/ko/03_*.py from the English lesson (stamped)
    python tools/ko.py check [03 ..]   # drift report; exit status 1 if any lesson drifted
    python tools/ko.py stamp 03 12 14  # after updating the translation of Korean cells 12 and 14
    python tools/ko.py tidy 03         # cell metadata in the .ipynb's order (en= before tags=)

Cell numbers are 0-based positions in the Korean lesson (``stamp`` takes the same numbers that
``check`` prints). See lessons/ko/README.md for the maintainers' workflow.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

import jupytext
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

ROOT = Path(__file__).resolve().parent.parent
EN_DIR = ROOT / "lessons"
KO_DIR = EN_DIR / "ko"
LESSON_GLOB = "[0-9][0-9]_*.py"
HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
SETUP_TAG = "setup"  # the ``en`` value of the language cell, which translates no English cell
SETUP_SOURCE = 'from attn_lib.i18n import set_language\n\nset_language("ko")'

# Numbers a translated string must keep: 3, 0.5, 1e-6, -2 (not the digits inside words like d_k2).
NUMBER = re.compile(r"(?<![A-Za-z_\d.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
BRACE_FIELD = re.compile(r"\{[^{}]*\}")
PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")
# Markdown that needs no translation once these are removed: code, math, links' targets, HTML tags.
_UNTRANSLATED_MARKDOWN = re.compile(
    r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|\]\([^)]*\)|<[^>]+>|https?://\S+", re.DOTALL
)


def cell_hash(source: str) -> str:
    """The ``en`` stamp of an English cell: first 10 hex digits of the SHA-1 of its source."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:10]


def english_of(ko_path: Path, en_dir: Path = EN_DIR) -> Path:
    """The English lesson that the Korean lesson ``ko_path`` translates (same file name)."""
    return en_dir / ko_path.name


def lesson_path(number: str, folder: Path) -> Path:
    """The one lesson ``NN_*.py`` in ``folder``; exits with a message if there is none or several."""
    found = sorted(folder.glob(f"{number}_*.py"))
    if len(found) != 1:
        raise SystemExit(f"no single lesson {number}_*.py in {folder}: found {[p.name for p in found]}")
    return found[0]


def missing_translations(en_dir: Path = EN_DIR, ko_dir: Path | None = None) -> list[str]:
    """File names of the English lessons that have no Korean lesson yet."""
    ko_dir = en_dir / "ko" if ko_dir is None else ko_dir
    return [p.name for p in sorted(en_dir.glob(LESSON_GLOB)) if not (ko_dir / p.name).exists()]


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


def sort_metadata(nb: NotebookNode) -> NotebookNode:
    """Cell metadata in sorted key order (``en`` before ``tags``), the order of the executed .ipynb.

    nbformat writes the .ipynb with sorted keys. If the .py lists ``tags=`` before ``en=``, the
    two files no longer write the same text, and JupyterLab's jupytext refuses to open a pair whose
    .ipynb is newer than its .py ("File Load Error ... is more recent than ...").
    """
    for cell in nb.cells:
        cell.metadata = type(cell.metadata)(sorted(cell.metadata.items()))
    return nb


def unsorted_metadata(ko_path: Path) -> list[int]:
    """Cells of a Korean .py whose metadata is not written in sorted order (see sort_metadata)."""
    nb = jupytext.read(ko_path)
    return [i for i, c in enumerate(nb.cells) if list(c.metadata) != sorted(c.metadata)]


def write_lesson(nb: NotebookNode, ko_path: Path, en_path: Path) -> None:
    """Write ``nb`` in percent format with the English lesson's header, so the pair config is the same."""
    text = jupytext.writes(sort_metadata(nb), fmt="py:percent")
    header = _header(en_path.read_text(encoding="utf-8"))
    ko_path.write_text(header + text[len(_header(text)) :], encoding="utf-8")


# --------------------------------------------------------------------------- code comparison


def _python(source: str) -> str:
    """The cell as plain Python: IPython magics (``%timeit``, ``!ls``) turned into calls."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with the lab extra
        return source
    return TransformerManager().transform_cell(source)


def _numbers(text: str) -> Counter[str]:
    return Counter(NUMBER.findall(text))


def _translated_text_ok(en: str, ko: str, percent: bool) -> bool:
    """May the English text ``en`` of a string literal be shown as ``ko``?"""
    if en == ko:
        return True
    if not HANGUL.search(ko):
        return False
    if _numbers(en) - _numbers(ko):  # a number of the English text is missing or changed
        return False
    if Counter(BRACE_FIELD.findall(en)) != Counter(BRACE_FIELD.findall(ko)):
        return False
    return not percent or Counter(PERCENT_FIELD.findall(en)) == Counter(PERCENT_FIELD.findall(ko))


def _strict_string_positions(tree: ast.AST) -> set[int]:
    """ids of the string constants whose value the code depends on: compared, or used as a key."""
    strict: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for operand in [node.left, *node.comparators]:
                if isinstance(operand, ast.Constant):
                    strict.add(id(operand))
        elif isinstance(node, ast.Subscript):
            for sub in ast.walk(node.slice):
                if isinstance(sub, ast.Constant):
                    strict.add(id(sub))
    return strict


def _percent_positions(tree: ast.AST) -> set[int]:
    """ids of the string constants formatted with ``%`` (``"%d heads" % n``)."""
    return {
        id(node.left)
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Mod)
        and isinstance(node.left, ast.Constant)
    }


class _Comparer:
    def __init__(self, en_tree: ast.AST) -> None:
        self.strict = _strict_string_positions(en_tree)
        self.percent = _percent_positions(en_tree)

    def same(self, en: object, ko: object) -> bool:
        if isinstance(en, list):
            return (
                isinstance(ko, list)
                and len(en) == len(ko)
                and all(self.same(a, b) for a, b in zip(en, ko, strict=True))
            )
        if not isinstance(en, ast.AST):
            return en == ko
        if type(en) is not type(ko):
            return False
        if isinstance(en, ast.Constant) and isinstance(ko, ast.Constant):
            if isinstance(en.value, str) and isinstance(ko.value, str) and id(en) not in self.strict:
                return _translated_text_ok(en.value, ko.value, id(en) in self.percent)
            return type(en.value) is type(ko.value) and en.value == ko.value
        if isinstance(en, ast.JoinedStr) and isinstance(ko, ast.JoinedStr):
            return self._same_fstring(en, ko)
        return all(self.same(getattr(en, f, None), getattr(ko, f, None)) for f in en._fields)

    def _same_fstring(self, en: ast.JoinedStr, ko: ast.JoinedStr) -> bool:
        if self.same(en.values, ko.values):
            return True
        en_text = "".join(v.value for v in en.values if isinstance(v, ast.Constant))
        ko_text = "".join(v.value for v in ko.values if isinstance(v, ast.Constant))
        if not HANGUL.search(ko_text) or _numbers(en_text) - _numbers(ko_text):
            return False
        en_fields = [v for v in en.values if isinstance(v, ast.FormattedValue)]
        ko_fields = [v for v in ko.values if isinstance(v, ast.FormattedValue)]
        if len(en_fields) != len(ko_fields):
            return False
        unmatched = list(ko_fields)
        for field in en_fields:  # the same fields, in any order (Korean word order differs)
            match = next((k for k in unmatched if self.same(field, k)), None)
            if match is None:
                return False
            unmatched.remove(match)
        return True


def same_code(en_source: str, ko_source: str) -> bool:
    """Is the Korean code cell the English one, up to translated comments and strings?"""
    try:
        en_tree, ko_tree = ast.parse(_python(en_source)), ast.parse(_python(ko_source))
    except SyntaxError:  # not Python even after the magics are converted: must be identical
        return en_source == ko_source
    return _Comparer(en_tree).same(en_tree, ko_tree)


def _code_key(source: str) -> str:
    """The code of a cell with its comments and strings left out (to pair changed cells)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return source
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node.value = ""
        elif isinstance(node, ast.JoinedStr):
            node.values = []
    return ast.dump(tree)


# --------------------------------------------------------------------------- cell alignment


def _pair(
    en_keys: Sequence[str], ko_keys: Sequence[str], inner: Callable[[range, range], list] | None = None
) -> list[tuple[int | None, int | None]]:
    """Pairs (English index, Korean index) along the longest matching blocks of the two key lists."""
    pairs: list[tuple[int | None, int | None]] = []
    matcher = SequenceMatcher(None, list(en_keys), list(ko_keys), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal" or (tag == "replace" and i2 - i1 == j2 - j1):
            pairs += zip(range(i1, i2), range(j1, j2), strict=True)
        elif tag == "replace" and inner is not None:
            pairs += inner(range(i1, i2), range(j1, j2))
        else:
            pairs += [(i, None) for i in range(i1, i2)] + [(None, j) for j in range(j1, j2)]
    return pairs


def align(
    en_cells: Sequence[NotebookNode], ko_cells: Sequence[NotebookNode]
) -> list[tuple[int | None, int | None]]:
    """Which English cell each Korean cell translates: pairs of indices, None where one side has no cell.

    Cells are paired by their stamps first (an unchanged English cell matches its translation
    wherever cells were added or removed around it). Within a stretch where stamps differ, cells of
    equal number are paired in order (changed cells); otherwise by cell type and, for code cells,
    their code without comments and strings; what is left over was added on one side.
    """

    def by_kind(en_range: range, ko_range: range) -> list[tuple[int | None, int | None]]:
        def key(cell: NotebookNode) -> str:
            return cell.cell_type + (":" + _code_key(cell.source) if cell.cell_type == "code" else "")

        sub = _pair([key(en_cells[i]) for i in en_range], [key(ko_cells[j]) for j in ko_range])
        return [(None if i is None else en_range[i], None if j is None else ko_range[j]) for i, j in sub]

    en_keys = [cell_hash(c.source) for c in en_cells]
    ko_keys = [str(c.metadata.get("en") or f"<no stamp {j}>") for j, c in enumerate(ko_cells)]
    return _pair(en_keys, ko_keys, by_kind)


# --------------------------------------------------------------------------- the check


@dataclass
class Problem:
    """One way in which a Korean lesson is not an up-to-date translation of its English lesson."""

    lesson: str
    cell: int  # 0-based index in the Korean notebook (what ``stamp`` takes)
    what: str
    en_cell: int | None = None  # 0-based index in the English notebook, when one is concerned
    en_first_line: str = ""

    def __str__(self) -> str:
        where = f"{self.lesson}, cell {self.cell}"
        if self.en_cell is not None:
            where += f" (English cell {self.en_cell}: {self.en_first_line!r})"
        return f"{where}: {self.what}"


def _first_line(source: str) -> str:
    line = next((s for s in source.splitlines() if s.strip()), "")
    return line[:70] + ("…" if len(line) > 70 else "")


def needs_translation(markdown: str) -> bool:
    """Does an English markdown cell hold prose (beyond code, math and links) that must be Korean?"""
    return bool(re.search(r"[A-Za-z]{3}", _UNTRANSLATED_MARKDOWN.sub(" ", markdown)))


def _check_setup(ko_nb: NotebookNode, lesson: str) -> list[Problem]:
    problems: list[Problem] = []
    setups = [i for i, c in enumerate(ko_nb.cells) if c.metadata.get("en") == SETUP_TAG]
    first_code = next((i for i, c in enumerate(ko_nb.cells) if c.cell_type == "code"), None)
    if len(setups) != 1:
        what = f"needs exactly one language cell (en={SETUP_TAG!r}), found {len(setups)}"
        problems.append(Problem(lesson, setups[1] if len(setups) > 1 else 0, what))
        return problems
    i = setups[0]
    cell = ko_nb.cells[i]
    if cell.cell_type != "code" or cell.source.strip() != SETUP_SOURCE:
        problems.append(Problem(lesson, i, f"the language cell must be exactly:\n{SETUP_SOURCE}"))
    if i != first_code:
        problems.append(Problem(lesson, i, "the language cell must come before every other code cell"))
    return problems


def _check_cell(lesson: str, i: int, ko: NotebookNode, j: int, en: NotebookNode) -> list[Problem]:
    def problem(what: str) -> Problem:
        return Problem(lesson, i, what, j, _first_line(en.source))

    if ko.cell_type != en.cell_type:
        return [problem(f"is a {ko.cell_type} cell, the English one a {en.cell_type} cell")]
    problems = []
    stamp = ko.metadata.get("en")
    if stamp is None:
        problems.append(problem("records no English cell (metadata 'en' missing)"))
    elif stamp != cell_hash(en.source):
        problems.append(
            problem(
                "translates an older version of its English cell, which has changed: update the "
                f"translation, then `python tools/ko.py stamp {lesson[:2]} {i}`"
            )
        )
    if en.cell_type == "code":
        if not same_code(en.source, ko.source):
            problems.append(problem("code differs from the English cell beyond comments and strings"))
        en_tags, ko_tags = en.metadata.get("tags", []), ko.metadata.get("tags", [])
        if ko_tags != en_tags:
            problems.append(problem(f"tags {ko_tags} differ from the English cell's {en_tags}"))
    elif en.cell_type == "markdown" and needs_translation(en.source) and not HANGUL.search(ko.source):
        problems.append(problem("is not translated (no Korean text)"))
    return problems


def check_pair(en_nb: NotebookNode, ko_nb: NotebookNode, lesson: str) -> list[Problem]:
    """Everything that keeps ``ko_nb`` from being an up-to-date translation of ``en_nb``."""
    problems = _check_setup(ko_nb, lesson)
    translated = [i for i, c in enumerate(ko_nb.cells) if c.metadata.get("en") != SETUP_TAG]
    pairs = align(en_nb.cells, [ko_nb.cells[i] for i in translated])
    for n, (j, k) in enumerate(pairs):
        if j is not None and k is not None:
            problems += _check_cell(lesson, translated[k], ko_nb.cells[translated[k]], j, en_nb.cells[j])
        elif j is not None:  # an English cell without translation: say where it belongs
            later = next((translated[kk] for _, kk in pairs[n:] if kk is not None), len(ko_nb.cells))
            en = en_nb.cells[j]
            problems.append(
                Problem(
                    lesson,
                    later,
                    f"the English {en.cell_type} cell {j} has no translation: it belongs before this cell "
                    "(cells were added or moved in the English lesson)",
                    j,
                    _first_line(en.source),
                )
            )
        elif k is not None:
            ko = ko_nb.cells[translated[k]]
            problems.append(
                Problem(
                    lesson,
                    translated[k],
                    f"translates no English cell (stamp {ko.metadata.get('en')!r}; first line "
                    f"{_first_line(ko.source)!r}): its English cell was removed or moved, or it was added",
                )
            )
    return sorted(problems, key=lambda p: p.cell)


def check(ko_path: Path, en_dir: Path = EN_DIR) -> list[Problem]:
    """The drift problems of one Korean lesson file against the English lesson of the same name."""
    en_path = english_of(ko_path, en_dir)
    if not en_path.exists():
        return [Problem(ko_path.name, 0, f"has no English lesson {en_path.name}")]
    problems = check_pair(jupytext.read(en_path), jupytext.read(ko_path), ko_path.name)
    problems += [
        Problem(
            ko_path.name,
            i,
            "cell metadata must be written en=... before tags=... (the .ipynb's order), or JupyterLab "
            "refuses to open the pair when the .ipynb is newer: "
            f"`python tools/ko.py tidy {ko_path.name[:2]}`",
        )
        for i in unsorted_metadata(ko_path)
    ]
    return sorted(problems, key=lambda p: p.cell)


def stamp(ko_path: Path, cells: Sequence[int], en_dir: Path = EN_DIR) -> list[str]:
    """Re-stamp Korean cells with the hash of the English cell they translate; returns what was done."""
    en_nb, ko_nb = jupytext.read(english_of(ko_path, en_dir)), jupytext.read(ko_path)
    translated = [i for i, c in enumerate(ko_nb.cells) if c.metadata.get("en") != SETUP_TAG]
    english = {
        translated[k]: j
        for j, k in align(en_nb.cells, [ko_nb.cells[i] for i in translated])
        if j is not None and k is not None
    }
    done = []
    for index in cells:
        if not 0 <= index < len(ko_nb.cells):
            raise SystemExit(f"{ko_path.name} has cells 0..{len(ko_nb.cells) - 1}, not {index}")
        if ko_nb.cells[index].metadata.get("en") == SETUP_TAG:
            raise SystemExit(f"cell {index} is the language cell")
        if index not in english:
            raise SystemExit(
                f"cell {index} of {ko_path.name} is paired with no English cell (run `check`): "
                "insert or remove cells first so that the two lessons have the same cells"
            )
        j = english[index]
        ko_nb.cells[index].metadata["en"] = cell_hash(en_nb.cells[j].source)
        first = _first_line(en_nb.cells[j].source)
        done.append(f"cell {index} stamped as the translation of English cell {j}: {first!r}")
    write_lesson(ko_nb, ko_path, english_of(ko_path, en_dir))
    return done


# --------------------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python tools/ko.py",
        description=__doc__.split("\n\n")[0],
        epilog="Workflow and conventions: lessons/ko/README.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new", help="write skeleton lessons/ko/NN_*.py from the English lessons (stamped)")
    new.add_argument("numbers", nargs="+", metavar="NN", help="lesson numbers, e.g. 03")
    chk = sub.add_parser("check", help="report drift; exit status 1 if there is any")
    chk.add_argument(
        "numbers", nargs="*", metavar="NN", help="lesson numbers (default: every lesson, missing ones too)"
    )
    stp = sub.add_parser("stamp", help="record that Korean cells translate the current English cells")
    stp.add_argument("number", metavar="NN", help="lesson number, e.g. 03")
    stp.add_argument("cells", nargs="+", type=int, metavar="CELL", help="0-based Korean cell numbers")
    tdy = sub.add_parser("tidy", help="rewrite Korean lessons with their cell metadata in sorted order")
    tdy.add_argument("numbers", nargs="+", metavar="NN", help="lesson numbers, e.g. 03")
    return parser


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.command == "new":
        for number in args.numbers:
            en_path = lesson_path(number, EN_DIR)
            ko_path = KO_DIR / en_path.name
            if ko_path.exists():
                raise SystemExit(f"{ko_path} exists; edit it (and `stamp` the cells you update) instead")
            KO_DIR.mkdir(exist_ok=True)
            write_lesson(skeleton(jupytext.read(en_path)), ko_path, en_path)
            print(f"wrote {ko_path.relative_to(ROOT)}: translate its markdown cells, comments and strings")
        return 0
    if args.command == "tidy":
        for number in args.numbers:
            ko_path = lesson_path(number, KO_DIR)
            cells = unsorted_metadata(ko_path)
            if cells:
                write_lesson(jupytext.read(ko_path), ko_path, english_of(ko_path))
            print(f"{ko_path.relative_to(ROOT)}: {len(cells)} cell(s) rewritten with sorted metadata")
        return 0
    if args.command == "stamp":
        for line in stamp(lesson_path(args.number, KO_DIR), args.cells):
            print(line)
        return 0
    paths = [lesson_path(n, KO_DIR) for n in args.numbers] or sorted(KO_DIR.glob(LESSON_GLOB))
    problems = [p for path in paths for p in check(path)]
    missing = [] if args.numbers else missing_translations()
    for p in problems:
        print(p)
    for name in missing:
        print(f"{name}: has no Korean lesson lessons/ko/{name} (`python tools/ko.py new {name[:2]}`)")
    print(f"{len(paths)} Korean lessons checked, {len(problems)} problems, {len(missing)} lessons missing")
    return 1 if problems or missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
