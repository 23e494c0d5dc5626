"""`DebugOffsets`: a validated `_Py_DebugOffsets` table with typed accessors for what the engine uses."""

from __future__ import annotations

from core.errors import FailureKind, SafeAttachError
from core.model import OffsetField, OffsetSection, OffsetsTree, PythonVersion
from core.records import dataclass, field

from .layouts import COOKIE, HEADER_SIZE, Layout, layout_named

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class DebugOffsets:
    version: PythonVersion  # source "_Py_DebugOffsets.version"
    free_threaded: bool
    layout: str  # "3.14", or "3.14t" for a free-threaded build
    size: int  # bytes of the table for this version
    values: Mapping[str, int] = field(hash=False)  # "version", "free_threaded" and dotted sub-struct fields
    problems: tuple[str, ...] = ()  # non-fatal validation warnings
    field_problems: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False, repr=False)

    # -- generic access ---------------------------------------------------------------------------
    def __getitem__(self, dotted: str) -> int:
        value = self.values.get(dotted)
        if value is None:
            raise SafeAttachError(
                FailureKind.PARSE,
                f"_Py_DebugOffsets {self.layout} has no field {dotted!r}",
                detail={"field": dotted, "layout": self.layout},
            )
        return value

    def get(self, dotted: str) -> int | None:
        return self.values.get(dotted)

    def has(self, dotted: str) -> bool:
        return dotted in self.values

    @property
    def table(self) -> Layout:
        return layout_named(self.layout)

    @property
    def pep768_capable(self) -> bool:
        """The table has debugger_support (3.14+), i.e. the target can take `sys.remote_exec` requests."""
        return "debugger_support.eval_breaker" in self.values

    def tree(self) -> OffsetsTree:
        """Sections -> fields with their byte offset inside the table, their value and any warning."""
        layout = self.table
        header = OffsetSection(
            "header",
            0,
            HEADER_SIZE,
            (
                OffsetField("cookie", 0, int.from_bytes(COOKIE, "little")),
                OffsetField("version", 8, self.values["version"]),
                OffsetField("free_threaded", 16, self.values["free_threaded"]),
            ),
        )
        sections = [header]
        for section in layout.sections:
            fields = tuple(
                OffsetField(
                    name,
                    section.offset + 8 * i,
                    self.values[f"{section.name}.{name}"],
                    self.field_problems.get(f"{section.name}.{name}"),
                )
                for i, name in enumerate(section.fields)
            )
            sections.append(OffsetSection(section.name, section.offset, section.size, fields))
        return OffsetsTree(self.layout, self.size, tuple(sections), self.problems)

    # -- what the engine uses most ----------------------------------------------------------------
    def _debugger(self, name: str) -> int:
        dotted = f"debugger_support.{name}"
        value = self.values.get(dotted)
        if value is None:
            raise SafeAttachError(
                FailureKind.NOT_CAPABLE,
                f"Python {self.version} has no {dotted} (PEP 768 remote debugging needs 3.14+)",
                detail={"field": dotted, "layout": self.layout},
            )
        return value

    @property
    def interpreters_head(self) -> int:
        return self["runtime_state.interpreters_head"]

    @property
    def interp_threads_head(self) -> int:
        return self["interpreter_state.threads_head"]

    @property
    def interp_threads_main(self) -> int | None:
        """None before 3.14 (no `threads.main`)."""
        return self.get("interpreter_state.threads_main")

    @property
    def interp_next(self) -> int:
        return self["interpreter_state.next"]

    @property
    def interp_id(self) -> int:
        return self["interpreter_state.id"]

    @property
    def tstate_next(self) -> int:
        return self["thread_state.next"]

    @property
    def tstate_thread_id(self) -> int:
        return self["thread_state.thread_id"]

    @property
    def tstate_native_thread_id(self) -> int:
        return self["thread_state.native_thread_id"]

    @property
    def tstate_current_frame(self) -> int:
        return self["thread_state.current_frame"]

    @property
    def tstate_holds_gil(self) -> int | None:
        """3.15 only (`thread_state.holds_gil`, an int in the thread state); None before."""
        return self.get("thread_state.holds_gil")

    @property
    def gil_runtime_state_holder(self) -> int:
        return self["interpreter_state.gil_runtime_state_holder"]

    @property
    def gil_runtime_state_locked(self) -> int:
        return self["interpreter_state.gil_runtime_state_locked"]

    # The PEP 768 fields raise SafeAttachError(NOT_CAPABLE) on 3.13; check `pep768_capable` first.
    @property
    def eval_breaker(self) -> int:
        """Offset of `eval_breaker` (uintptr) in the thread state."""
        return self._debugger("eval_breaker")

    @property
    def remote_debugger_support(self) -> int:
        """Offset of the embedded `_PyRemoteDebuggerSupport` in the thread state."""
        return self._debugger("remote_debugger_support")

    @property
    def remote_debugging_enabled(self) -> int:
        """Offset of `config.remote_debug` (a 4-byte int) in the interpreter state."""
        return self._debugger("remote_debugging_enabled")

    @property
    def debugger_pending_call(self) -> int:
        """Offset of the int32 pending flag inside `_PyRemoteDebuggerSupport`."""
        return self._debugger("debugger_pending_call")

    @property
    def debugger_script_path(self) -> int:
        """Offset of the script path buffer inside `_PyRemoteDebuggerSupport`."""
        return self._debugger("debugger_script_path")

    @property
    def debugger_script_path_size(self) -> int:
        """Size of the script path buffer, NUL included (512)."""
        return self._debugger("debugger_script_path_size")
