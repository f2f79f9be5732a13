"""Drive the course in JupyterLab like a learner: helpers shared by the browser tests.

- :class:`JupyterLab` starts a private JupyterLab server (free 127.0.0.1 port, random token,
  throw-away settings/workspace/runtime dirs) and stops it by its own process.
- :func:`find_chromium` and :data:`CHROMIUM_ARGS` launch Debian's Chromium through Playwright.
- :func:`check_notebook` opens one notebook in a fresh workspace, runs all cells, checks that
  nothing went wrong (dialogs, errors, figures, widgets), operates every kind of widget control
  it finds and checks that the output it drives changes. It returns a :class:`NotebookReport`
  whose ``problems`` are empty when the notebook works for a learner.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import a11y

REPO = Path(__file__).resolve().parents[2]
RESULTS = Path(__file__).resolve().parent / "results"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HOW_TO_GET_CHROMIUM = (
    "no Chromium found for the browser tests: install Debian's `apt-get install chromium` "
    "(Ubuntu: `apt-get install chromium-browser`), or point CHROMIUM=/path/to/chromium at one"
)

# JupyterLab user settings for the test server: no news, no update check (as `make lab`).
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}

# Texts that mean a widget view did not come alive.
WIDGET_FAILURE_TEXTS = (
    "Loading widget...",
    "Error displaying widget",
    "model not found",
    "Failed to load model class",
    "Could not create a model",
    "Could not create a view",
)


def find_chromium() -> str | None:
    """Path of a Chromium to drive: $CHROMIUM if set, else the first one found on PATH/in /usr/bin."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    for path in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"):
        if Path(path).is_file():
            return path
    return None


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, token: str | None = None, timeout: float = 10) -> tuple[int, Any]:
    """One HTTP request without following redirects: (status, parsed JSON or text or Location)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    request = urllib.request.Request(url, method=method)
    if token:
        request.add_header("Authorization", f"token {token}")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            status, body = response.status, response.read().decode("utf-8", "replace")
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as err:
        if 300 <= err.code < 400:
            return err.code, err.headers.get("Location", "")
        return err.code, err.read().decode("utf-8", "replace")
    if "json" in content_type and body:
        return status, json.loads(body)
    return status, body


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Stop a process we started with start_new_session=True, and everything in its group.

    Signal the group, wait until the process has exited and the group is empty, and only then,
    if something is left after `timeout` seconds, SIGKILL the group.
    """
    pgid = proc.pid
    if proc.poll() is None or group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None and not group_alive(pgid):
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


class JupyterLab:
    """A private JupyterLab server for the tests, on 127.0.0.1 with a random token."""

    def __init__(self, root_dir: Path, work_dir: Path, notification_settings: dict | None = None) -> None:
        self.root_dir = Path(root_dir)
        self.notification_settings = (
            NOTIFICATION_SETTINGS if notification_settings is None else notification_settings
        )
        self.work_dir = Path(work_dir)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.work_dir / "jupyterlab.log"
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        dirs = {
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "IPYTHONDIR": "ipython",
        }
        env = dict(os.environ)
        for var, name in dirs.items():
            path = self.work_dir / name
            path.mkdir(parents=True, exist_ok=True)
            env[var] = str(path)
        settings = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps(self.notification_settings))
        # The inline backend must draw the figures: a headless MPLBACKEND (Agg) would hide them all.
        env.pop("MPLBACKEND", None)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self, timeout: float = 120) -> None:
        cmd = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.root_dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                status, _ = http("GET", f"{self.url}/api/status?token={self.token}", timeout=5)
                if status == 200:
                    return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.terminate()  # SIGTERM: the server shuts its kernels down and exits
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        # Kernels started by a killed server would be orphans in our session: end them too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def api(self, method: str, path: str) -> tuple[int, Any]:
        return http(method, f"{self.url}{path}", token=self.token)

    def sessions_for(self, rel_path: str) -> list[dict]:
        status, sessions = self.api("GET", "/api/sessions")
        if status != 200:
            return []
        return [s for s in sessions if s.get("path") == rel_path]

    def shutdown_sessions(self, rel_path: str) -> None:
        for session in self.sessions_for(rel_path):
            self.api("DELETE", f"/api/sessions/{session['id']}")


# --------------------------------------------------------------------------- reports


@dataclass
class Problem:
    where: str  # "cell 5/31 `first line`" or "notebook"
    what: str
    index: int | None = None  # the cell's index in the notebook, when it is about a cell

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class ControlUse:
    cell: str
    kind: str
    label: str
    action: str
    changed: str  # which outputs changed, "" when nothing changed

    def __str__(self) -> str:
        result = f"output changed ({self.changed})" if self.changed else "NO CHANGE"
        return f"{self.cell}: {self.kind} {self.label!r} -> {self.action} -> {result}"


@dataclass
class NotebookReport:
    path: str
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    controls: list[ControlUse] = field(default_factory=list)
    images: int = 0
    widget_cells: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def problem(self, where: str, what: str, index: int | None = None) -> None:
        if not any(p.where == where and p.what == what for p in self.problems):
            self.problems.append(Problem(where, what, index))

    def headline(self) -> str:
        """How many problems and the first, in one line (the line pytest's short summary keeps)."""
        if not self.problems:
            return "no problems"
        return f"{len(self.problems)} problem(s), the first: {self.ordered()[0]}"[:300]

    def ordered(self) -> list[Problem]:
        """The problems in cell order, the ones about no cell last."""
        return sorted(self.problems, key=lambda p: (p.index is None, p.index or 0))

    def summary(self) -> str:
        lines = [f"{self.path}: {len(self.problems)} problem(s)"]
        lines += [f"  PROBLEM {p}" for p in self.ordered()]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  control: {c}" for c in self.controls]
        lines.append(
            f"  {self.images} image(s), {self.widget_cells} widget cell(s); "
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        )
        return "\n".join(lines)


