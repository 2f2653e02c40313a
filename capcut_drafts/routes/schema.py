"""Request models: the single source of truth for what each route accepts.

Every route body is validated into one of these pydantic models. Unknown keys are ignored (real
clients send extras such as `license_key`); wrong types become an ApiError naming the
parameter. Upstream's "required" checks are truthiness tests with fixed wording, kept here as
`REQUIRED` + `MISSING` class variables so the messages stay byte-compatible.

A top-level `null` means "use the default" (upstream clients send null for every argument they
did not set), except for a field whose type admits None: there null is a value with its own
meaning (e.g. /add_text `font: null` = the app's default font). A required key sent as null
fails the `REQUIRED` check as if absent.

Before any model sees it, `check_body` walks the decoded body once: `json.loads` accepts strings
with lone UTF-16 surrogates (`"\\ud800"` is valid JSON but cannot be encoded as UTF-8, so SQLite,
Redis and every file writer raise on it), the literals `NaN`/`Infinity`, and nesting as deep as
the parser's recursion allows. The walk is iterative (depth itself cannot crash it) and names the
offending parameter.

Merge fields in numbers: a route whose segments a template fills (`MERGE_NUMBERS`) takes a
number parameter as one whole merge field, `"end": "{{length}}"`. The request is planned with the
parameter's default (as if null) and keeps the field as sent (`merge_numbers`, stored with the
segment's parameters by `given`); /render_template (editing/templates.py) fills it with a number.
Which parameters are numbers follows the fields' types (`number_keys`).
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from functools import cache
from types import UnionType
from typing import Annotated, Any, ClassVar, TypeVar, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from capcut_drafts.errors import ApiError, ErrorCode, missing
from capcut_drafts.model.timeline import Draft

# A merge field of a template (editing/templates.py): {{name}}, name 1-64 letters, digits, '_' or '-'.
PLACEHOLDER = re.compile(r"\{\{([A-Za-z0-9_-]{1,64})\}\}")
MAX_DEPTH = 20          # the deepest real body (text_styles → style → color) is 4 levels
DEPTH_CODE = ErrorCode.NESTING_TOO_DEEP


def too_deep(where: str = "the request body") -> ApiError:
    return ApiError(f"{where[0].upper()}{where[1:]} nests lists/objects more than {MAX_DEPTH} levels deep; "
                    "no parameter needs that many, send a flatter value.", code=DEPTH_CODE)


def check_body(body: dict[str, Any]) -> None:
    """Raise ApiError for the first value no route can take; cost is linear in the body size."""
    stack: list[tuple[Any, str, int]] = [(body, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, float) and not math.isfinite(value):
            raise ApiError(f"Invalid parameter '{path}': {value} is not a number; send a finite number.")
        elif isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise too_deep(f"parameter '{path.split('.')[0]}'")
            stack.extend(_children(value, path, depth))


def _children(value: dict | list, path: str, depth: int):
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            _check_text(key, child)
            yield item, child, depth + 1
    else:
        for index, item in enumerate(value):
            yield item, f"{path}[{index}]", depth + 1


def _check_text(text: str, path: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start:exc.end].encode("unicode_escape").decode("ascii")
        name = _printable(path) or "a key"
        raise ApiError(f"Invalid parameter '{name}': it contains {bad}, half of a UTF-16 surrogate pair, which "
                       "is not a character; send valid Unicode text (check how the client escapes emoji).",
                       code=ErrorCode.INVALID_PARAMETER) from None


def _printable(path: str) -> str:
    """The path as it can be shown in a message (keys may hold surrogates themselves)."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")[:120]


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("use a number, not true/false")
    return value


# A JSON number that is not a boolean (pydantic would read `true` as 1).
Number = Annotated[float, BeforeValidator(_not_bool)]


MAX_NUMBER = 1e9   # no parameter needs more; larger values only overflow arithmetic later


def _numbers(value: Any):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)


class Bounded(BaseModel):
    """Numbers beyond ±MAX_NUMBER are refused with the parameter's name, in every field."""

    @field_validator("*", mode="after")
    @classmethod
    def _bounded(cls, value: Any) -> Any:
        if any(abs(number) > MAX_NUMBER for number in _numbers(value)):
            raise ValueError(f"numbers must be within ±{MAX_NUMBER:g}")
        return value


