# A target parked in clock_nanosleep almost all the time, printing a heartbeat every ~50 ms.
import time

print("ready", flush=True)
i = 0
while True:
    time.sleep(0.05)
    i += 1
    print(f"tick {i}", flush=True)
