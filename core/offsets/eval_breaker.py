"""The eval-breaker bit a PEP 768 client sets to make the target thread handle a pending request."""

from __future__ import annotations

from types import MappingProxyType

from core.errors import FailureKind, SafeAttachError
from core.model import PythonVersion

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

# _PY_EVAL_PLEASE_STOP_BIT per (major, minor), from Include/internal/pycore_ceval.h of that version.
# Only versions with PEP 768 support are listed: the bit is meaningful to a remote client only there.
PLEASE_STOP_BIT: Mapping[tuple[int, int], int] = MappingProxyType({(3, 14): 5, (3, 15): 5})


def please_stop_mask(version: PythonVersion) -> int:
    """The value to OR into `tstate->eval_breaker` (0x20 for 3.14 and 3.15)."""
    bit = PLEASE_STOP_BIT.get((version.major, version.minor))
    if bit is None:
        known = ", ".join(f"{major}.{minor}" for major, minor in PLEASE_STOP_BIT)
        raise SafeAttachError(
            FailureKind.UNSUPPORTED_VERSION,
            f"no eval-breaker 'please stop' bit known for Python {version.short} (known: {known})",
            detail={"version": str(version)},
        )
    return 1 << bit
