"""One walk's reads through a page cache: each 4 KiB page of the target is read once per snapshot.

A task walk makes about 40 small reads per task (task, name, coroutine, frame, code object, strings) that
cluster on a few heap pages; one process_vm_readv per page instead of per field cuts a 13-task read from
~500 system calls to a few dozen. The cache lives for one snapshot only, so what it returns is at most as
stale as the snapshot itself. A page that cannot be read whole (the end of a mapping) falls back to the
exact read, with the same typed errors.
"""

from __future__ import annotations

from core.errors import FailureKind, SafeAttachError
from core.memory import ProcessMemory

PAGE = 4096
MAX_CACHED_READ = 4 * PAGE  # larger reads (line tables, set tables) go straight through
MAX_PAGES = 4096  # 16 MiB per snapshot at most


class PagedMemory(ProcessMemory):
    def __init__(self, inner: ProcessMemory) -> None:
        super().__init__(inner.pid)
        self.inner = inner
        self.pages: dict[int, bytes | None] = {}  # None: that page cannot be read whole

    def _page(self, number: int) -> bytes | None:
        if number not in self.pages:
            if len(self.pages) >= MAX_PAGES:
                return None
            try:
                self.pages[number] = self.inner.read(number * PAGE, PAGE)
            except SafeAttachError:
                self.pages[number] = None
        return self.pages[number]

    def read(self, address: int, size: int) -> bytes:
        if size <= 0 or size > MAX_CACHED_READ or address <= 0:
            return self.inner.read(address, size)
        first, last = address // PAGE, (address + size - 1) // PAGE
        chunks = []
        for number in range(first, last + 1):
            page = self._page(number)
            if page is None:
                return self.inner.read(address, size)  # the exact read decides, with its own typed error
            chunks.append(page)
        data = b"".join(chunks) if len(chunks) > 1 else chunks[0]
        start = address - first * PAGE
        return data[start: start + size]

    def write(self, address: int, data: bytes) -> None:
        raise SafeAttachError(FailureKind.INTERNAL, f"a walk never writes (0x{address:x})")
