"""Slotted pydantic dataclasses for the document's many small objects (segments, time ranges, …).

A cached draft holds thousands of them. A pydantic BaseModel instance carries a `__dict__` and a
set of the fields that were set: about 1.9 KB for a segment, where a slotted dataclass of the
same fields takes about 0.4 KB and validates from JSON about 2.5 times faster (bench/memory.py).
`@lean` makes such a class (keyword-only fields in declaration order, so the stored JSON keeps
its key order; unknown keys refused); `Lean` gives it the BaseModel methods the code uses, with
their meaning: `model_copy` copies without validating, like BaseModel's.
"""
from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal, TypeVar, cast, dataclass_transform

from pydantic import ConfigDict, Field, TypeAdapter
from pydantic.dataclasses import dataclass
from pydantic.fields import FieldInfo

T = TypeVar("T")
L = TypeVar("L", bound="Lean")
CONFIG = ConfigDict(extra="forbid")


@dataclass_transform(kw_only_default=True, field_specifiers=(Field,))
def lean(*, frozen: bool = False) -> Callable[[type[T]], type[T]]:
    """The decorator of a document value class (see the module doc)."""
    def make(cls: type[T]) -> type[T]:
        made = dataclass(cls, slots=True, kw_only=True, frozen=frozen, config=CONFIG)
        made.model_fields = made.__pydantic_fields__          # type: ignore[attr-defined]
        return made  # type: ignore[return-value]
    return make


_ADAPTERS: dict[type, TypeAdapter[Any]] = {}


def _adapter(cls: type) -> TypeAdapter[Any]:
    """The class's TypeAdapter, made once (a race makes two equal ones: harmless)."""
    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    return adapter


class Lean:
    """BaseModel's `model_copy`, `model_dump`, `model_dump_json` and `model_validate` for `@lean`
    classes."""
    __slots__ = ()
    model_fields: ClassVar[dict[str, FieldInfo]]          # name -> field, as BaseModel.model_fields

    def model_copy(self: L, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> L:
        new = copy.deepcopy(self) if deep else copy.copy(self)
        for name, value in (update or {}).items():
            object.__setattr__(new, name, value)        # frozen classes too, as BaseModel does
        return new

    def model_dump(self, *, mode: Literal["json", "python"] = "python", **options: Any) -> dict[str, Any]:
        return cast("dict[str, Any]", _adapter(type(self)).dump_python(self, mode=mode, **options))

    def model_dump_json(self, **options: Any) -> str:
        return _adapter(type(self)).dump_json(self, **options).decode()

    @classmethod
    def model_validate(cls: type[L], data: Any) -> L:
        return cast(L, _adapter(cls).validate_python(data))
