"""The course's languages: English (default) and Korean, through a standard gettext catalogue.

Everything a learner reads that ``attn_lib`` produces (checker messages and hints, figure titles,
axis labels, widget descriptions) goes through :func:`_`::

    from attn_lib.i18n import _, set_language

    set_language("ko")
    _("not right yet")                      # '아직 틀렸습니다' (looked up at call time)
    _("got shape {shape}").format(shape=(2, 3))  # placeholders are named, filled after lookup

The catalogue is ``attn_lib/locale/ko/LC_MESSAGES/attn_lib.po`` (the source, edited by hand),
compiled to ``attn_lib.mo`` beside it (shipped in the package). Workflow (see ``babel.cfg``)::

    make catalogue    # extract -> attn_lib.pot, update ko/attn_lib.po, compile attn_lib.mo

(the three ``pybabel`` commands are in the ``Makefile``; edit the ``.po``, then run it again).

A message without a Korean entry falls back to its English text (``tests/test_i18n.py`` fails
when a wrapped message has none, so the Korean edition shows no silent English).

``set_language("ko")`` also lets matplotlib draw Hangul: it registers the NanumGothic font shipped
by the ``koreanize-matplotlib`` package (the font file only; that package's module, which changes
matplotlib's settings on import, is never imported) and appends it to ``font.family`` as a
per-glyph fallback, so Latin letters, digits and the minus sign keep their usual font. Its bold
face is registered too, so a bold Korean title is bold (and matplotlib does not warn that it
fell back to the regular weight). ``set_language("en")`` puts the previous ``font.family`` back.

Text tables printed in a lesson line up in both languages with :func:`pad`: a Hangul syllable
takes two columns of a fixed-width font, so ``f"{name:<12}"`` would misalign a Korean column.
"""

from __future__ import annotations

import dataclasses
import gettext
import os
import unicodedata
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "LANGUAGES",
    "N_",
    "_",
    "display_width",
    "get_language",
    "korean_font_path",
    "ngettext",
    "pad",
    "set_language",
]

LANGUAGES = ("en", "ko")
"""The languages :func:`set_language` accepts."""

DOMAIN = "attn_lib"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
KOREAN_FONT_NAME = "NanumGothic"
_FONT_DISTRIBUTION = "koreanize-matplotlib"
_FONT_FILE = "NanumGothic.ttf"
_BOLD_FONT_FILE = "NanumGothicBold.ttf"

_language = "en"
_translations: dict[str, gettext.NullTranslations] = {}
_font_registered = False
_saved_family: Any = None  # matplotlib's font.family before "ko" added the Korean fallback


def _check_language(lang: object, name: str) -> str:
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise ValueError(f"{name} must be one of {list(LANGUAGES)}, got {lang!r}")
    return lang


