# A thread that leaves a pending task behind when it exits: CPython moves it from the thread state's task
# list to the interpreter's. Prints "ready" once that thread has gone; then parks in time.sleep.
import asyncio
import threading
import time

keep = []


def body() -> None:
    loop = asyncio.new_event_loop()

    async def forever() -> None:
        await asyncio.sleep(3600)

    keep.append(loop.create_task(forever(), name="orphan"))
    loop.run_until_complete(asyncio.sleep(0.01))
    keep.append(loop)


worker = threading.Thread(target=body)
worker.start()
worker.join()
print("ready", flush=True)
while True:
    time.sleep(0.5)
    time.sleep(0.5)
