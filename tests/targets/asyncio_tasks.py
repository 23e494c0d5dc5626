# An asyncio program parked in asyncio.sleep: a tree (TaskGroup), a gather, a task with a hostile name, a
# second thread with its own loop and, with the argument "cycle", two tasks awaiting each other.
# Prints "ready" once every leaf sleeps. Run with -c (tests/support/live_targets.py).
import asyncio
import sys
import threading

CYCLE = "cycle" in sys.argv[1:]
LEAVES = 7  # tree 2 + gather 2 + evil 1 + worker thread 2
parked = 0
lock = threading.Lock()
all_parked = threading.Event()


def park() -> None:
    global parked
    with lock:
        parked += 1
        if parked == LEAVES:
            all_parked.set()


async def leaf(seconds: float) -> None:
    park()
    await asyncio.sleep(seconds)


async def branch(name: str) -> None:
    async with asyncio.TaskGroup() as tg:
        tg.create_task(leaf(3600), name=f"{name}-leaf1")
        tg.create_task(leaf(3601), name=f"{name}-leaf2")


async def gatherer() -> None:
    await asyncio.gather(leaf(3602), leaf(3603))


async def cycle_member(tasks: dict[str, asyncio.Task[None]], other: str) -> None:
    await asyncio.sleep(0)  # both tasks exist once this returns
    await tasks[other]


async def main() -> None:
    background = [
        asyncio.create_task(branch("tree"), name="tree"),
        asyncio.create_task(gatherer(), name="gatherer"),
        asyncio.create_task(leaf(3604), name="evil\x1b[31mname\n"),
    ]
    if CYCLE:
        tasks: dict[str, asyncio.Task[None]] = {}
        tasks["a"] = asyncio.create_task(cycle_member(tasks, "b"), name="cycle-a")
        tasks["b"] = asyncio.create_task(cycle_member(tasks, "a"), name="cycle-b")
    await asyncio.gather(*background)


async def thread_main() -> None:
    async with asyncio.TaskGroup() as tg:
        tg.create_task(leaf(3605), name="worker-leaf1")
        tg.create_task(leaf(3606), name="worker-leaf2")


def thread_body() -> None:
    asyncio.run(thread_main())


async def report_ready() -> None:
    await asyncio.to_thread(all_parked.wait, 30)
    await asyncio.sleep(0.05)  # the last leaf has reached its sleep (it parks right after park())
    # parked like the leaves, and "ready" only once it is: a handshake task that ended right after "ready" was in
    # one reader's tasks and not in the other's, and one still running its print showed a shorter coroutine
    # stack to our read than to asyncio ps's (the callback runs after this task has awaited its sleep)
    asyncio.get_running_loop().call_soon(lambda: print("ready", flush=True))
    await asyncio.sleep(3607)


async def top() -> None:
    handshake = asyncio.create_task(report_ready(), name="handshake")
    await main()
    await handshake


threading.Thread(target=thread_body, name="worker", daemon=True).start()
asyncio.run(top())
