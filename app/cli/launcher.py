#!python
"""The installed `safeattach` command (pyproject.toml: a shared script, not a console-script entry point).

An installer writes an entry point's wrapper itself, and pip's (26.3 and before) begins with `import re`:
with enum and sre's machinery, 4-5 ms of every command's start (the wrapper strips a Windows suffix from
argv[0]). This file is installed as it is, its `#!python` line rewritten to the environment's interpreter.
"""

import sys

if __name__ == "__main__":
    from app.cli.main import main

    sys.exit(main())
