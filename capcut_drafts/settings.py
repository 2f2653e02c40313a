"""Service settings: defaults < config file (JSON5) < `CAPCUT_<NAME>` environment variables.

`Settings` is a frozen pydantic model and the one table of settings: each field's type, default,
range (`ge`/`le`), choices (`Literal`) and post-processing (validators) say how a value from the
file or the environment is checked. `load_settings()` never falls back to defaults on a malformed
file; every problem is a `SettingsError` naming the file line or the variable to fix.
`settings.replace(port=9002)` is a checked copy with changes.
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import json5
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

__all__ = ["Settings", "SettingsError", "load_settings"]

REPO_ROOT = Path(__file__).resolve().parent.parent   # the folder that holds app.py
ENV_PREFIX = "CAPCUT_"
CONFIG_ENV = "CAPCUT_CONFIG"
log = logging.getLogger("capcut.settings")


class SettingsError(Exception):
    """The configuration cannot be used; the message says where and what to fix."""


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


# -- validators: before (the form a value may arrive in), after (post-processing) ------------------

def _as_list(value: Any) -> Any:
    """A comma-separated string or a list of strings, as a list of the non-empty stripped items;
    anything else unchanged (the type check then refuses it)."""
    if isinstance(value, str):
        value = value.split(",")
    if isinstance(value, list) and all(isinstance(i, str) for i in value):
        return [i.strip() for i in value if i.strip()]
    return value


def _empty_list_as_dict(value: Any) -> Any:
    """Upstream's config.json writes an unset object as `[]`."""
    return {} if value == [] else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _empty_as_none(value: Any) -> Any:
    return None if value == "" else value


def _abs_data_dir(value: str) -> str:
    """Relative paths are taken from the repo root, so every worker finds the same data."""
    return str((REPO_ROOT / os.path.expanduser(value)).resolve())


def _abs_or_empty(value: str) -> str:
    return _abs_data_dir(value) if value else ""


def _base_url(value: str) -> str:
    if value and not re.match(r"https?://[^/]", value):
        raise ValueError(f"must be an absolute http(s) URL or empty, got {_show(value)}")
    return value.rstrip("/")


_HOST_RULE = re.compile(r"\.?(\[[0-9a-f:.]+\]|[a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?")


def _host_rules(value: list[str]) -> list[str]:
    """`trusted_hosts` entries, lower-cased: `name[:port]` or `.name[:port]` (the name and below)."""
    rules = [v.lower() for v in value]
    bad = [v for v in rules if not (m := _HOST_RULE.fullmatch(v)) or int(m[2] or 0) > 65535]
    if bad:
        raise ValueError(f"must be host names as name, name:port or .name[:port] (no scheme or path), "
                         f"got {_show(bad)}")
    return rules


def _profile_name(value: str | None) -> str | None:
    # imported here: the settings are read before (and without) the services package
    from capcut_drafts.model.profiles import resolve
    if value is not None:
        try:
            resolve(value)
        except ValueError as e:
            raise ValueError(f"is invalid: {e}") from None
    return value


Strings = Annotated[list[str], BeforeValidator(_as_list)]
Object = Annotated[dict, BeforeValidator(_empty_list_as_dict)]


