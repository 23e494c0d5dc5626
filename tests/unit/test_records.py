"""core.records behaves as dataclasses for every form the engine uses (it replaces them at run time only)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from core import records

Decorate = Callable[..., Any]
FieldFn = Callable[..., Any]


def _shapes(dataclass: Decorate, field: FieldFn) -> dict[str, type]:
    """The same class bodies under either implementation."""

    @dataclass(frozen=True)
    class Point:
        """A frozen record with defaults of every kind."""

        x: int
        y: int = 0
        tags: tuple[str, ...] = field(default_factory=tuple)
        note: str = field(default="", compare=False, repr=False)
        weight: float = field(default=1.0, hash=False)
        LIMIT: ClassVar[int] = 3

        @property
        def total(self) -> int:
            return self.x + self.y

    @dataclass
    class Box:
        items: list[int] = field(default_factory=list)
        label: str = "box"

    @dataclass
    class Late:
        base: int
        derived: int = field(init=False)
        seen: list[str] = field(init=False, default_factory=list)

        def __post_init__(self) -> None:
            self.derived = self.base * 2

    @dataclass(frozen=True)
    class Custom:
        a: int

        def __repr__(self) -> str:
            return "custom"

        def __hash__(self) -> int:
            return 7

    @dataclass(frozen=True)
    class Nested:
        point: Point
        points: tuple[Point, ...]
        table: dict[str, Point]

    return {"Point": Point, "Box": Box, "Late": Late, "Custom": Custom, "Nested": Nested}


OURS = _shapes(records._dataclass, records._field)
THEIRS = _shapes(dataclasses.dataclass, dataclasses.field)


def both(name: str) -> tuple[type, type]:
    return OURS[name], THEIRS[name]


def outcome(fn: Callable[[], object]) -> object:
    try:
        return ("value", fn())
    except Exception as exc:  # the same exception class (and, where we copy it, the message)
        return ("raised", type(exc).__mro__[1] if type(exc).__name__ == "FrozenInstanceError" else type(exc))


CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Point", (1,), {}),
    ("Point", (1, 2), {"tags": ("a",)}),
    ("Point", (), {"x": 1, "y": 2, "note": "n", "weight": 2.5}),
    ("Point", (), {"x": 1, "y": 2, "tags": ("t",), "note": "n", "weight": 2.5}),  # every field by name
    ("Point", (1, 2, ("t",), "n", 2.5), {}),  # every field by position
    ("Late", (), {"base": 3}),
    ("Point", (), {}),
    ("Point", (1, 2, (), "", 1.0, "extra"), {}),
    ("Point", (1,), {"x": 2}),
    ("Point", (1,), {"nope": 2}),
    ("Box", (), {}),
    ("Box", ([1, 2],), {"label": "b"}),
    ("Late", (3,), {}),
    ("Late", (), {"base": 3, "derived": 1}),
    ("Custom", (1,), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), CALLS)
def test_init_repr_eq_hash_as_dataclasses(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    ours, theirs = both(name)
    a, b = outcome(lambda: ours(*args, **kwargs)), outcome(lambda: theirs(*args, **kwargs))
    assert a[0] == b[0], (a, b)
    if a[0] == "raised":
        assert a[1] is b[1]
        return
    x, y = a[1], b[1]
    assert repr(x) == repr(y)
    assert vars(x) == vars(y)
    assert (x == ours(*args, **kwargs)) == (y == theirs(*args, **kwargs))
    assert outcome(lambda: hash(x))[0] == outcome(lambda: hash(y))[0]
    if outcome(lambda: hash(y))[0] == "value":
        assert (hash(x) == hash(ours(*args, **kwargs))) and (hash(y) == hash(theirs(*args, **kwargs)))
    assert type(x).__match_args__ == type(y).__match_args__  # type: ignore[attr-defined]
    assert x != y and x.__eq__(y) is NotImplemented  # records of different classes never compare equal


def test_equality_ignores_compare_false_and_hash_follows() -> None:
    for point in (OURS["Point"], THEIRS["Point"]):
        assert point(1, note="a") == point(1, note="b")
        assert hash(point(1, weight=1.0)) == hash(point(1, weight=2.0))
        assert point(1, weight=1.0) != point(1, weight=2.0)
        nan = math.nan
        assert point(1, weight=nan) == point(1, weight=nan)  # tuples compare identity first
        assert point.LIMIT == 3 and point(1, 2).total == 3


def test_frozen_refuses_assignment_and_deletion() -> None:
    for point in (OURS["Point"], THEIRS["Point"]):
        p = point(1)
        with pytest.raises(AttributeError, match="cannot assign to field 'x'"):
            p.x = 2
        with pytest.raises(AttributeError, match="cannot assign to field 'other'"):
            p.other = 2
        with pytest.raises(AttributeError):
            del p.x


def test_mutable_records_assign_and_are_unhashable() -> None:
    for box in (OURS["Box"], THEIRS["Box"]):
        b = box()
        b.label = "new"
        assert b.label == "new" and box().items is not box().items
        with pytest.raises(TypeError):
            hash(b)


def test_explicit_methods_are_kept() -> None:
    for custom in (OURS["Custom"], THEIRS["Custom"]):
        assert repr(custom(1)) == "custom" and hash(custom(1)) == 7


def test_fields_replace_asdict() -> None:
    ours, theirs = both("Point")
    assert [f.name for f in records._fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert [f.name for f in records._fields(ours(1))] == ["x", "y", "tags", "note", "weight"]
    assert records._replace(ours(1, tags=("a",)), y=5) == ours(1, 5, ("a",))
    with pytest.raises(TypeError):
        records._replace(ours(1), nope=1)
    late_ours, late_theirs = both("Late")
    for late, replace in ((late_ours, records._replace), (late_theirs, dataclasses.replace)):
        with pytest.raises(ValueError):
            replace(late(1), derived=3)
        assert replace(late(1), base=4).derived == 8
    nested_ours, nested_theirs = both("Nested")
    mine = nested_ours(ours(1), (ours(2), ours(3)), {"k": ours(4)})
    std = nested_theirs(theirs(1), (theirs(2), theirs(3)), {"k": theirs(4)})
    assert records._asdict(mine) == dataclasses.asdict(std)
    with pytest.raises(TypeError):
        records._asdict(object())
    with pytest.raises(TypeError):
        records._fields(object())


def test_class_definition_errors_as_dataclasses() -> None:
    for dataclass, field in ((records._dataclass, records._field), (dataclasses.dataclass, dataclasses.field)):
        with pytest.raises(TypeError, match="non-default argument"):
            @dataclass
            class Order:
                a: int = 0
                b: int

        with pytest.raises(ValueError, match="mutable default"):
            @dataclass
            class Shared:
                a: list[int] = []

        with pytest.raises(ValueError):
            field(default=1, default_factory=int)


def test_records_do_not_inherit() -> None:
    @records._dataclass(frozen=True)
    class Base:
        a: int

    with pytest.raises(TypeError, match="do not inherit"):
        @records._dataclass(frozen=True)
        class Child(Base):
            b: int


def test_dataclasses_functions_work_on_records() -> None:
    """Code the type checker lets call dataclasses.asdict/replace/fields on a record gets the same answers."""
    ours, theirs = both("Point")
    assert dataclasses.is_dataclass(ours) and dataclasses.is_dataclass(ours(1))
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert dataclasses.asdict(ours(1, tags=("t",))) == dataclasses.asdict(theirs(1, tags=("t",)))
    assert dataclasses.replace(ours(1), y=3) == ours(1, 3)
    assert dataclasses.astuple(ours(1, 2)) == dataclasses.astuple(theirs(1, 2))
    late_ours, _ = both("Late")
    assert dataclasses.replace(late_ours(2), base=5).derived == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours(1).x = 5


def test_the_engine_uses_records() -> None:
    """The read and attach paths are built on core.records: the type checker sees dataclasses, run time not."""
    from core import model

    assert records.dataclass is records._dataclass and records.field is records._field
    assert "__record_fields__" in vars(model.ProcessSummary)
    assert [f.name for f in records.fields(model.OffsetField)] == ["name", "offset", "value", "problem"]
