"""The course's languages: English (default) and Korean, through a standard gettext catalogue.

Everything a learner reads that ``attn_lib`` produces (checker messages and hints, figure titles,
axis labels, widget descriptions) goes through :func:`_`::

    from attn_lib.i18n import _, set_language

    set_language("ko")
    _("not right yet")                      # '아직 틀렸습니다' (looked up at call time)
    _("got shape {shape}").format(shape=(2, 3))  # placeholders are named, filled after lookup

The catalogue is ``attn_lib/locale/ko/LC_MESSAGES/attn_lib.po`` (the source, edited by hand),
compiled to ``attn_lib.mo`` beside it (shipped in the package). Workflow (see ``babel.cfg``)::

    pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 -o attn_lib/locale/attn_lib.pot attn_lib
    pybabel update -i attn_lib/locale/attn_lib.pot -d attn_lib/locale -D attn_lib -l ko
    pybabel compile -d attn_lib/locale -D attn_lib -l ko

A message without a Korean entry falls back to its English text (``tests/test_i18n.py`` fails
when a wrapped message has none, so the Korean edition shows no silent English).

``set_language("ko")`` also lets matplotlib draw Hangul: it registers the NanumGothic font shipped
by the ``koreanize-matplotlib`` package (the font file only; that package's module, which changes
matplotlib's settings on import, is never imported) and appends it to ``font.family`` as a
per-glyph fallback, so Latin letters, digits and the minus sign keep their usual font.
``set_language("en")`` puts the previous ``font.family`` back.
"""

from __future__ import annotations

import gettext
import os
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["LANGUAGES", "N_", "_", "get_language", "korean_font_path", "ngettext", "set_language"]

LANGUAGES = ("en", "ko")
"""The languages :func:`set_language` accepts."""

DOMAIN = "attn_lib"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
KOREAN_FONT_NAME = "NanumGothic"
_FONT_DISTRIBUTION = "koreanize-matplotlib"
_FONT_FILE = "NanumGothic.ttf"

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


def korean_font_path() -> Path:
    """The NanumGothic font file installed with the ``koreanize-matplotlib`` distribution.

    Found through the distribution's file list, so its module (which would change matplotlib's
    global settings when imported) is not imported.
    """
    try:
        files = metadata.files(_FONT_DISTRIBUTION) or []
    except metadata.PackageNotFoundError as err:
        raise RuntimeError(
            f"Korean figures need the {_FONT_DISTRIBUTION!r} package (it ships the NanumGothic font); "
            "install the course with `make lab` or `pip install -c constraints.txt -e .`"
        ) from err
    for file in files:
        if file.name == _FONT_FILE:
            return Path(str(file.locate())).resolve()
    raise RuntimeError(f"{_FONT_FILE} not found in the installed {_FONT_DISTRIBUTION!r} package")


def _use_korean_font(on: bool) -> None:
    """Add NanumGothic as the last fallback of ``font.family`` (``on``), or restore the previous one."""
    global _font_registered, _saved_family
    import matplotlib
    from matplotlib import font_manager

    rc = matplotlib.rcParams
    if on:
        if not _font_registered:
            font_manager.fontManager.addfont(str(korean_font_path()))
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
