"""Payloads the loader runs inside the target (see core.payloads.contract for the contract).

Import the one you need (`core.payloads.exec_payload`, `core.payloads.debugpy_payload`): the debugpy one
pulls in the distribution lookup, which an `exec` never needs."""
