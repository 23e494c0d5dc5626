# A target that spins in Python bytecode (no thread parked anywhere) and prints a heartbeat every ~50 ms.
import time

print("ready", flush=True)
i = 0
last = time.monotonic()
while True:
    i += 1
    now = time.monotonic()
    if now - last >= 0.05:
        last = now
        print(f"tick {i}", flush=True)
