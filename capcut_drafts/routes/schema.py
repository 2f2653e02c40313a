"""Request models: the single source of truth for what each route accepts.

Every route body is validated into one of these pydantic models. Unknown keys are ignored (real
clients send extras such as `license_key`); wrong types become an ApiError naming the
parameter. Upstream's "required" checks are truthiness tests with fixed wording, kept here as
`REQUIRED` + `MISSING` class variables so the messages stay byte-compatible.
"""
from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from capcut_drafts.errors import ApiError, ErrorCode, missing
from capcut_drafts.routes.inbound import check_body


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

    @classmethod
    def parse(cls, body: dict[str, Any]):
        """Validate a JSON object body; ApiError with a fix-it message on failure."""
        check_body(body)
        if cls.REQUIRED and not all(body.get(name) for name in cls.REQUIRED):
            raise missing(cls.MISSING)
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            raise ApiError(describe(exc), code=ErrorCode.INVALID_PARAMETER) from None


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
    """Which draft a change goes to; width/height only matter when a new draft is created."""
    draft_id: Identifier | None = None
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
    mask_type: str | None = None
    mask_center_x: float | None = None
    mask_center_y: float | None = None
    mask_size: float | None = Field(None, gt=0)
    mask_rotation: float = 0.0
    mask_feather: float = Field(0.0, ge=0, le=100)
    mask_invert: bool = False
    mask_rect_width: float | None = None
    mask_round_corner: float | None = Field(None, ge=0, le=100)


class MediaSource(RequestModel):
    draft_folder: str | None = None
    track_name: str | None = None


class Reply:
    """A service result with notes for the client: `warnings` goes beside `output` in the envelope
    (an extra key upstream clients ignore)."""

    def __init__(self, output: Any, warnings: list[str] | None = None):
        self.output = output
        self.warnings = warnings or []
