"""core.dap.dist without a target: our debugpy found without importing it, and the copy's digest remembered
in the state dir (hashing the whole package is not paid on every attach)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.dap.dist import _digest, cached_digest, debugpy_min_python, local_debugpy


def test_local_debugpy_is_found_from_its_metadata() -> None:
    import debugpy

    install = local_debugpy()
    assert install.version == debugpy.__version__
    assert (Path(install.parent) / "debugpy" / "__init__.py").samefile(debugpy.__file__)
    assert debugpy_min_python() == (3, 10)  # debugpy 1.8.22: Requires-Python >= 3.10


def test_the_digest_is_remembered_until_a_file_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAFEATTACH_STATE_DIR", str(tmp_path / "state"))
    package = tmp_path / "site" / "debugpy"
    shutil.copytree(Path(local_debugpy().parent, "debugpy", "common"), package / "common")
    (package / "__init__.py").write_text("x = 1\n")
    real = _digest(package)
    assert cached_digest(package) == real
    store = tmp_path / "state" / "debugpy-digests.json"
    assert os.stat(store).st_mode & 0o777 == 0o600
    known = json.loads(store.read_text())
    known[str(package)][1] = "remembered"
    store.write_text(json.dumps(known))
    assert cached_digest(package) == "remembered"  # the files did not change: nothing is hashed
    (package / "__init__.py").write_text("x = 22\n")
    assert cached_digest(package) == _digest(package) != real
