"""The folder is a test's kind: every test under tests/live is marked `live`, and a test anywhere else that is
marked `live` or asks for a live target (the `targets` fixture) stops the collection, so it cannot pass unseen.

A plugin of the root conftest (and of the layout test's throwaway trees, which check it from outside)."""

from __future__ import annotations

from pathlib import Path

import pytest

KINDS = ("unit", "live", "tui")  # tests/<kind>/: tui holds the console's tests over the fake engine
LIVE_FIXTURES = frozenset({"targets"})  # fixtures that spawn live targets (tests/conftest.py)


def _misplaced(item: pytest.Item, tests: Path) -> str | None:
    """Why `item` is in the wrong folder, or None."""
    try:
        kind = item.path.relative_to(tests).parts[0]
    except ValueError:
        return None  # not one of ours (pytest was pointed at a file outside tests/)
    if kind == "live":
        return None
    if kind not in KINDS:
        return f"sits in neither {', '.join(f'tests/{k}' for k in KINDS)}"
    if item.get_closest_marker("live") is not None:
        return "is marked live"
    fixtures = sorted(LIVE_FIXTURES & set(getattr(item, "fixturenames", ())))
    if fixtures:
        return f"uses the live-target fixture {', '.join(fixtures)}"
    return None


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: `-m live` must see the folder's marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests = config.rootpath / "tests"
    problems = []
    for item in items:
        if item.path.is_relative_to(tests / "live"):
            item.add_marker(pytest.mark.live)
        elif (why := _misplaced(item, tests)) is not None:
            problems.append(f"  {item.nodeid} {why}")
    if problems:
        raise pytest.UsageError(
            "tests are in the wrong folder: a test that drives a live target belongs in tests/live (the folder\n"
            "marks it live), every other test in tests/unit or tests/tui:\n" + "\n".join(problems))
