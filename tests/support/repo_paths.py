"""Where the repository, the target programs and the recorded data are, for tests in any folder of tests/.

One place, so a test that moves between tests/unit and tests/live never counts `.parent`s again."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
TARGETS_DIR = TESTS / "targets"  # the programs live targets run (passed with -c, so they work in any root)
DATA_DIR = TESTS / "data"  # recordings of real interpreters: offsets tables, a task walk's memory
