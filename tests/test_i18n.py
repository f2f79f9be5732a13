"""The language setting (attn_lib.i18n), the Korean message catalogue and Korean text in figures.

The catalogue is ``attn_lib/locale/ko/LC_MESSAGES/attn_lib.po`` (the source), compiled to the
``attn_lib.mo`` beside it that ``_`` reads. These tests fail when the two disagree, when a wrapped
message has no Korean entry (no silent English in the Korean edition), when the catalogue keeps
entries the code no longer has, and when Korean in a figure draws missing-glyph boxes.
"""

from __future__ import annotations

import gettext
import io
import logging
import os
import re
import string
import subprocess
import sys
import warnings
from pathlib import Path

import matplotlib
import pytest
import torch
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib import font_manager

import attn_lib
from attn_lib import i18n
from attn_lib.exercises import EXERCISES
from attn_lib.i18n import _, get_language, set_language

# Tests of the message catalogue, the language setting and the Korean font.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "attn_lib" / "locale" / "ko" / "LC_MESSAGES" / "attn_lib.po"
MO = PO.with_suffix(".mo")
SAME_IN_KOREAN = "same in Korean: only code, shapes and identifiers"  # the translator comment that allows it
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}  # as in babel.cfg / the pybabel commands
HANGUL = re.compile("[\uac00-\ud7a3]")


@pytest.fixture(autouse=True)
def _english_after_each_test():
    yield
    set_language("en")


def _po():
    with PO.open("rb") as f:
        return read_po(f)


def _entries():
    """The catalogue's messages (header excluded), each (msgid, msgstr, entry)."""
    out = []
    for m in _po():
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strs = m.string if isinstance(m.string, tuple) else (m.string,)
        out.append((ids, strs, m))
    return out


# Words that stay English in Korean text: the exercises' argument and output names.
CODE_WORDS = {n for ex in EXERCISES.values() for n in (*ex.arg_names, *(o.name for o in ex.outputs))}


def _english_words(text: str) -> list[str]:
    """The English words of ``text`` outside code (`spans`, snake_case names, 'quoted data', {fields},
    function calls of formulas) and other than the exercises' argument names."""
    text = re.sub(r"`[^`]*`|\w*_\w*|'[^']*'|\{\w+\}|\w+\(", "", text)  # ... and calls: cos(, softmax(
    return [w for w in re.findall(r"[A-Za-z]{3,}", text) if w not in CODE_WORDS]


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# ------------------------------------------------------------------ the API


def test_english_is_the_default_and_messages_are_unchanged():
    assert get_language() == "en"
    assert _("not right yet") == "not right yet"
    assert _("got shape {shape}").format(shape=(2, 3)) == "got shape (2, 3)"


def test_set_language_switches_at_call_time_and_back():
    set_language("ko")
    assert get_language() == "ko"
    assert _("not right yet") == "아직 틀렸습니다"
    set_language("en")
    assert get_language() == "en"
    assert _("not right yet") == "not right yet"


@pytest.mark.parametrize("bad", ["fr", "KO", "ko_KR", "", None, 1])
def test_an_unknown_language_is_a_value_error_naming_the_argument_and_the_choices(bad):
    with pytest.raises(ValueError, match=r"lang must be one of \['en', 'ko'\], got "):
        set_language(bad)
    assert get_language() == "en"


def test_an_unknown_message_falls_back_to_english():
    set_language("ko")
    assert _("a message the catalogue has never seen: {x}").format(x=1) == (
        "a message the catalogue has never seen: 1"
    )


def test_ngettext_english_forms_and_korean_single_form():
    assert i18n.ngettext("{count} input", "{count} inputs", 1) == "{count} input"
    assert i18n.ngettext("{count} input", "{count} inputs", 2) == "{count} inputs"
    msg = "(The {count} input before this one gave the expected result.)"
    plural = "(The {count} inputs before this one gave the expected result.)"
    set_language("ko")
    one, two = i18n.ngettext(msg, plural, 1), i18n.ngettext(msg, plural, 2)
    assert one == two and HANGUL.search(one)


def test_n_marks_without_translating():
    set_language("ko")
    assert i18n.N_("not right yet") == "not right yet"


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k != "ATTN_LANG"} | env
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environ, cwd=ROOT)


