"""The loader, run by real interpreters (3.9 … 3.15) exactly as the target would run it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from live_targets import INTERPRETERS, Interpreter, chroot_command, require

from core.errors import FailureKind, SafeAttachError
from core.loader import StagedRequest, render_loader, stage
from core.payloads.contract import PayloadSpec
from core.privdir import create_private_dir
from core.requests import CancelToken

RUN_OK = """
import sys
def run(params, ctx):
    return {"echo": params["x"], "has_main": "__main__" in globals(), "dir": ctx["private_dir"],
            "data": open(ctx["private_dir"] + "/data.txt").read()}
"""
RUN_RAISE = """
def run(params, ctx):
    raise ValueError("boom " + params["x"])
"""


def _run_in(interp: Interpreter, req: StagedRequest, *, as_nobody: bool = False) -> None:
    """Run the loader the way PEP 768 does: read the file, exec it in a fresh namespace."""
    code = (
        "import sys; before=(list(sys.path), 'safeattach' in sys.modules); p=sys.argv[1]; "
        "exec(compile(open(p,'rb').read(),p,'exec'),{}); "
        "assert (list(sys.path), 'safeattach' in sys.modules) == before"
    )
    argv = chroot_command(interp.root, [interp.argv0, "-c", code, req.script_path])
    if as_nobody:
        argv = ["chroot", "--userspec=65534:65534", *argv[1:]] if interp.chrooted else [
            "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    out = subprocess.run(argv, capture_output=True, timeout=60, check=True)
    assert out.stdout == b""  # the loader never prints to the target's stdout


@pytest.mark.parametrize("name", ["3.9", "3.11", "3.13", "3.14", "3.15"])
def test_loader_runs_payload_and_reports(name: str) -> None:
    interp = require(name)
    root = str(interp.root)
    req = stage(root, 0, 0, PayloadSpec("t", RUN_OK, {"x": 42}, {"data.txt": b"hello"}), expires_in=60)
    try:
        _run_in(interp, req)
        res = req.wait(5, CancelToken())
        assert res.ok, res.error
        assert res.result == {"echo": 42, "has_main": False, "dir": req.pdir.target_path, "data": "hello"}
        assert res.native_thread_id > 0
        # the loader removed payload, params and data files; only loader, claim and result remain
        assert sorted(os.listdir(req.pdir.host_path)) == ["claim", "loader.py", "result.json"]
    finally:
        req.cleanup()
    assert not os.path.exists(req.pdir.host_path)


def test_loader_reports_exception_with_traceback() -> None:
    interp = require("3.14")
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", RUN_RAISE, {"x": "y"}), expires_in=60)
    try:
        _run_in(interp, req)
        res = req.wait(5)
        assert not res.ok
        assert res.error == "ValueError: boom y"
        assert "raise ValueError" in res.traceback and "payload.py" in res.traceback
        assert req.report["exc_type"] == "ValueError"
    finally:
        req.cleanup()


def test_second_delivery_is_a_noop() -> None:
    interp = require("3.14")
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", RUN_OK, {"x": 1}, {"data.txt": b""}), expires_in=60)
    try:
        _run_in(interp, req)
        first = Path(req.pdir.host_file("result.json")).read_bytes()
        _run_in(interp, req)
        assert Path(req.pdir.host_file("result.json")).read_bytes() == first
    finally:
        req.cleanup()


def test_expired_request_never_fires() -> None:
    interp = require("3.14")
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", RUN_OK, {"x": 1}), expires_in=-1)
    try:
        _run_in(interp, req)
        assert req.poll() is None
        assert not req.claimed
        with pytest.raises(SafeAttachError) as err:
            req.wait(0.05)
        assert err.value.kind is FailureKind.TIMEOUT_RUN
    finally:
        req.cleanup()


def test_withdrawn_request_never_fires() -> None:
    interp = require("3.14")
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", RUN_OK, {"x": 1}), expires_in=60)
    try:
        assert req.withdraw()
        _run_in(interp, req)
        assert req.poll() is None
    finally:
        req.cleanup()


def test_wait_is_cancellable() -> None:
    req = stage("/", 0, 0, PayloadSpec("t", RUN_OK), expires_in=60)
    cancel = CancelToken()
    cancel.cancel()
    try:
        with pytest.raises(SafeAttachError) as err:
            req.wait(30, cancel)
        assert err.value.kind is FailureKind.CANCELLED
    finally:
        req.cleanup()


@pytest.mark.parametrize("report", [b"[" * 100_000, b'{"ok": true} {}', b"\xff", b"[1, 2]",
                                    b'{"ok": true, "result": ' + b'{"a": ' * 40 + b"1" + b"}" * 41],
                         ids=["nested-too-deep", "extra-data", "not-utf8", "not-an-object", "deeper-than-32"])
def test_a_damaged_report_is_a_payload_error(report: bytes) -> None:
    """The target's uid can write the report: a damaged one is a payload failure that says so, never an internal
    error (a RecursionError) or a traceback; a well-formed one with fields of the wrong type: the next test."""
    req = stage("/", 0, 0, PayloadSpec("t", RUN_OK), expires_in=60)
    try:
        Path(req.pdir.host_file("result.json")).write_bytes(report)
        with pytest.raises(SafeAttachError) as err:
            req.wait(5)
        assert err.value.kind is FailureKind.PAYLOAD
        assert "report" in err.value.message
    finally:
        req.cleanup()


@pytest.mark.parametrize("tid", ['"x"', "[1]", "true", "Infinity", "NaN", "-5", "1e300", "{}", "null"])
def test_a_report_with_a_bad_thread_id_reads_as_unknown(tid: str) -> None:
    req = stage("/", 0, 0, PayloadSpec("t", RUN_OK), expires_in=60)
    try:
        report = '{"ok": false, "exc_type": [1], "thread_name": {"a": 1}, "native_thread_id": ' + tid + "}"
        Path(req.pdir.host_file("result.json")).write_text(report)
        res = req.wait(5)
        assert (res.ok, res.native_thread_id, res.thread_name, res.error) == (False, 0, "{'a': 1}", "[1]: ")
    finally:
        req.cleanup()


@pytest.mark.parametrize(("claim", "known"), [
    ('{"native_thread_id": 42, "started": 1700000000.5}', {"native_thread_id": 42, "started": 1700000000.5}),
    ('{"native_thread_id": true, "started": ' + "9" * 401 + "}", {}),
    ('{"native_thread_id": "x", "started": true}', {}),
    ('{"native_thread_id": [1], "started": Infinity}', {}),
    ('{"started": NaN}', {}),
    ("[1]", {}),
])
def test_a_claims_thread_and_start_are_kept_only_when_plausible(claim: str, known: dict[str, object]) -> None:
    """The target's uid can write the claim, which a timed-out attempt quotes (how long the script has run)."""
    req = stage("/", 0, 0, PayloadSpec("t", RUN_OK), expires_in=60)
    try:
        Path(req.pdir.host_file("claim")).write_text(claim)
        assert req.running_since() == known
    finally:
        req.cleanup()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another uid")