class RequestModel(Bounded):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, str_strip_whitespace=False)

    REQUIRED: ClassVar[tuple[str, ...]] = ()
    MISSING: ClassVar[str] = ""
    # A required key -> other keys that may stand in for it (e.g. srt -> srt_url).
    ALTERNATIVES: ClassVar[dict[str, tuple[str, ...]]] = {}
    # Body keys that stand for a field (e.g. /add_text `color` for `font_color`) and win over it.
    KEY_ALIASES: ClassVar[dict[str, str]] = {}
    # Fields /update_segment does not change on a segment this model made.
    NOT_EDITABLE: ClassVar[frozenset[str]] = frozenset()
    # Whether a number parameter may be one whole merge field (the routes whose segments a template fills).
    MERGE_NUMBERS: ClassVar[bool] = False
    # Number parameters that take no merge field even then (spent before a segment is made).
    FIXED_NUMBERS: ClassVar[frozenset[str]] = frozenset()
    # Body key -> the merge field it was sent as (`MERGE_NUMBERS`); the model holds the default there.
    _merge_numbers: dict[str, str] = PrivateAttr(default_factory=dict)

    @classmethod
    def has_required(cls, body: dict[str, Any]) -> bool:
        """Whether every `REQUIRED` key, or one of its `ALTERNATIVES`, has a truthy value (upstream's check)."""
        return all(any(body.get(key) for key in (name, *cls.ALTERNATIVES.get(name, ()))) for name in cls.REQUIRED)

    @classmethod
    def parse(cls, body: dict[str, Any]):
        """Validate a JSON object body; ApiError with a fix-it message on failure."""
        check_body(body)
        if not cls.has_required(body):
            raise missing(cls.MISSING)
        held = held_numbers(cls, body) if cls.MERGE_NUMBERS else {}
        try:
            req = cls.model_validate(without_nulls(cls, {k: v for k, v in body.items() if k not in held}))
        except ValidationError as exc:
            raise ApiError(describe(exc), code=ErrorCode.INVALID_PARAMETER) from None
        req._merge_numbers = held
        return req

    @property
    def merge_numbers(self) -> dict[str, str]:
        """Body key -> the merge field sent for that number (planned with its default)."""
        return dict(self._merge_numbers)

    def given(self, exclude: Collection[str] = ()) -> dict[str, Any]:
        """The parameters the client set, as JSON values, numbers sent as merge fields as sent."""
        dumped = self.model_dump(mode="json", exclude_unset=True, exclude=set(exclude))
        return {**dumped, **{key: value for key, value in self._merge_numbers.items() if key not in exclude}}


def held_numbers(model: type[RequestModel], body: Mapping[str, Any]) -> dict[str, str]:
    """The body's number parameters sent as one whole merge field (`"{{name}}"`), by body key. A key
    whose alias (`KEY_ALIASES`) has a value is left alone: the alias wins. A required number is
    refused: it has no default to plan with."""
    beaten = {name for alias, name in model.KEY_ALIASES.items() if body.get(alias) is not None}
    keys = number_keys(model)
    held = {key: value for key, value in body.items()
            if key in keys and key not in beaten and isinstance(value, str) and PLACEHOLDER.fullmatch(value)}
    for key in held:
        field = model.model_fields.get(model.KEY_ALIASES.get(key, key))
        if field is not None and field.is_required():
            raise ApiError(f"Invalid parameter '{key}': a required number cannot be a merge field (got "
                           f"'{held[key]}'); send a number.", code=ErrorCode.INVALID_PARAMETER)
    return held


@cache
def number_keys(model: type[RequestModel]) -> frozenset[str]:
    """The body keys (names, aliases, `KEY_ALIASES`) of `model`'s number fields that may hold a
    merge field: fields typed int or float (or None beside), not bool, not `FIXED_NUMBERS`."""
    names = {name for name, field in model.model_fields.items()
             if name not in model.FIXED_NUMBERS and _is_number(field.annotation)}
    keys = names | {field.alias for name, field in model.model_fields.items() if name in names and field.alias}
    return frozenset(keys | {alias for alias, name in model.KEY_ALIASES.items() if name in names})


def _is_number(annotation: Any) -> bool:
    """int, float, or a union of them with None (bool is no number here; nor are lists of numbers)."""
    kinds = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    numbers = [kind for kind in kinds if kind is not type(None)]
    return bool(numbers) and all(kind in (int, float) for kind in numbers)


