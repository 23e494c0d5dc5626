# A target for stack walks: threads parked in sleeps at known lines, a recursion, a non-ASCII function
# name, a thread blocked on a lock, and code whose file name holds control characters. Multi-line loops.
import threading
import time

parked = []  # each thread adds its name just before its loop (list.append adds no Python frame)


def deep(n):
    if n == 0:
        parked.append("deep")
        while True:
            time.sleep(0.5)
            n += 1
    return deep(n - 1)


def grüße():
    parked.append("grüße")
    while True:
        time.sleep(0.5)
        time.sleep(0.5)


def blocked(lock):
    parked.append("blocked")
    lock.acquire()


EVIL = "def evil():\n    parked.append('evil')\n    while True:\n        time.sleep(0.5)\n        time.sleep(0.5)\n"
exec(compile(EVIL, "evil\x1b[2J\nname.py", "exec"))
lock = threading.Lock()
lock.acquire()
threading.Thread(target=deep, args=(30,), name="deep", daemon=True).start()
threading.Thread(target=grüße, name="gruesse", daemon=True).start()
threading.Thread(target=blocked, args=(lock,), name="blocked", daemon=True).start()
threading.Thread(target=evil, name="evil", daemon=True).start()  # noqa: F821 - defined by the exec above
while len(parked) < 4:  # a Barrier would leave threads inside Barrier.wait for a moment after "ready"
    time.sleep(0.001)
print("ready", flush=True)
while True:
    time.sleep(0.5)
    time.sleep(0.5)