class NotebookAbort(Exception):
    """The notebook cannot be checked further (a dialog blocks it, the run never finished, ...)."""


# --------------------------------------------------------------------------- page scripts

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
CELLS = f"{PANEL} .jp-Notebook .jp-Cell"

_JS_HELPERS = r"""
const hash = (s) => { let h = 0x811c9dc5; for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193) >>> 0; } return h.toString(16) + ':' + s.length; };
const cellsOf = () => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    return panel ? Array.from(panel.querySelectorAll('.jp-Notebook .jp-Cell')) : [];
};
const CONTROLS = ['.widget-readout', 'input', 'select', 'textarea', 'button', '.noUi-target',
    '.jp-OutputArea-promptOverlay'].join(', ');
const outputSnapshot = (cell) => {
    const area = cell.querySelector('.jp-Cell-outputArea');
    if (!area) return '';
    const clone = area.cloneNode(true);
    clone.querySelectorAll(CONTROLS).forEach((e) => e.remove());
    const images = Array.from(area.querySelectorAll('img')).map((i) => hash(i.src || ''));
    return hash(clone.textContent) + '|' + images.join(',');
};
"""

JS_STATE = (
    "() => {"
    + _JS_HELPERS
    + r"""
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const ind = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
    const name = panel && panel.querySelector('.jp-KernelName');
    const prompts = cellsOf().map((c) => c.classList.contains('jp-CodeCell')
        ? ((c.querySelector('.jp-InputPrompt') || {}).textContent || '').trim() : null);
    const tab = document.querySelector('.lm-TabBar-tab.jp-mod-current');
    return {status: ind ? ind.dataset.status : null, kernel: name ? name.textContent.trim() : '',
            prompts, dirty: !!(tab && tab.classList.contains('jp-mod-dirty'))};
}"""
)

DIALOG_SETTLE = 5.0  # at most this many seconds for a dialog that has just appeared to draw all of itself

JS_INTERRUPTIONS = r"""() => {
    const vis = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
    const text = (e) => (e.innerText || e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 300);
    const dialogs = Array.from(document.querySelectorAll('.jp-Dialog')).filter(vis).map(text);
    const toasts = Array.from(document.querySelectorAll('.Toastify__toast')).filter(vis).map(text);
    const n = document.querySelector('.jp-Notification-Status-Text');
    const log = document.querySelector('.jp-LogConsoleStatusItem:not(.lm-mod-hidden) [title]');
    const entries = log ? /(\d+) log entr/.exec(log.getAttribute('title') || '') : null;
    return {dialogs, toasts, notifications: n ? parseInt(n.textContent, 10) || 0 : 0,
            log: entries ? parseInt(entries[1], 10) : (log ? 1 : 0)};
}"""

JS_CELLS = (
    "(failureTexts) => {"
    + _JS_HELPERS
    + r"""
    const ERROR = /Traceback \(most recent call last\)|^\s*(\w+\.)*\w*(Error|Exception)\b/m;
    return cellsOf().map((c, i) => {
        const code = c.classList.contains('jp-CodeCell');
        const line = c.querySelector('.jp-InputArea-editor .cm-line');
        const area = c.querySelector('.jp-Cell-outputArea');
        const prompt = code ? ((c.querySelector('.jp-InputPrompt') || {}).textContent || '').trim() : '';
        const info = {index: i, code, first: line ? line.textContent : '', prompt};
        if (!area) return Object.assign(info, {images: 0, broken: 0, topPng: 0, widgets: 0,
                                               errors: [], widgetFailures: [], figureText: false});
        const imgs = Array.from(area.querySelectorAll('img'));
        const errors = Array.from(area.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
            .map((e) => e.textContent).filter((t) => ERROR.test(t))
            .map((t) => t.trim().split('\n').filter((l) => l.trim()).slice(-1)[0].slice(0, 300));
        const text = area.textContent;
        return Object.assign(info, {
            images: imgs.length,
            broken: imgs.filter((im) => !(im.complete && im.naturalWidth > 0)).length,
            topPng: Array.from(area.querySelectorAll('.jp-OutputArea-output[data-mime-type="image/png"]'))
                .filter((e) => !e.closest('.widget-output')).length,
            widgets: area.querySelectorAll('[class*="widget-"]').length,
            errors,
            widgetFailures: failureTexts.filter((t) => text.includes(t)),
            figureText: Array.from(area.querySelectorAll('[data-mime-type="text/plain"]'))
                .some((e) => e.textContent.includes('<Figure size')),
        });
    });
}"""
)

JS_SNAPSHOTS = "() => {" + _JS_HELPERS + "return cellsOf().map(outputSnapshot); }"

JS_EXTRA_HEIGHT = r"""() => {
    // How much taller the window must be to show the whole notebook (scrolled to its top).
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const outer = panel && panel.querySelector('.jp-WindowedPanel-outer');
    const cells = panel ? panel.querySelectorAll('.jp-Notebook .jp-Cell') : [];
    if (!outer || !cells.length) return 0;
    outer.scrollTop = 0;
    const bottom = cells[cells.length - 1].getBoundingClientRect().bottom;
    return Math.max(0, Math.ceil(bottom - outer.getBoundingClientRect().bottom) + 24);
}"""

