"""Your progress through the course, recorded on your machine only.

Every exercise check (``check_<name>(my_<name>)``) records its result in a small JSON file in
your user data directory, never inside the repository (so ``git pull`` never conflicts):

- Linux: ``$XDG_DATA_HOME/attn-course/progress.json`` (default ``~/.local/share/attn-course/``);
- macOS: ``~/Library/Application Support/attn-course/progress.json``;
- Windows: ``%APPDATA%\\attn-course\\progress.json``.

The environment variable ``ATTN_COURSE_DATA_DIR`` puts the file in another directory (the tests
and ``make`` point it at a fresh temporary one; a directory inside the repository is refused), and
``ATTN_COURSE_PROGRESS=off`` switches the recording off. Nothing here ever makes a check fail:
when the file cannot be written (read-only home, a corrupt file, ...) the check still reports its
result, with a one-line note at most.

What is recorded, per exercise: its lesson, when it first passed (a later failure never erases a
pass), when it was last checked and with what outcome, and the mistakes the checker recognised
(by their name in ``attn_lib.exercises.EXERCISES``), with when each was first and last seen and
how often. A check of an untouched stub (the yellow "not attempted" box) records nothing.
Re-running a lesson or restarting a kernel resets nothing; only :func:`reset` does
(``python -m attn_lib progress --reset [LESSON]`` in a terminal).

The file (``"version": 1``)::

    {"format": "attn-course-progress", "version": 1,
     "exercises": {"normalise_rows": {"lesson": "00",
                                      "passed": "2026-12-01T10:31:02Z",
                                      "last_checked": "2026-12-01T10:31:02Z",
                                      "last_status": "pass",
                                      "mistakes": {"divided by the total of all entries":
                                                   {"first_seen": "...", "last_seen": "...",
                                                    "count": 1}}}}}

Writes take a lock (``progress.json.lock`` beside it) and replace the file atomically, so two
kernels checking at once lose nothing and never leave a half-written file.

:func:`table` shows the table (per lesson: exercises passed / total from the registry, mistakes
recognised, last activity); ``python -m attn_lib progress [--verbose]`` prints it.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import sys
import tempfile
import threading
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .i18n import _, ngettext

__all__ = [
    "APP_NAME",
    "DATA_DIR_ENV",
    "FORMAT",
    "SWITCH_ENV",
    "VERSION",
    "ProgressTable",
    "data_dir",
    "enabled",
    "load",
    "progress_file",
    "record",
    "reset",
    "table",
]

APP_NAME = "attn-course"
DATA_DIR_ENV = "ATTN_COURSE_DATA_DIR"
SWITCH_ENV = "ATTN_COURSE_PROGRESS"
FORMAT = "attn-course-progress"
VERSION = 1
FILE_NAME = "progress.json"
_OFF = {"off", "0", "false", "no"}
_LOCK_TIMEOUT = 5.0  # seconds; after that the write goes ahead unlocked (still atomic)

_thread_lock = threading.Lock()
_noted: set[str] = set()


# ======================================================================== where, and whether


def enabled() -> bool:
    """False when ``ATTN_COURSE_PROGRESS`` is ``off`` (or ``0``, ``false``, ``no``): checks record nothing."""
    return os.environ.get(SWITCH_ENV, "").strip().lower() not in _OFF


def data_dir() -> Path:
    """The directory of the progress file: ``$ATTN_COURSE_DATA_DIR``, else the user data directory.

    The user data directory is ``platformdirs.user_data_dir("attn-course", roaming=True)``:
    ``~/.local/share/attn-course`` (or ``$XDG_DATA_HOME/attn-course``) on Linux,
    ``~/Library/Application Support/attn-course`` on macOS, ``%APPDATA%\\attn-course`` on Windows.
    """
    override = os.environ.get(DATA_DIR_ENV, "").strip()
    if override:
        return Path(override).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False, roaming=True))


def progress_file() -> Path:
    """The progress file: ``data_dir() / "progress.json"``."""
    return data_dir() / FILE_NAME


def _repository_root() -> Path | None:
    """The course repository this ``attn_lib`` was imported from (None when installed elsewhere)."""
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists() or ((root / "pyproject.toml").is_file() and (root / "lessons").is_dir()):
        return root
    return None


def _inside_repository(path: Path) -> bool:
    root = _repository_root()
    if root is None:
        return False
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True


def _note(key: str, text: str) -> None:
    """One line on stderr, once per process and kind: progress never gets in the way of a result."""
    if key in _noted:
        return
    _noted.add(key)
    with contextlib.suppress(Exception):
        print(_("note: {text}").format(text=text), file=sys.stderr)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ======================================================================== reading


class _Unreadable(Exception):
    """The file exists but is not a progress file this version can use."""

    def __init__(self, why: str, newer: bool = False) -> None:
        super().__init__(why)
        self.newer = newer


def _is_time(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 40


def _clean_entry(entry: Any) -> dict[str, Any] | None:
    """One exercise's record with every malformed field dropped (None when nothing is usable)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("lesson"), str):
        return None
    clean: dict[str, Any] = {"lesson": entry["lesson"]}
    for key in ("passed", "last_checked"):
        if _is_time(entry.get(key)):
            clean[key] = entry[key]
    if entry.get("last_status") in ("pass", "fail"):
        clean["last_status"] = entry["last_status"]
    mistakes = {}
    if isinstance(entry.get("mistakes"), dict):
        for name, seen in entry["mistakes"].items():
            if isinstance(seen, dict) and _is_time(seen.get("first_seen")):
                count = seen.get("count")
                last = seen.get("last_seen")
                mistakes[name] = {
                    "first_seen": seen["first_seen"],
                    "last_seen": last if _is_time(last) else seen["first_seen"],
                    "count": count if type(count) is int and count > 0 else 1,
                }
    clean["mistakes"] = mistakes
    return clean


