# sleepy.py that keeps the names of the modules it had loaded when it was ready (START_MODULES, in __main__),
# so that a script run in it can tell what an attach added.
import sys
import time

START_MODULES = frozenset(sys.modules)
print("ready", flush=True)
i = 0
while True:
    time.sleep(0.01)
    i += 1