# Kinds of controls: (selector of one control widget in a cell's output area, selector of the element
# a person operates inside it, or "" for the widget itself). Disabled or hidden ones are left alone.
CONTROLS = {
    "slider": (".widget-slider", ".noUi-handle"),
    "dropdown": (".widget-dropdown", "select"),
    "select": (".widget-select", "select:not([multiple])"),
    "checkbox": (".widget-checkbox", "input[type=checkbox]"),
    "toggle": ("button.widget-toggle-button.jupyter-widgets", ""),
    "toggle-buttons": (".widget-toggle-buttons", "button.widget-toggle-button:not(.mod-active)"),
    "radio": (".widget-radio", ".widget-radio-box input[type=radio]"),
    "text": (".widget-text", "input"),
    "textarea": (".widget-textarea", "textarea"),
    "button": ("button.widget-button", ""),
}
MAX_CONTROLS_PER_KIND = 4  # per widget cell
LIGHT_THEME, DARK_THEME = "JupyterLab Light", "JupyterLab Dark"
# The one control per lesson driven by the keyboard alone: the first kind of these the lesson has.
KEYBOARD_PREFERENCE = (
    "slider",
    "dropdown",
    "toggle-buttons",
    "checkbox",
    "radio",
    "text",
    "select",
    "toggle",
)


def _type_ahead_target(control: Any) -> str | None:
    """The option a typed first letter moves a closed <select> to: the next one (after the selected
    one, wrapping) whose first letter differs from the selected one's; None if every option starts
    with the same letter (type-ahead then stays put, e.g. "decoder layer 0" / "decoder layer 1")."""
    options = [o.replace("\xa0", " ").strip() for o in control.locator("option").all_text_contents()]
    current = control.evaluate("(e) => e.selectedIndex")
    if not options or not 0 <= current < len(options):
        return None
    first = options[current][:1].lower()
    for step in range(1, len(options)):
        option = options[(current + step) % len(options)]
        if option[:1].lower() != first:
            return option
    return None


# --------------------------------------------------------------------------- the checker


