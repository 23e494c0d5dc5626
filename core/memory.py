"""Reading and writing another process's memory through /proc/PID/mem.

Reads are one pread(2) on a read-only descriptor (the kernel's access check is the same ptrace check as
process_vm_readv's; the descriptor stays bound to the process it was opened for, and a read is a third of a
ctypes call). Writes are one pwrite(2) on a read-write descriptor, and only into memory the target may write
itself: the kernel forces /proc/PID/mem writes through read-only pages (as for a debugger's breakpoints),
so every range is first checked against the writable mappings, read from /proc/PID/maps just before each
write (about 60 us for a small process). That keeps the guarantee process_vm_writev gives (EFAULT, and no
partial write, rather than a changed read-only page) without ctypes, 2-3 ms of every exec. The gap left is
the moment between the read and the write: only a target that makes its own page read-only in it could be
written anyway. process_vm_readv/writev (through ctypes) remain for a kernel that refuses /proc/PID/mem or
its maps to our filesystem ids but might allow them (they check real ids), or where /proc is read-only.
"""

from __future__ import annotations

import errno
import os
import struct

from core.errors import FailureKind, SafeAttachError

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_vm: tuple[Any, Any, Any] | None = None  # (ctypes, process_vm_readv, process_vm_writev), loaded on first use


def _vm_calls() -> tuple[Any, Any, Any]:
    """ctypes and libc's process_vm_readv/writev (None where libc lacks them), bound once."""
    global _vm
    if _vm is None:
        import ctypes

        class IOVec(ctypes.Structure):
            _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]

        libc = ctypes.CDLL(None, use_errno=True)
        calls = [getattr(libc, name, None) for name in ("process_vm_readv", "process_vm_writev")]
        for fn in calls:
            if fn is not None:
                fn.argtypes = [ctypes.c_int, ctypes.POINTER(IOVec), ctypes.c_ulong, ctypes.POINTER(IOVec),
                               ctypes.c_ulong, ctypes.c_ulong]
                fn.restype = ctypes.c_ssize_t
        ctypes.IOVec = IOVec  # type: ignore[attr-defined]
        _vm = (ctypes, calls[0], calls[1])
    return _vm


def _vm_transfer(fn: Any, pid: int, address: int, buf: Any, size: int) -> int:
    """One process_vm_readv/writev of `size` bytes between `buf` and `address`: bytes moved, or -errno."""
    ctypes = _vm_calls()[0]
    local = ctypes.IOVec(ctypes.cast(buf, ctypes.c_void_p), size)
    remote = ctypes.IOVec(ctypes.c_void_p(address), size)
    got = int(fn(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0))
    return got if got >= 0 else -ctypes.get_errno()


MAX_READ = 64 * 1024 * 1024  # refuse absurd sizes read from corrupted tables


def covered(ranges: list[tuple[int, int]], address: int, size: int) -> bool:
    """Whether [address, address + size) lies within `ranges` (sorted (start, end) pairs; a range may run
    on across adjacent ones)."""
    end = address + size
    for start, stop in ranges:
        if start <= address < stop:
            if end <= stop:
                return True
            address = stop
    return False


