"""attn_lib.progress: the checkers record passes and recognised mistakes on the learner's machine only.

Every test records into its own temporary directory (``ATTN_COURSE_DATA_DIR``) or a temporary
home; none touches the user's own directory or the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from attn_lib import progress
from attn_lib.exercises import EXERCISES, check_causal_mask, check_normalise_rows

# Tests of the progress records: files, locking, the command line.
# Nothing here depends on the CPU kernels: `make test` runs it once, not per KERNELS set.
pytestmark = pytest.mark.kernel_independent

REPO = Path(__file__).resolve().parent.parent


def right(x):
    return x / x.sum(dim=-1, keepdim=True)


def total_instead_of_rows(x):
    return x / x.sum()  # the mistake "divided by the total of all entries"


def unknown_error(x):
    return x * 0 + 7  # wrong, and like no known mistake


def stub(x):
    return None


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty data directory; recording on; every note may be printed again."""
    directory = tmp_path / "data"
    monkeypatch.setenv(progress.DATA_DIR_ENV, str(directory))
    monkeypatch.delenv(progress.SWITCH_ENV, raising=False)
    monkeypatch.setattr(progress, "_noted", set())
    return directory


def recorded(directory: Path) -> dict:
    return json.loads((directory / "progress.json").read_text(encoding="utf-8"))


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (progress.DATA_DIR_ENV, progress.SWITCH_ENV)}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


# ======================================================================== recording


def test_a_pass_is_recorded_with_its_lesson_and_a_utc_timestamp(data: Path) -> None:
    result = check_normalise_rows(right)
    assert result.passed
    entry = recorded(data)["exercises"]["normalise_rows"]
    assert entry["lesson"] == "00"
    assert entry["last_status"] == "pass"
    assert entry["passed"] == entry["last_checked"]
    assert time.strptime(entry["passed"], "%Y-%m-%dT%H:%M:%SZ")


def test_the_file_says_what_it_is(data: Path) -> None:
    check_normalise_rows(right)
    content = recorded(data)
    assert content["format"] == "attn-course-progress"
    assert content["version"] == 1


def test_a_recognised_mistake_is_recorded_by_its_registry_name(data: Path) -> None:
    result = check_normalise_rows(total_instead_of_rows)
    assert result.mistake == "divided by the total of all entries"
    assert result.mistake in {m.name for m in EXERCISES["normalise_rows"].mistakes}
    entry = recorded(data)["exercises"]["normalise_rows"]
    seen = entry["mistakes"]["divided by the total of all entries"]
    assert seen["count"] == 1
    assert seen["first_seen"] == seen["last_seen"] == entry["last_checked"]
    assert entry["last_status"] == "fail"
    assert "passed" not in entry


def test_a_mistake_seen_twice_is_counted_twice(data: Path) -> None:
    check_normalise_rows(total_instead_of_rows)
    check_normalise_rows(total_instead_of_rows)
    seen = recorded(data)["exercises"]["normalise_rows"]["mistakes"]["divided by the total of all entries"]
    assert seen["count"] == 2


def test_a_failure_without_a_known_mistake_is_recorded_as_activity_only(data: Path) -> None:
    result = check_normalise_rows(unknown_error)
    assert not result.passed and result.mistake is None
    entry = recorded(data)["exercises"]["normalise_rows"]
    assert entry["last_status"] == "fail"
    assert entry["mistakes"] == {}


def test_an_untouched_stub_records_nothing(data: Path) -> None:
    assert check_normalise_rows(stub).status == "todo"
    assert not (data / "progress.json").exists()


def test_a_later_failure_never_erases_a_pass(data: Path) -> None:
    check_normalise_rows(right)
    first_pass = recorded(data)["exercises"]["normalise_rows"]["passed"]
    check_normalise_rows(total_instead_of_rows)
    check_normalise_rows(stub)
    entry = recorded(data)["exercises"]["normalise_rows"]
    assert entry["passed"] == first_pass
    assert entry["last_status"] == "fail"
    assert progress.table().rows[0].passed == ("normalise_rows",)


def test_the_mistake_id_is_the_registry_name_even_when_messages_are_translated(data: Path) -> None:
    from attn_lib.i18n import get_language, set_language

    before = get_language()
    try:
        set_language("ko")
        check_normalise_rows(total_instead_of_rows)
    finally:
        set_language(before)
    assert list(recorded(data)["exercises"]["normalise_rows"]["mistakes"]) == [
        "divided by the total of all entries"
    ]


