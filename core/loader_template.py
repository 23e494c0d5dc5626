"""The loader the target runs (through PEP 768 or legacy injection), kept as a string constant.

It must run on any CPython >= 3.9, touch neither sys.path nor the target's own modules, and never print,
whatever the client did meanwhile (withdrew, gave up, removed the directory): its own file operations
swallow their errors (a payload's exception is reported, not raised). When the client gave up waiting
(the `abandoned` marker; see core.loader), the loader removes the request directory itself once done.
Placeholders (`%(name)r`) are filled by core.loader.render_loader.

It imports no `json`: in a target that has not loaded it yet, `json` (and `re` under it) costs about 8 ms of
every confirmed exec. The params arrive as a Python literal in the loader itself (core.loader renders the
JSON-able params with repr), and `_dumps` writes the claim and the report as json.dumps would (with
`default=repr`; tests/unit/test_loader.py holds that what json.loads reads from the two is equal). Its strings
go through one str.translate, not a loop per character (which every traceback took: it has newlines), and
the loader compiles in 0.58 ms instead of 0.65 (3.14, in the target, every exec).
"""

from __future__ import annotations

LOADER_TEMPLATE = '''\
# safeattach loader (request %(request_id)s). Safe to ignore: it does nothing once expired or already run.
def _safeattach_loader():
    import builtins
    import os
    import sys
    import time

    d = %(private_dir)r
    request_id = %(request_id)r
    if time.time() > %(deadline)r:
        return  # expired: a request that was not picked up in time never fires
    try:
        fd = os.open(d + "/claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError:
        return  # already run, or withdrawn by the client
    import _thread

    try:  # who runs it, for a client that gives up before the report (best effort)
        os.write(fd, _dumps({"native_thread_id": _thread.get_native_id(), "started": time.time()}).encode())
    except Exception:
        pass
    finally:
        os.close(fd)

    threading = sys.modules.get("threading")  # importing it here could confuse its main-thread detection
    report = {
        "request_id": request_id,
        "pid": os.getpid(),
        "native_thread_id": _thread.get_native_id(),
        "thread_name": threading.current_thread().name if threading is not None
        else ("MainThread" if _thread.get_native_id() == os.getpid() else ""),
        "started": time.time(),
    }
    try:
        params = %(params)s
        with open(d + "/payload.py", "rb") as f:
            source = f.read()
        namespace = {"__name__": "__safeattach_payload__", "__builtins__": builtins}
        exec(compile(source, d + "/payload.py", "exec"), namespace)
        value = namespace["run"](params, {"private_dir": d, "request_id": request_id, "deadline": %(deadline)r})
        report["ok"] = True
        report["result"] = value if isinstance(value, dict) else {"value": value}
    except BaseException as exc:  # noqa: B036 - SystemExit/KeyboardInterrupt in a payload are reported too
        import traceback

        report["ok"] = False
        report["exc_type"] = type(exc).__name__
        report["exc_message"] = str(exc)
        # a payload may have formatted it already (in_target_exec: while the user's source lines were known)
        report["traceback"] = getattr(exc, "__safeattach_traceback__", None) or "".join(
            traceback.format_exception(type(exc), exc, exc.__traceback__))
    finally:
        try:
            if not namespace.get("KEEP_NAMESPACE"):
                namespace.clear()  # break the functions <-> globals cycles now: a target that never
                # allocates may not run the cycle collector for a long time
        except NameError:  # the payload never got that far
            pass
        for name in %(own_files)r:
            try:
                os.unlink(d + "/" + name)
            except OSError:
                pass
    report["finished"] = time.time()
    try:
        _write_report(d, report)
    except Exception:
        pass  # the client withdrew or removed the directory: nobody is waiting for this report
    try:
        if os.path.lexists(d + "/abandoned"):  # the client stopped waiting: nobody will clean up but us
            for name in os.listdir(d):
                os.unlink(d + "/" + name)
            os.rmdir(d)
    except Exception:
        pass


def _write_report(d, report):
    import os

    tmp = d + "/result.json.tmp"
    try:
        data = _dumps(report).encode("utf-8", "backslashreplace")
    except (TypeError, ValueError, RecursionError) as exc:
        report = {k: report[k] for k in ("request_id", "pid", "native_thread_id", "thread_name")}
        report.update(ok=False, exc_type="TypeError", exc_message="result is not JSON-able: %%s" %% exc)
        data = _dumps(report).encode("utf-8", "backslashreplace")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)
    os.replace(tmp, d + "/result.json")  # atomic: the client never sees half a report


def _dumps(value):
    """json.dumps(value, default=repr) up to spelling, without importing json: strings escape only what JSON
    requires and keep other characters (the caller encodes with backslashreplace, so a lone surrogate is
    written as the same 4-digit escape json.dumps writes for it)."""
    if isinstance(value, str):
        return '"' + value.translate(_ESCAPES) + '"'
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (_INF, -_INF):
            return "Infinity" if value > 0 else "-Infinity"
        return float.__repr__(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join([_dumps(v) for v in value]) + "]"
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            if not isinstance(k, str):
                if k is not None and not isinstance(k, (bool, int, float)):
                    raise TypeError("keys must be str, int, float, bool or None, not %%s" %% type(k).__name__)
                k = _dumps(k).strip('"')
            items.append(_dumps(k) + ": " + _dumps(v))
        return "{" + ", ".join(items) + "}"
    return _dumps(repr(value))


_INF = float("inf")
_ESCAPES = {i: chr(92) + "u%%04x" %% i for i in range(32)}  # chr(92): a backslash (this is a string literal)
_ESCAPES[34] = chr(92) + '"'
_ESCAPES[92] = chr(92) + chr(92)


try:
    _safeattach_loader()
except Exception:
    pass  # never a traceback in the target from our own code
del _safeattach_loader, _write_report, _dumps, _INF, _ESCAPES
'''
