"""Payloads the loader runs inside the target (see core.payloads.contract for the contract).

The `in_target_*` files run inside the target; `exec_payload` builds the exec spec. The debugpy payload's
client-side builder lives with the rest of debugpy in core.dap."""
