"""Service settings: defaults < config file (JSON5) < `CAPCUT_<NAME>` environment variables.

The `Settings` dataclass is the one table of settings: each field's metadata says how a value
from the file or the environment is checked. `load_settings()` never falls back to defaults on a
malformed file; every problem is a `SettingsError` naming the file line or the variable to fix.
"""
from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping

import json5

from services import profiles

__all__ = ["Settings", "SettingsError", "load_settings"]

REPO_ROOT = Path(__file__).resolve().parent.parent   # the folder that holds app.py
ENV_PREFIX = "CAPCUT_"
CONFIG_ENV = "CAPCUT_CONFIG"
log = logging.getLogger("capcut.settings")


class SettingsError(Exception):
    """The configuration cannot be used; the message says where and what to fix."""


def _abs_data_dir(value: str) -> str:
    """Relative paths are taken from the repo root, so every worker finds the same data."""
    return str((REPO_ROOT / os.path.expanduser(value)).resolve())


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


def _profile_name(value: str) -> str:
    try:
        profiles.resolve(value)
    except ValueError as e:
        raise ValueError(f"is invalid: {e}") from None
    return value


def _setting(default: Any, kind: str | None = None, *, choices: tuple = (), lo: int | None = None,
             hi: int | None = None, post: Callable | None = None, optional: bool = False,
             secret: bool = False):
    """A dataclass field whose metadata drives parsing; `kind` defaults to the default's type."""
    meta = dict(kind=kind or type(default).__name__, choices=choices, lo=lo, hi=hi, post=post,
                optional=optional)
    if isinstance(default, (list, dict)):
        return field(default_factory=type(default), metadata=meta, repr=not secret)
    return field(default=default, metadata=meta, repr=not secret)


@dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1")
    port: int = _setting(9001, lo=1, hi=65535)
    data_dir: str = _setting(str(REPO_ROOT / "data"), post=_abs_data_dir)
    store: str = _setting("sqlite", choices=("memory", "sqlite", "redis"))
    redis_url: str = _setting("redis://127.0.0.1:6379/0")
    job_runner: str = _setting("thread", choices=("thread", "huey"))
    fetch_allow_hosts: list[str] = _setting([])
    api_keys: list[str] = _setting([], secret=True)
    public_base_url: str = _setting("", post=_base_url)
    trusted_hosts: list[str] = _setting([], post=_host_rules)
    is_capcut_env: bool = _setting(True)
    draft_profile: str | None = _setting(None, "str", optional=True, post=_profile_name)
    draft_domain: str = _setting("https://www.install-ai-guider.top")
    preview_router: str = _setting("/draft/downloader")
    is_upload_draft: bool = _setting(False)
    storage: str = _setting("local", choices=("local", "oss", "s3"))
    oss_config: dict = _setting({}, secret=True)
    mp4_oss_config: dict = _setting({}, secret=True)
    s3_config: dict = _setting({}, secret=True)
    draft_cache_size: int = _setting(10000, lo=1)
    snapshot_every: int = _setting(200, lo=1)
    unknown_draft_creates: bool = _setting(False)
    http_error_status: bool = _setting(False)
    media_cache_dir: str = _setting("", post=lambda v: _abs_data_dir(v) if v else "")
    fetch_workers: int = _setting(16, lo=1, hi=256)
    max_download_bytes: int = _setting(2 * 1024 ** 3, lo=1)
    download_deadline_seconds: int = _setting(600, lo=1)
    prefetch_on_add: bool = _setting(True)
    save_wait_seconds: int = _setting(120, lo=0)
    upstream_save_success: bool = _setting(False)
    output_retention_hours: int = _setting(72, lo=1)
    draft_install_dirs: list[str] = _setting([])
    upload_url_expiry_seconds: int = _setting(86400, lo=1)
    upload_key_prefix: str = _setting("")
    upload_delete_local: bool = _setting(False)
    upload_multipart_threshold_mb: int = _setting(32, lo=1)
    upload_part_size_mb: int = _setting(8, lo=1)
    upload_concurrency: int = _setting(4, lo=1, hi=64)
    upload_retries: int = _setting(3, lo=0, hi=20)
    upload_retry_backoff_ms: int = _setting(500, lo=0)
    upload_timeout_seconds: int = _setting(60, lo=1)
    job_lease_seconds: int = _setting(60, lo=5)
    job_queue_seconds: int = _setting(600, lo=10)
    cors_origins: list[str] = _setting([])
    max_body_bytes: int = _setting(16 * 1024 ** 2, lo=1024)
    request_read_timeout_seconds: int = _setting(30, lo=1, hi=3600)
    rate_limit_per_minute: int = _setting(0, lo=0)
    log_level: str = _setting("INFO", post=str.upper,
                              choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))

    @property
    def media_cache_path(self) -> str:
        """Where downloaded media is cached (shared by the workers on a host)."""
        return self.media_cache_dir or os.path.join(self.data_dir, "media")

    @property
    def profile(self) -> str:
        """Canonical profile name: `draft_profile` if set, else from `is_capcut_env`."""
        if self.draft_profile:
            return profiles.resolve(self.draft_profile).name
        return "capcut" if self.is_capcut_env else "jianying"


