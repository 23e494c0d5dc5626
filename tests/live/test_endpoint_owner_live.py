"""The debugger endpoint belongs to its user: after root's `safeattach attach` on a root process, another local
uid cannot get a DAP session on any port of the debug server (closed before any DAP byte), while root's own
client, and the target's own user, still can; the server stops after its idle timeout and the program goes on."""

from __future__ import annotations

import os
import time

from dap_client import DapClient
from debugpy_attach import CLI, REPO, Session, cli_attach, drive_session
from live_targets import SID, chroot_command, require
from other_user import HOSTILE_UID, run_as_other_user

from core.dap.reattach import listening_ports
from core.procfs import start_ticks_of

TARGET_USER = 64124  # the target's own (unprivileged) user in the second test

# another user's DAP client: connect to each port, send `initialize`, report what came back
DAP_PROBE = """
import json, socket, sys
body = json.dumps({"seq": 1, "type": "request", "command": "initialize",
                   "arguments": {"clientID": "hostile", "adapterID": "debugpy"}}).encode()
for port in sys.argv[1:]:
    try:
        s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    except OSError as exc:
        print(port, "refused", exc.errno)
        continue
    s.settimeout(10)
    try:
        s.sendall(b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body)
        data = s.recv(65536)
        print(port, "dap" if data else "closed", data[:60])
    except OSError as exc:
        print(port, "closed", exc.errno)
    s.close()
"""


def _server_ports(pid: int, listener_pid: int) -> list[int]:
    return sorted(listening_ports(listener_pid) | listening_ports(pid))


def test_another_user_cannot_drive_roots_debug_session(session: Session) -> None:
    target, prog = session.spawn("3.14")
    code, _, outcome, stderr = cli_attach(session, target.pid)
    assert code == 0, (outcome.message, stderr)
    r = outcome.result
    port, listener = int(r["connect"]["port"]), int(r["debugpy"]["listener_pid"])
    ports = _server_ports(target.pid, listener)
    assert port in ports and len(ports) >= 2  # debugpy's client port and the one pydevd talks to
    report = run_as_other_user(DAP_PROBE, *map(str, ports))
    lines = report.splitlines()
    assert len(lines) == len(ports), report
    assert all(line.split()[1] in ("closed", "refused") for line in lines), report  # no DAP byte on any port
    assert r["access"] == {"allowed_uids": [0], "idle_timeout": 600.0, "open_to_network": False}
    assert r["warnings"] == []
    drive_session(port, prog, target)  # root's own client still gets the whole session
    assert target.alive()


def test_the_targets_own_user_may_connect_and_others_may_not(session: Session) -> None:
    interp = require("3.14")
    prog = session.program(interp.root)
    argv = chroot_command(interp.root, [interp.argv0, prog])
    argv.insert(1, f"--userspec={TARGET_USER}:{TARGET_USER}")
    target = session.targets.spawn(argv, interp, timeout=30)
    assert os.stat(f"/proc/{target.pid}").st_uid == TARGET_USER
    code, _, outcome, stderr = cli_attach(session, target.pid)
    assert code == 0, (outcome.message, stderr)
    port = int(outcome.result["connect"]["port"])
    assert outcome.result["access"]["allowed_uids"] == [0, TARGET_USER]
    assert run_as_other_user(DAP_PROBE, str(port), uid=TARGET_USER).split()[1] == "dap"
    assert run_as_other_user(DAP_PROBE, str(port)).split()[1] in ("closed", "refused")
    assert HOSTILE_UID != TARGET_USER
    with SID.joinpath(prog.lstrip("/")).open() as f:
        assert "work(i)" in f.read()


def test_the_server_stops_after_its_idle_timeout_and_the_program_goes_on(session: Session) -> None:
    target, prog = session.spawn("3.14")
    code, _, outcome, stderr = cli_attach(session, target.pid, "--idle-timeout", "3")
    assert code == 0, (outcome.message, stderr)
    r = outcome.result
    port, listener = int(r["connect"]["port"]), int(r["debugpy"]["listener_pid"])
    ticks = start_ticks_of(listener)
    with DapClient("127.0.0.1", port, timeout=20) as dap:  # a connected client keeps it up past the timeout
        assert dap.initialize()["success"]
        time.sleep(4.5)
        assert start_ticks_of(listener) == ticks
    left = time.monotonic()
    deadline = left + 15
    while start_ticks_of(listener) == ticks:
        assert time.monotonic() < deadline, "the debug server did not stop after its idle timeout"
        time.sleep(0.1)
    stopped_after = time.monotonic() - left
    assert 2.0 <= stopped_after <= 6.0, stopped_after
    assert port not in listening_ports(target.pid)
    first = int(target.wait_for("tick ", timeout=10).split()[1])
    assert int(target.wait_for("tick ", timeout=10).split()[1]) > first  # the program goes on
    assert target.alive()
    assert prog
    # attaching again says what happened: debugpy cannot listen twice in one process
    code, _, again, _ = cli_attach(session, target.pid)
    assert code == 50 and again.kind is not None and again.kind.value == "payload"
    assert "has stopped, after its idle timeout" in again.message and "restart the program" in again.message
    assert target.alive()