def _parse(text: str) -> dict[str, dict[str, Any]]:
    """The exercises of a progress file's text; raises :class:`_Unreadable` when it is not one."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise _Unreadable(f"not valid JSON ({err.msg}, line {getattr(err, 'lineno', '?')})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise _Unreadable(f'not an {APP_NAME} progress file (no "format": "{FORMAT}")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise _Unreadable(f'no integer "version" (found {version!r})')
    if version > VERSION:
        raise _Unreadable(f"written by a newer attn_lib (format version {version})", newer=True)
    exercises = data.get("exercises")
    if not isinstance(exercises, dict):
        raise _Unreadable('no "exercises" object')
    out = {}
    for name, entry in exercises.items():
        clean = _clean_entry(entry)
        if clean is not None:
            out[name] = clean
    return out


def _read(path: Path) -> dict[str, dict[str, Any]]:
    """The exercises recorded in ``path`` ({} when it does not exist); :class:`_Unreadable` when bad."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Unreadable("not UTF-8 text") from None
    return _parse(text)


def load() -> dict[str, dict[str, Any]]:
    """What is recorded, by exercise name (a copy); {} when nothing is, or the file cannot be read.

    Never raises: an unreadable file gives {} and a one-line note.
    """
    path = progress_file()
    try:
        return _read(path)
    except _Unreadable as err:
        _note("unreadable", _("the progress file {path} is unreadable: {why}").format(path=path, why=err))
    except OSError as err:
        _note("read", _("cannot read the progress file {path}: {why}").format(path=path, why=_os_why(err)))
    return {}


def _os_why(err: OSError) -> str:
    return f"{type(err).__name__}: {err.strerror or err}"


# ======================================================================== writing


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """Hold ``progress.json.lock`` (an OS file lock) while reading and replacing the file.

    Waits up to a few seconds; if the lock cannot be had (a file system without locks, a hung
    process), the write goes ahead without it: the replace is atomic either way.
    """
    with _thread_lock:
        try:
            handle = open(directory / (FILE_NAME + ".lock"), "a+b")  # closed below
        except OSError:
            yield
            return
        try:
            acquired = _acquire(handle)
            try:
                yield
            finally:
                if acquired:
                    _release(handle)
        finally:
            handle.close()


