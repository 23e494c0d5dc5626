"""Human CLI output for people at an 80-column terminal: `safeattach log` keeps every failure kind whole and
fits the width, and every human output ends with a newline. Runs the real CLI; no target needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from repo_paths import REPO

from core.errors import FailureKind

LONGEST_KINDS = sorted(FailureKind, key=lambda k: -len(k.value))[:6]


def cli(state: Path, *args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SAFEATTACH_STATE_DIR": str(state),
           "SAFEATTACH_CACHE_DIR": str(state / "cache"), "COLUMNS": str(columns), "LANG": "C.UTF-8", "TZ": "UTC"}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=120, env=env)


def write_log(state: Path) -> None:
    """Attempts that failed with the longest kinds, at the longest sites, with many flags and wide PIDs."""
    records = [
        {"time": 1767225600.0 + 3600 * 20 * i, "pid": 4_194_304 - i, "target_version": "0x30f00a0",
         "method": "legacy", "payload": "debugpy", "thread_selection": "main", "result": "failed",
         "failure_site": "legacyAwait", "failure_kind": kind.value,
         "flags": ["override_used", "legacy", "ptrace", "legacy_fallback", "target_died"], "elapsed_ms": 12345.6}
        for i, kind in enumerate(LONGEST_KINDS)
    ]
    records.append({"time": "2026-01-05T10:00:00Z", "pid": 7, "target_version": "0x30e00f0", "method": "auto",
                    "payload": "exec", "thread_selection": "main", "result": "ok", "elapsed_ms": 3.25})
    state.mkdir(parents=True, exist_ok=True)
    (state / "attempts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.mark.parametrize("columns", [80, 60])
def test_log_at_narrow_widths_shows_whole_failure_kinds(tmp_path: Path, columns: int) -> None:
    write_log(tmp_path)
    out = cli(tmp_path, "log", columns=columns)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert all(len(line) <= columns for line in lines), [line for line in lines if len(line) > columns]
    words = out.stdout.split()
    for kind in LONGEST_KINDS:
        assert kind.value in words, (kind.value, out.stdout)  # a whole word, never "noSuc…"
    assert "…" not in out.stdout
    assert lines[0] == f"{len(LONGEST_KINDS) + 1} attempt(s)"
    # local times, the date once per day: 6 attempts 20 hours apart span 5 days (the ok one is on the 5th)
    headings = [line for line in lines if line.startswith("2026-")]
    assert headings == [f"2026-01-0{day} (local time, UTC+00:00)" for day in range(1, 6)], lines
    assert lines[2].startswith("00:00:00  PID 4194304  3.15.0a0  debugpy  legacy  main"), lines
    assert "10:00:00  PID 7  3.14.0  exec  auto  main  ok  3.2 ms" in lines


def test_log_json_is_unchanged_by_the_width(tmp_path: Path) -> None:
    write_log(tmp_path)
    out = cli(tmp_path, "log", "--json", columns=20)
    assert [json.loads(line).get("failure_kind") for line in out.stdout.splitlines()][:2] == [
        LONGEST_KINDS[0].value, LONGEST_KINDS[1].value]


def _no_such_pid() -> str:
    pid = 4_000_000
    while Path(f"/proc/{pid}").exists():
        pid += 1
    return str(pid)


@pytest.mark.parametrize("args", [
    ("log",), ("log", "--stats"), ("log", "--failures"), ("--help",), ("exec", "--help"),
    ("exec", "PID", "SCRIPT"), ("attach", "PID"), ("info", "PID"), ("stack", "PID"), ("doctor", "PID"),
    ("tasks", "PID"), ("attach", "PID", "--listen", "nonsense"),
])
def test_every_human_output_ends_with_a_newline(tmp_path: Path, args: tuple[str, ...]) -> None:
    write_log(tmp_path)
    script = tmp_path / "noop.py"
    script.write_text("pass\n")
    pid = _no_such_pid()
    argv = [pid if a == "PID" else str(script) if a == "SCRIPT" else a for a in args]
    out = cli(tmp_path, *argv)
    assert out.stdout or out.stderr, out
    for name, stream in (("stdout", out.stdout), ("stderr", out.stderr)):
        assert not stream or stream.endswith("\n"), (name, stream[-200:])
    if "PID" in args and "--listen" not in args:
        assert out.returncode == 10 and "noSuchProcess" in out.stdout + out.stderr, out
