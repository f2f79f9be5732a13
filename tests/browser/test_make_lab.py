"""`make lab` as the README says: 127.0.0.1 only, a token required, the lessons served, no news.

The test runs `make lab PORT=<free port> JUPYTER_ARGS=--no-browser` from the repository root in
its own process group, reads the URL it prints, checks the running server from outside, and
stops the whole group with os.killpg.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest

from .lab import REPO, free_port, http, stop_process_group

pytestmark = pytest.mark.browser

ROOT_NOTICE = "make lab: running as root, so JupyterLab is started with --allow-root."
URL_LINE = re.compile(r"make lab: JupyterLab on (http://127\.0\.0\.1:(\d+))/lab\?token=([0-9a-f]+)\s*$")


class MakeLab:
    def __init__(self, port: int, env: dict[str, str]) -> None:
        self.port = port
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            ["make", "lab", f"PORT={port}", "JUPYTER_ARGS=--no-browser"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group: make and JupyterLab stop together
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def wait_for_url(self, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = URL_LINE.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"`make lab` printed no URL within {timeout:.0f} s; its output:\n{self.output()}"
        )

    def stop(self) -> None:
        stop_process_group(self.proc, signal.SIGTERM, timeout=30)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None and not self._reader.is_alive():
            self.proc.stdout.close()


@pytest.fixture(scope="module")
def make_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeLab]:
    if shutil.which("make") is None:
        pytest.skip("`make` is not installed")
    state = tmp_path_factory.mktemp("make-lab")
    env = dict(os.environ)
    env.pop("JUPYTER_TOKEN", None)  # the Makefile's own random token is what we test
    # As typed in a fresh shell, not as a sub-make of `make test`.
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "MAKE_TERMOUT", "MAKE_TERMERR"):
        env.pop(var, None)
    # Keep the developer's own JupyterLab settings/workspaces out of it (and untouched by it).
    for var in ("JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "JUPYTER_RUNTIME_DIR"):
        env[var] = str(state / var.lower())
    lab = MakeLab(free_port(), env)
    try:
        yield lab
    finally:
        lab.stop()


@pytest.fixture(scope="module")
def lab_url(make_lab: MakeLab) -> tuple[str, str]:
    # The first `make lab` on a fresh clone installs .venv first (about a minute).
    match = make_lab.wait_for_url(timeout=600)
    url, port, token = match.group(1), int(match.group(2)), match.group(3)
    assert port == make_lab.port, f"asked for PORT={make_lab.port}, `make lab` printed {url}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if http("GET", f"{url}/api/status", token=token)[0] == 200:
                return url, token
        except OSError:
            pass
        assert make_lab.proc.poll() is None, f"`make lab` exited:\n{make_lab.output()}"
        time.sleep(0.5)
    raise AssertionError(f"JupyterLab from `make lab` did not answer within 120 s:\n{make_lab.output()}")


def test_make_lab_prints_the_root_notice_once_as_root(make_lab: MakeLab, lab_url: tuple[str, str]) -> None:
    notices = [line for line in make_lab.lines if ROOT_NOTICE in line]
    expected = 1 if os.geteuid() == 0 else 0
    assert len(notices) == expected, f"root notice printed {len(notices)} times:\n{make_lab.output()}"
    token = lab_url[1]
    assert len(token) == 48, f"the token should be 24 random bytes in hex, got {token!r}"


def listening_addresses(port: int) -> set[str]:
    import psutil

    return {
        c.laddr.ip
        for c in psutil.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
    }


def non_loopback_addresses() -> list[tuple[int, str]]:
    import psutil

    found = []
    for addresses in psutil.net_if_addrs().values():
        for a in addresses:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                found.append((socket.AF_INET, a.address))
            elif a.family == socket.AF_INET6 and a.address not in ("::1",) and "%" not in a.address:
                found.append((socket.AF_INET6, a.address))
    return found


def test_make_lab_listens_on_127_0_0_1_only(make_lab: MakeLab, lab_url: tuple[str, str]) -> None:
    port = make_lab.port
    assert listening_addresses(port) == {"127.0.0.1"}, (
        f"sockets listening on port {port}: {listening_addresses(port)}"
    )
    reachable = []
    for family, address in non_loopback_addresses():
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            try:
                s.connect((address, port))
            except OSError:
                continue
            reachable.append(address)
    assert not reachable, f"JupyterLab from `make lab` answers on non-loopback address(es) {reachable}"


def test_make_lab_refuses_requests_without_the_token(lab_url: tuple[str, str]) -> None:
    url = lab_url[0]
    for path in ("/api/contents", "/api/contents/lessons", "/api/sessions"):
        status, _ = http("GET", f"{url}{path}")
        assert status == 403, f"GET {path} without a token answered {status}, expected 403"
        status, _ = http("GET", f"{url}{path}", token="0" * 48)
        assert status == 403, f"GET {path} with a wrong token answered {status}, expected 403"
    status, location = http("GET", f"{url}/lab")
    assert status == 302 and "/login" in location, f"GET /lab without a token: {status} {location!r}"


def test_make_lab_serves_the_lessons_with_the_token(lab_url: tuple[str, str]) -> None:
    url, token = lab_url
    status, listing = http("GET", f"{url}/api/contents/lessons", token=token)
    assert status == 200, f"GET /api/contents/lessons with the token answered {status}"
    served = {item["name"] for item in listing["content"]}
    in_repo = {p.name for p in (REPO / "lessons").glob("[0-9][0-9]_*.ipynb")}
    assert in_repo <= served, f"lessons not served: {sorted(in_repo - served)}"
    status, page = http("GET", f"{url}/lab?token={token}")
    assert status == 200 and "jupyter-config-data" in page, f"GET /lab?token=… answered {status}"
    # `make lab` opens the course at lesson 00.
    status, location = http("GET", f"{url}/", token=token)
    target = location.split("?")[0]
    assert status == 302 and target.endswith("/lab/tree/lessons/00_start_here.ipynb"), (status, location)
    if (REPO / "lessons" / "00_start_here.ipynb").exists():
        assert http("GET", f"{url}/api/contents/lessons/00_start_here.ipynb?content=0", token=token)[0] == 200


def test_make_lab_switches_news_and_update_checks_off(lab_url: tuple[str, str]) -> None:
    url, token = lab_url
    status, settings = http(
        "GET", f"{url}/lab/api/settings/@jupyterlab/apputils-extension:notification", token=token
    )
    assert status == 200, f"settings API answered {status}"
    # What the browser uses: the schema defaults (changed by overrides.json) under the user's settings.
    composite = {name: prop.get("default") for name, prop in settings["schema"]["properties"].items()}
    composite.update(settings.get("settings") or {})
    assert composite.get("fetchNews") == "false", f"news are not switched off: {composite}"
    assert composite.get("checkForUpdates") is False, f"update checks are not switched off: {composite}"


def test_make_lab_stops_cleanly(make_lab: MakeLab, lab_url: tuple[str, str]) -> None:
    url, token = lab_url
    make_lab.stop()
    assert make_lab.proc.poll() is not None, "make lab is still running after SIGTERM to its process group"
    try:
        os.killpg(make_lab.proc.pid, 0)
        leftover = True
    except ProcessLookupError:
        leftover = False
    assert not leftover, "processes of `make lab` are left after stopping it"
    with pytest.raises(OSError):
        http("GET", f"{url}/api/status", token=token, timeout=3)
