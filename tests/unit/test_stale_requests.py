"""Collecting what a killed client left in a target's /tmp/safeattach-UID/: only entries that are ours and
dead are removed (unit level, on a private directory; the live SIGKILL case is in test_orphan_requests.py)."""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from core.procfs import start_ticks_of
from core.stale_requests import RequestName, collect_stale, is_lock_name, request_name

ME = (os.getpid(), start_ticks_of(os.getpid()) or 0)


def _dead_pid() -> tuple[int, int]:
    proc = subprocess.Popen(["true"])
    ticks = start_ticks_of(proc.pid) or 1
    proc.wait(timeout=10)
    return proc.pid, ticks


def _name(deadline: float, client: tuple[int, int], target: tuple[int, int]) -> str:
    return f"r{int(deadline)}-{client[0]}-{client[1]}-{target[0]}-{target[1]}-{'a' * 16}"


def _req(base: Path, name: str, mode: int = 0o700) -> Path:
    d = base / name
    d.mkdir()
    os.chmod(d, mode)
    (d / "loader.py").write_text("# loader\n")
    return d


def test_request_name_round_trips() -> None:
    name = request_name(10.0, 123, 456)
    parsed = RequestName.parse(name)
    assert parsed is not None
    assert parsed.client == ME and parsed.target == (123, 456)
    assert time.time() + 10 < parsed.deadline <= time.time() + 13
    assert RequestName.parse(name + "ppp") == parsed  # fault-padded ids still parse
    assert RequestName.parse("0123456789abcdef") is None


# the patterns the hand-written parsers replace (re's \d, limited to the ASCII digits our names use)
REQUEST_RE = re.compile(r"r(\d+)-(\d+)-(\d+)-(\d+)-(\d+)-[0-9a-f]{16}p*", re.ASCII)
LOCK_RE = re.compile(r"attach-(\d+)-(\d+)\.lock", re.ASCII)
_pieces = st.sampled_from(["r", "-", "p", "a", "f", "g", "0", "7", "12", "attach-", ".lock", "lock", ".",
                           "0123456789abcdef", "deadbeefcafe0123", "\u0663", "\u00b2", " ", "\n", "R", "A"])
_field = st.text("0123456789", min_size=1, max_size=3) | st.text("0123456789-ap\u0663", max_size=4)
_token = st.tuples(st.text("0123456789abcdef", min_size=15, max_size=17)
                   | st.text("0123456789abcdefgp", max_size=18), st.text("p", max_size=2)).map("".join)
_names = (st.lists(_pieces, max_size=16).map("".join)
          | st.tuples(st.sampled_from(["r", "r", "", "R"]), st.lists(_field, min_size=4, max_size=6), _token)
          .map(lambda t: t[0] + "-".join([*t[1], t[2]]))
          | st.tuples(st.lists(st.text("0123456789", min_size=1, max_size=3), min_size=5, max_size=5),
                      st.text("0123456789abcdef", min_size=16, max_size=16), st.text("p", max_size=2))
          .map(lambda t: "r" + "-".join([*t[0], t[1] + t[2]]))
          | st.tuples(_field, _field).map(lambda t: f"attach-{t[0]}-{t[1]}.lock"))


@settings(max_examples=600, deadline=None)
@given(_names)
def test_request_names_parse_as_the_pattern_did(name: str) -> None:
    m = REQUEST_RE.fullmatch(name)
    expected = None if m is None else RequestName(int(m[1]), (int(m[2]), int(m[3])), (int(m[4]), int(m[5])))
    assert RequestName.parse(name) == expected


@settings(max_examples=600, deadline=None)
@given(_names)
def test_lock_names_match_as_the_pattern_did(name: str) -> None:
    assert is_lock_name(name) == (LOCK_RE.fullmatch(name) is not None)


def test_generated_names_parse() -> None:
    name = request_name(5.0, 1, 2)
    assert REQUEST_RE.fullmatch(name) and RequestName.parse(name) is not None
    assert RequestName.parse(f"r1-2-3-4-5-{'0' * 16}") == RequestName(1, (2, 3), (4, 5))
    assert RequestName.parse(f"r1-2-3-4-\u0665-{'0' * 16}") is None  # a non-ASCII digit: not one of ours
    assert is_lock_name("attach-12-34.lock") and not is_lock_name("attach-12-\u00b2.lock")
    assert not is_lock_name("attach-12.lock") and not is_lock_name("attach--1.lock")


