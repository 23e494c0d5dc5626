"""Everything debugpy, on the client side: the session steps, the payload spec, which release a target gets
and where it imports it from, the reattach cache and the bridge for other network namespaces.

What runs inside the target stays in core.payloads (`in_target_debugpy`, `in_target_adapter_gate`)."""
