"""`dataclass`, `field`, `fields`, `replace` and `asdict` for the engine's plain records, at no start-up cost.

The standard decorator compiles five or six methods per class with `exec` and imports `inspect` (with ast, dis
and tokenize): about 40 ms of every CLI run. Here the methods are shared closures over a field table. The type
checker sees the standard library's names, so typing is unchanged, and dataclasses' own functions work on
records as well (they import dataclasses when called); tests/unit/test_records.py holds the behaviour equal. Only
what the engine uses is supported: `@dataclass`, `@dataclass(frozen=True)`, `field(default=..., default_factory=
..., init=..., repr=..., hash=..., compare=...)` and `__post_init__`; records do not inherit from records.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, TypeVar

    _T = TypeVar("_T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_FIELDS = "__record_fields__"
_MATCH_ARGS = "__match_args__"
_STDLIB_FIELDS = "__dataclass_fields__"
_MUTABLE_DEFAULTS = (list, dict, set)


def _frozen_error(message: str) -> AttributeError:
    """dataclasses.FrozenInstanceError itself, so callers catch what the type checker told them; a bug path."""
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError(message)


class _StdlibFields:
    """`__dataclass_fields__`, built on first use, so dataclasses.fields/asdict/replace/is_dataclass work on
    records too (for code outside the hot path: rich, tests); it imports dataclasses only then."""

    def __get__(self, obj: object, owner: type) -> dict[str, Any]:
        import dataclasses

        kind = vars(dataclasses)["_FIELD"]  # the marker dataclasses' own functions filter fields by
        built: dict[str, Any] = {}
        for f in getattr(owner, _FIELDS):
            std: Any = dataclasses.field(
                default=dataclasses.MISSING if f.default is MISSING else f.default,
                default_factory=dataclasses.MISSING if f.default_factory is MISSING else f.default_factory,
                init=f.init, repr=f.repr, hash=f.hash, compare=f.compare)
            std.name, std.type = f.name, f.type
            std._field_type = kind
            built[f.name] = std
        setattr(owner, _STDLIB_FIELDS, built)  # cached on the class, replacing this descriptor
        return built


class Field:
    """One field: its name, annotation text and how __init__, __repr__, __eq__ and __hash__ treat it."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "name", "repr", "type")

    def __init__(self, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True,
                 repr: bool = True, hash: bool | None = None, compare: bool = True) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: object = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, type={self.type!r}, default={self.default!r})"


def _field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True, repr: bool = True,
           hash: bool | None = None, compare: bool = True) -> Any:
    return Field(default, default_factory, init, repr, hash, compare)


def _is_classvar(annotation: object) -> bool:
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return isinstance(text, str) and (text.startswith(("ClassVar", "typing.ClassVar")))


def _collect(cls: type) -> tuple[Field, ...]:
    for base in cls.__mro__[1:]:
        if _FIELDS in vars(base) or _STDLIB_FIELDS in vars(base):
            raise TypeError(f"{cls.__qualname__}: records do not inherit from records (core.records)")
    found: list[Field] = []
    seen_default = False
    for name, annotation in getattr(cls, "__annotations__", {}).items():  # own only (3.10+), strings here
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name, f.type = name, annotation
        if isinstance(f.default, _MUTABLE_DEFAULTS):
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        if isinstance(value, Field):  # the class attribute becomes the plain default, or goes
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        if f.init:
            has_default = f.default is not MISSING or f.default_factory is not MISSING
            if seen_default and not has_default:
                raise TypeError(f"non-default argument {name!r} follows default argument")
            seen_default = seen_default or has_default
        found.append(f)
    return tuple(found)