def _acquire(handle: Any) -> bool:
    deadline = time.monotonic() + _LOCK_TIMEOUT
    while True:
        try:
            if os.name == "nt":
                import msvcrt

                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as err:
            # Held by another process (Windows says so with any OSError); other errors on POSIX
            # mean a file system without locks: go ahead unlocked.
            if os.name != "nt" and not isinstance(err, (BlockingIOError, PermissionError)):
                return False
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def _release(handle: Any) -> None:
    with contextlib.suppress(OSError):
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _write(path: Path, exercises: dict[str, dict[str, Any]]) -> None:
    """Replace ``path`` atomically (a temporary file in the same directory, then ``os.replace``)."""
    data = {"format": FORMAT, "version": VERSION, "exercises": dict(sorted(exercises.items()))}
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
            f.write("\n")  # no fsync: a file cut short by a crash is set aside like any unreadable one
        for attempt in range(10):
            try:
                os.replace(tmp, path)
                break
            except PermissionError:  # Windows: a reader has the file open for a moment
                if os.name != "nt" or attempt == 9:
                    raise
                time.sleep(0.05)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _usable_dir(note: bool = True) -> Path | None:
    """The data directory, created if needed; None (with a note) when it cannot be used."""
    directory = data_dir()
    if _inside_repository(directory):
        if note:
            _note(
                "repository",
                _(
                    "progress not recorded: {var}={path} is inside the course repository; progress is "
                    "kept outside it so that `git pull` never conflicts"
                ).format(var=DATA_DIR_ENV, path=directory),
            )
        return None
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _update(change: Any) -> bool:
    """Read, ``change(exercises)`` in place, write back: under the lock, atomically; True if written.

    May raise OSError.
    """
    directory = _usable_dir()
    if directory is None:
        return False
    path = directory / FILE_NAME
    with _locked(directory):
        try:
            exercises = _read(path)
        except _Unreadable as err:
            if err.newer:
                _note("newer", _("progress not recorded: {path} is {why}").format(path=path, why=err))
                return False
            aside = path.with_name(f"{FILE_NAME}.unreadable-{datetime.now().strftime('%Y%m%dT%H%M%S')}")
            os.replace(path, aside)
            _note(
                "unreadable",
                _("the progress file was unreadable ({why}); kept as {aside}, a new one started").format(
                    why=err, aside=aside.name
                ),
            )
            exercises = {}
        change(exercises)
        _write(path, exercises)
    return True


def record(exercise: str, lesson: str, status: str, mistake: str | None = None) -> bool:
    """Record one check's outcome; True if it was written. Never raises (a one-line note at most).

    Args:
        exercise: the exercise name (``"normalise_rows"``).
        lesson: its lesson, ``"00"`` .. ``"11"``.
        status: ``"pass"``, ``"fail"`` or ``"todo"`` (not attempted: nothing is recorded).
        mistake: the recognised mistake's name as the registry names it, or None.
    """
    if status not in ("pass", "fail") or not enabled():
        return False

    def change(exercises: dict[str, dict[str, Any]]) -> None:
        now = _now()
        entry = exercises.setdefault(exercise, {"lesson": lesson, "mistakes": {}})
        entry["lesson"] = lesson
        entry["last_checked"] = now
        entry["last_status"] = status
        if status == "pass":
            entry.setdefault("passed", now)  # the first pass is kept: a later failure never erases it
        if mistake:
            seen = entry["mistakes"].setdefault(mistake, {"first_seen": now, "count": 0})
            seen["last_seen"] = now
            seen["count"] += 1

    try:
        return _update(change)
    except KeyboardInterrupt:
        raise
    except OSError as err:
        where = err.filename or data_dir()
        _note(
            "write",
            _("progress not recorded (cannot write {path}: {why}); the check's result is unaffected").format(
                path=where, why=_os_why(err)
            ),
        )
    except Exception as err:  # a last net: progress must never break a check
        _note("bug", _("progress not recorded ({why})").format(why=type(err).__name__))
    return False


