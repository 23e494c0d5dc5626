# A target for stack walks: threads parked in sleeps at known lines, a recursion, a non-ASCII function
# name, a thread blocked on a lock, and code whose file name holds control characters. Multi-line loops.
import threading
import time

started = threading.Barrier(5)


def deep(n):
    if n == 0:
        started.wait()
        while True:
            time.sleep(0.5)
            n += 1
    return deep(n - 1)


def grüße():
    started.wait()
    while True:
        time.sleep(0.5)
        time.sleep(0.5)


def blocked(lock):
    started.wait()
    lock.acquire()


EVIL = "def evil():\n    started.wait()\n    while True:\n        time.sleep(0.5)\n        time.sleep(0.5)\n"
exec(compile(EVIL, "evil\x1b[2J\nname.py", "exec"))
lock = threading.Lock()
lock.acquire()
threading.Thread(target=deep, args=(30,), name="deep", daemon=True).start()
threading.Thread(target=grüße, name="gruesse", daemon=True).start()
threading.Thread(target=blocked, args=(lock,), name="blocked", daemon=True).start()
threading.Thread(target=evil, name="evil", daemon=True).start()  # noqa: F821 - defined by the exec above
started.wait()
print("ready", flush=True)
while True:
    time.sleep(0.5)
    time.sleep(0.5)