def test_a_new_process_keeps_what_was_recorded(data: Path) -> None:
    """Restarting the kernel (a new process) and re-running the lesson resets nothing."""
    check_normalise_rows(right)
    script = textwrap.dedent(
        """
        from attn_lib.exercises import check_normalise_rows
        print(check_normalise_rows(lambda x: x / x.sum()).mistake)
        """
    )
    env = subprocess_env(**{progress.DATA_DIR_ENV: str(data)})
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "divided by the total of all entries"
    entry = recorded(data)["exercises"]["normalise_rows"]
    assert "passed" in entry
    assert "divided by the total of all entries" in entry["mistakes"]


# ======================================================================== where the file lives


def test_the_data_dir_is_the_override_when_set(data: Path) -> None:
    assert progress.data_dir() == data
    assert progress.progress_file() == data / "progress.json"


@pytest.mark.skipif(sys.platform != "linux", reason="the Linux (XDG) location")
def test_on_linux_the_file_lives_under_xdg_data_home_or_local_share(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(progress.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert progress.data_dir() == tmp_path / "home" / ".local" / "share" / "attn-course"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert progress.data_dir() == tmp_path / "xdg" / "attn-course"


def test_the_platform_locations_are_the_ones_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and Windows, through platformdirs' own classes (whatever this machine runs)."""
    from platformdirs.macos import MacOS
    from platformdirs.windows import Windows

    assert MacOS("attn-course", appauthor=False, roaming=True).user_data_dir.endswith(
        "Library/Application Support/attn-course"
    )
    monkeypatch.setattr("platformdirs.windows.get_win_folder", lambda csidl: rf"C:\Users\me\{csidl}")
    windows = Windows("attn-course", appauthor=False, roaming=True).user_data_dir
    assert "CSIDL_APPDATA" in windows and windows.endswith("attn-course")  # %APPDATA%, not %LOCALAPPDATA%


# ======================================================================== robustness


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "\x00\xff binary",
        "[1, 2, 3]",
        '{"someone": "else"}',
        '{"format": "attn-course-progress", "version": "one", "exercises": {}}',
        '{"format": "attn-course-progress", "version": 1, "exercises": []}',
    ],
    ids=["bad-json", "binary", "a-list", "foreign-object", "bad-version", "bad-exercises"],
)
def test_an_unreadable_file_is_kept_aside_and_the_check_still_reports(
    data: Path, content: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data.mkdir()
    (data / "progress.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    assert progress.table().empty  # reading: counts as nothing recorded, never raises
    result = check_normalise_rows(right)
    assert result.passed
    assert "normalise_rows" in recorded(data)["exercises"]
    kept = list(data.glob("progress.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == content.encode("utf-8", "surrogateescape")
    assert len(capsys.readouterr().err.strip().splitlines()) <= 2  # a note when read, one when set aside


def test_malformed_entries_are_dropped_and_good_ones_kept(data: Path) -> None:
    data.mkdir()
    good = {"lesson": "05", "passed": "2026-01-01T00:00:00Z", "mistakes": {}}
    content = {
        "format": "attn-course-progress",
        "version": 1,
        "exercises": {"causal_mask": good, "junk": 5, "half": {"lesson": 3}},
    }
    (data / "progress.json").write_text(json.dumps(content))
    check_normalise_rows(right)
    exercises = recorded(data)["exercises"]
    assert set(exercises) == {"causal_mask", "normalise_rows"}
    assert exercises["causal_mask"]["passed"] == "2026-01-01T00:00:00Z"


def test_a_file_of_a_newer_version_is_left_alone(data: Path) -> None:
    data.mkdir()
    newer = '{"format": "attn-course-progress", "version": 99, "exercises": {}}'
    (data / "progress.json").write_text(newer)
    assert check_normalise_rows(right).passed
    assert (data / "progress.json").read_text() == newer


def test_an_unwritable_dir_gives_the_result_and_one_line_at_most(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(progress.DATA_DIR_ENV, str(blocker / "data"))  # cannot be created, even as root
    monkeypatch.setattr(progress, "_noted", set())
    results = [check_normalise_rows(right), check_normalise_rows(total_instead_of_rows)]
    assert [r.status for r in results] == ["pass", "fail"]
    assert results[1].mistake == "divided by the total of all entries"
    assert progress.record("normalise_rows", "00", "pass") is False
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "progress not recorded" in err[0]


def test_a_read_only_home_gives_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No override: the default location under a home that cannot be written."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    monkeypatch.delenv(progress.DATA_DIR_ENV, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(progress, "_noted", set())
    if os.geteuid() == 0:  # root writes anywhere: make the directory creation fail as it would

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(Path, "mkdir", refuse)
    try:
        assert check_normalise_rows(right).passed
        assert progress.table().empty
    finally:
        home.chmod(0o700)


def test_a_failing_write_leaves_the_old_file_whole(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    check_normalise_rows(total_instead_of_rows)
    before = (data / "progress.json").read_text()

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(progress.os, "replace", disk_full)
    assert check_normalise_rows(right).passed
    assert (data / "progress.json").read_text() == before
    assert not list(data.glob(".progress-*.tmp"))


def test_a_bug_in_progress_never_reaches_the_check(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(progress, "_update", broken)
    assert check_normalise_rows(right).passed


_WRITER = """
import sys, time
from pathlib import Path
from attn_lib import progress
worker, ready = sys.argv[1], Path(sys.argv[2])
(ready / worker).touch()
while len(list(ready.iterdir())) < 2:  # both processes have imported: start writing together
    time.sleep(0.001)
for i in range(25):
    progress.record(f"w{worker}_{i}", "99", "pass")
    progress.record("shared", "99", "fail", mistake="the same mistake")
"""


def test_two_processes_writing_at_once_lose_nothing(data: Path, tmp_path: Path) -> None:
    env = subprocess_env(**{progress.DATA_DIR_ENV: str(data)})
    ready = tmp_path / "ready"
    ready.mkdir()
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(w), str(ready)], env=env, stderr=subprocess.PIPE)
        for w in (0, 1)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
        assert err == b"", err.decode()  # no note: every write got the lock
    exercises = recorded(data)["exercises"]
    assert {f"w{w}_{i}" for w in (0, 1) for i in range(25)} <= set(exercises)
    assert exercises["shared"]["mistakes"]["the same mistake"]["count"] == 50


def test_the_off_switch_records_nothing_and_the_check_still_reports(
    data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(progress.SWITCH_ENV, "off")
    assert not progress.enabled()
    assert check_normalise_rows(right).passed
    assert not data.exists()
    assert "ATTN_COURSE_PROGRESS=off" in str(progress.table())


@pytest.mark.parametrize("value", ["OFF", "0", "false", "no"])
def test_the_off_switch_spellings(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(progress.SWITCH_ENV, value)
    assert not progress.enabled()


# ======================================================================== reset


def test_reset_of_one_lesson_keeps_the_others(data: Path) -> None:
    check_normalise_rows(right)
    check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).tril())
    said = progress.reset("05")
    assert "causal_mask" in said and "05" in said
    assert set(recorded(data)["exercises"]) == {"normalise_rows"}


def test_reset_takes_a_lesson_as_int_or_short_string(data: Path) -> None:
    check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).tril())
    assert "Nothing was recorded for lesson 03" in progress.reset(3)
    assert "causal_mask" in progress.reset("5")
    assert recorded(data)["exercises"] == {}


def test_reset_of_everything_deletes_the_file(data: Path) -> None:
    check_normalise_rows(right)
    said = progress.reset()
    assert "Removed all recorded progress" in said
    assert not (data / "progress.json").exists()
    assert progress.table().empty
    assert "nothing removed" in progress.reset()


def test_reset_of_an_unknown_lesson_is_a_value_error_naming_it(data: Path) -> None:
    with pytest.raises(ValueError, match=r"lesson must be one of .*'00'.*got '42'"):
        progress.reset("42")


def test_reset_of_an_unreadable_file_removes_it(data: Path) -> None:
    data.mkdir()
    (data / "progress.json").write_text("{not json")
    assert "unreadable" in progress.reset()
    assert not (data / "progress.json").exists()


# ======================================================================== the table


def test_the_table_has_every_lesson_of_the_registry_with_its_total(data: Path) -> None:
    totals: dict[str, int] = {}
    for ex in EXERCISES.values():
        totals[ex.lesson] = totals.get(ex.lesson, 0) + 1
    rows = progress.table().rows
    assert {r.lesson: len(r.exercises) for r in rows} == totals
    assert all(r.passed == () and r.last_activity is None for r in rows)


def test_the_table_counts_passes_and_mistakes_per_lesson(data: Path) -> None:
    check_normalise_rows(total_instead_of_rows)
    check_normalise_rows(right)
    check_causal_mask(lambda T: torch.ones(T, T, dtype=torch.bool).triu())  # upper triangle: a known mistake
    text = str(progress.table())
    row00 = next(line for line in text.splitlines() if line.startswith("00 "))
    row05 = next(line for line in text.splitlines() if line.startswith("05 "))
    assert row00.split()[1:5] == ["1", "/", "1", "1"]
    n05 = len([e for e in EXERCISES.values() if e.lesson == "05"])
    assert row05.split()[1:5] == ["0", "/", str(n05), "1"]
    assert row00.endswith("UTC")


def test_the_empty_table_is_the_same_text_on_every_machine(data: Path) -> None:
    """What lesson 00 stores: no path, no time, only the registry's totals."""
    table = progress.table()
    text, page = str(table), table._repr_html_()
    assert table.empty
    assert "Nothing recorded yet" in text
    assert str(data) not in text and str(data) not in page
    assert '<th scope="col">Lesson</th>' in page


def test_verbose_lists_each_exercise_and_its_mistakes_by_name(data: Path) -> None:
    check_normalise_rows(total_instead_of_rows)
    text = str(progress.table(verbose=True))
    assert "· normalise_rows" in text
    assert "mistake: divided by the total of all entries" in text
    assert "· causal_mask" in text


# ======================================================================== the command line


def run_cli(*args: str, data: Path) -> subprocess.CompletedProcess[str]:
    """``python -m attn_lib ARGS`` in a new process, as a learner types it in a terminal."""
    env = subprocess_env(**{progress.DATA_DIR_ENV: str(data)})
    return subprocess.run(
        [sys.executable, "-m", "attn_lib", *args], env=env, capture_output=True, text=True, timeout=300
    )


def test_cli_help_lists_the_commands(data: Path) -> None:
    out = run_cli("--help", data=data)
    assert out.returncode == 0
    assert "progress" in out.stdout


def test_cli_progress_prints_the_table_and_where_the_file_is(data: Path) -> None:
    check_normalise_rows(total_instead_of_rows)
    out = run_cli("progress", data=data)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["Lesson", "Passed", "Mistakes", "recognised", "Last", "activity"]
    lessons = sorted({ex.lesson for ex in EXERCISES.values()})
    assert [line.split()[0] for line in lines[3 : 3 + len(lessons)]] == lessons
    assert lines[3].split()[1:5] == ["0", "/", "1", "1"]  # lesson 00: not passed, one mistake
    assert f"Progress file: {data / 'progress.json'}" in out.stdout
    assert "divided by the total" not in out.stdout  # names only with --verbose


def test_cli_reset_asks_nothing_and_says_what_it_removed(data: Path) -> None:
    check_normalise_rows(right)
    out = run_cli("progress", "--reset", "00", data=data)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("Removed the progress of lesson 00 (normalise_rows)")
    assert recorded(data)["exercises"] == {}


# The same entry point in this process (fast): the other options.


def test_cli_verbose_names_the_mistakes(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from attn_lib.__main__ import main

    check_normalise_rows(total_instead_of_rows)
    assert main(["progress", "--verbose"]) == 0
    assert "mistake: divided by the total of all entries" in capsys.readouterr().out


def test_cli_reset_without_a_lesson_removes_everything(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from attn_lib.__main__ import main

    check_normalise_rows(right)
    assert main(["progress", "--reset"]) == 0
    assert "Removed all recorded progress (1 exercise, lessons: 00)" in capsys.readouterr().out
    assert not (data / "progress.json").exists()


def test_cli_reset_of_an_unknown_lesson_fails_with_a_message(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from attn_lib.__main__ import main

    assert main(["progress", "--reset", "42"]) == 2
    err = capsys.readouterr().err
    assert "got '42'" in err and "Traceback" not in err


# ======================================================================== never in the repository


def test_the_default_location_is_outside_the_repository(tmp_path: Path) -> None:
    """A check run from the lessons folder, as a notebook is, with no override: the file goes home."""
    home = tmp_path / "home"
    env = subprocess_env(HOME=str(home), XDG_DATA_HOME="", APPDATA=str(home / "AppData"))
    script = (
        "from attn_lib.exercises import check_normalise_rows; check_normalise_rows(lambda x: x / x.sum())"
    )
    started = time.time()
    subprocess.run([sys.executable, "-c", script], cwd=REPO / "lessons", env=env, check=True, timeout=120)
    written = list(home.rglob("progress.json"))
    assert len(written) == 1 and "attn-course" in written[0].parts
    fresh = [
        p
        for pattern in ("progress.json*", ".progress-*")
        for p in REPO.rglob(pattern)
        if ".venv" not in p.parts and p.stat().st_mtime >= started - 1
    ]
    assert fresh == []


def test_an_override_inside_the_repository_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inside = REPO / "lessons" / "progress-here"
    monkeypatch.setenv(progress.DATA_DIR_ENV, str(inside))
    monkeypatch.delenv(progress.SWITCH_ENV, raising=False)
    monkeypatch.setattr(progress, "_noted", set())
    assert check_normalise_rows(right).passed
    assert not inside.exists()
    assert progress.record("normalise_rows", "00", "pass") is False
    assert not inside.exists()
    assert "inside the course repository" in capsys.readouterr().err
