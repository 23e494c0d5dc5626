# safeattach demo target: started with PYTHON_DISABLE_REMOTE_DEBUG=1, so safe attach is refused.
import time

print("ready", flush=True)
while True:
    time.sleep(0.5)
