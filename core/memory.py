"""Reading and writing another process's memory: process_vm_readv/writev, falling back to /proc/PID/mem."""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from core.errors import FailureKind, SafeAttachError


class _IOVec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


_libc = ctypes.CDLL(None, use_errno=True)
_readv = getattr(_libc, "process_vm_readv", None)
_writev = getattr(_libc, "process_vm_writev", None)
for _fn in (_readv, _writev):
    if _fn is not None:
        _fn.argtypes = [
            ctypes.c_int, ctypes.POINTER(_IOVec), ctypes.c_ulong, ctypes.POINTER(_IOVec), ctypes.c_ulong,
            ctypes.c_ulong,
        ]
        _fn.restype = ctypes.c_ssize_t

MAX_READ = 64 * 1024 * 1024  # refuse absurd sizes read from corrupted tables


class ProcessMemory:
    """Byte-level access to one process. Errors become SafeAttachError with a taxonomy kind."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._use_proc_mem = _readv is None
        self._mem_fd: int | None = None

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
        if not self._use_proc_mem:
            buf = ctypes.create_string_buffer(size)
            local = _IOVec(ctypes.cast(buf, ctypes.c_void_p), size)
            remote = _IOVec(ctypes.c_void_p(address), size)
            assert _readv is not None
            got = _readv(self.pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
            if got == size:
                return buf.raw
            err = ctypes.get_errno() if got < 0 else errno.EFAULT
            if err == errno.ENOSYS:  # kernels without CONFIG_CROSS_MEMORY_ATTACH
                self._use_proc_mem = True
            else:
                raise self._error(err, "readable", address)
        try:
            data = os.pread(self._proc_mem(), size, address)
        except OSError as exc:
            raise self._error(exc.errno or errno.EIO, "readable", address) from None
        if len(data) != size:
            raise self._error(errno.EFAULT, "readable", address)
        return data

    def write(self, address: int, data: bytes) -> None:
        if address <= 0 or not data:
            raise SafeAttachError(FailureKind.INTERNAL, f"refusing a write of {len(data)} bytes at 0x{address:x}")
        if not self._use_proc_mem:
            buf = ctypes.create_string_buffer(data, len(data))
            local = _IOVec(ctypes.cast(buf, ctypes.c_void_p), len(data))
            remote = _IOVec(ctypes.c_void_p(address), len(data))
            assert _writev is not None
            got = _writev(self.pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
            if got == len(data):
                return
            err = ctypes.get_errno() if got < 0 else errno.EFAULT
            if err == errno.ENOSYS:
                self._use_proc_mem = True
            else:
                raise self._error(err, "writable", address)
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
        if self._mem_fd is not None:
            os.close(self._mem_fd)
            self._mem_fd = None

    def __enter__(self) -> ProcessMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
