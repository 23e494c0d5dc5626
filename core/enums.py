"""The engine's enums: `enum.Enum` for type checkers, a small equivalent of it at run time.

`import enum` brings functools, collections, operator, reprlib and keyword with it: 17 M instructions of the
102 M of a whole `safeattach exec --json`, and enum's own machinery costs about 75 K more per member (the exec
path has 64). The engine uses a small part of what enum.Enum does: members of a str mixin, `name` and `value`,
lookup by value or name, iteration in definition order, str, repr and format as Python 3.11 and later give them
(`Cls.NAME`, on 3.10 too, where enum's format gave the value), pickling and copying by identity, `__members__`,
and methods and properties on the enum class. That part is here, and what enum would do beyond it (`auto()`,
`_missing_` and the other hooks) is refused when the class is made; the type checker reads the standard
library's class, so every use is checked as an enum's (`isinstance(member, enum.Enum)` is False: use
`core.enums.Enum`).
tests/unit/test_enums.py holds each of the engine's enums equal to an enum.Enum built from the same members.
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing (CLI start-up); type checkers read it the same
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator


def _is_member_name(name: str) -> bool:
    """As enum's rule: not a dunder, a sunder or a private (name-mangled) name."""
    if name.startswith("__") and name.endswith("__"):
        return False
    if name.startswith("_") and name.endswith("_") and len(name) > 2:
        return False
    return not (name.startswith("_") and "__" in name)


def _is_descriptor(value: object) -> bool:
    return any(hasattr(value, attr) for attr in ("__get__", "__set__", "__delete__"))


_UNSUPPORTED_HOOKS = frozenset({"_missing_", "_generate_next_value_", "_ignore_", "_order_", "_numeric_repr_"})


class _EnumType(type):
    """Makes each plain class attribute of an enum class a member: an instance of the class (of its mixin too)."""

    _member_map_: dict[str, object]  # by name, in definition order
    _value2member_map_: dict[object, object]

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> _EnumType:
        enum_bases = [b for b in bases if isinstance(b, _EnumType)]
        for base in enum_bases:
            if getattr(base, "_member_map_", None):
                raise TypeError(f"{name!r} cannot extend {base.__name__!r}, which has members")
        unsupported = sorted(set(namespace) & _UNSUPPORTED_HOOKS)
        if unsupported:  # enum would honour them; here they would be silently ignored
            raise TypeError(f"{name}: {', '.join(unsupported)} not supported by core.enums")
        members = [(k, v) for k, v in namespace.items() if _is_member_name(k) and not _is_descriptor(v)]
        autos = [k for k, v in members if type(v).__name__ == "auto"]
        if autos:  # enum.auto() would become a member whose value is the auto object
            raise TypeError(f"{name}: enum.auto() is not supported by core.enums ({', '.join(autos)})")
        names = {k for k, _ in members}
        body = {k: v for k, v in namespace.items() if k not in names}
        cls = super().__new__(mcs, name, bases, body)
        mixin = next((b for b in cls.__mro__[1:] if not isinstance(b, _EnumType) and b is not object), None)
        if enum_bases and mixin is not None:
            # as enum does: the mixin's own repr, str, format and pickling give way to the enum's
            for method in ("__repr__", "__str__", "__format__", "__reduce_ex__"):
                if method not in body and getattr(cls, method) in (getattr(mixin, method), getattr(object, method)):
                    type.__setattr__(cls, method, getattr(_Enum, method))
        type.__setattr__(cls, "_member_map_", {})
        type.__setattr__(cls, "_value2member_map_", {})
        for key, value in members:
            if value in cls._value2member_map_:
                raise TypeError(f"{name}.{key}: the value {value!r} is taken (aliases are not supported)")
            if mixin is not None:
                member = mixin.__new__(cls, value)  # type: ignore[call-overload]
            else:
                member = object.__new__(cls)  # type: ignore[arg-type]
            member._name_ = key
            member._value_ = value
            cls._member_map_[key] = member
            cls._value2member_map_[value] = member
            type.__setattr__(cls, key, member)
        return cls

    def __call__(cls, value: object) -> object:
        try:
            return cls._value2member_map_[value]
        except (KeyError, TypeError):
            raise ValueError(f"{value!r} is not a valid {cls.__qualname__}") from None

    def __getitem__(cls, name: str) -> object:
        return cls._member_map_[name]

    def __iter__(cls) -> Iterator[object]:
        return iter(tuple(cls._member_map_.values()))

    def __reversed__(cls) -> Iterator[object]:
        return reversed(tuple(cls._member_map_.values()))

    @property
    def __members__(cls) -> dict[str, object]:  # a copy: enum's is a read-only view
        return dict(cls._member_map_)

    def __len__(cls) -> int:
        return len(cls._member_map_)

    def __bool__(cls) -> bool:  # a class is true, members or not (as enum's)
        return True

    def __contains__(cls, value: object) -> bool:  # as Python 3.12 and later: a member, or a member's value
        if isinstance(value, cls):
            return True
        try:
            return value in cls._value2member_map_
        except TypeError:
            return False

    def __setattr__(cls, name: str, value: object) -> None:
        if name in cls.__dict__.get("_member_map_", {}):
            raise AttributeError(f"cannot reassign member {name!r}")
        super().__setattr__(name, value)

    def __delattr__(cls, name: str) -> None:
        if name in cls.__dict__.get("_member_map_", {}):
            raise AttributeError(f"cannot delete member {name!r}")
        super().__delattr__(name)

    def __repr__(cls) -> str:
        return f"<enum {cls.__name__!r}>"


class _Enum(metaclass=_EnumType):
    """The members' behaviour (enum.Enum's, for what the engine uses)."""

    _name_: str
    _value_: object

    @property
    def name(self) -> str:
        return self._name_

    @property
    def value(self) -> object:
        return self._value_

    def __repr__(self) -> str:
        return f"<{type(self).__name__}.{self._name_}: {self._value_!r}>"

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __reduce_ex__(self, protocol: object) -> tuple[type, tuple[object]]:
        return type(self), (self._value_,)

    def __copy__(self) -> _Enum:
        return self

    def __deepcopy__(self, memo: object) -> _Enum:
        return self

    def __hash__(self) -> int:  # a mixin's hash comes first in the MRO, as in enum
        return hash(self._name_)


if TYPE_CHECKING:
    from enum import Enum as Enum
else:
    Enum = _Enum
