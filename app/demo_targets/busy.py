# safeattach demo target: spins in pure Python bytecode.


def work(n: int) -> int:
    return sum(i * i for i in range(n))


print("ready", flush=True)
while True:
    work(1000)
