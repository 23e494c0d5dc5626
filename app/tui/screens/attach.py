"""Attach: choose payload, method and timeout; run source.attach in a thread worker, show each step live."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Footer, Header, Input, RadioButton, RadioSet, Static

from app.render import rich as render
from app.tui.messages import OpenLog
from app.tui.styles import css
from app.viewmodel import AttemptView, reduce
from core.doctor.model import Diagnosis
from core.errors import FailureKind
from core.events import Event, Outcome
from core.model import ProcessSummary
from core.requests import AttachRequest, CancelToken, InvalidRequest, Method, Payload, parse_timeout
from core.source import EngineSource
from core.text import visible


class AttachEvent(Message):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class DoctorDone(Message):
    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__()
        self.diagnosis = diagnosis


class DoctorFailed(Message):
    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class AttachScreen(Screen[None]):
    CSS_PATH = css("attach")
    BINDINGS = [
        Binding("ctrl+r", "run", "Run attach"),
        Binding("escape", "cancel_or_back", "Cancel/Back"),
        Binding("ctrl+l", "log", "Log"),
    ]

    def __init__(self, process: ProcessSummary, source: EngineSource, script: str = "", *,
                 spinners: bool = True) -> None:
        super().__init__()
        self.process = process
        self.source = source
        self.spinners = spinners  # False: static spinner glyphs (deterministic snapshots)
        self.initial_script = script
        self.view = AttemptView()
        self.token: CancelToken | None = None
        self.running = False
        self.frame = 0
        self._spinner: Timer | None = None
        self.diagnosis: Diagnosis | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        head = Text.assemble(
            ("PID ", "bold"), (str(self.process.pid), "bold"), "  ", str(self.process.version or "?"), "  "
        )
        head.append(visible(self.process.cmdline))
        yield Static(head, id="attach-target")
        with Horizontal(id="attach-form"):
            with RadioSet(id="payload") as payload:
                payload.border_title = "Payload"
                yield RadioButton("exec a script now", value=True, id="payload-exec")
                yield RadioButton("debugpy (DAP server)", id="payload-debugpy")
            with RadioSet(id="method") as method:
                method.border_title = "Method"
                yield RadioButton("auto", value=True, id="method-auto")
                yield RadioButton("safe (PEP 768)", id="method-safe")
                yield RadioButton("legacy (ptrace)", id="method-legacy")
            with Vertical(id="attach-options"):
                timeout = Input("10", id="timeout", type="number")
                timeout.border_title = "Timeout (s)"
                yield timeout
                # explicit consent, honoured only with the legacy method; the attempt log records it
                yield Checkbox("override opt-out", id="override", tooltip="with method legacy: inject even "
                               "though the target opted out of remote debugging (logged)")
        script = Input(self.initial_script, placeholder="/path/to/script.py (read by the target)", id="script")
        script.border_title = "Script path"
        yield script
        with VerticalScroll(id="attach-progress"):
            yield Static(Text(f"doctor: checking PID {self.process.pid}…", style="dim"), id="doctor")
            yield Static(
                Text("Ctrl+R runs the attach; Esc cancels it while it runs.", style="dim"), id="steps"
            )
            yield Static(id="outcome")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"Attach · PID {self.process.pid}"
        self.query_one("#script", Input).focus()
        self._diagnose(self.process.pid)

    # doctor: read-only checks, in a worker, so the form is usable at once ----
    @work(thread=True, exclusive=True, group="doctor")
    def _diagnose(self, pid: int) -> None:
        try:
            diagnosis = self.source.diagnose(pid)
        except Exception as exc:
            self.post_message(DoctorFailed(exc))
            return
        self.post_message(DoctorDone(diagnosis))

    @on(DoctorDone)
    def _doctor_done(self, message: DoctorDone) -> None:
        self.diagnosis = message.diagnosis
        self.query_one("#doctor", Static).update(render.doctor_text(message.diagnosis))
        self.set_class(message.diagnosis.blocking is not None, "-blocked")

    @on(DoctorFailed)
    def _doctor_failed(self, message: DoctorFailed) -> None:
        self.query_one("#doctor", Static).update(
            Text(visible(f"doctor: could not check: {message.error}"), style="yellow")
        )

    def on_unmount(self) -> None:
        # leaving (or quitting) while an attempt runs withdraws it rather than leaving it armed
        if self.running and self.token is not None:
            self.token.cancel()

    # request ---------------------------------------------------------------
    def build_request(self) -> AttachRequest | str:
        """The request from the form, or a message saying what is wrong with it."""
        payload_set = self.query_one("#payload", RadioSet)
        payload = (
            Payload.DEBUGPY
            if payload_set.pressed_button and payload_set.pressed_button.id == "payload-debugpy"
            else Payload.EXEC
        )
        pressed = self.query_one("#method", RadioSet).pressed_button
        method = {"method-safe": Method.SAFE, "method-legacy": Method.LEGACY}.get(
            pressed.id if pressed and pressed.id else "", Method.AUTO
        )
        script = self.query_one("#script", Input).value.strip()
        if payload is Payload.EXEC and not script:
            return "enter the path of the script to run in the target"
        try:
            timeout = parse_timeout(self.query_one("#timeout", Input).value or "10", "the timeout")
        except InvalidRequest as exc:
            return str(exc)
        override = self.query_one("#override", Checkbox).value
        if override and method is not Method.LEGACY:
            return "override opt-out applies to the legacy method only: choose legacy (ptrace)"
        return AttachRequest(
            pid=self.process.pid, payload=payload, script=script or None, method=method, timeout=timeout,
            allow_opted_out_legacy=override,
        )

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        if self.running:
            return
        request = self.build_request()
        if isinstance(request, str):
            self.query_one("#outcome", Static).update(Text(request, style="bold red"))
            return
        self.view = AttemptView()
        self.token = CancelToken()
        self.running = True
        self.query_one("#outcome", Static).update("")
        if self.spinners:
            self._spinner = self.set_interval(0.1, self._tick)
        self._show()
        self._run_attach(request, self.token)

    @work(thread=True, exclusive=True, group="attach")
    def _run_attach(self, request: AttachRequest, token: CancelToken) -> None:
        try:
            for event in self.source.attach(request, token):
                self.post_message(AttachEvent(event))
        except Exception as exc:  # the protocol says attach never raises; render it as an outcome anyway
            self.post_message(
                AttachEvent(
                    Outcome(
                        False,
                        request.pid,
                        0.0,
                        f"{type(exc).__name__}: {exc}",
                        FailureKind.INTERNAL,
                        "please report this",
                    )
                )
            )

    @on(AttachEvent)
    def _event(self, message: AttachEvent) -> None:
        self.view = reduce(self.view, message.event)
        if self.view.done:
            self.running = False
            if self._spinner is not None:
                self._spinner.stop()
                self._spinner = None
        self._show()

    def _tick(self) -> None:
        # the spinner only redraws the steps: no scrolling, so the user can scroll up while it runs
        self.frame += 1
        self._show_steps()

    def _show_steps(self) -> None:
        frame = self.frame if self.spinners else None
        steps: Table | Text = (
            render.step_list(self.view, frame) if self.view.steps else Text("starting…", style="dim")
        )
        self.query_one("#steps", Static).update(steps)

    def _show(self) -> None:
        """Redraw after an engine event (or a new run)."""
        self._show_steps()
        self.query_one("#outcome", Static).update(render.outcome_text(self.view))
        # follow the attempt: keep the newest step (and finally the outcome) in view
        self.query_one("#attach-progress", VerticalScroll).scroll_end(animate=False)
        self.set_class(self.view.outcome is not None and self.view.outcome.ok, "-ok")
        self.set_class(self.view.outcome is not None and not self.view.outcome.ok, "-failed")

    def action_cancel_or_back(self) -> None:
        if self.running and self.token is not None:
            self.token.cancel()
            self.query_one("#outcome", Static).update(Text("cancelling…", style="bold yellow"))
        else:
            self.app.pop_screen()

    def action_log(self) -> None:
        self.post_message(OpenLog())
