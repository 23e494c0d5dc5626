# An asyncio program whose tasks never stand still: batches of short tasks are created, awaited by a
# gather and finish, over and over, so a reader sees task lists and coroutines change under it.
import asyncio


async def short(i: int) -> int:
    await asyncio.sleep(0)
    return i


async def churn() -> None:
    print("ready", flush=True)
    while True:
        await asyncio.gather(*(asyncio.create_task(short(i), name=f"short-{i}") for i in range(40)))


asyncio.run(churn())
