"""The console's first process listing, started before textual is imported, in a forked child.

Reading /proc for 200 processes and starting Textual each take 100-300 ms. A thread would not overlap them: the
import's thousands of small syscalls each wait for the GIL held by the listing (measured: the first paint got
slower). A child forked before the imports lists on another core and hands back the rows through a pipe; the
Processes screen fills its table from them before its first frame. No textual here.
"""

from __future__ import annotations

import os
import pickle
import threading

from core.model import ProcessSummary

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read it the same
if TYPE_CHECKING:  # core.source imports core.doctor.model, whose package loads every check (70 ms): not before
    from collections.abc import Sequence

    from core.source import EngineSource  # the fork

THREAD_NAME = "safeattach-first-listing"  # the parent's thread that collects the child's rows


class FirstListing:
    """One `source.list_processes()`, in a forked child when the process has a single thread (fork is unsafe
    with more), else in a thread; its result (or exception) is collected by a daemon thread. When the child
    fails (killed, unreadable answer) the thread lists itself, so the console sees what it would have seen.

    fork=False for a console that has started targets of its own (the demo): under Yama's ptrace_scope 1 the
    console may read its children's memory, and a sibling of theirs, the forked child, may not."""

    def __init__(self, source: EngineSource) -> None:
        self._source = source
        self._done = threading.Event()
        self._rows: Sequence[ProcessSummary] = ()
        self._error: Exception | None = None
        self._child: tuple[int, int] | None = None  # (pid, read end of the pipe)
        self.forked = False  # whether the rows came from the child (the console's process listed nothing)
        self._thread = threading.Thread(target=self._collect, name=THREAD_NAME, daemon=True)

    @classmethod
    def start(cls, source: EngineSource, *, fork: bool = True) -> FirstListing:
        listing = cls(source)
        if fork and threading.active_count() == 1 and hasattr(os, "fork"):
            listing._child = _fork_listing(source)
        listing._thread.start()
        return listing

    def _collect(self) -> None:
        try:
            rows = _collect_child(*self._child) if self._child is not None else None
            self.forked = rows is not None
            self._rows = rows if rows is not None else self._source.list_processes()
        except Exception as exc:  # handed to the screen, which shows it as it shows a failed refresh
            self._error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> Sequence[ProcessSummary]:
        """The rows once the listing has finished (waiting up to `timeout` seconds); re-raises its exception,
        TimeoutError when it has not finished in time."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"the first process listing did not finish in {timeout} s")
        if self._error is not None:
            raise self._error
        return self._rows


def _fork_listing(source: EngineSource) -> tuple[int, int] | None:
    """(child pid, read end): the child lists, writes the pickled rows and leaves without any teardown."""
    read_end, write_end = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: never returns, never runs the parent's atexit handlers or flushes its buffers
        code = 1
        try:
            os.close(read_end)
            data = pickle.dumps(tuple(source.list_processes()))
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


def _collect_child(pid: int, read_end: int) -> tuple[ProcessSummary, ...] | None:
    """The child's rows without this process's own row (the child saw the console as a Python process), or
    None when the child failed. Unpickling is safe here: the bytes come from our own fork, over our own pipe."""
    try:
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
    except OSError:
        data = b""
    try:
        _, status = os.waitpid(pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0:
            return None
    except ChildProcessError:  # reaped already (SIGCHLD ignored): a complete answer still unpickles
        pass
    try:
        rows = pickle.loads(data)
    except Exception:  # cut short: the child died while writing
        return None
    own = os.getpid()
    return tuple(r for r in rows if isinstance(r, ProcessSummary) and r.pid != own)