def record_result(exercise: Any, result: Any) -> None:
    """Record a :class:`~attn_lib.exercises.CheckResult` of ``exercise`` (an ``Exercise``). Never raises."""
    try:
        record(exercise.name, exercise.lesson, result.status, _mistake_id(exercise, result.mistake))
    except KeyboardInterrupt:
        raise
    except Exception:
        pass


def _mistake_id(exercise: Any, shown: str | None) -> str | None:
    """The registry's name of the mistake a result shows (``shown`` may be its translation)."""
    if not shown:
        return None
    from .exercises.core import INPLACE_MISTAKE

    for name in (*(m.name for m in exercise.mistakes), INPLACE_MISTAKE):
        if shown in (name, _(name)):
            return name
    return shown


# ======================================================================== resetting


def _lesson_id(lesson: Any, known: set[str]) -> str:
    if isinstance(lesson, int) and not isinstance(lesson, bool):
        lesson = f"{lesson:02d}"
    if isinstance(lesson, str) and lesson.strip().isdigit():
        lesson = f"{int(lesson):02d}"
    if not isinstance(lesson, str) or lesson not in known:
        raise ValueError(f"lesson must be one of {sorted(known)} (or None: every lesson), got {lesson!r}")
    return lesson


def reset(lesson: str | int | None = None) -> str:
    """Forget the recorded progress of one ``lesson`` (``"03"``, or ``3``), or of all (None).

    Asks nothing; returns one sentence saying what was removed (also when nothing was).
    Resetting all deletes the file. Raises ValueError for an unknown lesson and OSError when the
    file cannot be changed (a reset is asked for, so it says when it did not happen).
    """
    path = progress_file()
    try:
        recorded = _read(path)
    except _Unreadable:
        recorded = None
    if lesson is None:
        if not path.exists():
            return _("Nothing was recorded ({path} does not exist); nothing removed.").format(path=path)
        with _locked(path.parent):
            path.unlink()
        if recorded is None:
            return _("Removed the unreadable progress file {path}.").format(path=path)
        lessons = sorted({e["lesson"] for e in recorded.values()})
        done = ngettext(
            "Removed all recorded progress ({n} exercise, lessons: {lessons}): deleted {path}.",
            "Removed all recorded progress ({n} exercises, lessons: {lessons}): deleted {path}.",
            len(recorded),
        )
        return done.format(n=len(recorded), lessons=", ".join(lessons) or "-", path=path)
    known = {ex.lesson for ex in _registry().values()} | {e["lesson"] for e in (recorded or {}).values()}
    lesson = _lesson_id(lesson, known)
    removed: list[str] = []

    def change(exercises: dict[str, dict[str, Any]]) -> None:
        for name in [n for n, e in exercises.items() if e["lesson"] == lesson]:
            removed.append(name)
            del exercises[name]

    if recorded and any(e["lesson"] == lesson for e in recorded.values()):
        directory = path.parent
        with _locked(directory):
            exercises = _read(path)
            change(exercises)
            _write(path, exercises)
    if not removed:
        return _("Nothing was recorded for lesson {lesson}; nothing removed.").format(lesson=lesson)
    return _("Removed the progress of lesson {lesson} ({names}) from {path}.").format(
        lesson=lesson, names=", ".join(sorted(removed)), path=path
    )


# ======================================================================== the table


def _registry() -> dict[str, Any]:
    from .exercises import EXERCISES

    return EXERCISES