class NotebookChecker:
    def __init__(self, page: Any, lab: JupyterLab, rel_path: str, report: NotebookReport) -> None:
        self.page = page
        self.lab = lab
        self.rel_path = rel_path
        self.report = report
        self.cells: list[dict] = []
        self.log_entries = 0  # entries of the kernel log console already reported

    # ---- small helpers
    def where(self, index: int) -> str:
        n = len(self.cells)
        first = next((c["first"] for c in self.cells if c["index"] == index), "")
        first = first.strip()
        first = (first[:70] + "…") if len(first) > 70 else first
        return f"cell {index + 1}/{n} `{first}`" if n else f"cell {index + 1}"

    def state(self) -> dict:
        return self.page.evaluate(JS_STATE)

    def interruptions(self) -> dict:
        """Dialogs, toasts, notifications and log entries on the page, dialogs read once they have settled.

        A dialog can be on the page before its header is drawn (seen: the body "Select kernel for: …"
        without the title "Select Kernel"), so a dialog is read until it reads the same twice, half a
        second apart: the report quotes what the learner sees.
        """
        seen = self.page.evaluate(JS_INTERRUPTIONS)
        deadline = time.monotonic() + DIALOG_SETTLE
        while seen["dialogs"] and time.monotonic() < deadline:
            time.sleep(0.5)
            again = self.page.evaluate(JS_INTERRUPTIONS)
            if not again["dialogs"] or again["dialogs"] == seen["dialogs"]:
                break  # gone again (it is still reported), or the same twice: settled
            seen = again
        return seen

    def check_interruptions(self, moment: str) -> None:
        seen = self.interruptions()
        for text in seen["dialogs"]:
            self.report.problem("notebook", f"a dialog interrupts the learner {moment}: {text!r}")
        for text in seen["toasts"]:
            self.report.problem("notebook", f"a notification pops up {moment}: {text!r}")
        if seen["notifications"] and not seen["toasts"]:
            self.report.problem("notebook", f"{seen['notifications']} notification(s) posted {moment}")
        self.check_log("notebook", moment, seen)
        if seen["dialogs"]:
            raise NotebookAbort(f"dialog {seen['dialogs'][0]!r}")

    def check_log(self, where: str, moment: str, seen: dict | None = None, index: int | None = None) -> bool:
        """Report new entries of the kernel log console: output or errors no cell shows (callbacks)."""
        entries = (seen or self.page.evaluate(JS_INTERRUPTIONS))["log"]
        if entries <= self.log_entries:
            return False
        new, self.log_entries = entries - self.log_entries, entries
        self.report.problem(
            where,
            f"{moment}: {new} new message(s) in the kernel log console: output or an error of a widget "
            "callback that reached no cell, so the learner does not see it in the widget",
            index,
        )
        return True

    def read_log_console(self, save_to: Path | None = None) -> None:
        """Open the log console (the learner's view of it) and say what it holds."""
        if not self.log_entries:
            return
        self.page.locator(".jp-LogConsoleStatusItem").click()
        panel = self.page.locator(".jp-LogConsolePanel")
        panel.wait_for(state="visible", timeout=10_000)
        time.sleep(0.5)
        entries = panel.evaluate(
            r"""(p) => Array.from(p.querySelectorAll('.jp-OutputArea-output')).map((o) => ({
                mime: o.dataset.mimeType || '', text: (o.innerText || '').trim()}))"""
        )
        said = []
        for entry in entries:
            if entry["mime"].startswith("image/"):
                said.append(f"a figure ({entry['mime']})")
                continue
            lines = [line for line in entry["text"].splitlines() if line.strip()]
            errors = [line for line in lines if re.match(r"\s*(\w+\.)*\w*(Error|Exception)\b", line)]
            said.append((errors or lines or ["(empty)"])[-1].strip()[:200])
        if save_to is not None:
            save_to.parent.mkdir(parents=True, exist_ok=True)
            save_to.write_text(panel.inner_text())
        self.report.problem(
            "notebook", f"the kernel log console holds {len(entries)} entr(ies): " + " | ".join(said)[:800]
        )

    def wait(self, predicate: Any, timeout: float, what: str, interval: float = 0.5) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            seen = self.interruptions()
            if seen["dialogs"]:
                self.report.problem(
                    "notebook", f"a dialog appeared while waiting for {what}: {seen['dialogs']}"
                )
                raise NotebookAbort(f"dialog while waiting for {what}")
            if time.monotonic() > deadline:
                return value
            time.sleep(interval)

    def menu(self, menu: str, command: str) -> None:
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        item = self.page.locator(f".lm-Menu .lm-Menu-item[data-command='{command}']")
        item.wait_for(state="visible", timeout=10_000)
        item.click()

    def kernel_idle(self) -> bool:
        s = self.state()
        return s["status"] == "idle" and "Python" in s["kernel"]

    def wait_idle(self, timeout: float = 60, settle: float = 0.6) -> bool:
        """Idle now and still idle `settle` seconds later."""

        def idle_twice() -> bool:
            if not self.kernel_idle():
                return False
            time.sleep(settle)
            return self.kernel_idle()

        return bool(self.wait(idle_twice, timeout, "the kernel to go idle"))

    # ---- steps
    def open(self, timeout: float = 120) -> None:
        workspace = f"t{uuid.uuid4().hex[:10]}"
        url = f"{self.lab.url}/lab/workspaces/{workspace}/tree/{quote(self.rel_path)}"
        url += f"?reset&token={self.lab.token}"
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        self.page.wait_for_selector(CELLS, timeout=timeout * 1000)
        if not self.wait(self.kernel_idle, timeout, "the kernel to start"):
            s = self.state()
            self.report.problem("notebook", f"the kernel did not start within {timeout:.0f} s (saw {s})")
            raise NotebookAbort("no kernel")
        time.sleep(1.5)  # news/update toasts and dialogs appear shortly after start-up
        self.check_interruptions("when the lesson opens")
        self.cells = self.page.evaluate(JS_CELLS, list(WIDGET_FAILURE_TEXTS))
        stale = [c["index"] for c in self.cells if c["widgetFailures"]]
        if stale:
            self.report.notes.append(
                f"before running, {len(stale)} cell(s) show stored widget outputs as "
                f"{self.cells[stale[0]]['widgetFailures']} (no widget state is saved; they come alive on run)"
            )

    def run_all(self, timeout: float) -> None:
        self.menu("Edit", "editmenu:clear-all")
        self.wait(lambda: all(p in (None, "[ ]:") for p in self.state()["prompts"]), 10, "outputs to clear")
        self.menu("Run", "runmenu:run-all")
        start = time.monotonic()

        def finished() -> bool:
            s = self.state()
            code = [p for p in s["prompts"] if p is not None]
            if s["status"] != "idle" or any(p == "[*]:" for p in code):
                return False
            time.sleep(1.0)
            s2 = self.state()
            return s2["status"] == "idle" and s2["prompts"] == s["prompts"]

        done = self.wait(finished, timeout, "Run All to finish", interval=1.0)
        self.report.seconds["run all"] = time.monotonic() - start
        self.cells = self.page.evaluate(JS_CELLS, list(WIDGET_FAILURE_TEXTS))
        if not done:
            running = [c for c in self.cells if c["prompt"] == "[*]:"]
            at = self.where(running[0]["index"]) if running else "notebook"
            self.report.problem(
                at,
                f"Run All had not finished after {timeout:.0f} s (still running here)",
                running[0]["index"] if running else None,
            )
            raise NotebookAbort("run all timed out")
        # Empty code cells are never executed; every other code cell must show its execution count.
        for c in self.cells:
            if c["code"] and c["first"].strip() and not re.fullmatch(r"\[\d+\]:", c["prompt"]):
                self.report.problem(
                    self.where(c["index"]),
                    f"not executed by Run All (prompt {c['prompt']!r}); an earlier error?",
                    c["index"],
                )

    def wait_widgets_alive(self, timeout: float = 30) -> None:
        def alive() -> bool:
            self.cells = self.page.evaluate(JS_CELLS, list(WIDGET_FAILURE_TEXTS))
            return not any("Loading widget..." in c["widgetFailures"] for c in self.cells)

        self.wait(alive, timeout, "widgets to render")

    def check_dom(self) -> None:
        self.cells = self.page.evaluate(JS_CELLS, list(WIDGET_FAILURE_TEXTS))
        for c in self.cells:
            where = self.where(c["index"])
            i = c["index"]
            for err in c["errors"]:
                self.report.problem(where, f"error output: {err}", i)
            if c["widgetFailures"]:
                self.report.problem(where, f"widget not rendered, the output shows {c['widgetFailures']}", i)
            if c["broken"]:
                self.report.problem(where, f"{c['broken']} of {c['images']} image(s) did not load", i)
            if c["figureText"]:
                self.report.problem(
                    where, "a figure is shown as text ('<Figure size …>') instead of an image", i
                )
        self.report.images = sum(c["images"] for c in self.cells)

    def save(self, disk_path: Path, timeout: float = 30) -> dict | None:
        before = disk_path.stat().st_mtime_ns if disk_path.exists() else 0
        self.menu("File", "docmanager:save")

        def saved() -> bool:
            return disk_path.exists() and disk_path.stat().st_mtime_ns != before and not self.state()["dirty"]

        if not self.wait(saved, timeout, "the notebook to be saved"):
            self.report.problem("notebook", f"saving the notebook did not finish within {timeout:.0f} s")
            return None
        time.sleep(0.3)
        return json.loads(disk_path.read_text())

    def check_saved(self, saved: dict, stored_images: int | None) -> None:
        png_total = 0
        for index, cell in enumerate(saved.get("cells", [])):
            if cell.get("cell_type") != "code":
                continue
            outputs = cell.get("outputs", [])
            where = self.where(index)
            for out in outputs:
                if out.get("output_type") == "error":
                    self.report.problem(
                        where, f"error output: {out.get('ename')}: {out.get('evalue')}"[:400], index
                    )
            png_total += sum(1 for o in outputs if "image/png" in o.get("data", {}))
            # a widget's bundle also holds a PNG of its first view, for pages without a kernel
            # (attn_lib.widgets._common); JupyterLab shows the live widget instead, never both
            pngs = sum(
                1
                for o in outputs
                if "image/png" in o.get("data", {})
                and "application/vnd.jupyter.widget-view+json" not in o.get("data", {})
            )
            widget_views = sum(
                1 for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
            )
            dom = next((c for c in self.cells if c["index"] == index), None)
            if dom is None:
                continue
            if pngs and dom["topPng"] < pngs:
                self.report.problem(
                    where,
                    f"{pngs} figure(s) in the cell's outputs, but {dom['topPng']} image(s) on the page",
                    index,
                )
            if widget_views:
                self.report.widget_cells += 1
                if not dom["widgets"]:
                    self.report.problem(
                        where, "the cell outputs a widget but no widget is rendered on the page", index
                    )
        if stored_images is not None and png_total < stored_images:
            self.report.problem(
                "notebook",
                f"the stored notebook has {stored_images} figure(s), the browser run produced {png_total}",
            )

    # ---- widgets
    def snapshots(self) -> list[str]:
        return self.page.evaluate(JS_SNAPSHOTS)

    def operate_widgets(self, change_timeout: float = 30) -> None:
        """Operate every control (up to MAX_CONTROLS_PER_KIND of a kind) of every widget cell."""
        widget_cells = [c["index"] for c in self.cells if c["code"] and c["widgets"]]
        for index in widget_cells:
            cell = self.page.locator(CELLS).nth(index)
            area = cell.locator(".jp-Cell-outputArea")
            cell.scroll_into_view_if_needed()
            time.sleep(0.3)
            todo = [
                (kind, k)
                for kind, (widget, _) in CONTROLS.items()
                for k in range(min(area.locator(widget).count(), MAX_CONTROLS_PER_KIND))
            ]
            if any(kind != "button" for kind, _ in todo):
                # plain buttons (e.g. "check") only when the cell has nothing else
                todo = [(kind, k) for kind, k in todo if kind != "button"]
            if not todo:
                self.report.notes.append(f"{self.where(index)}: widget output without controls")
                continue
            for kind, k in todo:
                self.operate(index, area, kind, k, change_timeout)

    def _control(self, area: Any, kind: str, k: int) -> Any | None:
        """The k-th control of this kind, as the element a person operates; None if it cannot be."""
        widget_selector, inner = CONTROLS[kind]
        widget = area.locator(widget_selector).nth(k)
        control = widget.locator(inner) if inner else widget
        if kind == "slider":
            control = control.last  # the upper handle of a range slider
        else:
            control = control.first
        if not control.count():
            return None
        with contextlib.suppress(Exception):
            control.scroll_into_view_if_needed(timeout=5_000)
        disabled = control.evaluate(
            "(e) => !!(e.disabled || e.closest('[disabled]') || e.getAttribute('aria-disabled') === 'true')"
        )
        if disabled or not control.is_visible():
            return None
        return control

    def operate(
        self, index: int, area: Any, kind: str, k: int, change_timeout: float, keyboard: bool = False
    ) -> None:
        """Operate one control (by mouse and keys, or with `keyboard` by keys alone) and check its effect."""
        where = self.where(index)
        self.wait_idle()
        control = self._control(area, kind, k)
        if control is None:
            return
        before = self.snapshots()
        cells = self.page.evaluate(JS_CELLS, list(WIDGET_FAILURE_TEXTS))
        if any(c["index"] == index and c["errors"] for c in cells):
            change_timeout = min(change_timeout, 5)  # already broken: the same error again is no change
        label = self._label(control)
        try:
            act = self._act_by_keys if keyboard else self._act
            action = act(kind, control, area) if keyboard else act(kind, control)
            action = action.replace("\xa0", " ")
        except Exception as err:  # Playwright timeouts and the like: say what could not be done
            how = "with the keyboard alone" if keyboard else ""
            self.report.problem(
                where, f"could not operate the {kind} {label!r} {how}: {err}".splitlines()[0][:300], index
            )
            return
        if keyboard:
            kind = f"{kind} (keyboard only)"
        changed: list[int] = []
        log_before = self.log_entries

        def output_changed() -> bool:
            now = self.snapshots()
            changed[:] = [i for i, (a, b) in enumerate(zip(before, now, strict=False)) if a != b]
            if self.page.evaluate(JS_INTERRUPTIONS)["log"] > log_before and self.kernel_idle():
                return True  # the callback failed outside any cell: no use waiting for a change
            return bool(changed) and self.kernel_idle()

        self.wait(output_changed, change_timeout, f"the output of the {kind} to change")
        self.wait_idle()
        # A redraw may clear first and draw a moment later: settle before judging.
        time.sleep(0.5)
        now = self.snapshots()
        changed[:] = [i for i, (a, b) in enumerate(zip(before, now, strict=False)) if a != b]
        images_before, images_now = _image_count(before[index]), _image_count(now[index])
        if images_before and not images_now:
            self.report.problem(
                where,
                f"after the {kind} {label!r} ({action}) the cell's figure is gone "
                f"({images_before} image(s) before, none after)",
                index,
            )
        where_changed = ", ".join("this cell" if i == index else f"cell {i + 1}" for i in changed)
        self.report.controls.append(ControlUse(where, kind, label, action, where_changed))
        if not changed:
            self.report.problem(
                where,
                f"operating the {kind} {label!r} ({action}) changed no output "
                f"(waited up to {change_timeout:.0f} s)",
                index,
            )
        cells = self.page.evaluate(JS_CELLS, list(WIDGET_FAILURE_TEXTS))
        for c in cells:
            if c["index"] in changed or c["index"] == index:
                for err in c["errors"]:
                    self.report.problem(
                        self.where(c["index"]), f"after the {kind} {label!r} ({action}): {err}", c["index"]
                    )
                if c["widgetFailures"]:
                    self.report.problem(
                        self.where(c["index"]),
                        f"after the {kind} {label!r}: widget shows {c['widgetFailures']}",
                        c["index"],
                    )
        self.check_log(where, f"after the {kind} {label!r} ({action})", index=index)

    @staticmethod
    def _label(control: Any) -> str:
        return control.evaluate(
            r"""(e) => {
            const box = e.closest(
                '.widget-inline-hbox, .widget-inline-vbox, .widget-radio, .widget-toggle-buttons');
            const lab = box && box.querySelector('.widget-label');
            let t = lab ? lab.textContent : '';
            const clean = (x) => x.replace(/[\u200b]/g, '').replace(/\u00a0/g, ' ').trim();
            if (!t.replace(/[\u200b\s]/g, '')) {
                const span = box && box.querySelector('.widget-label-basic span');
                t = span ? span.textContent : (e.textContent || e.getAttribute('title') || '');
            }
            return clean(t);
        }"""
        )

    def _act(self, kind: str, control: Any) -> str:
        if kind == "slider":
            readout = control.locator(
                "xpath=ancestor::*[contains(@class,'widget-slider')][1]//*[contains(@class,'widget-readout')]"
            ).first
            old = readout.text_content() if readout.count() else control.get_attribute("aria-valuenow")
            control.click()
            vertical = control.get_attribute("aria-orientation") == "vertical"
            up, down = ("ArrowUp", "ArrowDown") if vertical else ("ArrowRight", "ArrowLeft")
            for _ in range(3):
                control.press(up)
            new = readout.text_content() if readout.count() else control.get_attribute("aria-valuenow")
            if new == old:  # already at the top: go the other way
                for _ in range(3):
                    control.press(down)
                new = readout.text_content() if readout.count() else control.get_attribute("aria-valuenow")
                return f"click handle, {down} x3: {old} -> {new}"
            return f"click handle, {up} x3: {old} -> {new}"
        if kind in ("dropdown", "select"):
            options = [o.replace("\xa0", " ") for o in control.locator("option").all_text_contents()]
            current = control.evaluate("(e) => e.selectedIndex")
            target = (current + 1) % len(options) if len(options) > 1 else 0
            control.select_option(index=target)
            return f"pick {options[current] if 0 <= current < len(options) else '?'!r} -> {options[target]!r}"
        if kind in ("checkbox", "toggle", "button", "toggle-buttons", "radio"):
            if kind == "radio":
                radios = control.locator("xpath=ancestor::*[contains(@class,'widget-radio-box')][1]//input")
                target = next(
                    (radios.nth(i) for i in range(radios.count()) if not radios.nth(i).is_checked()), control
                )
                text = target.evaluate("(e) => e.parentElement.textContent.trim()")
                target.click()
                return f"click {text!r}"
            text = control.text_content() or ""
            control.click()
            if kind == "checkbox":
                return f"click -> {'checked' if control.is_checked() else 'unchecked'}"
            return f"click {text.strip()!r}"
        if kind in ("text", "textarea"):
            old = control.input_value()
            control.click()
            if control.get_attribute("type") == "number":
                control.press("ArrowUp")
                control.press("Enter")
            else:
                words = old.split()
                suffix = f" {words[0]}" if len(words) > 1 else (old[:1] or "a")
                control.press("Control+End" if kind == "textarea" else "End")
                control.type(suffix, delay=30)
                control.press("Tab" if kind == "textarea" else "Enter")
            return f"type: {old!r} -> {control.input_value()!r}"
        raise ValueError(f"unknown control kind {kind!r}")

    # ---- keyboard alone
    def operate_by_keyboard(self, change_timeout: float = 30) -> None:
        """One control, reached with Tab / Shift+Tab from its cell's output (no click), changed by keys."""
        for kind in KEYBOARD_PREFERENCE:
            for c in self.cells:
                if not (c["code"] and c["widgets"]):
                    continue
                area = self.page.locator(CELLS).nth(c["index"]).locator(".jp-Cell-outputArea")
                control = self._control(area, kind, 0) if area.locator(CONTROLS[kind][0]).count() else None
                if control is not None:
                    if kind in ("dropdown", "select") and _type_ahead_target(control) is None:
                        continue  # every option starts with the same letter: type-ahead cannot move it
                    self.operate(c["index"], area, kind, 0, change_timeout, keyboard=True)
                    return
        if self.report.widget_cells:
            self.report.problem("notebook", "no control of the lesson can be operated with the keyboard")

    def _tab_to(self, area: Any, control: Any) -> int:
        """Focus the cell's output area (no click), press Tab until `control` has focus; return the count."""
        focused = "(e) => e === document.activeElement || e.contains(document.activeElement)"
        area.evaluate("(a) => { a.setAttribute('tabindex', '-1'); a.focus(); }")
        presses = 0
        while presses < 40:
            self.page.keyboard.press("Tab")
            presses += 1
            if control.evaluate(focused):
                break
        else:
            active = self.page.evaluate("() => document.activeElement && document.activeElement.outerHTML")
            raise RuntimeError(f"Tab from the cell's output never reached it (focus on {str(active)[:120]})")
        # and back: Tab moves on, Shift+Tab must return to it, when the Tab stays in this output. For
        # the output's last stop Tab leaves it for the next cell's editor, where Shift+Tab is
        # JupyterLab's dedent: then come back the way we came.
        self.page.keyboard.press("Tab")
        if area.evaluate("(a) => a.contains(document.activeElement)"):
            self.page.keyboard.press("Shift+Tab")
            if not control.evaluate(focused):
                raise RuntimeError("Shift+Tab after Tab did not return the focus to it")
        else:
            area.evaluate("(a) => a.focus()")
            for _ in range(presses):
                self.page.keyboard.press("Tab")
            if not control.evaluate(focused):
                raise RuntimeError("Tab from the cell's output reached it once, not twice")
        return presses

    def _act_by_keys(self, kind: str, control: Any, area: Any) -> str:
        n = self._tab_to(area, control)
        keys = self.page.keyboard
        how = f"Tab x{n}, Tab, Shift+Tab, "
        if kind == "slider":
            old = control.get_attribute("aria-valuenow")
            vertical = control.get_attribute("aria-orientation") == "vertical"
            up, down = ("ArrowUp", "ArrowDown") if vertical else ("ArrowRight", "ArrowLeft")
            for _ in range(3):
                keys.press(up)
            if control.get_attribute("aria-valuenow") == old:
                for _ in range(3):
                    keys.press(down)
                return how + f"{down} x3: {old} -> {control.get_attribute('aria-valuenow')}"
            return how + f"{up} x3: {old} -> {control.get_attribute('aria-valuenow')}"
        if kind in ("dropdown", "select"):
            # Type-ahead: a focused, closed <select> picks the next option starting with the typed
            # character (ArrowDown opens Chromium's picker instead, and the value stays).
            options = [o.replace("\xa0", " ") for o in control.locator("option").all_text_contents()]
            current = control.evaluate("(e) => e.selectedIndex")
            target = _type_ahead_target(control) or ""
            keys.type(target[:1] or " ")
            now = control.evaluate("(e) => e.selectedIndex >= 0 ? e.options[e.selectedIndex].text : ''")
            now = now.replace("\xa0", " ")
            was = options[current] if 0 <= current < len(options) else "?"
            return how + f"type-ahead {target[:1]!r}: {was!r} -> {now!r}"
        if kind == "radio":
            before = control.evaluate("(e) => e.value")
            keys.press("ArrowDown")
            if control.evaluate("(e) => e.value") == before:
                keys.press("ArrowUp")
            active = self.page.evaluate("() => document.activeElement.value")
            return how + f"arrow key: {before!r} -> {active!r}"
        if kind in ("checkbox", "toggle-buttons", "toggle", "button"):
            keys.press("Space")
            return how + "Space"
        if kind in ("text", "textarea"):
            old = control.input_value()
            if control.get_attribute("type") == "number":
                keys.press("ArrowUp")
            else:  # input of the kind the widget expects: a digit to digits, else a short word
                suffix = old[:1] if old.isdigit() else " a"
                keys.press("End")
                keys.type(suffix, delay=30)
            keys.press("Tab" if kind == "textarea" else "Enter")
            return how + f"type: {old!r} -> {control.input_value()!r}"
        raise ValueError(f"unknown control kind {kind!r}")

    # ---- labels and the audit
    def check_labels(self) -> None:
        """Every control in the outputs has a visible label: its description or a label element beside it."""
        found = a11y.label_findings(self.page)
        for f in found:
            if not f["label"]:
                options = f" (its options: {', '.join(f['options'])})" if f["options"] else ""
                self.report.problem(
                    self.where(f["cell"]),
                    f"a {f['kind']} has no visible label: no description and no label element beside it"
                    + options,
                    f["cell"],
                )
        self.report.notes.append(f"{len(found)} control(s), {sum(bool(f['label']) for f in found)} labelled")

    def audit(self, save_to: Path | None = None, rules: list[str] | None = None) -> list:
        """axe-core on the output areas; a violation not in the allow-list is a problem of its cell."""
        violations = a11y.run_axe(self.page, rules)
        if save_to is not None:
            save_to.parent.mkdir(parents=True, exist_ok=True)
            save_to.write_text(a11y.violations_json(Path(self.rel_path).stem, violations))
        for v in violations:
            if v.allowed is None:
                at = self.where(v.cell) if v.cell >= 0 else "notebook"
                self.report.problem(at, str(v), v.cell if v.cell >= 0 else None)
        allowed = sum(v.allowed is not None for v in violations)
        self.report.notes.append(
            f"axe under {self.theme()}{' (' + ', '.join(rules) + ')' if rules else ''}: "
            f"{len(violations)} violation(s) in the outputs, {allowed} allowed"
        )
        return violations

    def check_contrast(self, save_to: Path | None = None) -> list[dict]:
        theme = self.theme()
        findings = a11y.contrast_findings(self.page)
        if save_to is not None:
            save_to.parent.mkdir(parents=True, exist_ok=True)
            save_to.write_text(json.dumps({"theme": theme, "texts": findings}, indent=1, ensure_ascii=False))
        for f in a11y.low_contrast(findings):
            self.report.problem(
                self.where(f["cell"]),
                f"{f['what']} text {f['text']!r} ({f['tag']}) has contrast {f['ratio']}:1 "
                f"({f['fg']} on {f['bg']}) under {theme}, below {a11y.MIN_CONTRAST}:1",
                f["cell"],
            )
        self.report.notes.append(f"contrast under {theme}: {a11y.contrast_summary(findings)}")
        return findings

    def check_figures_opaque(self) -> list[dict]:
        """No figure lets the page show through it: read each image's pixels in the page."""
        figures = a11y.figure_findings(self.page)
        for f in a11y.transparent(figures):
            self.report.problem(
                self.where(f["cell"]),
                f"a {f['width']}x{f['height']} figure is {100 * f['share']:.0f} % transparent: the page "
                f"({f['page']} under {self.theme()}) shows through it; draw it on an opaque facecolor",
                f["cell"],
            )
        return figures

    # ---- themes
    def theme(self) -> str:
        return self.page.evaluate("() => document.body.dataset.jpThemeName || ''")

    def set_theme(self, theme: str, timeout: float = 30) -> None:
        """Switch JupyterLab's theme as a learner does (Settings > Theme); JupyterLab saves the setting."""
        if self.theme() == theme:
            return
        self.page.keyboard.press("Escape")
        self.page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile("^Settings$")).click()
        self.page.locator(".lm-Menu .lm-Menu-item", has_text=re.compile("^Theme$")).first.hover()
        label = self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(theme)}$"))
        self.page.locator(".lm-Menu-item[data-command='apputils:change-theme']").filter(
            has=label
        ).first.click()
        self.page.wait_for_function(
            f"() => document.body.dataset.jpThemeName === {json.dumps(theme)}", timeout=timeout * 1000
        )
        time.sleep(0.5)  # the theme's style sheet is applied after the attribute changes

    def dark_pass(self, screenshot: Path | None = None) -> None:
        """The outputs under JupyterLab Dark: contrast, opaque figures, a screenshot.

        Not axe again: its color-contrast rule finds no applicable text in JupyterLab's output areas
        (tried: #bbb text on white is neither passed nor flagged), so a11y's own contrast check does it.
        """
        try:
            self.set_theme(DARK_THEME)
            self.check_contrast(
                screenshot.with_name(screenshot.stem + "-contrast.json") if screenshot else None
            )
            self.check_figures_opaque()
            if screenshot is not None:
                self.screenshot(screenshot)
        finally:
            self.set_theme(LIGHT_THEME)

    # ---- screenshots
    def failure_screenshot(self, path: Path) -> None:
        """The window as the learner sees it, scrolled to the first cell with a problem."""
        with contextlib.suppress(Exception):
            self.read_log_console(path.with_name(path.stem + "-log.txt"))
        first = min((p.index for p in self.report.problems if p.index is not None), default=None)
        if first is not None:
            with contextlib.suppress(Exception):
                self.page.locator(CELLS).nth(first).scroll_into_view_if_needed(timeout=5_000)
                time.sleep(0.5)
        self.screenshot(path, full=False)

    def screenshot(self, path: Path, full: bool = True, max_height: int = 16000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        viewport = self.page.viewport_size
        try:
            if full and viewport:
                extra = int(self.page.evaluate(JS_EXTRA_HEIGHT) or 0)
                if extra:
                    height = min(viewport["height"] + extra, max_height)
                    self.page.set_viewport_size({"width": viewport["width"], "height": height})
                    time.sleep(1.0)
                    # Content below the old fold is laid out only now: measure once more.
                    extra = int(self.page.evaluate(JS_EXTRA_HEIGHT) or 0)
                    if extra:
                        height = min(height + extra, max_height)
                        self.page.set_viewport_size({"width": viewport["width"], "height": height})
                        time.sleep(0.5)
            self.page.screenshot(path=str(path))
        finally:
            if viewport:
                self.page.set_viewport_size(viewport)


def _image_count(snapshot: str) -> int:
    return len([h for h in snapshot.partition("|")[2].split(",") if h])


def check_notebook(
    page: Any,
    lab: JupyterLab,
    rel_path: str,
    *,
    results_dir: Path = RESULTS,
    stored_images: int | None = None,
    run_timeout: float = 180,
    change_timeout: float = 30,
    accessibility: bool = False,
) -> NotebookReport:
    """Open `rel_path` (relative to the server's root) like a learner, run it, check it, move its widgets."""
    report = NotebookReport(rel_path)
    checker = NotebookChecker(page, lab, rel_path, report)
    name = Path(rel_path).stem
    for stale in results_dir.glob(f"{name}-failure*"):
        stale.unlink()
    start = time.monotonic()
    try:
        checker.open()
        report.seconds["open"] = time.monotonic() - start
        checker.run_all(run_timeout)
        checker.wait_widgets_alive()
        checker.check_dom()
        saved = checker.save(lab.root_dir / rel_path)
        if saved is not None:
            checker.check_saved(saved, stored_images)
        checker.screenshot(results_dir / f"{name}.png")
        if accessibility:
            t = time.monotonic()
            checker.check_labels()
            checker.check_contrast(results_dir / f"{name}-contrast.json")
            checker.audit(save_to=results_dir / f"{name}-axe.json")
            report.seconds["audit"] = time.monotonic() - t
        t = time.monotonic()
        checker.operate_widgets(change_timeout)
        report.seconds["widgets"] = time.monotonic() - t
        if accessibility:
            t = time.monotonic()
            checker.operate_by_keyboard(change_timeout)
            report.seconds["keyboard"] = time.monotonic() - t
            t = time.monotonic()
            checker.dark_pass(results_dir / f"{name}-dark.png")
            report.seconds["dark"] = time.monotonic() - t
        checker.check_interruptions("after running the lesson and moving its widgets")
        if report.widget_cells and not report.controls:
            report.problem(
                "notebook", "the lesson shows widgets, but none has a control a learner can operate"
            )
    except NotebookAbort as err:
        report.notes.append(f"checking stopped early: {err}")
    except Exception as err:
        report.problem(
            "notebook", f"the browser check crashed: {type(err).__name__}: {err}".splitlines()[0][:500]
        )
    finally:
        if report.problems or checker.log_entries:
            with contextlib.suppress(Exception):
                checker.failure_screenshot(results_dir / f"{name}-failure.png")
        report.seconds["total"] = time.monotonic() - start
        lab.shutdown_sessions(rel_path)
    return report


def count_stored_images(ipynb: Path) -> int:
    nb = json.loads(ipynb.read_text())
    return sum(
        1
        for cell in nb.get("cells", [])
        if cell.get("cell_type") == "code"
        for out in cell.get("outputs", [])
        if "image/png" in out.get("data", {})
    )
