"""Record the memory a task walk reads from a live 3.14 target into tests/data/tasks/3.14.json.

Run from the repo root as root: `.venv/bin/python tests/support/record_tasks_image.py`. The target is
tests/targets/asyncio_tasks.py with its await cycle ("ready" handshake); every read the walk makes is kept
(address and bytes), with each thread's task-list head, running loop and running task, and the
`.AsyncioDebug` table. tests/unit/test_tasks_walker_properties.py replays that image, then mutates it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from live_targets import TargetPool, require
from repo_paths import DATA_DIR

from core.target import open_target
from core.walk.asyncio_offsets import TABLE_SIZE
from core.walk.tasks import read_tasks_target

OUT = DATA_DIR / "tasks" / "3.14.json"


def main() -> None:
    pool = TargetPool()
    try:
        spawned = pool.spawn_script(require("3.14"), "asyncio_tasks.py", args=["cycle"])
        with open_target(spawned.pid) as target:
            reads: dict[int, bytes] = {}
            real_read = target.mem.read

            def recording(address: int, size: int) -> bytes:
                data = real_read(address, size)
                reads[address] = max(reads.get(address, b""), data, key=len)
                return data

            target.mem.read = recording  # type: ignore[method-assign]
            result = read_tasks_target(target)
            from core.walk.asyncio_offsets import locate_asyncio_table

            table = locate_asyncio_table(target.pid, target.mem, target.maps, target.location.binary
                                         if target.location else None)
            assert table is not None and target.offsets is not None
            heads = []
            for interp in target.interpreters():
                for tstate in target.thread_addresses(interp.address):
                    aio = table.offsets
                    heads.append({"head": tstate + aio.tstate_tasks_head,
                                  "running": target.mem.read_u64(tstate + aio.tstate_running_task)})
        expected = {t.address: {"name": t.name, "awaited_by": list(t.awaited_by),
                                "stack": [f.qualname for f in t.coroutine_stack]}
                    for t in result.all_tasks().values()}
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps({
            "version": result.version,
            "table": real_read(table.address, TABLE_SIZE).hex(),
            "heads": heads,
            "reads": sorted([address, data.hex()] for address, data in reads.items()),
            "expected": {str(k): v for k, v in expected.items()},
            "cycles": [list(c) for c in result.cycles],
        }, indent=0) + "\n")
        print(f"{OUT}: {len(reads)} reads, {len(expected)} tasks")
    finally:
        pool.close()


if __name__ == "__main__":
    main()