def _catalogue(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: the identity)."""
    if lang not in _translations:
        if lang == "en":
            _translations[lang] = gettext.NullTranslations()
        else:
            mo = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if not mo.is_file():
                raise FileNotFoundError(
                    f"the {lang!r} message catalogue {mo} is missing; compile it with "
                    f"`pybabel compile -d attn_lib/locale -D {DOMAIN} -l {lang}`"
                )
            with mo.open("rb") as f:
                _translations[lang] = gettext.GNUTranslations(f)
    return _translations[lang]


def korean_font_path(bold: bool = False) -> Path:
    """The NanumGothic font file (``bold``: its bold face) installed with ``koreanize-matplotlib``.

    Found through the distribution's file list, so its module (which would change matplotlib's
    global settings when imported) is not imported.
    """
    if not isinstance(bold, bool):
        raise TypeError(f"bold must be True or False, got {bold!r}")
    wanted = _BOLD_FONT_FILE if bold else _FONT_FILE
    try:
        files = metadata.files(_FONT_DISTRIBUTION) or []
    except metadata.PackageNotFoundError as err:
        raise RuntimeError(
            f"Korean figures need the {_FONT_DISTRIBUTION!r} package (it ships the NanumGothic font); "
            "install the course with `make lab` or `pip install -c constraints.txt -e .`"
        ) from err
    for file in files:
        if file.name == wanted:
            return Path(str(file.locate())).resolve()
    raise RuntimeError(f"{wanted} not found in the installed {_FONT_DISTRIBUTION!r} package")


def _use_korean_font(on: bool) -> None:
    """Add NanumGothic as the last fallback of ``font.family`` (``on``), or restore the previous one."""
    global _font_registered, _saved_family
    import matplotlib
    from matplotlib import font_manager

    rc = matplotlib.rcParams
    if on:
        if not _font_registered:
            manager = font_manager.fontManager
            bold = str(korean_font_path(bold=True))
            manager.addfont(bold)
            # NanumGothicBold.ttf declares weight 600 (semibold); matplotlib's "bold" is 700, so
            # without this entry a bold title falls back with a logged warning. The same face,
            # listed at 700 as well (the regular face's addfont below clears the lookup cache).
            for entry in [e for e in manager.ttflist if e.fname == bold and e.weight != 700]:
                manager.ttflist.append(dataclasses.replace(entry, weight=700))
            manager.addfont(str(korean_font_path()))
            _font_registered = True
        if _saved_family is None:
            _saved_family = list(rc["font.family"])
            rc["font.family"] = [*_saved_family, KOREAN_FONT_NAME]
    elif _saved_family is not None:
        rc["font.family"] = _saved_family
        _saved_family = None


def set_language(lang: str) -> None:
    """Choose the language of messages and figures: ``"en"`` (default) or ``"ko"``.

    ``"ko"`` also makes matplotlib render Hangul (NanumGothic as a fallback font); ``"en"``
    restores matplotlib's previous ``font.family``.

    Raises:
        ValueError: ``lang`` is not one of ``"en"``, ``"ko"``.
    """
    global _language
    _check_language(lang, "lang")
    _catalogue(lang)  # fail here, not at the first message, if the catalogue is missing
    _use_korean_font(lang == "ko")
    _language = lang


def get_language() -> str:
    """The current language (initially ``$ATTN_LANG`` if set, else ``"en"``)."""
    return _language


def _(message: str) -> str:
    """``message`` in the current language; the English text when the catalogue has no entry.

    Values go in named placeholders filled after the lookup:
    ``_("got shape {shape}").format(shape=...)``.
    """
    if _language == "en":
        return message
    return _catalogue(_language).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` by ``n``, in the current language (Korean has one form)."""
    if _language == "en":
        return singular if n == 1 else plural
    return _catalogue(_language).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark ``message`` for the catalogue without translating it now (module-level constants).

    The code that shows it translates it then: ``_(HINT)``.
    """
    return message


_env = os.environ.get("ATTN_LANG")
if _env is not None and _env != "":
    set_language(_check_language(_env, "the environment variable ATTN_LANG"))
del _env


def display_width(text: str) -> int:
    """How many columns of a fixed-width font ``text`` takes: wide characters (Hangul, CJK) take 2.

    Combining marks take none; every other character takes 1 (as ``len`` counts them).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: object, width: int, align: str = "<") -> str:
    """``str(text)`` padded with spaces to ``width`` display columns (:func:`display_width`).

    ``align`` is ``"<"`` (left, the default), ``">"`` (right) or ``"^"`` (centre), as in a format
    spec: ``pad(name, 12)`` is ``f"{name:<12}"`` for English text and lines up Korean text too.
    Text already as wide or wider is returned unchanged (never cut).
    """
    if isinstance(width, bool) or not isinstance(width, int) or width < 0:
        raise ValueError(f"width must be a non-negative int, got {width!r}")
    if align not in ("<", ">", "^"):
        raise ValueError(f"align must be one of '<', '>', '^', got {align!r}")
    s = str(text)
    room = width - display_width(s)
    if room <= 0:
        return s
    if align == "<":
        return s + " " * room
    if align == ">":
        return " " * room + s
    left = room // 2
    return " " * left + s + " " * (room - left)