class ProcessMemory:
    """Byte-level access to one process. Errors become SafeAttachError with a taxonomy kind."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._mem_fd: int | None = None  # read-write
        self._write_via_vm = False  # /proc/PID/mem could not be opened for writing: process_vm_writev
        self._read_fd: int | None = None
        self._read_via_vm = False  # /proc/PID/mem could not be opened for reading: process_vm_readv

    # -- errors -----------------------------------------------------------------------------------------
    def _error(self, err: int, what: str, address: int) -> SafeAttachError:
        if err == errno.ESRCH or not os.path.exists(f"/proc/{self.pid}"):
            return SafeAttachError(
                FailureKind.PROCESS_EXITED, f"process {self.pid} exited while it was being {what}"
            )
        if err in (errno.EPERM, errno.EACCES):
            return SafeAttachError(
                FailureKind.OPEN_PROCESS,
                f"not permitted to access the memory of process {self.pid} ({os.strerror(err)})",
                detail={"errno": err},
            )
        return SafeAttachError(
            FailureKind.PARSE,
            f"address 0x{address:x} is not {what} in process {self.pid} ({os.strerror(err)})",
            "The target's memory does not match what its tables describe (corrupted or changing memory); "
            "nothing was changed.",
            detail={"address": address, "errno": err},
        )

    def _writer(self) -> int | None:
        """The read-write /proc/PID/mem descriptor; None (and process_vm_writev from then on) when the kernel
        refuses it for the reasons process_vm_writev might not share (permissions, a read-only /proc)."""
        if self._mem_fd is None and not self._write_via_vm:
            try:
                self._mem_fd = os.open(f"/proc/{self.pid}/mem", os.O_RDWR | os.O_CLOEXEC)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EACCES, errno.EROFS):
                    raise self._error(exc.errno or errno.EIO, "opened", 0) from None
                self._write_via_vm = True
        return self._mem_fd

    def _writable_around(self, address: int, end: int) -> list[tuple[int, int]] | None:
        """The writable mappings that meet [address, end), read from /proc/PID/maps now (not cached: a page
        may have been made read-only or unmapped since the last write); None when the kernel refuses the
        maps to our filesystem ids (process_vm_writev, which checks real ids and page protections itself,
        is then the way to write)."""
        try:
            with open(f"/proc/{self.pid}/maps", "rb") as f:
                text = f.read()
        except OSError as exc:
            if exc.errno in (errno.EPERM, errno.EACCES):
                return None
            raise self._error(exc.errno or errno.EIO, "opened", 0) from None
        ranges = []
        for line in text.splitlines():  # in address order
            span, _, rest = line.partition(b" ")
            start_text, _, stop_text = span.partition(b"-")
            start = int(start_text, 16)
            if start >= end:
                break
            if rest[1:2] == b"w" and int(stop_text, 16) > address:  # perms "rw-p": the target may write them
                ranges.append((start, int(stop_text, 16)))
        return ranges

    # -- raw --------------------------------------------------------------------------------------------
    def read(self, address: int, size: int) -> bytes:
        if size < 0 or size > MAX_READ or address <= 0 or address + size > 1 << 64:
            raise SafeAttachError(
                FailureKind.PARSE, f"refusing an implausible read of {size} bytes at 0x{address:x}"
            )
        if size == 0:
            return b""
        if address + size > 1 << 63:  # beyond any user-space address (and a file offset): a bad pointer
            raise self._error(errno.EFAULT, "readable", address)
        if not self._read_via_vm:
            fd = self._reader()
            if fd is not None:
                try:
                    data = os.pread(fd, size, address)
                except OSError as exc:
                    raise self._error(exc.errno or errno.EIO, "readable", address) from None
                if len(data) != size:
                    raise self._error(errno.EFAULT, "readable", address)
                return data
        ctypes, readv, _ = _vm_calls()
        if readv is None:
            raise self._error(errno.ENOSYS, "readable", address)
        buf = ctypes.create_string_buffer(size)
        got = _vm_transfer(readv, self.pid, address, buf, size)
        if got == size:
            return bytes(buf.raw)
        raise self._error(-got if got < 0 else errno.EFAULT, "readable", address)

    def _reader(self) -> int | None:
        """The read-only /proc/PID/mem descriptor; None (and process_vm_readv from then on) when the kernel
        refuses it but might still allow process_vm_readv (it checks the same, with real rather than fs ids)."""
        if self._read_fd is None:
            try:
                self._read_fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EACCES):
                    raise self._error(exc.errno or errno.EIO, "opened", 0) from None
                self._read_via_vm = True
                return None
        return self._read_fd

    def write(self, address: int, data: bytes) -> None:
        """Write `data` at `address`, only where the target may write itself: the range is checked against
        the writable mappings just before the write, so it is written whole or not at all (what is left is
        the moment between the two, in which the target itself would have to make the page read-only). Where
        the maps are refused to us, process_vm_writev checks the pages itself and may stop at one it cannot
        write (reported as a failure)."""
        if address <= 0 or not data or address + len(data) > 1 << 63:
            raise SafeAttachError(FailureKind.INTERNAL, f"refusing a write of {len(data)} bytes at 0x{address:x}")
        ranges = self._writable_around(address, address + len(data))
        if ranges is not None and not covered(ranges, address, len(data)):
            raise self._error(errno.EFAULT, "writable", address)
        fd = None if ranges is None else self._writer()
        if fd is None:
            ctypes, _, writev = _vm_calls()
            if writev is None:
                raise self._error(errno.EPERM, "writable", address)
            got = _vm_transfer(writev, self.pid, address, ctypes.create_string_buffer(data, len(data)), len(data))
            if got != len(data):
                raise self._error(-got if got < 0 else errno.EFAULT, "writable", address)
            return
        try:
            written = os.pwrite(fd, data, address)
        except OSError as exc:
            raise self._error(exc.errno or errno.EIO, "writable", address) from None
        if written != len(data):
            raise self._error(errno.EFAULT, "writable", address)

    # -- typed ------------------------------------------------------------------------------------------
    def read_u64(self, address: int) -> int:
        return int(struct.unpack("<Q", self.read(address, 8))[0])

    def read_u32(self, address: int) -> int:
        return int(struct.unpack("<I", self.read(address, 4))[0])

    def read_i32(self, address: int) -> int:
        return int(struct.unpack("<i", self.read(address, 4))[0])

    def write_u64(self, address: int, value: int) -> None:
        self.write(address, struct.pack("<Q", value))

    def write_u32(self, address: int, value: int) -> None:
        self.write(address, struct.pack("<I", value))

    def read_cstring(self, address: int, limit: int = 256) -> bytes:
        out = b""
        while len(out) < limit:
            chunk_len = min(64, limit - len(out), 4096 - ((address + len(out)) % 4096))
            chunk = self.read(address + len(out), chunk_len)
            nul = chunk.find(b"\0")
            if nul >= 0:
                return out + chunk[:nul]
            out += chunk
        return out

    def close(self) -> None:
        for fd in (self._mem_fd, self._read_fd):
            if fd is not None:
                os.close(fd)
        self._mem_fd = self._read_fd = None

    def __enter__(self) -> ProcessMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
