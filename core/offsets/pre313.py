"""x86_64 layouts of the CPython versions without `_Py_DebugOffsets` (3.9, 3.11, 3.12): one table per
version, one named field per struct member a reader follows (as pystack's version.h declares and version.cpp fills).

3.9 and 3.11 were verified live (Debian bullseye 3.9.2; Debian bookworm and pyenv 3.11 builds; ctypes against
`id()` of a code object, then walked and compared with py-spy: tests/live/test_read_live.py and
tests/live/test_stack_live.py).
3.12 comes from CPython's v3.12.0 headers (Include/internal/pycore_runtime.h, pycore_interp.h, pycore_frame.h,
Include/cpython/pystate.h, Include/cpython/code.h; as mirrored in bloomberg/pystack's src/pystack/_pystack/cpython/)
and no 3.12 build was available to verify it. 3.10 is not listed: nothing to verify it against, so no thread walk.
Offsets are bytes from the start of the struct named in each class's docstring.
"""

from __future__ import annotations

from core.records import dataclass, field

# glibc's struct pthread keeps the kernel TID at this offset on x86_64 (stable across glibc 2.2x-2.4x);
# `threading.get_ident()` is the struct's address. Verified live against /proc/PID/task.
PTHREAD_TID_OFFSET = 0x2D0


@dataclass(frozen=True)
class RuntimeState:
    """_PyRuntimeState (the `_PyRuntime` symbol)."""

    interpreters_head: int  # interpreters.head
    interpreters_main: int  # interpreters.main


@dataclass(frozen=True)
class InterpreterState:
    """PyInterpreterState."""

    next: int
    threads_head: int  # threads.head
    id: int


@dataclass(frozen=True)
class ThreadState:
    """PyThreadState."""

    next: int
    frame: int  # where the frame chain starts: a _PyCFrame* (3.11, 3.12: `cframe`) or a PyFrameObject* (3.9)
    thread_id: int
    native_thread_id: int | None  # None (before 3.11): read the TID from glibc's struct pthread


@dataclass(frozen=True)
class CFrame:
    """_PyCFrame (3.11, 3.12)."""

    current_frame: int


@dataclass(frozen=True)
class Frame:
    """PyFrameObject (3.9, a heap object) or _PyInterpreterFrame (3.11, 3.12)."""

    previous: int  # f_back / previous
    code: int  # f_code
    instr: int  # f_lasti (3.9: an int, a byte offset into co_code) / prev_instr (a pointer into the code)
    localsplus: int  # 3.9: f_localsplus, after the 20 PyTryBlocks of f_blockstack
    owner: int | None = None  # char owner (3.12), to skip the C-stack shim frames
    owned_by_cstack: int | None = None  # FRAME_OWNED_BY_CSTACK (3.12)


@dataclass(frozen=True)
class Code:
    """PyCodeObject."""

    filename: int
    name: int
    qualname: int | None  # None: 3.9 has no co_qualname
    firstlineno: int
    linetable: int  # co_lnotab (3.9) / co_linetable
    argcount: int
    localsplusnames: int  # co_varnames (3.9) / co_localsplusnames
    code_adaptive: int | None  # co_code_adaptive (3.11+)


@dataclass(frozen=True)
class Unicode:
    """PyASCIIObject / PyCompactUnicodeObject."""

    state: int
    length: int
    ascii_data: int  # where a compact ASCII string's characters start
    compact_data: int  # where a compact non-ASCII string's characters start


@dataclass(frozen=True)
class Objects:
    """The object headers and payloads a locals reader decodes (identical in 3.9, 3.11 and 3.12)."""

    ob_type: int = 8  # PyObject.ob_type
    tp_name: int = 24  # PyTypeObject.tp_name
    var_size: int = 16  # PyVarObject.ob_size
    bytes_sval: int = 32  # PyBytesObject.ob_sval
    tuple_items: int = 24  # PyTupleObject.ob_item
    long_digits: int = 24  # PyLongObject.ob_digit
    long_tagged: bool = False  # 3.12+: lv_tag (ndigits << 3 | sign) instead of a signed ob_size
    float_value: int = 16  # PyFloatObject.ob_fval
    set_used: int = 24  # PySetObject.used


@dataclass(frozen=True)
class Pre313Layout:
    """Everything a reader needs of one pre-3.13 minor version."""

    version: tuple[int, int]
    verified_live: bool
    runtime: RuntimeState
    interp: InterpreterState
    tstate: ThreadState
    cframe: CFrame | None  # None: tstate.frame points at the frame itself (3.9)
    frame: Frame
    code: Code
    unicode: Unicode
    objects: Objects = field(default_factory=Objects)


PY39 = Pre313Layout(
    version=(3, 9), verified_live=True,
    runtime=RuntimeState(interpreters_head=32, interpreters_main=40),
    interp=InterpreterState(next=0, threads_head=8, id=24),
    tstate=ThreadState(next=8, frame=24, thread_id=176, native_thread_id=None),
    cframe=None,
    frame=Frame(previous=24, code=32, instr=104, localsplus=360),
    code=Code(filename=104, name=112, qualname=None, firstlineno=40, linetable=120, argcount=16,
              localsplusnames=72, code_adaptive=None),
    unicode=Unicode(state=32, length=16, ascii_data=48, compact_data=72),
)

PY311 = Pre313Layout(
    version=(3, 11), verified_live=True,
    runtime=RuntimeState(interpreters_head=40, interpreters_main=48),
    interp=InterpreterState(next=0, threads_head=16, id=48),
    tstate=ThreadState(next=8, frame=56, thread_id=152, native_thread_id=160),
    cframe=CFrame(current_frame=8),  # after `int use_tracing`
    frame=Frame(previous=48, code=32, instr=56, localsplus=72),
    code=Code(filename=112, name=120, qualname=128, firstlineno=72, linetable=136, argcount=56,
              localsplusnames=96, code_adaptive=184),
    unicode=Unicode(state=32, length=16, ascii_data=48, compact_data=72),
)

# headers only; PyASCIIObject lost wstr (40 bytes), compact data after utf8_length/utf8
PY312 = Pre313Layout(
    version=(3, 12), verified_live=False,
    runtime=RuntimeState(interpreters_head=40, interpreters_main=48),
    interp=InterpreterState(next=0, threads_head=72, id=8),
    tstate=ThreadState(next=8, frame=56, thread_id=136, native_thread_id=144),
    cframe=CFrame(current_frame=0),
    frame=Frame(previous=8, code=0, instr=56, localsplus=72, owner=70, owned_by_cstack=3),
    code=Code(filename=112, name=120, qualname=128, firstlineno=68, linetable=136, argcount=52,
              localsplusnames=96, code_adaptive=192),
    unicode=Unicode(state=32, length=16, ascii_data=40, compact_data=56),
    objects=Objects(long_tagged=True),
)

PRE313_LAYOUTS: dict[tuple[int, int], Pre313Layout] = {t.version: t for t in (PY39, PY311, PY312)}
