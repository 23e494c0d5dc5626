# A target that spins in pure Python bytecode.

print("ready", flush=True)
n = 0
while True:
    n += 1