def _make_init(cls: type, table: tuple[Field, ...]) -> Callable[..., None]:
    init_fields = tuple(f for f in table if f.init)
    names = tuple(f.name for f in init_fields)
    accepted = frozenset(names)
    later = tuple(f for f in table if not f.init and (f.default is not MISSING or f.default_factory is not MISSING))
    post_init = getattr(cls, "__post_init__", None) is not None
    qualname = cls.__qualname__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if (not kwargs and len(args) == len(names)) or (not args and kwargs.keys() == accepted):
            # every field given (positionally or by name): the common case, and the hot one (read_maps
            # makes ~60 records per process)
            self.__dict__.update(zip(names, args, strict=True) if args else kwargs)
            if later:
                self.__dict__.update((f.name, f.default if f.default is not MISSING else f.default_factory())
                                     for f in later)
            if post_init:
                self.__post_init__()
            return
        if len(args) > len(names):
            raise TypeError(f"{qualname}.__init__() takes {len(names) + 1} positional arguments but "
                            f"{len(args) + 1} were given")
        values = dict(zip(names, args, strict=False))
        for key in kwargs:
            if key not in accepted:
                raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument {key!r}")
            if key in values:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument {key!r}")
        values.update(kwargs)
        if len(values) < len(names):
            missing = []
            for f in init_fields:
                if f.name in values:
                    continue
                if f.default is not MISSING:
                    values[f.name] = f.default
                elif f.default_factory is not MISSING:
                    values[f.name] = f.default_factory()
                else:
                    missing.append(f.name)
            if missing:
                raise TypeError(f"{qualname}.__init__() missing {len(missing)} required argument(s): "
                                + ", ".join(repr(m) for m in missing))
        for f in later:
            values[f.name] = f.default if f.default is not MISSING else f.default_factory()
        self.__dict__.update(values)  # past a frozen __setattr__, as dataclasses' object.__setattr__ is
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{qualname}.__init__"
    return __init__


def _make_methods(cls: type, table: tuple[Field, ...], frozen: bool, eq: bool) -> dict[str, Any]:
    shown = tuple(f.name for f in table if f.repr)
    compared = tuple(f.name for f in table if f.compare)
    hashed = tuple(f.name for f in table if (f.compare if f.hash is None else f.hash))
    names = frozenset(f.name for f in table)

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:  # tuples, as dataclasses compare (identity, then ==)
            return tuple(getattr(self, n) for n in compared) == tuple(getattr(other, n) for n in compared)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in hashed))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise _frozen_error(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    methods: dict[str, Any] = {"__repr__": __repr__, "__eq__": __eq__}
    if frozen:
        methods.update(__setattr__=__setattr__, __delattr__=__delattr__)
    if frozen and eq:
        methods["__hash__"] = __hash__
    return methods


def _dataclass(cls: type[_T] | None = None, /, *, init: bool = True, repr: bool = True,
               eq: bool = True, frozen: bool = False) -> Any:
    def wrap(cls: type[_T]) -> type[_T]:
        table = _collect(cls)
        klass: Any = cls  # assigned to as a plain object: these are the methods the type checker already sees
        own = cls.__dict__
        class_hash = own.get("__hash__", MISSING)
        explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
        setattr(cls, _FIELDS, table)
        setattr(cls, _STDLIB_FIELDS, _StdlibFields())
        if init:
            klass.__init__ = _make_init(cls, table)
        methods = _make_methods(cls, table, frozen, eq)
        if not repr:
            del methods["__repr__"]
        if not eq:
            del methods["__eq__"]
        for name, method in methods.items():
            if name in ("__setattr__", "__delattr__") and name in own:
                raise TypeError(f"cannot overwrite attribute {name} in class {cls.__qualname__}")
            if name == "__hash__" and explicit_hash:
                continue
            if name not in own or name == "__hash__":
                method.__qualname__ = f"{cls.__qualname__}.{name}"
                setattr(cls, name, method)
        if eq and not frozen and not explicit_hash:
            klass.__hash__ = None  # mutable and comparable: unhashable, as dataclasses
        setattr(cls, _MATCH_ARGS, tuple(f.name for f in table if f.init))
        return cls

    return wrap if cls is None else wrap(cls)


def _fields(class_or_instance: object) -> tuple[Field, ...]:
    try:
        table: tuple[Field, ...] = getattr(class_or_instance, _FIELDS)
    except AttributeError:
        raise TypeError("must be called with a record type or instance") from None
    return table


def _replace(obj: _T, /, **changes: Any) -> _T:
    for f in _fields(obj):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
            continue
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def _asdict(obj: object) -> dict[str, Any]:
    if not hasattr(type(obj), _FIELDS):
        raise TypeError("asdict() should be called on record instances")
    result = _plain(obj)
    assert isinstance(result, dict)
    return result


def _plain(value: object) -> object:
    if hasattr(type(value), _FIELDS):
        return {f.name: _plain(getattr(value, f.name)) for f in _fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        named: Any = type(value)
        return named(*(_plain(v) for v in value))
    if isinstance(value, list | tuple):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    return value  # dataclasses deep-copies other values; the engine's records hold immutable leaves


if TYPE_CHECKING:
    from dataclasses import asdict as asdict
    from dataclasses import dataclass as dataclass
    from dataclasses import field as field
    from dataclasses import fields as fields
    from dataclasses import replace as replace
else:
    dataclass, field, fields, replace, asdict = _dataclass, _field, _fields, _replace, _asdict
