# ruff: noqa: F841 - the locals exist to be read from outside
# A target whose parked frame holds one local of every kind `stack --locals` decodes.
import time


def parked(arg):
    none, yes, no = None, True, False
    small, negative, big, huge = 42, -7, 2**70, 2**400
    ratio = 2.5
    text, wide = "hello", "grüße ☃"
    raw = b"\x00ab"
    items, pair, table, bag = [1, 2, 3], (1, 2), {"a": 1, "b": 2}, {1, 2, 3, 4}
    other = object()
    print("ready", flush=True)
    while True:
        time.sleep(0.5)
        time.sleep(0.5)


parked("argument")
