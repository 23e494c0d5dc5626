"""The installed package carries its styles: a wheel installed outside any venv or checkout finds every .tcss."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_installed_with_target_finds_its_styles(tmp_path: Path) -> None:
    wheels, target = tmp_path / "wheels", tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("safeattach-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    probe = ("import json, sys; sys.path.insert(0, sys.argv[1]); from app.tui import styles; "
             "print(styles.STYLES_DIR); print(json.dumps(sorted(p.name for p in styles.STYLES_DIR.glob('*.tcss'))))")
    out = subprocess.run([sys.executable, "-c", probe, str(target)], cwd=tmp_path, capture_output=True, text=True,
                         check=True, timeout=60)
    where, names = out.stdout.splitlines()
    assert Path(where) == target / "app" / "tui" / "tcss"
    assert json.loads(names) == sorted(p.name for p in (REPO / "styles").glob("*.tcss"))
