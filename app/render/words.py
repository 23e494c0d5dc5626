"""The words both front ends show, as plain strings: glyphs, labels, sentences, times and column choices.

No rich and no Textual here, so the CLI can print these without loading either; app/render/rich.py only adds
styles around them, and the console shows what rich.py builds."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from datetime import datetime, timezone

from core.events import StepStatus
from core.model import ProcessSummary, PythonVersion
from core.text import visible

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from _typeshed import SupportsRichComparison

# glyphs: one set for the CLI and the console -------------------------------------------------------------
STEP_GLYPH = {
    StepStatus.PENDING: "·",
    StepStatus.RUNNING: "◐",  # the console animates SPINNER instead, when spinners are on
    StepStatus.OK: "✓",
    StepStatus.FAILED: "✗",
    StepStatus.SKIPPED: "-",
}
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
OK_GLYPH, FAILED_GLYPH = STEP_GLYPH[StepStatus.OK], STEP_GLYPH[StepStatus.FAILED]
WARN_GLYPH = "⚠"


# labels ------------------------------------------------------------------------------------------------------
def yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


def policy_word(enabled: bool | None, unknown: str = "n/a") -> str:
    """A target's remote-debugging policy in the words both front ends show."""
    if enabled is None:
        return unknown
    return "enabled" if enabled else "opted out"


def policy_label(row: ProcessSummary) -> str:
    return policy_word(row.remote_debug_enabled)


def version_label(value: object) -> str:
    """A logged target version: "3.14.0" as is; a hexversion (int or "0x30e00f0", as the log keeps it) decoded."""
    number: int | None = value if isinstance(value, int) else None
    if isinstance(value, str) and value.startswith("0x"):
        try:
            number = int(value, 16)
        except ValueError:
            number = None
    if number is not None and number > 0x1000000:
        return str(PythonVersion.from_hex(number, "log"))
    return "" if value is None else str(value)


# times and numbers -------------------------------------------------------------------------------------------
def parse_time(value: object) -> datetime | None:
    """Epoch seconds or an ISO 8601 string (as the attempt log may hold either) as an aware datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    return None


def fmt_time(value: object, short: bool = False) -> str:
    """Epoch seconds or an ISO 8601 string, as UTC "YYYY-MM-DD HH:MM:SS" ("MM-DD HH:MM:SS" when short)."""
    when = parse_time(value)
    if when is None:
        return str(value if value is not None else "")
    return when.astimezone(timezone.utc).strftime("%m-%d %H:%M:%S" if short else "%Y-%m-%d %H:%M:%S")


def fmt_ms(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else ""


def ms(value: float | None) -> str:
    """A latency in whole milliseconds, "-" when there is none."""
    return "-" if value is None else f"{value:.0f}"


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def duration(value: float) -> str:
    """Milliseconds as people read them: "0.4 ms", "312 ms", "2.5 s"."""
    if value < 10:
        return f"{value:.1f} ms"
    if value < 10_000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


# the outcome, as sentences -----------------------------------------------------------------------------------
FLAG_WORDS = {
    "legacy": "legacy injection",
    "legacy_fallback": "fell back to legacy injection",
    "ptrace": "ptrace injector",
    "gdb": "gdb injector",
    "override_used": "the target's opt-out was overridden",
    "target_died": "the target died",
    "still_running": "the script was still running at the timeout",
    "reattach_cache": "found through the reattach cache",
}
THREAD_SELECTION_WORDS = {"main": "the main thread", "any": "any thread"}
# result keys shown elsewhere (the connect block, the waited-on stacks, the traceback) or by other keys
SHOWN_ELSEWHERE = frozenset({
    "connect", "vscode", "stacks", "access", "debugpy", "reused", "reattach_cache", "traceback", "exc_type",
    "exc_message", "steps_ms", "flags", "legacy", "ran", "thread_name", "native_thread_id", "thread_selection",
})


TIMING_STEPS = 3  # the slowest steps named in the timing sentence


def timing_sentence(total_ms: float, steps_ms: object) -> str:
    """"Took 312 ms: parse 2 ms, awaitRun 300 ms, …" (the slowest steps, in the order they ran; the others
    summed)."""
    steps: list[tuple[str, float]] = []
    if isinstance(steps_ms, Mapping):
        steps = [(visible(name), float(t)) for name, t in steps_ms.items()
                 if isinstance(t, (int, float)) and not isinstance(t, bool)]
    head = f"Took {duration(total_ms)}"
    if not steps:
        return f"{head}."
    slowest = set(sorted(range(len(steps)), key=lambda i: -steps[i][1])[:TIMING_STEPS])
    parts = [f"{name} {duration(t)}" for i, (name, t) in enumerate(steps) if i in slowest]
    rest = [t for i, (_, t) in enumerate(steps) if i not in slowest]
    if rest:
        parts.append(f"{len(rest)} other step(s) {duration(sum(rest))}")
    return f"{head}: {', '.join(parts)}."


def flags_sentence(flags: object) -> str | None:
    """The attempt's flags as words ("Also: legacy injection, ptrace injector."); None when there are none."""
    if not isinstance(flags, (list, tuple)) or not flags:
        return None
    return "Also: " + ", ".join(FLAG_WORDS.get(str(f), visible(f)) for f in flags) + "."


