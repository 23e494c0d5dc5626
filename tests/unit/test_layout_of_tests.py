"""The folder is a test's kind (tests/support/layout_rule.py), checked on throwaway trees: everything under
tests/live is selected by `-m live` and nothing else is, and a misplaced live test stops the collection."""

from __future__ import annotations

import pytest
from repo_paths import TESTS

CONFTEST = '''
from collections.abc import Iterator

import pytest

pytest_plugins = ["layout_rule"]


@pytest.fixture
def targets() -> Iterator[None]:  # stands in for the live-target pool: only its name matters to the rule
    yield None
'''

GOOD = {
    "tests/live/test_live_ones.py": "def test_with_a_target(targets):\n    pass\n\n\n"
                                    "def test_without_one():\n    pass\n",
    "tests/unit/test_pure.py": "def test_pure():\n    pass\n",
    "tests/tui/test_console.py": "def test_console():\n    pass\n",
}

MISPLACED = {
    "marked": ("tests/unit/test_marked.py", "import pytest\n\n\n@pytest.mark.live\ndef test_x():\n    pass\n",
               "tests/unit/test_marked.py::test_x is marked live"),
    "module-marked": ("tests/tui/test_module.py", "import pytest\n\npytestmark = pytest.mark.live\n\n\n"
                      "def test_x():\n    pass\n", "tests/tui/test_module.py::test_x is marked live"),
    "fixture": ("tests/unit/test_spawns.py", "def test_x(targets):\n    pass\n",
                "tests/unit/test_spawns.py::test_x uses the live-target fixture targets"),
    "fixture-through-another": (
        "tests/tui/test_indirect.py",
        "import pytest\n\n\n@pytest.fixture\ndef target(targets):\n    return targets\n\n\n"
        "def test_x(target):\n    pass\n",
        "tests/tui/test_indirect.py::test_x uses the live-target fixture targets"),
    "no-kind-folder": ("tests/test_loose.py", "def test_x():\n    pass\n",
                       "tests/test_loose.py::test_x sits in neither tests/unit, tests/live, tests/tui"),
}


@pytest.fixture
def tree(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the rule needs none: a quicker start
    # the rule module is imported the way the real suite imports it: tests/support on sys.path
    pytester.makeini(f"[pytest]\npythonpath = {TESTS / 'support'}\nmarkers =\n    live: drives real targets\n")
    pytester.makepyfile(**{"tests/conftest": CONFTEST})
    for path, source in GOOD.items():
        pytester.makepyfile(**{path.removesuffix(".py"): source})
    return pytester


def selected(tree: pytest.Pytester, marker: str) -> list[str]:
    result = tree.runpytest_subprocess("--collect-only", "-q", "-p", "no:cacheprovider", "-m", marker)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    return sorted(line for line in result.stdout.lines if "::" in line)


def test_the_live_folder_is_what_dash_m_live_selects(tree: pytest.Pytester) -> None:
    assert selected(tree, "live") == ["tests/live/test_live_ones.py::test_with_a_target",
                                      "tests/live/test_live_ones.py::test_without_one"]  # unmarked, yet live
    assert selected(tree, "not live") == ["tests/tui/test_console.py::test_console",
                                          "tests/unit/test_pure.py::test_pure"]


@pytest.mark.parametrize("case", sorted(MISPLACED))
def test_a_misplaced_test_stops_the_collection(tree: pytest.Pytester, case: str) -> None:
    path, source, complaint = MISPLACED[case]
    tree.makepyfile(**{path.removesuffix(".py"): source})
    for args in (("--collect-only", "-q"), ("-q", "-m", "not live")):  # also when it would be deselected
        result = tree.runpytest_subprocess(*args, "-p", "no:cacheprovider")
        assert result.ret == pytest.ExitCode.USAGE_ERROR, (args, result.stdout.str(), result.stderr.str())
        assert complaint in result.stderr.str(), result.stderr.str()
        assert "passed" not in result.stdout.str()
