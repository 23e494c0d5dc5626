"""core.json_writer against json itself: `dumps` gives json.dumps's text (sort_keys, default=str), `plain`
gives what a JSON round trip gives back, and both fail where json fails, with json's exception types."""

from __future__ import annotations

import enum
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.json_writer import dumps, plain
from core.loader import params_literal


class Colour(str, enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
          | st.sampled_from([Colour.RED, Level.HIGH, -0.0, 1e308, 5e-324, "\x00\x1f\u2028\ud800\U0001f600\"\\"]))
KEYS = (st.text() | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none()
        | st.sampled_from([Colour.RED, Level.HIGH]))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=30)
WITH_OTHERS = st.recursive(LEAVES | st.sets(st.integers(), max_size=3) | st.builds(object) | st.binary(max_size=4),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=15)


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_dumps_is_json_dumps(value: object) -> None:
    assert dumps(value) == json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from([0, 1, 2, 4]))
def test_indented_is_json_dumps_indented(value: object, indent: int) -> None:
    assert dumps(value, indent=indent) == json.dumps(value, indent=indent)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), VALUES, max_size=5))
def test_sorted_keys_are_json_dumps_sorted_keys(value: dict[str, object]) -> None:
    try:
        expected = json.dumps(value, sort_keys=True, default=str)
    except TypeError:  # keys of mixed types, which sorted() cannot order
        with pytest.raises(TypeError):
            dumps(value, sort_keys=True, default=str)
        return
    assert dumps(value, sort_keys=True, default=str) == expected


@settings(max_examples=300, deadline=None)
@given(WITH_OTHERS)
def test_default_is_applied_as_json_applies_it(value: object) -> None:
    assert dumps(value, default=str) == json.dumps(value, default=str)


def _through_json(value: object) -> object:
    return json.loads(json.dumps(value, allow_nan=False))


@settings(max_examples=500, deadline=None)
@given(VALUES)
def test_plain_is_a_json_round_trip(value: object) -> None:
    try:
        expected = _through_json(value)
    except ValueError:  # NaN or an infinity somewhere
        with pytest.raises(ValueError):
            plain(value)
        return
    got = plain(value)
    assert got == expected and repr(got) == repr(expected)  # the same types too: str, not an Enum member


def test_failures_are_jsons() -> None:
    loop: list[object] = []
    loop.append(loop)
    cases: list[tuple[object, type[Exception]]] = [({1, 2}, TypeError), ({(1, 2): 0}, TypeError),
                                                   (loop, ValueError), (b"x", TypeError)]
    for value, error in cases:
        with pytest.raises(error):
            json.dumps(value)
        with pytest.raises(error):
            dumps(value)
        with pytest.raises(error):
            plain(value)
    for special in (math.nan, math.inf, -math.inf):
        assert dumps(special) == json.dumps(special)
        with pytest.raises(ValueError):
            plain({"x": [special]})
    reused = [1]
    assert dumps([reused, reused]) == "[[1], [1]]"  # the same list twice is not a cycle


class Lying(int):
    def __int__(self) -> int:
        return 42


class NotANumber(float):
    def __float__(self) -> float:
        return math.nan


class Shouting(str):
    def __repr__(self) -> str:
        return "__import__('os').system('id')"


def test_subclasses_give_their_values_and_plain_types() -> None:
    for value in ({"k": Lying(7)}, {"k": NotANumber(1.5)}, {Shouting("k"): Shouting("v")}, {Colour.RED: 1}):
        assert dumps(value) == json.dumps(value)
        got = plain(value)
        assert got == _through_json(value) and repr(got) == repr(_through_json(value))
    with pytest.raises(ValueError):
        json.dumps(10**5000)
    with pytest.raises(ValueError):
        plain(10**5000)


def test_params_become_the_literal_of_their_json_round_trip() -> None:
    params = {"a": (1, 2.5, None), "b": {1: True, 2.0: "x", Colour.RED: Shouting("s")}, "c": Colour.RED,
              "d": Level.HIGH}
    assert params_literal(params) == repr(_through_json(params))
    assert eval(params_literal(params)) == _through_json(params)