def test_private_dir_owned_by_target_uid_and_loader_runs_as_that_uid() -> None:
    interp = require("3.14")
    spec = PayloadSpec("t", RUN_OK, {"x": 3}, {"data.txt": b"x"})
    req = stage(str(interp.root), 65534, 65534, spec, expires_in=60)
    try:
        for path in (os.path.dirname(req.pdir.host_path), req.pdir.host_path):
            st = os.lstat(path)
            assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 65534, 0o700)
        st = os.lstat(req.host_script_path)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (65534, 0o600)
        _run_in(interp, req, as_nobody=True)
        assert req.wait(5).ok
    finally:
        req.cleanup()


def test_private_dir_refuses_symlinked_base(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "elsewhere").mkdir(mode=0o700)
    os.symlink(tmp_path / "elsewhere", tmp_path / "tmp" / f"safeattach-{os.geteuid()}")
    with pytest.raises(SafeAttachError) as err:
        create_private_dir(str(tmp_path), os.geteuid(), os.getegid())
    assert "symlink" in err.value.message
    assert os.listdir(tmp_path / "elsewhere") == []


def test_private_dir_refuses_foreign_or_loose_base(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "tmp" / f"safeattach-{os.geteuid()}").mkdir(mode=0o755)
    os.chmod(tmp_path / "tmp" / f"safeattach-{os.geteuid()}", 0o755)
    with pytest.raises(SafeAttachError) as err:
        create_private_dir(str(tmp_path), os.geteuid(), os.getegid())
    assert "mode 755" in err.value.message