def test_over_ssh_the_cli_prints_the_forwarding_command(session: Session) -> None:
    import re
    import subprocess

    target, _ = session.spawn("3.14")
    env = {**os.environ, "SSH_CONNECTION": "192.0.2.7 50022 192.0.2.1 2222"}
    proc = subprocess.run([*CLI, "attach", str(target.pid), "--idle-timeout", "30"], capture_output=True, text=True,
                          timeout=90, cwd=REPO, env=env)
    assert proc.returncode == 0, proc.stderr
    port = int(re.search(r"Connect any DAP client to 127\.0\.0\.1:(\d+)", proc.stdout)[1])  # type: ignore[index]
    assert f"ssh -N -L {port}:127.0.0.1:{port} -p 2222 192.0.2.1" in proc.stdout
    assert "Only uid 0 may connect; the server stops 30s after its last client leaves." in proc.stdout


def _send(stream: object, msg: dict[str, object]) -> None:
    import json

    body = json.dumps(msg).encode()
    stream.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)  # type: ignore[attr-defined]
    stream.flush()  # type: ignore[attr-defined]


_PENDING: dict[int, bytes] = {}  # bytes read past the last message, per fd: two messages often share a read


def _read_message(fd: int, timeout: float = 30) -> dict[str, object]:
    import json
    import selectors

    buf = _PENDING.pop(fd, b"")
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            if b"\r\n\r\n" in buf:
                head, rest = buf.split(b"\r\n\r\n", 1)
                length = int(head.split(b":")[1])
                if len(rest) >= length:
                    _PENDING[fd] = rest[length:]
                    return json.loads(rest[:length])  # type: ignore[no-any-return]
            left = deadline - time.monotonic()
            assert left > 0 and sel.select(left), f"no DAP message within {timeout}s: {buf!r}"
            chunk = os.read(fd, 65536)
            assert chunk, f"stdout closed: {buf!r}"
            buf += chunk


def test_dap_command_is_a_stdio_adapter(session: Session) -> None:
    """`safeattach dap PID` for editors that launch an adapter: DAP on stdin/stdout, progress on stderr."""
    import subprocess

    target, _ = session.spawn("3.14")
    proc = subprocess.Popen([*CLI, "dap", str(target.pid)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=REPO)
    session.clis.append(proc)
    assert proc.stdin is not None and proc.stdout is not None
    _send(proc.stdin, {"seq": 1, "type": "request", "command": "initialize",
                       "arguments": {"clientID": "stdio-test", "adapterID": "debugpy"}})
    seen = []
    while True:  # debugpy sends an output event first; the first line on stdout is DAP, never a progress line
        try:
            msg = _read_message(proc.stdout.fileno())
        except AssertionError as exc:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"{exc}; the dap command's stderr: {err.decode(errors='replace')[-3000:]}") from None
        seen.append(msg)
        if msg.get("type") == "response":
            break
    assert seen[-1]["command"] == "initialize" and seen[-1]["success"] is True, seen
    _send(proc.stdin, {"seq": 2, "type": "request", "command": "disconnect", "arguments": {}})
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert proc.stderr is not None and b'"event": "Outcome"' in proc.stderr.read()
    assert target.alive()


HAMMER = """
import socket, sys, time
end = time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
    except OSError:
        pass
    time.sleep(0.1)
"""


def test_refused_connections_do_not_keep_the_server_alive(session: Session) -> None:
    import threading

    target, _ = session.spawn("3.14")
    code, _, outcome, stderr = cli_attach(session, target.pid, "--idle-timeout", "3")
    assert code == 0, (outcome.message, stderr)
    port, listener = int(outcome.result["connect"]["port"]), int(outcome.result["debugpy"]["listener_pid"])
    ticks = start_ticks_of(listener)
    started = time.monotonic()
    hammer = threading.Thread(target=run_as_other_user, args=(HAMMER, str(port), "8"), daemon=True)
    hammer.start()  # another user connects every 0.1 s for 8 s: refused each time, never "a client"
    while start_ticks_of(listener) == ticks:
        assert time.monotonic() - started < 15, "refused connections kept the debug server alive"
        time.sleep(0.1)
    assert time.monotonic() - started < 7
    hammer.join(timeout=20)
    assert target.alive()
