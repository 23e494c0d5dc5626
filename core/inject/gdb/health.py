"""Is this gdb safe to use on a target? Asked of a throwaway process of our own, never of the target.

gdb's inferior calls save and restore the whole register file, XSAVE area included. On AMX hosts with
Debian's gdb 13.1 that restore fails ("Couldn't write extended state status: Bad address.") and leaves the
call half done, which kills a Python target. The probe makes one inferior call in a Python child that
sleeps and ticks, then requires: the call returned the right value, gdb said nothing about failing, and the
child is alive, not stopped, and still ticking without an error. The verdict is cached per gdb build,
kernel and CPU, which are what decide it.
"""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

from core.paths import write_atomic, xdg_dir
from core.records import dataclass

_CHILD = (
    "import sys, time\n"
    "print('ready', flush=True)\n"
    "n = 0\n"
    "while True:\n"
    "    time.sleep(0.02)\n"
    "    n += 1\n"
    "    print('tick', n, flush=True)\n"
)
_FAILURE_WORDS = ("couldn't write", "couldn't get", "bad address", "cannot access memory", "the program being "
                  "debugged was signaled", "error while running hook")
PROBE_TIMEOUT = 20.0


@dataclass(frozen=True)
class Health:
    healthy: bool
    reason: str
    cached: bool
    key: str


def _cpu_line() -> str:
    model, flags = "", ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not model:
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = line.split(":", 1)[1].strip()
            if model and flags:
                break
    except OSError:
        pass
    return f"{model}|{flags}"


def probe_key(gdb_path: str) -> str:
    """gdb's build (inode, size, mtime of the real file), the kernel release and the CPU's model and flags."""
    real = os.path.realpath(gdb_path)
    try:
        st = os.stat(real)
        build = f"{real}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        build = real
    raw = f"{build}|{os.uname().release}|{_cpu_line()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _cache_file() -> Path:
    return xdg_dir("SAFEATTACH_CACHE_DIR", "XDG_CACHE_HOME", ".cache") / "gdb-health.json"


def _load() -> dict[str, dict[str, object]]:
    try:
        with open(_cache_file(), "rb") as f:
            data = json.loads(f.read(1 << 16))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _store(key: str, healthy: bool, reason: str) -> None:
    data = _load()
    data[key] = {"healthy": healthy, "reason": reason, "checked": time.time()}
    path = _cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(str(path), json.dumps(data).encode())
    except OSError:
        pass  # an unwritable cache only costs a probe next time


def _ticks(child: subprocess.Popen[bytes], want: int, deadline: float) -> int:
    """Read tick lines until `want` arrived or the deadline; returns how many came."""
    assert child.stdout is not None
    got, buf = 0, b""
    with selectors.DefaultSelector() as sel:
        sel.register(child.stdout, selectors.EVENT_READ)
        while got < want:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                break
            chunk = os.read(child.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            got = buf.count(b"tick ")
    return got


def run_probe(gdb_path: str, timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """One inferior call in a throwaway ticking Python child; (healthy, reason)."""
    deadline = time.monotonic() + timeout
    try:
        child = subprocess.Popen([sys.executable, "-S", "-c", _CHILD], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        return False, f"the probe's throwaway process could not be started: {exc}"
    try:
        if _ticks(child, 1, deadline) < 1 and child.poll() is not None:
            return False, "the probe child did not start"
        args = [gdb_path, "-nx", "-batch", "-iex", "set debuginfod enabled off", "-iex", "set auto-load off",
                "-iex", "set confirm off", "-p", str(child.pid), "-ex", "call (int)getpid()"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD_")}
        env["LC_ALL"] = "C"
        try:
            done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, env=env,
                                  timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return False, "gdb did not finish an inferior call in the probe within its time"
        except OSError as exc:
            return False, f"gdb could not be started: {exc}"
        out = (done.stdout + done.stderr).decode("utf-8", "replace")
        low = out.lower()
        bad = next((w for w in _FAILURE_WORDS if w in low), None)
        if bad is not None:
            line = next((ln for ln in out.splitlines() if bad in ln.lower()), bad)
            return False, f"gdb's inferior call failed: {line.strip()}"
        if f"= {child.pid}" not in out:
            return False, f"gdb's inferior call returned no value (exit {done.returncode})"
        if _ticks(child, 3, min(deadline, time.monotonic() + 3.0)) < 3 or child.poll() is not None:
            return False, "the probe child stopped making progress after gdb's inferior call"
        return True, "an inferior call returned and the probe child kept running"
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=5.0)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def gdb_health(gdb_path: str, *, use_cache: bool = True) -> Health:
    key = probe_key(gdb_path)
    if use_cache:
        entry = _load().get(key)
        if isinstance(entry, dict) and isinstance(entry.get("healthy"), bool):
            return Health(bool(entry["healthy"]), str(entry.get("reason", "")), True, key)
    healthy, reason = run_probe(gdb_path)
    _store(key, healthy, reason)
    return Health(healthy, reason, False, key)
