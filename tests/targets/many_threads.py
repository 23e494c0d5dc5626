# A target with a main thread and 8 workers: 4 spinning in Python, 4 sleeping.
import threading
import time


def spin() -> None:
    n = 0
    while True:
        n += 1


def nap() -> None:
    while True:
        time.sleep(0.05)


for i in range(8):
    threading.Thread(target=spin if i % 2 else nap, name=f"worker-{i}", daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(0.01)