def _shown_time(stamp: str | None) -> str:
    """``2026-12-01T10:31:02Z`` -> ``2026-12-01 10:31 UTC``; ``—`` for none."""
    if not stamp:
        return "—"
    try:
        when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return stamp
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _width(text: str) -> int:
    """Columns ``text`` takes in a terminal (Hangul and other wide characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


@dataclass(frozen=True)
class LessonRow:
    """One lesson of the table."""

    lesson: str
    exercises: tuple[str, ...]  # the registry's, in order
    passed: tuple[str, ...]
    mistakes: tuple[tuple[str, str], ...]  # distinct recognised mistakes: (exercise, mistake)
    last_activity: str | None  # the latest check, ``YYYY-MM-DDTHH:MM:SSZ``


@dataclass(frozen=True, repr=False)
class ProgressTable:
    """The progress table: text in a console, an HTML table in a notebook."""

    rows: tuple[LessonRow, ...]
    verbose: bool = False
    recording: bool = True

    @property
    def empty(self) -> bool:
        return all(r.last_activity is None for r in self.rows)

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        head = [_("Lesson"), _("Passed"), _("Mistakes recognised"), _("Last activity")]
        body = [
            [
                r.lesson,
                f"{len(r.passed)} / {len(r.exercises)}",
                str(len(r.mistakes)),
                _shown_time(r.last_activity),
            ]
            for r in self.rows
        ]
        return head, body

    def _footer(self) -> list[str]:
        lines = []
        if self.empty:
            lines.append(_("Nothing recorded yet: every exercise you check appears here."))
        if not self.recording:
            lines.append(_("Recording is off ({var}=off).").format(var=SWITCH_ENV))
        return lines

    def _details(self, row: LessonRow) -> list[str]:
        lines = []
        label = _("mistake")
        names = list(row.exercises) + sorted({n for n, _m in row.mistakes} - set(row.exercises))
        for name in names:
            mark = "✓" if name in row.passed else "·"
            lines.append(f"    {mark} {name}")
            lines += [f"        {label}: {m}" for n, m in row.mistakes if n == name]
        return lines

    def __str__(self) -> str:
        head, body = self._cells()
        widths = [max(_width(row[i]) for row in [head, *body]) for i in range(len(head))]
        lines = [_("Your progress, recorded on this machine:")]

        def line(cells: list[str]) -> str:
            return "  ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)).rstrip()

        lines.append(line(head))
        lines.append("  ".join("-" * w for w in widths))
        for row, cells in zip(self.rows, body, strict=True):
            lines.append(line(cells))
            if self.verbose:
                lines += self._details(row)
        return "\n".join(lines + self._footer())

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head, body = self._cells()
        e = html.escape
        out = [
            '<table class="attn-progress">',
            f"<caption>{e(_('Your progress, recorded on this machine:'))}</caption>",
            "<thead><tr>" + "".join(f'<th scope="col">{e(h)}</th>' for h in head) + "</tr></thead>",
            "<tbody>",
        ]
        for row, cells in zip(self.rows, body, strict=True):
            tds = f'<th scope="row">{e(cells[0])}</th>' + "".join(f"<td>{e(c)}</td>" for c in cells[1:])
            out.append(f"<tr>{tds}</tr>")
            if self.verbose:
                details = "<br>".join(e(d.strip()) for d in self._details(row))
                out.append(f'<tr><td></td><td colspan="{len(head) - 1}">{details}</td></tr>')
        out.append("</tbody></table>")
        out += [f"<p>{e(line)}</p>" for line in self._footer()]
        return "\n".join(out)


def table(verbose: bool = False) -> ProgressTable:
    """The progress table: per lesson, exercises passed / total, mistakes recognised, last activity.

    The totals come from the registry (``attn_lib.exercises.EXERCISES``), so an exercise not yet
    tried shows as not passed. ``verbose`` lists each exercise (✓ passed, · not yet) and the
    mistakes by name. Never raises because of the file (an unreadable one counts as empty).
    """
    recorded = load()
    by_lesson: dict[str, list[str]] = {}
    for name, ex in _registry().items():
        by_lesson.setdefault(ex.lesson, []).append(name)
    rows = []
    for lesson in sorted(by_lesson):
        names = by_lesson[lesson]
        entries = {n: e for n, e in recorded.items() if e["lesson"] == lesson}
        stamps = [e["last_checked"] for e in entries.values() if "last_checked" in e]
        rows.append(
            LessonRow(
                lesson=lesson,
                exercises=tuple(names),
                passed=tuple(n for n in names if "passed" in entries.get(n, {})),
                mistakes=tuple((n, m) for n, e in sorted(entries.items()) for m in sorted(e["mistakes"])),
                last_activity=max(stamps) if stamps else None,
            )
        )
    return ProgressTable(tuple(rows), verbose=verbose, recording=enabled())
