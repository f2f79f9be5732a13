"""`make lab EDITION=ko`: the Korean edition, JupyterLab's own UI in Korean; plain `make lab` stays English.

Each server is started as the README says (`make lab [EDITION=ko] PORT=<free> JUPYTER_ARGS=--no-browser`)
in its own process group, checked from outside (REST API and a headless Chromium) and stopped with
os.killpg. The Korean run comes first, both with the same JUPYTERLAB_SETTINGS_DIR in the environment,
so a Korean locale that leaked into the user's settings would show up in the English run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .lab import REPO, free_port, http, stop_process_group

pytestmark = pytest.mark.browser

URL_LINE = re.compile(r"make lab: JupyterLab on (http://127\.0\.0\.1:(\d+))/lab\?token=([0-9a-f]+)\s*$")
TRANSLATION = "@jupyterlab/translation-extension:plugin"
CLEANUP_GRACE = 10  # seconds between SIGTERM and SIGKILL when a test's server is stopped (see Lab.stop)


class Lab:
    """`make lab` with the given extra arguments, its output read by a thread."""

    def __init__(self, extra: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            ["make", "lab", f"PORT={self.port}", "JUPYTER_ARGS=--no-browser", *extra],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url, self.token = self._wait()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def _wait(self) -> tuple[str, str]:
        deadline = time.monotonic() + 600  # a first run installs .venv
        match = None
        while match is None and time.monotonic() < deadline and self.proc.poll() is None:
            match = next((m for m in map(URL_LINE.search, list(self.lines)) if m), None)
            time.sleep(0.2)
        if match is None:
            self.stop()
            raise AssertionError(f"`make lab` printed no URL; its output:\n{self.output()}")
        url, token = match.group(1), match.group(3)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if http("GET", f"{url}/api/status", token=token)[0] == 200:
                    return url, token
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        self.stop()
        raise AssertionError(f"JupyterLab from `make lab` did not answer:\n{self.output()}")

    def api(self, path: str) -> tuple[int, Any]:
        return http("GET", f"{self.url}{path}", token=self.token)

    def stop(self) -> None:
        # After a browser has opened a lesson, this server often hangs on SIGTERM: its log ends at
        # "Shutting down 5 extensions", the process asleep in a futex wait, no kernel left; it happened
        # in each of 4 runs of this module on a quiet machine and in both stops under load, and
        # JupyterLab's own /api/shutdown hung the same way under load. Why is not found. These stops
        # are only clean-up (SIGTERM on `make lab` is tested in test_make_lab.py, where it does not
        # hang), so SIGKILL follows after 10 s instead of 30.
        stop_process_group(self.proc, signal.SIGTERM, timeout=CLEANUP_GRACE)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def lab_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed")
    state = tmp_path_factory.mktemp("make-lab-ko")
    env = dict(os.environ)
    env.pop("JUPYTER_TOKEN", None)
    for var in (
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "MAKEOVERRIDES",
        "MAKE_TERMOUT",
        "MAKE_TERMERR",
        "EDITION",
    ):
        env.pop(var, None)
    for var in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_RUNTIME_DIR"):
        env[var] = str(state / var.lower())
    return env


@pytest.fixture(scope="module")
def korean_lab(lab_env: dict[str, str]) -> Iterator[Lab]:
    lab = Lab(["EDITION=ko"], lab_env)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def english_lab(lab_env: dict[str, str], korean_lab: Lab) -> Iterator[Lab]:
    korean_lab.stop()  # one at a time; the Korean run came first
    lab = Lab([], lab_env)
    try:
        yield lab
    finally:
        lab.stop()


def locale(lab: Lab) -> str:
    status, settings = lab.api(f"/lab/api/settings/{TRANSLATION}")
    assert status == 200, f"settings API answered {status}"
    composite = {name: prop.get("default") for name, prop in settings["schema"]["properties"].items()}
    composite.update(settings.get("settings") or {})
    return composite["locale"]


def menu_labels(browser: Any, lab: Lab, path: str) -> tuple[list[str], str]:
    """The main menu bar's labels and the current tab's title, after opening `path` in a fresh workspace."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{lab.url}/lab/workspaces/make-lab-ko/tree/{path}?reset&token={lab.token}")
        page.wait_for_selector(".lm-MenuBar-itemLabel", timeout=60_000)
        page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
        labels = [t.strip() for t in page.locator(".lm-MenuBar-itemLabel").all_text_contents()]
        tab = page.locator(".lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel").first.text_content() or ""
        return labels, tab.strip()
    finally:
        context.close()
        status, sessions = lab.api("/api/sessions")
        for session in sessions if status == 200 else []:
            http("DELETE", f"{lab.url}/api/sessions/{session['id']}", token=lab.token)


