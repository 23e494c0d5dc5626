"""Getting code to run inside a live CPython without PEP 768: the ptrace injector (default) and gdb (opt-in)."""
