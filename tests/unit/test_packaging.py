"""The installed package carries its styles: a wheel installed outside any venv or checkout finds every .tcss,
and after a `pip install --user` the installed `safeattach tui` opens the console on a terminal."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import sysconfig
import termios
import time
import zipfile
from pathlib import Path

import pytest
from repo_paths import REPO

CONSOLE_TITLE = b"safeattach"  # the Header's title (SafeAttachApp.TITLE) ...
FIRST_SCREEN = b"Processes"  # ... and the first screen's sub-title, both in the first frames
CSS_ERROR = b"unable to read CSS file"  # textual's StylesheetError when a .tcss is missing


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (built,) = wheels.glob("safeattach-*.whl")
    return built


def test_the_wheel_carries_no_test_fixture(wheel: Path) -> None:
    """The fake engine and the screenshot generator are tests' (tests/tui), never the product's."""
    names = zipfile.ZipFile(wheel).namelist()
    assert "app/tui/app.py" in names and "app/tui/tcss/app.tcss" in names
    assert [n for n in names if n.startswith("tests/") or "fake" in n or "screenshot" in n] == []


def test_the_wheels_version_is_the_one_the_command_prints(wheel: Path) -> None:
    """`--version` prints app.__version__ without reading the installed metadata: the wheel must carry that one."""
    archive = zipfile.ZipFile(wheel)
    (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
    versions = [line.split(":", 1)[1].strip() for line in archive.read(metadata).decode().splitlines()
                if line.startswith("Version:")]
    printed = subprocess.run([sys.executable, "-m", "app.cli", "--version"], cwd=REPO, capture_output=True,
                             text=True, check=True, timeout=60).stdout
    assert printed == f"safeattach {versions[0]}\n" and versions == [wheel.name.split("-")[1]]


def test_wheel_installed_with_target_finds_its_styles(tmp_path: Path, wheel: Path) -> None:
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = ("import json, sys; sys.path.insert(0, sys.argv[1]); from app.tui import styles; "
             "print(styles.STYLES_DIR); print(json.dumps(sorted(p.name for p in styles.STYLES_DIR.glob('*.tcss'))))")
    out = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=tmp_path, capture_output=True, text=True,
                         check=True, timeout=60)
    where, names = out.stdout.splitlines()
    assert Path(where) == target / "app" / "tui" / "tcss"
    assert json.loads(names) == sorted(p.name for p in (REPO / "styles").glob("*.tcss"))


def base_interpreter() -> str:
    """The interpreter this venv was made from (not a venv itself): `--user` installs are refused in a venv."""
    base = getattr(sys, "_base_executable", sys.executable)
    check = "import sys; print(sys.prefix == sys.base_prefix)"
    alone = subprocess.run([base, "-I", "-c", check], capture_output=True, text=True, check=True, timeout=60)
    assert alone.stdout.strip() == "True", f"{base} is a venv's interpreter: no --user install there"
    return base


def user_env(home: Path, userbase: Path) -> dict[str, str]:
    """A throwaway user: its own HOME and user base. The dependencies are this venv's (its site-packages on
    PYTHONPATH, which runs no .pth file, so the editable install of the checkout stays out of sight)."""
    return {
        "PATH": f"{userbase / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "PYTHONUSERBASE": str(userbase),
        "PYTHONPATH": sysconfig.get_paths()["purelib"],
        "PIP_BREAK_SYSTEM_PACKAGES": "1",  # a Debian interpreter (PEP 668) refuses --user installs without it
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "LANG": "C.UTF-8",
        "TERM": "xterm-256color",
    }


def read_until(fd: int, proc: subprocess.Popen[bytes], wanted: list[bytes], deadline: float) -> bytes:
    """What the terminal showed until every wanted text appeared, the child exited or the deadline passed."""
    out = b""
    while not all(w in out for w in wanted) and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, min(0.5, deadline - time.monotonic())))
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def test_user_install_opens_the_console(tmp_path: Path, wheel: Path) -> None:
    home, userbase = tmp_path / "home", tmp_path / "userbase"
    home.mkdir()
    env = user_env(home, userbase)
    base = base_interpreter()
    subprocess.run([base, "-m", "pip", "install", "-q", "--user", "--no-deps", str(wheel)],
                   env=env, cwd=tmp_path, check=True, capture_output=True, timeout=300)
    script = userbase / "bin" / "safeattach"
    assert script.is_file()
    probe = "import app, app.tui.styles as s; print(app.__file__); print(s.STYLES_DIR)"
    where = subprocess.run([base, "-c", probe], env=env, cwd=home, capture_output=True, text=True, check=True,
                           timeout=60).stdout.split()
    user_site = Path(subprocess.run([base, "-m", "site", "--user-site"], env=env, capture_output=True, text=True,
                                    check=True, timeout=60).stdout.strip())
    assert user_site.is_relative_to(userbase)
    assert [Path(w) for w in where] == [user_site / "app" / "__init__.py", user_site / "app" / "tui" / "tcss"]

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen([str(script), "tui"], stdin=follower, stdout=follower, stderr=follower, env=env,
                            cwd=home, start_new_session=True)
    os.close(follower)
    try:
        shown = read_until(leader, proc, [CONSOLE_TITLE, FIRST_SCREEN], time.monotonic() + 60)
        assert CONSOLE_TITLE in shown and FIRST_SCREEN in shown, shown[-2000:]
        os.write(leader, b"q")
        shown += read_until(leader, proc, [b"never shown"], time.monotonic() + 30)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: only the console we started
            proc.wait(timeout=30)
        os.close(leader)
    assert CSS_ERROR not in shown
    assert code == 0, shown[-2000:]
