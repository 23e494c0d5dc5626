"""`dumps`: what `json.dumps(obj, sort_keys=..., default=..., indent=...)` returns, and `plain`: what a round
trip through JSON gives back, both without importing json.

json's import is 1-4 ms of a `safeattach exec` that is done in 30-90 ms (with re, which it imports, 2.5-9 ms
where nothing has imported re yet), and it was spent before the request is armed (the CLI's event lines, the
attempt log's first record, the loader's params). Strings go through json's own C encoder
(`_json.encode_basestring_ascii`, which json uses too), so escaping is exactly json's; the rest is the layout of
json's default separators. tests/unit/test_json_writer.py holds both equal to json on generated values. The
engine's reader of what a target wrote is core.json_reader.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

try:
    from _json import encode_basestring_ascii as _string
except ImportError:  # an interpreter without json's accelerator: json's pure-Python encoder (same output)
    from json.encoder import py_encode_basestring_ascii as _string

_INF = float("inf")


def dumps(obj: object, *, sort_keys: bool = False, default: Callable[[object], object] | None = None,
          indent: int | None = None) -> str:
    parts: list[str] = []
    _Writer(parts, sort_keys, default, indent).value(obj)
    return "".join(parts)


def plain(obj: object) -> object:
    """`json.loads(json.dumps(obj, allow_nan=False))`: plain dicts with str keys, lists, str, int, finite
    floats, bools and None (never a subclass), built without the text. Raises json's TypeError or ValueError
    where it would (and RecursionError somewhat sooner: two frames per level of nesting)."""
    return _plain(obj, set())


def _plain(o: object, open_ids: set[int]) -> object:
    if isinstance(o, str):
        return str.__str__(o)  # the characters: str() of a str Enum member is its name
    if o is None or o is True or o is False:
        return o
    if isinstance(o, int):  # the value itself, not what a subclass's __int__ says; json's digit limit too
        value = int.__int__(o)
        if value.bit_length() > 10_000:
            int.__repr__(value)  # ValueError past sys.get_int_max_str_digits(), as json.dumps
        return value
    if isinstance(o, float):
        return _finite(float.__float__(o))
    if not isinstance(o, (list, tuple, dict)):
        raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")
    _enter(open_ids, o)
    try:
        if isinstance(o, dict):
            return {_plain_key(k): _plain(v, open_ids) for k, v in o.items()}
        return [_plain(v, open_ids) for v in o]
    finally:
        open_ids.discard(id(o))


def _enter(open_ids: set[int], o: object) -> None:
    """Marks `o` as being written (or converted); one already open is a cycle, json's ValueError."""
    if id(o) in open_ids:
        raise ValueError("Circular reference detected")
    open_ids.add(id(o))


def _finite(value: float) -> float:
    if value != value or value in (_INF, -_INF):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return value


def _plain_key(key: object) -> str:
    """A plain str, never a subclass: an Enum member's repr is not a literal (the loader's params are repr'd)."""
    if isinstance(key, float):
        _finite(float.__float__(key))
    return str.__str__(_Writer._key(key))


def _float(o: float) -> str:
    o = float.__float__(o)  # the value, whatever a subclass's __eq__ says
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return float.__repr__(o)


class _Writer:
    def __init__(self, parts: list[str], sort_keys: bool, default: Callable[[object], object] | None,
                 indent: int | None) -> None:
        self.out = parts.append
        self.sort_keys = sort_keys
        self.default = default
        self.open: set[int] = set()  # the containers being written: a cycle is json's ValueError
        # json's separators: ", " between items on one line; with an indent, "," and each item on its own line
        self.indent = None if indent is None else " " * indent

    def _begin(self, bracket: str, level: int) -> str:
        """Writes the opening bracket; returns what goes between two items."""
        if self.indent is None:
            self.out(bracket)
            return ", "
        inner = "\n" + self.indent * (level + 1)
        self.out(bracket + inner)
        return "," + inner

    def _end(self, bracket: str, level: int) -> None:
        self.out(bracket if self.indent is None else "\n" + self.indent * level + bracket)

    def value(self, o: object, level: int = 0) -> None:
        out = self.out
        if isinstance(o, str):
            out(_string(o))
        elif o is None:
            out("null")
        elif o is True:
            out("true")
        elif o is False:
            out("false")
        elif isinstance(o, int):
            out(int.__repr__(o))
        elif isinstance(o, float):
            out(_float(o))
        elif isinstance(o, (list, tuple)):
            if not o:
                out("[]")
                return
            self._enter(o)
            between = self._begin("[", level)
            for i, item in enumerate(o):
                if i:
                    out(between)
                self.value(item, level + 1)
            self._end("]", level)
            self.open.discard(id(o))
        elif isinstance(o, dict):
            self._dict(o, level)
        else:
            if self.default is None:
                raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")
            self._enter(o)
            self.value(self.default(o), level)
            self.open.discard(id(o))

    def _enter(self, o: object) -> None:
        _enter(self.open, o)

    def _dict(self, o: dict[object, object], level: int) -> None:
        if not o:
            self.out("{}")
            return
        self._enter(o)
        out = self.out
        items = sorted(o.items()) if self.sort_keys else o.items()
        between = self._begin("{", level)
        first = True
        for key, item in items:
            if not first:
                out(between)
            first = False
            out(_string(self._key(key)))
            out(": ")
            self.value(item, level + 1)
        self._end("}", level)
        self.open.discard(id(o))

    @staticmethod
    def _key(key: object) -> str:
        if isinstance(key, str):
            return key
        if isinstance(key, float):
            return _float(key)
        if key is True:
            return "true"
        if key is False:
            return "false"
        if key is None:
            return "null"
        if isinstance(key, int):
            return int.__repr__(key)
        raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
