# A target that sleeps in short steps and prints a heartbeat line once a second.
import time

print("ready", flush=True)
i = 0
while True:
    time.sleep(0.01)
    i += 1
    if i % 100 == 0:
        print(f"tick {i // 100}", flush=True)
