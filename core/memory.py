"""Reading and writing another process's memory: reads through /proc/PID/mem, writes with process_vm_writev.

Reads use one pread(2) on a read-only /proc/PID/mem descriptor (the kernel's access check is the same ptrace
check as process_vm_readv's; the descriptor stays bound to the process it was opened for, and a read is a
third of a ctypes call). Writes go through process_vm_writev, which respects the target's page protections
(a /proc/PID/mem write would not); ctypes is loaded only then, so the read-only commands never import it.
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


class ProcessMemory:
    """Byte-level access to one process. Errors become SafeAttachError with a taxonomy kind."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._use_proc_mem = False  # writes: /proc/PID/mem only on kernels without process_vm_writev
        self._mem_fd: int | None = None  # read-write, for that fallback
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

    def _proc_mem(self) -> int:
        if self._mem_fd is None:
            try:
                self._mem_fd = os.open(f"/proc/{self.pid}/mem", os.O_RDWR | os.O_CLOEXEC)
            except OSError as exc:
                raise self._error(exc.errno or errno.EIO, "opened", 0) from None
        return self._mem_fd

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
        if address <= 0 or not data:
            raise SafeAttachError(FailureKind.INTERNAL, f"refusing a write of {len(data)} bytes at 0x{address:x}")
        if not self._use_proc_mem:
            ctypes, _, writev = _vm_calls()
            got = -errno.ENOSYS
            if writev is not None:
                got = _vm_transfer(writev, self.pid, address, ctypes.create_string_buffer(data, len(data)),
                                   len(data))
            if got == len(data):
                return
            if got == -errno.ENOSYS:  # kernels without CONFIG_CROSS_MEMORY_ATTACH
                self._use_proc_mem = True
            else:
                raise self._error(-got if got < 0 else errno.EFAULT, "writable", address)
        try:
            written = os.pwrite(self._proc_mem(), data, address)
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
