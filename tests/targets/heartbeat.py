# A target that sleeps in short steps (parked in clock_nanosleep) and prints a heartbeat every ~50 ms.
import time

print("ready", flush=True)
i = 0
while True:
    time.sleep(0.01)
    i += 1
    if i % 5 == 0:
        print(f"tick {i // 5}", flush=True)
