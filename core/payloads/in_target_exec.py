"""Runs INSIDE the target (source shipped by `exec_payload`): run a user's script like sys.remote_exec does.

The script is read by the target itself (its uid, its mount namespace, relative paths against its cwd),
through io.open_code like CPython, and executed in a fresh namespace holding only `__builtins__`. When the
target runs our private copy (it cannot see the user's file), the code is compiled under the user's own path,
so a SyntaxError or a traceback names the file the user wrote, with its lines. Imports nothing from
safeattach and stays valid on CPython 3.9+.

It imports nothing a running interpreter has not loaded already (builtins, _io), so that an exec leaves the
target's modules as they were: no `from __future__` (a runtime import of __future__), no `io` or `types`
(CodeType is named in a string), and no codec module (the BOM is taken off by hand). Only a copied script
loads linecache, for its lines (before 3.13 linecache imports tokenize, with re under it, itself), and only
one that declares an encoding goes through importlib.util's decode_source (see _source_text).
"""

import _io
import builtins

# typing.TYPE_CHECKING without importing typing; type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import CodeType


def run(params: dict[str, object], ctx: dict[str, object]) -> dict[str, object]:
    path = str(params["script"])
    filename = str(params.get("filename") or path)  # the user's path, also for the private copy
    try:
        with _io.open_code(path) as f:
            source = f.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        # keep the exception type: the engine maps PermissionError/FileNotFoundError to SCRIPT_UNREADABLE
        raise type(exc)(exc.errno, f"cannot read script {filename!r} in the target: {reason}", path) from None
    code = compile(source, filename, "exec")
    if filename == path:
        exec(code, {"__builtins__": builtins})
    else:
        _exec_as(code, source, filename)
    return {"script": filename}


def _exec_as(code: "CodeType", source: bytes, filename: str) -> None:
    """Run `code` with its source lines known under `filename` (which may not exist, or be another file, in
    the target's view) while it runs and while its traceback is formatted; the target's linecache is left
    as it was."""
    import linecache

    entry = None
    try:
        text = _source_text(source)
        entry = (len(text), None, text.splitlines(True), filename)  # mtime None: checkcache keeps it
    except Exception:  # an undecodable script still runs (compile accepted it); only its lines go unshown
        pass
    previous = linecache.cache.get(filename)
    if entry is not None:
        linecache.cache[filename] = entry
    try:
        exec(code, {"__builtins__": builtins})
    except BaseException as exc:
        import traceback

        # the loader reports this text instead of formatting the traceback itself, after our lines are gone
        exc.__safeattach_traceback__ = "".join(  # type: ignore[attr-defined]
            traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise
    finally:
        if entry is not None and linecache.cache.get(filename) is entry:
            if previous is None:
                del linecache.cache[filename]
            else:
                linecache.cache[filename] = previous


def _source_text(source: bytes) -> str:
    """The script's text as compile read it (importlib.util.decode_source's result). Without an encoding
    declaration in its first two lines (PEP 263) a script is UTF-8, with or without a BOM, and is decoded here;
    only a script that may declare one goes through decode_source, whose tokenize (with re, enum and
    collections under it) would otherwise be imported into the target by its first copied-script exec: about
    12 ms and some 20 modules in a fresh 3.14."""
    first = source.find(b"\n")
    second = source.find(b"\n", first + 1) if first >= 0 else -1
    if b"coding" in (source if second < 0 else source[:second]):  # lines 1 and 2, not a copy of the whole
        from importlib.util import decode_source

        return decode_source(source)
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    # not final, as decode_source up to 3.14 (3.15's ends a lone last CR as a newline: one cached line differs)
    return _io.IncrementalNewlineDecoder(None, True).decode(source.decode("utf-8"))
