"""Payloads the loader runs inside the target (see core.payload for the contract)."""

from core.payloads.debugpy_payload import debugpy_payload
from core.payloads.exec_payload import exec_payload

__all__ = ["debugpy_payload", "exec_payload"]
