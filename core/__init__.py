"""safeattach engine: read CPython processes and attach to them safely.

Never imports textual, rich or app (enforced by tests/unit/test_import_contract.py); never prints.
"""