def test_the_environment_variable_sets_the_initial_language():
    code = "from attn_lib.i18n import _, get_language; print(get_language(), _('correct'))"
    assert _run(code, ATTN_LANG="ko").stdout.split() == ["ko", "정답"]
    assert _run(code).stdout.split() == ["en", "correct"]
    assert _run(code, ATTN_LANG="").stdout.split() == ["en", "correct"]


def test_an_invalid_environment_variable_is_a_value_error_naming_it():
    proc = _run("import attn_lib.i18n", ATTN_LANG="fr")
    assert proc.returncode != 0
    assert (
        "ValueError: the environment variable ATTN_LANG must be one of ['en', 'ko'], got 'fr'" in proc.stderr
    )


# ------------------------------------------------------------------ the catalogue


def _extracted() -> set[str]:
    """Every message the code marks with _(), N_() or ngettext(), as pybabel extract finds them."""
    found = extract_from_dir(
        str(ROOT / "attn_lib"), method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
    )
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found}


def test_every_wrapped_message_has_a_korean_entry_and_none_is_stale():
    in_code = _extracted()
    entries = {ids[0]: (strs, m) for ids, strs, m in _entries()}
    missing = sorted(in_code - entries.keys())
    assert not missing, (
        f"{len(missing)} wrapped messages have no Korean entry (run the pybabel extract/update commands "
        f"in attn_lib/i18n.py, then translate): {missing[:5]}"
    )
    stale = sorted(entries.keys() - in_code)
    assert not stale, f"{len(stale)} catalogue entries the code no longer has: {stale[:5]}"
    for msgid, (strs, m) in entries.items():
        assert all(strs), f"no Korean for {msgid!r}"
        assert not m.fuzzy, f"fuzzy (unchecked) translation for {msgid!r}"
        if any(s == msgid for s in strs):
            assert SAME_IN_KOREAN in m.user_comments, (
                f"{msgid!r} is left in English without the translator comment '# {SAME_IN_KOREAN}'"
            )
            assert not _english_words(msgid) or msgid in _SAME_WITH_WORDS, (
                f"{msgid!r} contains English words but is marked same in Korean"
            )


# Kept in English on purpose: Python's own name for `...`.
_SAME_WITH_WORDS = {"Ellipsis (`...`)"}


def test_korean_entries_use_only_the_placeholders_and_keep_the_code_spans():
    for ids, strs, _m in _entries():
        for s in strs:
            # Korean may leave out a placeholder (e.g. an English plural "s"), never add one.
            assert _fields(s) <= _fields(ids[0]), f"unknown placeholder in the Korean of {ids[0]!r}"
            assert s.count("`") == ids[0].count("`"), f"code spans differ in the Korean of {ids[0]!r}"


def test_no_korean_entry_uses_mathtext():
    # Matplotlib draws text around $...$ with the mathtext font only (no fallback): Hangul there
    # would be boxes. Korean labels write formulas in plain Unicode instead.
    for _ids, strs, _m in _entries():
        for s in strs:
            if HANGUL.search(s):
                assert s.count("$") < 2, f"Korean label with mathtext: {s!r}"


def test_the_compiled_catalogue_is_the_po_file():
    """Compile the .po here and compare with the .mo that _() loads."""
    buf = io.BytesIO()
    write_mo(buf, _po())
    buf.seek(0)
    fresh = gettext.GNUTranslations(buf)._catalog
    with MO.open("rb") as f:
        shipped = gettext.GNUTranslations(f)._catalog
    assert shipped == fresh, (
        "attn_lib.mo is out of date: pybabel compile -d attn_lib/locale -D attn_lib -l ko"
    )


def test_the_catalogue_is_package_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"locale/*/LC_MESSAGES/*.mo"' in text
    assert Path(attn_lib.__file__).parent.joinpath("locale", "ko", "LC_MESSAGES", "attn_lib.mo").is_file()


# ------------------------------------------------------------------ what the learner reads


def test_every_exercise_text_is_korean_in_the_korean_edition():
    set_language("ko")
    for ex in EXERCISES.values():
        for text in [ex.description, *(m.name for m in ex.mistakes), *(m.hint for m in ex.mistakes)]:
            assert HANGUL.search(_(text)), f"{ex.name}: no Korean for {text!r}"
        for case in ex.make_cases():  # labels are made at check time, in the current language
            assert HANGUL.search(case.label) or not _english_words(case.label), (
                f"{ex.name}: case label left in English: {case.label!r}"
            )


