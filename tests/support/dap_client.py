"""A small, real Debug Adapter Protocol client over TCP, for live tests. Every wait is bounded."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from typing import Any


class DapError(Exception):
    pass


class DapClient:
    def __init__(self, host: str, port: int, *, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(None)
        self._seq = 0
        self._lock = threading.Lock()
        self._responses: dict[int, queue.Queue[dict[str, Any]]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen_events: list[dict[str, Any]] = []
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, name="dap-client-reader", daemon=True)
        self._reader.start()

    # -- transport ---------------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                header, buf = buf.split(b"\r\n\r\n", 1)
                length = 0
                for line in header.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip())
                while len(buf) < length:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                self._dispatch(json.loads(body))
        except OSError:
            return
        finally:
            self.closed.set()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        if kind == "response":
            with self._lock:
                q = self._responses.get(int(msg["request_seq"]))
            if q is not None:
                q.put(msg)
        elif kind == "event":
            self.seen_events.append(msg)
            self.events.put(msg)
        # reverse requests (e.g. runInTerminal) are not used in attach mode

    def send_request(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        with self._lock:
            self._seq += 1
            seq = self._seq
            self._responses[seq] = queue.Queue()
        msg: dict[str, Any] = {"seq": seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        body = json.dumps(msg).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return seq

    def wait_response(self, seq: int, timeout: float | None = None) -> dict[str, Any]:
        with self._lock:
            q = self._responses[seq]
        try:
            resp = q.get(timeout=timeout or self.timeout)
        except queue.Empty:
            wait = timeout or self.timeout
            raise TimeoutError(f"no DAP response to request {seq} within {wait}s") from None
        with self._lock:
            del self._responses[seq]
        return resp

    def request(self, command: str, arguments: dict[str, Any] | None = None, *, check: bool = True,
                timeout: float | None = None) -> dict[str, Any]:
        resp = self.wait_response(self.send_request(command, arguments), timeout)
        if check and not resp.get("success"):
            raise DapError(f"{command} failed: {resp.get('message')} {resp.get('body')}")
        return resp

    def wait_event(self, name: str, timeout: float | None = None) -> dict[str, Any]:
        """The next event called `name` (other events are skipped; all are kept in seen_events)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no DAP {name!r} event within {timeout or self.timeout}s")
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if ev.get("event") == name:
                return ev

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._reader.join(timeout=5)

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -----------------------------------------------------------------------------------------

    def initialize(self) -> dict[str, Any]:
        return self.request("initialize", {
            "clientID": "safeattach-tests", "adapterID": "debugpy", "pathFormat": "path",
            "linesStartAt1": True, "columnsStartAt1": True, "supportsVariableType": True,
        })

    def attach(self, **extra: Any) -> int:
        """Sends attach (connect mode); its response only arrives after configurationDone: returns its seq."""
        return self.send_request("attach", {"justMyCode": False, **extra})

    def set_breakpoints(self, path: str, lines: list[int]) -> list[dict[str, Any]]:
        resp = self.request("setBreakpoints", {
            "source": {"path": path}, "breakpoints": [{"line": n} for n in lines],
        })
        return list(resp["body"]["breakpoints"])

    def configuration_done(self) -> dict[str, Any]:
        return self.request("configurationDone")

    def threads(self) -> list[dict[str, Any]]:
        return list(self.request("threads")["body"]["threads"])

    def stack_trace(self, thread_id: int) -> list[dict[str, Any]]:
        return list(self.request("stackTrace", {"threadId": thread_id})["body"]["stackFrames"])

    def scopes(self, frame_id: int) -> list[dict[str, Any]]:
        return list(self.request("scopes", {"frameId": frame_id})["body"]["scopes"])

    def variables(self, ref: int) -> dict[str, str]:
        body = self.request("variables", {"variablesReference": ref})["body"]
        return {v["name"]: v["value"] for v in body["variables"]}

    def evaluate(self, expression: str, frame_id: int) -> str:
        body = self.request("evaluate", {"expression": expression, "frameId": frame_id, "context": "repl"})
        return str(body["body"]["result"])

    def next(self, thread_id: int) -> dict[str, Any]:
        return self.request("next", {"threadId": thread_id})

    def step_in(self, thread_id: int) -> dict[str, Any]:
        return self.request("stepIn", {"threadId": thread_id})

    def step_out(self, thread_id: int) -> dict[str, Any]:
        return self.request("stepOut", {"threadId": thread_id})

    def continue_(self, thread_id: int) -> dict[str, Any]:
        return self.request("continue", {"threadId": thread_id})

    def disconnect(self, *, terminate: bool = False) -> dict[str, Any]:
        return self.request("disconnect", {"terminateDebuggee": terminate, "restart": False})