def without_nulls(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """`body` without the null values of fields that take no None (their default applies)."""
    defaulted = _null_is_default(model)
    return {key: value for key, value in body.items() if value is not None or key not in defaulted}


@cache
def _null_is_default(model: type[BaseModel]) -> frozenset[str]:
    """The body keys (names and aliases) of `model`'s fields whose type does not admit None."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        if not _admits_none(field.annotation):
            keys.update(key for key in (name, field.alias) if key)
    return frozenset(keys)


def _admits_none(annotation: Any) -> bool:
    return annotation in (Any, None, type(None)) or type(None) in get_args(annotation)


def describe(exc: ValidationError) -> str:
    """Turn pydantic's errors into one sentence per bad parameter."""
    parts = []
    for err in exc.errors(include_url=False):
        name = ".".join(str(p) for p in err["loc"]) or "body"
        got = err.get("input")
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        if len(shown) > 60:
            shown = shown[:57] + "..."
        parts.append(f"Invalid parameter '{name}': {err['msg']} (got {shown}).")
    return " ".join(parts)


MAX_ID_LENGTH = 128
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def _identifier(value: str) -> str:
    """Draft and task ids are short ASCII names (ours: dfd_cat_<unix>_<8 hex>); anything else can
    name no stored draft, so it is refused before the store is asked."""
    if len(value) > MAX_ID_LENGTH or not _ID_CHARS.issuperset(value):
        raise ValueError(f"an id is at most {MAX_ID_LENGTH} letters, digits, '_', '-' or '.'; "
                         "use the draft_id returned by POST /create_draft")
    return value


# A draft or task id as the client sent it, checked for length and characters.
Identifier = Annotated[str, AfterValidator(_identifier)]


class DraftTarget(RequestModel):
    """Which draft a change goes to; width/height only matter when a new draft is created.
    `dry_run`: check the change and answer what it would create, store nothing."""
    draft_id: Identifier | None = None
    dry_run: bool = False
    FIXED_NUMBERS = frozenset({"width", "height"})      # the canvas of a new draft: no segment parameter
    width: int = Field(1080, gt=0, le=16384)
    height: int = Field(1920, gt=0, le=16384)

    @field_validator("width", "height", mode="before")
    @classmethod
    def _whole_pixels(cls, value: Any) -> Any:
        # Coze and friends send 1080.0: accept integral floats, reject 1080.5.
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value


class Transform(RequestModel):
    transform_x: float = 0.0
    transform_y: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0


class TransitionParams(RequestModel):
    transition: str | None = None
    transition_duration: float = Field(0.5, ge=0)


class MaskParams(RequestModel):
    # Upstream passes the numbers through unchecked; routes/media.py `mask_for` clamps them.
    mask_type: str | None = None
    mask_center_x: float | None = None
    mask_center_y: float | None = None
    mask_size: float | None = None
    mask_rotation: float = 0.0
    mask_feather: float = 0.0
    mask_invert: bool = False
    mask_rect_width: float | None = None
    mask_round_corner: float | None = None


class MediaSource(RequestModel):
    draft_folder: str | None = None
    track_name: str | None = None


# What a route plans for a draft: the operation to append (None: no change) and the extra keys of
# its reply. A plan only reads the draft; it runs again on every concurrent-write retry.
Plan = Callable[[Draft], tuple[dict[str, Any] | None, dict[str, Any] | None]]


class Reply:
    """A service result with notes for the client: `warnings` goes beside `output` in the envelope
    (an extra key upstream clients ignore)."""

    def __init__(self, output: Any, warnings: list[str] | None = None):
        self.output = output
        self.warnings = warnings or []


# --- leniency: where upstream accepts a value, answer success and say what was done ------------

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def clamp(value: float, name: str, low: float, high: float, notes: list[str]) -> float:
    """`value` moved into the app's range [low, high], with a note in `notes` when it moved."""
    inside = min(max(value, low), high)
    if inside != value:
        notes.append(f"Parameter '{name}' is {value:g}, outside the app's range {low:g} to {high:g}; "
                     f"{inside:g} was used.")
    return inside


def clamped(req: M, ranges: Mapping[str, tuple[float, float]], notes: list[str], where: str = "") -> M:
    """`req` with each field named in `ranges` clamped (`clamp`; None stays None). `where`
    prefixes the names in the notes (e.g. "text_styles[0].style.")."""
    changes = {name: clamp(getattr(req, name), where + name, low, high, notes)
               for name, (low, high) in ranges.items() if getattr(req, name) is not None}
    return req.model_copy(update=changes)


def per_run(notes: list[str], plan: Callable[[Any], T]) -> Callable[[Any], T]:
    """`plan` dropping the notes its previous run added: a plan runs on a scratch draft first
    and again on every concurrent-write retry, and the reply keeps the last run's notes. Notes
    already in `notes` (about the request itself) stay."""
    kept = len(notes)

    def run(draft: Any) -> T:
        del notes[kept:]
        return plan(draft)

    return run