def test_a_failed_check_reads_in_korean_and_in_english_again_after_switching_back():
    wrong = lambda query, keys: keys @ query  # noqa: E731  (no softmax)
    english = str(EXERCISES["attention_weights"].check(wrong))
    set_language("ko")
    korean = str(EXERCISES["attention_weights"].check(wrong))
    assert korean.splitlines()[0] == "✗ attention_weights: 아직 틀렸습니다"
    assert "알아낸 실수: 소프트맥스 없음 (내적 그대로)." in korean
    assert "힌트: 가중치는 양수이고 합이 1이어야 합니다." in korean
    assert "`torch.softmax(scores, dim=-1)`" in korean  # code stays code
    set_language("en")
    assert str(EXERCISES["attention_weights"].check(wrong)) == english
    assert english.splitlines()[0] == "✗ attention_weights: not right yet"


def test_not_attempted_and_passed_boxes_in_korean():
    set_language("ko")
    todo = EXERCISES["causal_mask"].check(lambda T: None)
    assert todo.status == "todo" and todo.headline == "○ causal_mask: 아직 시도하지 않음"
    assert "과제: (T, T) bool 마스크" in todo.message
    passed = EXERCISES["causal_mask"].check(lambda T: torch.ones(T, T, dtype=torch.bool).tril())
    assert passed.headline == "✓ causal_mask: 정답"
    assert passed.message.startswith("입력 4개 모두 기대한 결과가 나옵니다:")


# ------------------------------------------------------------------ Korean in figures


def _glyph_problems(fig, caplog) -> list[str]:
    """Render ``fig`` to PNG; the missing-glyph warnings and log records matplotlib emitted."""
    caplog.clear()
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING, "matplotlib"):
        warnings.simplefilter("always")
        fig.savefig(io.BytesIO(), format="png")
    texts = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return [t for t in texts if re.search(r"missing from font|does not have a glyph|Glyph \d+", t)]


def _korean_figure():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([-2, -1, 0, 1], [1, -1, 2, -3], label="쿼리 −1")
    ax.set_title("어텐션 가중치: 키 위치별 −0.5 … 1")
    ax.set_xlabel("키 위치")
    ax.set_ylabel("점수 (√d_k로 나눔)")
    ax.legend()
    return fig


def _has_system_korean_font() -> bool:
    ours = i18n.korean_font_path()
    for path in font_manager.findSystemFonts():
        if Path(path).resolve() == ours:
            continue
        try:
            font = font_manager.get_font(path)
        except Exception:
            continue
        if ord("어") in font.get_charmap():
            return True
    return False


def test_a_korean_figure_renders_without_missing_glyphs(caplog):
    set_language("ko")
    fig = _korean_figure()
    try:
        assert _glyph_problems(fig, caplog) == []
    finally:
        plt.close(fig)
    assert matplotlib.rcParams["axes.unicode_minus"] is True  # the minus sign stays U+2212


def test_without_korean_the_same_figure_shows_boxes(caplog):
    """The check above can fail: in English mode (no Korean fallback) Hangul is missing."""
    if _has_system_korean_font():
        pytest.skip("this machine has a Korean system font")
    fig = _korean_figure()
    try:
        assert _glyph_problems(fig, caplog)
    finally:
        plt.close(fig)


def test_the_korean_font_comes_from_the_installed_package_not_the_system():
    set_language("ko")
    path = i18n.korean_font_path()
    assert path.name == "NanumGothic.ttf" and "koreanize_matplotlib" in path.parts
    assert "site-packages" in path.parts or "dist-packages" in path.parts
    found = font_manager.findfont(
        font_manager.FontProperties(family=i18n.KOREAN_FONT_NAME), fallback_to_default=False
    )
    assert Path(found).resolve() == path
    assert "koreanize_matplotlib" not in sys.modules  # its module (which restyles matplotlib) is not imported


def test_switching_back_to_english_restores_every_matplotlib_setting():
    before = dict(matplotlib.rcParams)
    set_language("ko")
    assert matplotlib.rcParams["font.family"] == [*before["font.family"], i18n.KOREAN_FONT_NAME]
    set_language("ko")  # twice: still one fallback
    assert matplotlib.rcParams["font.family"].count(i18n.KOREAN_FONT_NAME) == 1
    set_language("en")
    after = dict(matplotlib.rcParams)
    assert after == before
    set_language("en")  # English twice changes nothing either
    assert dict(matplotlib.rcParams) == before