def thread_sentence(result: Mapping[str, object]) -> str | None:
    """Which thread ran the payload, and how that thread was chosen."""
    name, tid = result.get("thread_name"), result.get("native_thread_id")
    selection = result.get("thread_selection")
    chosen = f" (chosen: {THREAD_SELECTION_WORDS.get(str(selection), visible(selection))})" if selection else ""
    if name or tid:
        who = " ".join(p for p in (f'"{visible(name)}"' if name else "", f"TID {visible(tid)}" if tid else "") if p)
        return f"Ran in thread {who}{chosen}."
    return None


def value_words(value: object) -> str:
    """A result value for a person: mappings as "k=v" pairs, sequences comma-separated, text made visible."""
    if isinstance(value, bool):
        return yes_no(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{visible(k)}={value_words(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(value_words(v) for v in value)
    return visible(value)


def is_empty(value: object) -> bool:
    return value is None or (not isinstance(value, (bool, int, float)) and not value)


def result_lines(total_ms: float, result: Mapping[str, object]) -> list[str]:
    """The outcome's result as labelled sentences, empty ones left out (never raw dicts)."""
    lines = [line for line in (thread_sentence(result), timing_sentence(total_ms, result.get("steps_ms")),
                               flags_sentence(result.get("flags"))) if line]
    lines += [f"{visible(key)}: {value_words(value)}" for key, value in result.items()
              if key not in SHOWN_ELSEWHERE and not is_empty(value)]
    return lines


# the connect block (a started debugpy server) ---------------------------------------------------------------
VSCODE_HEADING = "VS Code launch.json configuration:"


def connect_address(result: Mapping[str, object]) -> str | None:
    """"HOST:PORT" a DAP client connects to, when the outcome's result carries one."""
    connect = result.get("connect")
    if isinstance(connect, Mapping) and "host" in connect and "port" in connect:
        return f"{connect['host']}:{connect['port']}"
    return None


def server_line(result: Mapping[str, object], pid: int) -> str | None:
    """"debugpy 1.8.22 started in PID 4242" (or reused, or found through the reattach cache)."""
    debugpy = result.get("debugpy")
    if not isinstance(debugpy, Mapping):
        return None
    state = "already running (reused)" if result.get("reused") else "started"
    if result.get("reattach_cache") == "hit":
        state += ", found through the reattach cache"
    return visible(f"debugpy {debugpy.get('version', '?')} {state} in PID {pid}")


def connect_line(result: Mapping[str, object]) -> str | None:
    where = connect_address(result)
    return None if where is None else visible(f"Connect any DAP client to {where} (debugpy \"attach\" with "
                                              "\"connect\").")


def access_line(result: Mapping[str, object]) -> str | None:
    """Who may connect and when the server stops, when safeattach controls the server."""
    access = result.get("access")
    if not isinstance(access, Mapping):
        return None
    uids = ", ".join(str(u) for u in access.get("allowed_uids") or [])
    who = f"Only uid {uids} may connect" if not access.get("open_to_network") else (
        f"Local connections only from uid {uids}; remote hosts are not checked (--listen opt-in)")
    idle = access.get("idle_timeout")
    stop = f"; the server stops {idle:g}s after its last client leaves" if isinstance(idle, (int, float)) else ""
    return f"{who}{stop}."


def ssh_forward_line(result: Mapping[str, object], ssh_connection: str | None) -> str | None:
    """Over SSH (`SSH_CONNECTION` = "client_ip client_port server_ip server_port"), the `ssh -L` command
    that forwards the DAP port to the user's own machine."""
    connect = result.get("connect")
    if not ssh_connection or not isinstance(connect, Mapping):
        return None
    parts = ssh_connection.split()
    if len(parts) != 4:
        return None
    server_ip, server_port = parts[2], parts[3]
    host, port = str(connect.get("host")), connect.get("port")
    target_host = f"[{host}]" if ":" in host else host
    server = f"[{server_ip}]" if ":" in server_ip else server_ip
    via = f" -p {server_port}" if server_port != "22" else ""
    return f"ssh -N -L {port}:{target_host}:{port}{via} {server}"


def ssh_lines(result: Mapping[str, object], ssh_connection: str | None) -> list[str]:
    forward = ssh_forward_line(result, ssh_connection)
    if forward is None:
        return []
    connect = result.get("connect")
    port = connect.get("port") if isinstance(connect, Mapping) else None  # ssh_forward_line found it
    return [f"Over SSH: run on your own machine, then connect there to 127.0.0.1:{port}:", visible(f"  {forward}")]


def vscode_json(result: Mapping[str, object]) -> str | None:
    """The launch.json entry, when the outcome's result carries one (kept exact: it is meant to be copied)."""
    return json.dumps(result["vscode"], indent=2) if "vscode" in result else None


def connect_lines(result: Mapping[str, object], pid: int, ssh_connection: str | None = None) -> list[str]:
    """Everything a debugger needs, in the order shown: the server, where to connect, who may, over SSH."""
    lines = [line for line in (server_line(result, pid), connect_line(result), access_line(result)) if line]
    return lines + ssh_lines(result, ssh_connection)


# the process list's column choices ---------------------------------------------------------------------------
DEMO_MARKER = "safeattach-demo"  # command-line argument carried by the bundled demo targets


def demo_tag(cmdline: str) -> str | None:
    """The demo target's role ("busy", ...) when the command line carries the demo marker."""
    for token in cmdline.split():
        if token.startswith(DEMO_MARKER + ":"):
            return token.split(":", 1)[1] or "demo"
    return None


SORT_KEYS: dict[str, Callable[[ProcessSummary], SupportsRichComparison]] = {
    "pid": lambda p: p.pid,
    "user": lambda p: (p.user, p.pid),
    "version": lambda p: (p.version.hexversion if p.version else -1, p.pid),
    "build": lambda p: (p.build.describe() if p.build else "", p.pid),
    "pep768": lambda p: (not p.pep768_capable, p.pid),
    "policy": lambda p: (str(p.remote_debug_enabled), p.pid),
    "container": lambda p: (p.container, p.pid),
    "command": lambda p: (p.cmdline, p.pid),
}


def matches(p: ProcessSummary, needle: str) -> bool:
    if not needle:
        return True
    hay = " ".join(
        [str(p.pid), p.user, p.cmdline, str(p.version or ""), p.error or "", demo_tag(p.cmdline) or ""]
    ).lower()
    return all(part in hay for part in needle.lower().split())


def visible_rows(rows: Sequence[ProcessSummary], needle: str, sort: str, reverse: bool) -> list[ProcessSummary]:
    return sorted((p for p in rows if matches(p, needle)), key=SORT_KEYS[sort], reverse=reverse)


# the attempt log, as compact rows ----------------------------------------------------------------------------
LOG_INDENT = " " * 10  # under the HH:MM:SS column


def _day_heading(when: datetime) -> str:
    offset = when.strftime("%z")
    zone = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"
    return f"{when:%Y-%m-%d} (local time, {zone})"


def _log_units(rec: Mapping[str, object]) -> list[str]:
    """One attempt's facts; a row is wrapped between them, never inside one (a failure kind stays whole)."""
    units = [f"PID {visible(rec.get('pid', '?'))}"]
    units += [visible(v) for v in (version_label(rec.get("target_version")), rec.get("payload"), rec.get("method"),
                                   rec.get("thread_selection")) if v]
    units.append(visible(rec.get("result", "?")))
    site, kind = rec.get("failure_site"), rec.get("failure_kind")
    if site or kind:
        units.append(" ".join(p for p in ("at" if site else "", f"{visible(site)}:" if site and kind else
                                          visible(site or ""), visible(kind or "")) if p))
    flags = rec.get("flags")
    if isinstance(flags, list) and flags:
        units.append("[" + ", ".join(visible(f) for f in flags) + "]")
    elapsed = rec.get("elapsed_ms")
    if isinstance(elapsed, (int, float)):
        units.append(duration(float(elapsed)))
    return units


def pack(units: Sequence[str], width: int, first: str, indent: str, sep: str = "  ") -> list[str]:
    """Lay `units` out in lines of at most `width` columns, breaking only between units; a unit too long for
    a line of its own is wrapped between its words."""
    lines: list[str] = []
    line, bare = first, True  # bare: `line` holds only its prefix so far
    for unit in units:
        if not bare and len(line) + len(sep) + len(unit) <= width:
            line += sep + unit
            continue
        if not bare:
            lines.append(line)
            line = indent
        if len(line) + len(unit) <= width:
            line, bare = line + unit, False
            continue
        parts = textwrap.wrap(unit, width, initial_indent=line, subsequent_indent=indent, break_on_hyphens=False)
        lines += parts[:-1]
        line, bare = parts[-1], False
    lines.append(line)
    return lines


def log_lines(records: Iterable[Mapping[str, object]], width: int, failures_only: bool = False) -> list[str]:
    """`safeattach log` for a `width`-column terminal: a heading per local day, then one row per attempt
    ("HH:MM:SS  PID …  result  at site: kind  ms"), wrapped between facts so no kind or site is ever cut."""
    records = list(records)
    lines = [f"{len(records)} attempt(s)" + (" (failures)" if failures_only else "")]
    day: str | None = None
    width = max(width, len(LOG_INDENT) + 20)
    for rec in records:
        when = parse_time(rec.get("time"))
        local = when.astimezone() if when is not None else None
        heading = _day_heading(local) if local is not None else "(no time recorded)"
        if heading != day:
            day = heading
            lines.append(heading)
        clock = f"{local:%H:%M:%S}" if local is not None else "--:--:--"
        lines += pack(_log_units(rec), width, f"{clock}  ", LOG_INDENT)
    return lines
