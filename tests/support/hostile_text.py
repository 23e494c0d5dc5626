"""Text a target controls that would act on a terminal if printed raw: a clipboard write, a screen clear, and
a thread name with an escape and a C1 control. Shared by the unit and the live visible-text tests."""

from __future__ import annotations

OSC52 = "\x1b]52;c;aGVsbG8gcm9vdA==\x07"
CLEAR = "\x1b[2J"
EVIL_NAME = "worker\x1b[31m\x9b2J"
