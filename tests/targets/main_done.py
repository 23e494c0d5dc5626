# The main module finishes while a non-daemon worker keeps running Python: threads_main becomes NULL.
import threading
import time


def work() -> None:
    main = threading.main_thread()
    while main.is_alive():
        time.sleep(0.005)
    print("ready", flush=True)
    while True:
        time.sleep(0.01)


threading.Thread(target=work, name="worker").start()