def test_script_path_length_is_exposed() -> None:
    req = stage("/", os.geteuid(), os.getegid(), PayloadSpec("t", RUN_OK), expires_in=60)
    try:
        assert req.script_path.startswith(f"/tmp/safeattach-{os.geteuid()}/")
        assert req.script_path_len == len(req.script_path.encode()) < 512
        assert time.time() < req.deadline
    finally:
        req.cleanup()


def test_all_loader_interpreters_known() -> None:
    assert {"3.9", "3.14", "3.15"} <= set(INTERPRETERS)


NO_JSON = """
import sys
def run(params, ctx):
    return {"json_loaded": "json" in sys.modules, "re_loaded": "re" in sys.modules, "params": params}
"""


@pytest.mark.parametrize("name", ["3.9", "3.14"])
def test_the_loader_imports_no_json_in_the_target(name: str) -> None:
    """json (with re under it) costs a fresh target about 8 ms of every confirmed exec: the params come as a
    literal in the loader, the report is written by its own `_dumps`."""
    interp = require(name)
    params = {"s": "é\u2028\x00\"\\", "n": [1, 2.5, None, True, {"k": -3}]}
    req = stage(str(interp.root), 0, 0, PayloadSpec("t", NO_JSON, params, {}), expires_in=60)
    try:
        _run_in(interp, req)
        res = req.wait(5, CancelToken())
        assert res.ok, res.error
        assert res.result == {"json_loaded": False, "re_loaded": False, "params": params}
    finally:
        req.cleanup()


def _loader_dumps() -> Any:
    namespace: dict[str, Any] = {}
    source = render_loader("/nonexistent", "r", 0.0, [], "{}")  # expired: running it does nothing
    source = source.replace("del _safeattach_loader, _write_report, _dumps, _INF, _ESCAPES", "")
    exec(compile(source, "loader.py", "exec"), namespace)
    return namespace["_dumps"]


_DUMPS = _loader_dumps()
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.just(object) | st.just(1j)
_keys = st.text() | st.integers() | st.floats() | st.booleans() | st.none()
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.dictionaries(_keys, inner, max_size=4), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_the_loaders_json_writer_agrees_with_json_dumps(value: object) -> None:
    """What the client reads back (json.loads of the bytes the loader writes) is what json.dumps would have
    given it; compared through json.dumps, which spells NaN (unequal to itself) the same on both sides."""
    ours = json.loads(_DUMPS(value).encode("utf-8", "backslashreplace").decode("utf-8"))
    theirs = json.loads(json.dumps(value, default=repr))
    assert json.dumps(ours) == json.dumps(theirs)


@pytest.mark.parametrize("text", ["plain", "é ü \u2028 \U0001f600", "\udcff lone", "\ud83d\ude00", "\x00\x1f\x7f\"\\",
                                  "\n\t\r\b\f"])
def test_the_loaders_strings_read_back_exactly(text: str) -> None:
    data = _DUMPS({text: [text]}).encode("utf-8", "backslashreplace")
    assert not any(ord(c) < 32 for c in data.decode("utf-8"))  # control characters are escaped
    assert json.loads(data.decode("utf-8")) == json.loads(json.dumps({text: [text]}))


def test_the_loaders_json_writer_refuses_what_json_dumps_refuses() -> None:
    with pytest.raises(TypeError):
        json.dumps({(1, 2): 0}, default=repr)
    with pytest.raises(TypeError):
        _DUMPS({(1, 2): 0})
