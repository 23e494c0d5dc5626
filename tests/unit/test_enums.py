"""core.enums against enum itself: each of the engine's enums behaves as an enum.Enum built from the same members
and methods, for everything the engine, the front ends, pickling and JSON do with them."""

from __future__ import annotations

import copy
import enum
import json
import pickle
import subprocess
import sys

import pytest
from repo_paths import REPO

from core.attach.steps import Step, StepGroup
from core.doctor.model import Status
from core.enums import Enum, _Enum
from core.errors import FailureKind
from core.events import StepStatus
from core.json_writer import dumps
from core.requests import Injector, Method, Payload
from core.target import Phase
from core.walk.layouts import InstrKind, LineKind

ENGINE_ENUMS: list[type[Enum]] = [FailureKind, Method, Injector, Payload, Phase, StepGroup, Step, StepStatus, Status,
                                  InstrKind, LineKind]
ON_311 = sys.version_info >= (3, 11)  # core.enums formats as 3.11 and later do, on 3.10 too
SPECS = ["", ">30", "<4", "^12", "s"]


def test_every_enum_of_the_engine_is_compared() -> None:
    """An enum added to core fails this until it is in ENGINE_ENUMS, and so held to enum.Enum too (every core
    module is imported in a fresh interpreter, as test_import_contract does)."""
    code = ("import importlib, pkgutil, core\n"
            "from core.enums import _Enum\n"
            "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
            "    importlib.import_module(m.name)\n"
            "def subs(c):\n"
            "    return [s for k in c.__subclasses__() for s in (k, *subs(k))]\n"
            "print(' '.join(sorted(f'{c.__module__}.{c.__qualname__}' for c in subs(_Enum))))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == sorted(f"{c.__module__}.{c.__qualname__}" for c in ENGINE_ENUMS)


def twin(cls: type[Enum]) -> type[enum.Enum]:
    """An enum.Enum with cls's members (a str mixin), name, module and the methods and properties of its body
    (not the ones core.enums put there, which would make the twin equal by construction)."""
    std = enum.Enum(cls.__name__, [(m.name, m.value) for m in cls], type=str, module=cls.__module__,  # type: ignore[misc]
                    qualname=cls.__qualname__)
    for name, value in vars(cls).items():
        if value is vars(_Enum).get(name):
            continue
        if name in ("__str__", "__format__") or (isinstance(value, property) and name not in ("name", "value")):
            setattr(std, name, value)
    return std


@pytest.mark.parametrize("cls", ENGINE_ENUMS, ids=lambda c: c.__name__)
def test_members_behave_as_enums(cls: type[Enum]) -> None:
    std = twin(cls)
    assert [(m.name, m.value) for m in cls] == [(m.name, m.value) for m in std] and len(cls) == len(std) > 0
    assert [m.name for m in reversed(cls)] == [m.name for m in reversed(std)]  # type: ignore[call-overload]
    assert dict(cls.__members__) == {m.name: m for m in cls} and list(cls.__members__) == list(std.__members__)
    assert repr(cls) == repr(std) and bool(cls) is bool(std) is True
    for ours, theirs in zip(cls, std, strict=True):
        assert isinstance(ours, cls) and isinstance(ours, str) and type(ours.value) is type(theirs.value) is str
        assert (str(ours), repr(ours), "%s" % ours) == (str(theirs), repr(theirs), "%s" % theirs)  # noqa: UP031
        if ON_311:
            assert [f"{ours}", *(format(ours, spec) for spec in SPECS)] == [f"{theirs}", *(format(theirs, spec)
                                                                                         for spec in SPECS)]
        assert ours == theirs == ours.value and hash(ours) == hash(theirs) == hash(ours.value)
        assert ours.upper() == theirs.upper() and ours + "!" == theirs + "!"  # the str it is
        for attr in ("title", "group"):
            if hasattr(theirs, attr) and isinstance(vars(cls).get(attr), property):
                assert getattr(ours, attr) == getattr(theirs, attr)
        assert cls(ours.value) is ours and cls(ours) is ours and cls[ours.name] is ours
        assert ours in cls and ours.value in cls
        assert copy.copy(ours) is ours and copy.deepcopy(ours) is ours and copy.deepcopy([ours])[0] is ours
        assert pickle.loads(pickle.dumps(ours)) is ours
        assert json.dumps(ours) == json.dumps(theirs) and dumps({ours: [ours]}) == dumps({theirs: [theirs]})
        assert {ours: 1}[ours.value] == 1 and {ours.value: 1}[ours] == 1  # dict keys as str keys


@pytest.mark.parametrize("cls", ENGINE_ENUMS, ids=lambda c: c.__name__)
def test_bad_lookups_and_writes_fail_as_enums_do(cls: type[Enum]) -> None:
    std = twin(cls)
    for bad in ("not a member", 3, None, ["unhashable"]):
        with pytest.raises(ValueError) as ours:
            cls(bad)
        with pytest.raises(ValueError) as theirs:
            std(bad)
        assert str(ours.value) == str(theirs.value)
    with pytest.raises(KeyError):
        cls["NOT_A_NAME"]
    assert "not a member" not in cls and ["unhashable"] not in cls  # type: ignore[operator]
    first = next(iter(cls))
    with pytest.raises(AttributeError):
        setattr(cls, first.name, "x")
    with pytest.raises(AttributeError):
        delattr(cls, first.name)
    assert cls(first.value) is first


def test_members_are_made_as_enums_make_them() -> None:
    class Colour(str, Enum):
        RED = "red"
        _private_ = "sunder: not a member"
        __dunder__ = "not a member"

        def shout(self) -> str:
            return self.value.upper()

        @property
        def loud(self) -> str:
            return self.shout() + "!"

    assert [m.name for m in Colour] == ["RED"] and Colour.RED.shout() == "RED" and Colour.RED.loud == "RED!"
    assert Colour._private_ == "sunder: not a member" and Colour.__dunder__ == "not a member"
    with pytest.raises(TypeError):
        class Wider(Colour):  # an enum with members cannot be extended, as enum refuses it
            BLUE = "blue"
    with pytest.raises(TypeError):  # enum would give the value auto() picks; here it would be the auto object
        class Counted(Enum):
            ONE = enum.auto()
    with pytest.raises(TypeError):  # enum would call it for an unknown value; here it would be ignored
        class Lenient(str, Enum):
            A = "a"

            @classmethod
            def _missing_(cls, value: object) -> Lenient:
                return cls.A
    with pytest.raises(TypeError):
        class Aliased(str, Enum):  # two names for one value: enum makes an alias, which the engine never uses
            A = "a"
            B = "a"


def test_plain_members_without_a_mixin() -> None:
    class Shape(Enum):
        ROUND = 1
        SQUARE = 2

    StdShape = enum.Enum("Shape", [("ROUND", 1), ("SQUARE", 2)])  # type: ignore[misc]

    for ours, theirs in zip(Shape, StdShape, strict=True):
        assert (repr(ours), str(ours), format(ours, "")) == (repr(theirs), str(theirs), format(theirs, ""))
        assert hash(ours) == hash(theirs) and ours != ours.value and Shape(ours.value) is ours