def test_english_figures_look_the_same_after_a_korean_detour():
    def png() -> bytes:
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([-1, 0, 1])
        ax.set_title("attention weights −1")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return buf.getvalue()

    first = png()
    set_language("ko")
    set_language("en")
    assert png() == first


def test_library_figures_are_korean_and_render_without_missing_glyphs(caplog):
    from attn_lib import viz
    from attn_lib.widgets.lesson02 import scaling_curves

    set_language("ko")
    ax = viz.plot_attention(torch.softmax(torch.randn(3, 4), dim=-1))
    assert (ax.get_title(), ax.get_xlabel()) == ("어텐션 가중치", "키 위치 (어텐션을 받음)")
    assert _glyph_problems(ax.figure, caplog) == []
    plt.close(ax.figure)
    fig = viz.plot_scaling_curves(scaling_curves(d_ks=(1, 16), num_draws=4))  # a mathtext label in English
    assert HANGUL.search(fig.axes[2].get_ylabel()) and "$" not in fig.axes[2].get_ylabel()
    assert _glyph_problems(fig, caplog) == []
    plt.close(fig)
    set_language("en")
    ax = viz.plot_attention(torch.softmax(torch.randn(3, 4), dim=-1))
    assert (ax.get_title(), ax.get_xlabel()) == ("attention weights", "key position (attended to)")
    plt.close(ax.figure)


def test_a_bold_korean_title_is_drawn_in_the_bold_face_without_a_fallback_warning(caplog):
    """matplotlib logs 'findfont: Failed to find font weight bold for NanumGothic' without the bold face."""
    set_language("ko")
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set_title("굵은 제목: 어텐션", fontweight="bold")
    try:
        caplog.clear()
        with caplog.at_level(logging.DEBUG, "matplotlib.font_manager"):
            fig.savefig(io.BytesIO(), format="png")
        fallbacks = [r.getMessage() for r in caplog.records if "Failed to find font weight" in r.getMessage()]
        assert fallbacks == []
        bold = font_manager.FontProperties(family=i18n.KOREAN_FONT_NAME, weight="bold")
        found = font_manager.findfont(bold, fallback_to_default=False)
        assert Path(found).resolve() == i18n.korean_font_path(bold=True)
        assert i18n.korean_font_path(bold=True).name == "NanumGothicBold.ttf"
    finally:
        plt.close(fig)


# ------------------------------------------------------------------ text tables


@pytest.mark.parametrize(
    ("text", "width"),
    [("", 0), ("abc", 3), ("어텐션", 6), ("키 3", 4), ("RoPE 위치", 9), ("é", 1), ("e\u0301", 1), ("ｗ", 2)],
)
def test_display_width_counts_wide_characters_twice(text, width):
    assert i18n.display_width(text) == width


@pytest.mark.parametrize("align", ["<", ">", "^"])
def test_pad_is_the_format_spec_for_english_text(align):
    for text in ["", "a", "learned", "RoPE + window 8"]:
        for width in [0, 3, 10, 17]:
            assert i18n.pad(text, width, align) == format(text, f"{align}{width}")


def test_pad_lines_up_korean_and_english_rows_in_display_columns():
    rows = ["학습된 위치", "sinusoidal", "RoPE + 윈도 8", "x"]
    padded = [i18n.pad(r, 16) + "|" for r in rows]
    assert {i18n.display_width(p) for p in padded} == {17}
    assert i18n.pad("키", 5, ">") == "   키" and i18n.pad("키", 5, "^") == " 키  "
    assert i18n.pad(3.5, 5, ">") == "  3.5"  # str() of anything, as an f-string would
    assert i18n.pad("어텐션 가중치", 4) == "어텐션 가중치"  # never cut


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"width": -1}, "width must be a non-negative int, got -1"),
        ({"width": 2.0}, "width must be a non-negative int, got 2.0"),
        ({"width": True}, "width must be a non-negative int, got True"),
        ({"width": 4, "align": "left"}, "align must be one of '<', '>', '^', got 'left'"),
    ],
)
def test_pad_refuses_a_bad_width_or_alignment(kwargs, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        i18n.pad("a", **kwargs)


def test_display_width_and_font_path_refuse_wrong_types():
    with pytest.raises(TypeError, match="text must be a str, got int"):
        i18n.display_width(3)
    with pytest.raises(TypeError, match=re.escape("bold must be True or False, got 'yes'")):
        i18n.korean_font_path(bold="yes")