def test_make_lab_ko_opens_the_korean_start_lesson(korean_lab: Lab) -> None:
    status, location = korean_lab.api("/")
    assert status == 302 and location.split("?")[0].endswith("/lab/tree/lessons/ko/00_start_here.ipynb"), (
        status,
        location,
    )
    status, listing = korean_lab.api("/api/contents/lessons/ko")
    assert status == 200, f"GET /api/contents/lessons/ko answered {status}"
    served = {item["name"] for item in listing["content"]}
    in_repo = {p.name for p in (REPO / "lessons" / "ko").glob("[0-9][0-9]_*.ipynb")}
    assert in_repo <= served and "00_start_here.ipynb" in served, f"not served: {sorted(in_repo - served)}"


def test_make_lab_ko_sets_the_korean_locale_with_the_language_pack(korean_lab: Lab) -> None:
    assert locale(korean_lab) == "ko_KR"
    status, packs = korean_lab.api("/lab/api/translations")
    assert status == 200, f"translations API answered {status}"
    assert "ko_KR" in packs.get("data", {}), f"the Korean language pack is not installed: {packs}"


def test_make_lab_ko_keeps_its_settings_inside_the_venv(korean_lab: Lab, lab_env: dict[str, str]) -> None:
    notice = next((line for line in korean_lab.lines if "한국어판" in line), "")
    settings_dir = Path(notice.rsplit("JupyterLab settings in ", 1)[-1])
    assert notice and settings_dir.is_relative_to(REPO / ".venv"), f"settings outside .venv: {notice!r}"
    assert (settings_dir / "@jupyterlab" / "translation-extension" / "plugin.jupyterlab-settings").is_file()
    user = Path(lab_env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "translation-extension"
    assert not user.exists(), f"`make lab EDITION=ko` wrote the locale into the user's settings {user}"


def test_make_lab_ko_shows_jupyterlab_in_korean(browser: Any, korean_lab: Lab) -> None:
    labels, tab = menu_labels(browser, korean_lab, "lessons/ko/00_start_here.ipynb")
    assert labels and labels[0] == "파일", f"the menu bar is not Korean: {labels}"
    assert "편집" in labels, labels
    assert tab == "00_start_here.ipynb", f"the Korean lesson is not the open tab: {tab!r}"


def test_plain_make_lab_stays_english(browser: Any, english_lab: Lab) -> None:
    assert locale(english_lab) != "ko_KR"
    status, location = english_lab.api("/")
    assert status == 302 and location.split("?")[0].endswith("/lab/tree/lessons/00_start_here.ipynb")
    labels, _ = menu_labels(browser, english_lab, "lessons/00_start_here.ipynb")
    assert labels and labels[0] == "File", f"plain `make lab` is not English: {labels}"


def test_make_lab_rejects_an_unknown_edition(lab_env: dict[str, str]) -> None:
    done = subprocess.run(
        ["make", "lab", "EDITION=fr"], cwd=REPO, env=lab_env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode != 0 and "EDITION must be en or ko" in done.stdout + done.stderr, done
