"""The interpreter the bundled demo targets run on: a 3.15/3.14/3.13 on PATH first, else the provisioned sid
chroot's (as root), judged with fake interpreters (the real targets and the chroot: tests/live/test_demo_live.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app import demo
from app.demo import candidates, find_interpreter


def fake_python(bin_dir: Path, name: str, body: str) -> Path:
    """A `pythonX.Y` on PATH that is a shell script: it ignores its arguments and runs body."""
    bin_dir.mkdir(exist_ok=True)
    exe = bin_dir / name
    exe.write_text(f"#!/bin/sh\n{body}\n")
    exe.chmod(0o755)
    return exe


def fake_root(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "sid"
    (root / "usr/bin").mkdir(parents=True)
    for name in names:
        (root / "usr/bin" / name).write_text("")
    return root


@pytest.mark.skipif(shutil.which("chroot") is None, reason="no chroot(8) to offer the provisioned interpreters")
def test_a_python_on_path_is_preferred_over_the_provisioned_ones(tmp_path: Path) -> None:
    exe = fake_python(tmp_path / "bin", "python3.14", "echo 3.14")
    root = fake_root(tmp_path, "python3.15", "python3.13")
    found = candidates(str(tmp_path / "bin"), root, as_root=True)
    assert [(c.label, c.argv) for c in found] == [
        ("python3.14", (str(exe),)),
        ("python3.15 (sid chroot)", ("chroot", str(root), "/usr/bin/python3.15")),
        ("python3.13 (sid chroot)", ("chroot", str(root), "/usr/bin/python3.13")),
    ]
    chosen = find_interpreter(str(tmp_path / "bin"), root, as_root=True)
    assert chosen is not None and chosen.argv == (str(exe),) and not chosen.chrooted


def test_a_python_that_is_not_the_version_it_is_named_after_is_passed_over(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    fake_python(bin_dir, "python3.15", "echo 'pyenv: python3.15: command not found' >&2; exit 127")  # a shim
    fake_python(bin_dir, "python3.14", "echo 3.11")  # a link to the wrong interpreter
    exe = fake_python(bin_dir, "python3.13", "echo 3.13")
    chosen = find_interpreter(str(bin_dir), fake_root(tmp_path), as_root=False)
    assert chosen is not None and (chosen.label, chosen.argv, chosen.version) == ("python3.13", (str(exe),), "3.13")


def test_without_root_the_provisioned_interpreters_are_no_candidates(tmp_path: Path) -> None:
    root = fake_root(tmp_path, "python3.15", "python3.14", "python3.13")
    assert candidates(str(tmp_path / "empty"), root, as_root=False) == []
    assert find_interpreter(str(tmp_path / "empty"), root, as_root=False) is None


def test_python_m_app_demo_says_when_there_is_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The README's first command provisions the interpreters only when this exits 1."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("SAFEATTACH_TARGETS", str(tmp_path / "targets"))
    assert demo.main() == 1
    err = capsys.readouterr().err
    assert "no python3.15, python3.14, python3.13 on PATH" in err and str(tmp_path / "targets" / "sid") in err
    fake_python(tmp_path / "empty", "python3.14", "echo 3.14")
    assert demo.main() == 0
    assert capsys.readouterr().out == f"demo: targets run on python3.14: {tmp_path / 'empty' / 'python3.14'}\n"