def _key_prefix(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", value):
        raise ValueError(f"must be 1 to 64 letters, digits or _ . : -, got {_show(value)}")
    return value


class Settings(BaseModel):
    """Every setting, its type, default and limits (config.json.example explains each key)."""
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", hide_input_in_errors=True)

    host: str = "127.0.0.1"
    port: int = Field(9001, ge=1, le=65535)
    data_dir: Annotated[str, AfterValidator(_abs_data_dir)] = str(REPO_ROOT / "data")
    store: Literal["memory", "sqlite", "redis"] = "sqlite"
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_key_prefix: Annotated[str, AfterValidator(_key_prefix)] = "capcut:"
    job_runner: Literal["thread", "huey"] = "thread"
    fetch_allow_hosts: Strings = []
    api_keys: Strings = Field(default_factory=list, repr=False)
    public_base_url: Annotated[str, AfterValidator(_base_url)] = ""
    trusted_hosts: Annotated[Strings, AfterValidator(_host_rules)] = []
    is_capcut_env: bool = True
    draft_profile: Annotated[str | None, BeforeValidator(_empty_as_none), AfterValidator(_profile_name)] = None
    draft_domain: str = ""          # "" = draft_url is the draft's page here; set = upstream's link
    preview_router: str = "/draft/downloader"
    is_upload_draft: bool = False
    storage: Literal["local", "oss", "s3"] = "local"
    oss_config: Object = Field(default_factory=dict, repr=False)
    mp4_oss_config: Object = Field(default_factory=dict, repr=False)
    s3_config: Object = Field(default_factory=dict, repr=False)
    draft_cache_size: int = Field(10000, ge=1)
    draft_cache_mb: int = Field(256, ge=1)
    snapshot_every: int = Field(200, ge=1)
    unknown_draft_creates: bool = False
    strict_names: bool = False
    http_error_status: bool = False
    media_cache_dir: Annotated[str, AfterValidator(_abs_or_empty)] = ""
    fetch_workers: int = Field(16, ge=1, le=256)
    max_download_bytes: int = Field(2 * 1024 ** 3, ge=1)
    download_deadline_seconds: int = Field(600, ge=1)
    prefetch_on_add: bool = True
    save_wait_seconds: int = Field(120, ge=0)
    upstream_save_success: bool = False
    output_retention_hours: int = Field(72, ge=1)
    draft_retention_days: float = Field(0.0, ge=0, le=36_500)   # drafts unchanged this long are deleted; 0 = off
    draft_install_dirs: Strings = []
    upload_url_expiry_seconds: int = Field(86400, ge=1)
    upload_key_prefix: str = ""
    upload_delete_local: bool = False
    upload_multipart_threshold_mb: int = Field(32, ge=1)
    upload_part_size_mb: int = Field(8, ge=1)
    upload_concurrency: int = Field(4, ge=1, le=64)
    upload_retries: int = Field(3, ge=0, le=20)
    upload_retry_backoff_ms: int = Field(500, ge=0)
    upload_timeout_seconds: int = Field(60, ge=1)
    import_max_bytes: int = Field(1024 ** 3, ge=1024)   # a draft zip to import: its download and unpacked size
    batch_max_operations: int = Field(500, ge=1, le=10_000)   # operations one /batch may hold
    render_workers: int = Field(1, ge=1, le=16)           # renders at once on a host (CPU-bound)
    render_timeout_seconds: int = Field(1800, ge=10)
    render_font: str = ""                                 # a .ttf/.otf/.ttc for CJK text ("" = search the system)
    job_lease_seconds: int = Field(60, ge=5)
    job_queue_seconds: int = Field(600, ge=10)
    webhook_secret: str = Field("", repr=False)          # signs callbacks (X-Signature); "" = sent unsigned
    webhook_retries: int = Field(5, ge=0, le=20)          # attempts after the first on network errors, 408/429/5xx
    webhook_retry_seconds: float = Field(5.0, ge=0.01, le=3600)   # wait before the first retry, doubled after each
    webhook_timeout_seconds: float = Field(10.0, ge=0.1, le=60)   # one attempt, connect to last byte read
    cors_origins: Strings = []
    max_body_bytes: int = Field(16 * 1024 ** 2, ge=1024)
    request_read_timeout_seconds: int = Field(30, ge=1, le=3600)
    keepalive_requests: int = Field(1000, ge=1)     # then the reply says Connection: close (gunicorn)
    rate_limit_per_minute: int = Field(0, ge=0)
    log_level: Annotated[Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)] = "INFO"

    @property
    def media_cache_path(self) -> str:
        """Where downloaded media is cached (shared by the workers on a host)."""
        return self.media_cache_dir or os.path.join(self.data_dir, "media")

    @property
    def profile(self) -> str:
        """Canonical profile name: `draft_profile` if set, else from `is_capcut_env`."""
        if self.draft_profile:
            from capcut_drafts.model.profiles import resolve
            return resolve(self.draft_profile).name
        return "capcut" if self.is_capcut_env else "jianying"

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes`, checked like every other value (pydantic ValidationError)."""
        return Settings.model_validate({**self.model_dump(), **changes})


# -- what a wrong value must be ----------------------------------------------------------------

_KINDS: dict[object, str] = {bool: "bool", int: "int", float: "float", list: "list", dict: "dict"}


def _kind(name: str) -> str:
    """`str`, `int`, `float`, `bool`, `list` or `dict`: the JSON type setting `name` takes."""
    annotation = Settings.model_fields[name].annotation
    origin = get_origin(annotation) or annotation
    return _KINDS.get(origin, "str")


def _choices(name: str) -> tuple[str, ...]:
    annotation = Settings.model_fields[name].annotation
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def _bounds(name: str) -> tuple[int | None, int | None]:
    metadata = Settings.model_fields[name].metadata
    lo = next((m.ge for m in metadata if hasattr(m, "ge")), None)
    hi = next((m.le for m in metadata if hasattr(m, "le")), None)
    return lo, hi


_NOUNS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
          "list": "a list of strings or a comma-separated string", "dict": "an object"}
_ENV_NOUNS = {**_NOUNS, "bool": "one of 1/0, true/false, yes/no, on/off", "dict": "a JSON object",
              "list": "a comma-separated list or a JSON list of strings"}


def _explain(error: ErrorDetails, name: str, value: Any, nouns: Mapping[str, str]) -> str:
    """What the value of setting `name` must be, from pydantic's first error about it."""
    kind = _kind(name)
    if error["type"] == "value_error":                 # raised by a validator above, worded for us
        return str(error.get("ctx", {}).get("error"))
    if error["type"] == "literal_error" and isinstance(value, str):
        return f"must be one of {', '.join(_choices(name))}, got {_show(value)}"
    if error["type"] in ("greater_than_equal", "less_than_equal"):
        lo, hi = _bounds(name)
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        return f"must be {bound}, got {_show(value)}"
    return f"must be {nouns[kind]}, got {_show(value)}"


def _checked(raw: Mapping[str, Any], where: Callable[[str], str], nouns: Mapping[str, str],
             order: Callable[[str], Any] = lambda name: 0) -> dict[str, Any]:
    """`raw` settings in their stored form. SettingsError for the first wrong one (by `order`):
    `where(name)` says where it came from."""
    try:
        checked = Settings.model_validate(raw)
    except ValidationError as e:
        error = min(e.errors(include_input=False), key=lambda err: order(str(err["loc"][0])))
        name = str(error["loc"][0])                    # a top-level field: the setting's name
        raise SettingsError(f"{where(name)}{_explain(error, name, raw[name], nouns)}") from None
    return {name: getattr(checked, name) for name in raw}


# -- the environment ---------------------------------------------------------------------------

_ENV_BOOLS = {"1": True, "true": True, "yes": True, "on": True,
              "0": False, "false": False, "no": False, "off": False}


class _Unparsed:
    """Environment text that is not valid JSON: fails every type check, shows as the text."""

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text


def _json_or_raw(text: str) -> Any:
    try:
        return json5.loads(text)
    except ValueError:
        return _Unparsed(text)


# kind -> turn an environment string into the value the type check expects (left raw if it can't)
_ENV_DECODE: dict[str, Callable[[str], Any]] = {
    "str": lambda s: s,
    "int": lambda s: int(s) if re.fullmatch(r"\s*[+-]?\d+\s*", s) else s,
    "float": lambda s: float(s) if re.fullmatch(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*", s) else s,
    "bool": lambda s: _ENV_BOOLS.get(s.strip().lower(), s),
    "list": lambda s: _json_or_raw(s) if s.lstrip().startswith("[") else s,
    "dict": _json_or_raw,
}


# -- the config file ---------------------------------------------------------------------------

_TOKEN = re.compile(r'''"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'|//[^\n]*|/\*.*?\*/|[{}\[\]]|[\w$]+''',
                    re.S)
_COLON = re.compile(r"\s*:")


def _key_lines(text: str) -> dict[str, int]:
    """Line of each top-level key in JSON5 text (the last one wins, as in the parser)."""
    lines, depth = {}, 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in ("{", "["):
            depth += 1
        elif tok in ("}", "]"):
            depth -= 1
        elif depth == 1 and not tok.startswith("/") and _COLON.match(text, m.end()):
            key = tok[1:-1] if tok[0] in "\"'" else tok
            lines[key] = text.count("\n", 0, m.start()) + 1
    return lines


def _read_file(path: str) -> dict[str, Any]:
    """Checked settings from a JSON5 config file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"cannot read config file {path}: {e}") from None
    try:
        data = json5.loads(text)
    except ValueError as e:
        m = re.fullmatch(r"<string>:(\d+) (.*) at column (\d+)", str(e))
        at = f"{path} line {m[1]}, column {m[3]}" if m else path
        raise SettingsError(f"{at}: invalid JSON5: {m[2] if m else e}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level must be an object {{...}}, "
                            f"got {type(data).__name__}")
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        log.warning("%s: ignoring unknown setting(s): %s", path, ", ".join(unknown))
    lines = _key_lines(text)

    def where(name: str) -> str:
        return (f"{path} line {lines[name]}" if name in lines else path) + f": setting '{name}' "

    known = {name: value for name, value in data.items() if name in Settings.model_fields}
    return _checked(known, where, _NOUNS, order=lambda name: lines.get(name, 0))


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Checked settings from `CAPCUT_<NAME>` variables; others are ignored."""
    raw = {name: _ENV_DECODE[_kind(name)](env[ENV_PREFIX + name.upper()])
           for name in Settings.model_fields if ENV_PREFIX + name.upper() in env}
    return _checked(raw, lambda name: f"environment variable {ENV_PREFIX + name.upper()}: ", _ENV_NOUNS)


def _config_file(config_path: str | None, env: Mapping[str, str]) -> str | None:
    """The config file to read, or None when the default file is absent."""
    named = config_path or env.get(CONFIG_ENV)
    if named:
        if not os.path.exists(named):
            source = "config_path" if config_path else f"environment variable {CONFIG_ENV}"
            raise SettingsError(f"config file {named} (named by {source}) does not exist")
        return named
    default = REPO_ROOT / "config.json"
    return str(default) if default.exists() else None


def load_settings(config_path: str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from defaults, then the config file, then `CAPCUT_*` environment variables."""
    env = os.environ if env is None else env
    path = _config_file(config_path, env)
    values = _read_file(path) if path else {}
    values.update(_read_env(env))
    return Settings.model_validate(values)
