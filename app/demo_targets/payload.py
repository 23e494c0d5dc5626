# safeattach demo payload: runs inside the target when attached with "exec a script".
import os
import sys
import threading

print(f"hello from safeattach: pid={os.getpid()} thread={threading.current_thread().name}", file=sys.stderr, flush=True)