FIELDS = {f.name: f for f in fields(Settings)}
_BAD = object()


def _as_list(v: Any) -> Any:
    if isinstance(v, str):
        v = v.split(",")
    if isinstance(v, list) and all(isinstance(i, str) for i in v):
        return [i.strip() for i in v if i.strip()]
    return _BAD


# kind -> (check a decoded value: the stored form or _BAD, what it must be)
_KINDS: dict[str, tuple[Callable[[Any], Any], str]] = {
    "str": (lambda v: v if isinstance(v, str) else _BAD, "a string"),
    "int": (lambda v: v if isinstance(v, int) and not isinstance(v, bool) else _BAD, "an integer"),
    "bool": (lambda v: v if isinstance(v, bool) else _BAD, "true or false"),
    "list": (_as_list, "a list of strings or a comma-separated string"),
    "dict": (lambda v: {} if v == [] else v if isinstance(v, dict) else _BAD, "an object"),
}
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


# kind -> turn an environment string into the value _check expects (left raw if it can't)
_ENV_DECODE: dict[str, Callable[[str], Any]] = {
    "str": lambda s: s,
    "int": lambda s: int(s) if re.fullmatch(r"\s*[+-]?\d+\s*", s) else s,
    "bool": lambda s: _ENV_BOOLS.get(s.strip().lower(), s),
    "list": lambda s: _json_or_raw(s) if s.lstrip().startswith("[") else s,
    "dict": _json_or_raw,
}
_ENV_NOUNS = {"bool": "one of 1/0, true/false, yes/no, on/off", "dict": "a JSON object",
              "list": "a comma-separated list or a JSON list of strings"}


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _check(name: str, value: Any, nouns: Mapping[str, str] = {}) -> Any:
    """Value of setting `name` in its stored form; ValueError says what it must be."""
    meta = FIELDS[name].metadata
    if meta["optional"] and value in (None, ""):
        return None
    test, noun = _KINDS[meta["kind"]]
    out = test(value)
    if out is _BAD:
        raise ValueError(f"must be {nouns.get(meta['kind'], noun)}, got {_show(value)}")
    if meta["post"]:
        out = meta["post"](out)
    if meta["choices"] and out not in meta["choices"]:
        raise ValueError(f"must be one of {', '.join(meta['choices'])}, got {_show(value)}")
    lo, hi = meta["lo"], meta["hi"]
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise ValueError(f"must be {bound}, got {_show(value)}")
    return out


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
        where = f"{path} line {m[1]}, column {m[3]}" if m else path
        raise SettingsError(f"{where}: invalid JSON5: {m[2] if m else e}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level must be an object {{...}}, "
                            f"got {type(data).__name__}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        log.warning("%s: ignoring unknown setting(s): %s", path, ", ".join(unknown))
    lines, out = _key_lines(text), {}
    for name in FIELDS.keys() & data.keys():
        try:
            out[name] = _check(name, data[name])
        except ValueError as e:
            where = f"{path} line {lines[name]}" if name in lines else path
            raise SettingsError(f"{where}: setting '{name}' {e}") from None
    return out


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Checked settings from `CAPCUT_<NAME>` variables; others are ignored."""
    out = {}
    for name, f in FIELDS.items():
        var = ENV_PREFIX + name.upper()
        if var not in env:
            continue
        try:
            out[name] = _check(name, _ENV_DECODE[f.metadata["kind"]](env[var]), _ENV_NOUNS)
        except ValueError as e:
            raise SettingsError(f"environment variable {var}: {e}") from None
    return out


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
    return Settings(**values)