def test_only_ours_and_dead_entries_are_collected(tmp_path: Path) -> None:
    base = tmp_path / "safeattach-0"
    base.mkdir(mode=0o700)
    uid = os.getuid()
    dead = _dead_pid()
    this_target = ME  # a live target (this process): its running requests must be left alone
    past, future = time.time() - 5, time.time() + 60
    stale = _req(base, _name(past, dead, this_target))
    gone_target = _req(base, _name(past, dead, dead))
    live_client = _req(base, _name(past, ME, this_target))
    other_live_target = _req(base, _name(past, dead, (1, start_ticks_of(1) or 0)))
    orphan = _req(base, _name(future, dead, this_target))
    running = _req(base, _name(past, dead, this_target).replace("a" * 16, "d" * 16))
    (running / "claim").touch()  # the loader started, no report yet: it may still be running the script
    finished = _req(base, _name(past, dead, this_target).replace("a" * 16, "e" * 16))
    (finished / "claim").touch()
    (finished / "result.json").write_text("{}")
    withdrawn = _req(base, _name(past, dead, this_target).replace("a" * 16, "f" * 16))
    (withdrawn / "claim").write_bytes(b"withdrawn")  # the client withdrew it, then died before cleaning up
    wrong_mode = _req(base, _name(past, dead, this_target).replace("a" * 16, "b" * 16), 0o755)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    link = base / _name(past, dead, this_target).replace("a" * 16, "c" * 16)
    link.symlink_to(outside)
    unheld = base / "attach-1-2.lock"
    unheld.touch(mode=0o600)
    held = base / "attach-3-4.lock"
    held.touch(mode=0o600)
    fifo = base / "attach-5-6.lock"
    os.mkfifo(fifo, 0o600)
    own = base / f"attach-{ME[0]}-{ME[1]}.lock"
    own.touch(mode=0o600)
    lines: list[str] = []
    base_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    holder = os.open(held, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        got = collect_stale(base_fd, uid, this_target, own.name, lines.append)
    finally:
        os.close(holder)
        os.close(base_fd)
    assert set(got.requests) == {stale.name, gone_target.name, finished.name, withdrawn.name}
    assert running.exists()
    assert got.withdrawn == (orphan.name,)
    assert got.locks == (unheld.name,)
    assert not stale.exists() and not gone_target.exists() and not unheld.exists()
    assert live_client.exists() and other_live_target.exists() and wrong_mode.exists()
    assert (orphan / "claim").exists() and (orphan / "loader.py").exists()  # a no-op now, collected later
    assert link.is_symlink() and (outside / "keep").exists()  # never followed
    assert held.exists() and fifo.exists() and own.exists()
    assert any(line.startswith("collected 4 stale requests") for line in lines), lines  # said in one line


def test_a_debugpy_request_with_its_gate_directory_is_really_collected(tmp_path: Path) -> None:
    """A debugpy request keeps the adapter's gate in a subdirectory: collecting it removes the whole request
    (it used to be reported as collected, left in place, and reported again on every later run); a link
    inside is removed, never followed; many collections are said in one line."""
    base = tmp_path / "safeattach-0"
    base.mkdir(mode=0o700)
    dead = _dead_pid()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    requests = []
    for i in range(5):
        d = _req(base, _name(time.time() - 5, dead, ME).replace("a" * 16, f"{i:x}" * 16))
        gate = d / "gate"
        gate.mkdir(mode=0o700)
        (gate / "sitecustomize.py").write_text("# gate\n")
        (gate / "escape").symlink_to(outside)
        requests.append(d)
    lines: list[str] = []
    base_fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY)
    try:
        first = collect_stale(base_fd, os.getuid(), ME, "none.lock", lines.append)
        again: list[str] = []
        second = collect_stale(base_fd, os.getuid(), ME, "none.lock", again.append)
    finally:
        os.close(base_fd)
    assert set(first.requests) == {d.name for d in requests}
    assert not any(d.exists() for d in requests)
    assert (outside / "keep").exists()
    assert len(lines) == 1 and lines[0].startswith("collected 5 stale requests"), lines
    assert second.requests == () and again == []
