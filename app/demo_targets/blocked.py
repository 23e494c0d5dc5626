# safeattach demo target: its only thread is parked in one long system call.
import time

print("ready", flush=True)
time.sleep(3600)
