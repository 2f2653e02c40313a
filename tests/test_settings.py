"""Settings: precedence, JSON5 parsing, and the error messages an operator sees."""
import logging
import subprocess
import sys

import pytest
from pydantic import ValidationError

from capcut_drafts import settings
from capcut_drafts.settings import Settings, SettingsError, load_settings

ROOT = settings.REPO_ROOT


def write(tmp_path, text, name="config.json"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def load_text(tmp_path, text, env=None):
    return load_settings(write(tmp_path, text), env or {})


def error(tmp_path, text, env=None) -> str:
    with pytest.raises(SettingsError) as info:
        load_text(tmp_path, text, env)
    return str(info.value)


# --- precedence and file selection -------------------------------------------------------------

def test_defaults(tmp_path):
    s = load_text(tmp_path, "{}")
    assert s == Settings()
    assert (s.host, s.port, s.store, s.job_runner) == ("127.0.0.1", 9001, "sqlite", "thread")
    assert s.data_dir == str(ROOT / "data")
    assert s.fetch_allow_hosts == [] and s.api_keys == [] and s.oss_config == {}
    assert (s.draft_cache_size, s.draft_cache_mb, s.snapshot_every, s.log_level) == (10000, 256, 200, "INFO")
    assert s.unknown_draft_creates is False and s.http_error_status is False


def test_file_overrides_defaults_and_env_overrides_file(tmp_path):
    path = write(tmp_path, '{"port": 9100, "store": "memory", "is_upload_draft": true}')
    s = load_settings(path, {"CAPCUT_PORT": "9200", "CAPCUT_JOB_RUNNER": "huey"})
    assert (s.port, s.store, s.job_runner, s.is_upload_draft) == (9200, "memory", "huey", True)
    assert s.host == "127.0.0.1"


def test_env_defaults_to_os_environ(tmp_path, monkeypatch):
    monkeypatch.setenv("CAPCUT_PORT", "9300")
    assert load_settings(write(tmp_path, "{}")).port == 9300


def test_capcut_config_names_the_file(tmp_path):
    path = write(tmp_path, "{port: 9400}", "other.json5")
    assert load_settings(env={"CAPCUT_CONFIG": path}).port == 9400


def test_config_path_argument_wins_over_capcut_config(tmp_path):
    arg = write(tmp_path, "{port: 1}", "a.json")
    named = write(tmp_path, "{port: 2}", "b.json")
    assert load_settings(arg, {"CAPCUT_CONFIG": named}).port == 1


def test_missing_explicit_file_is_an_error(tmp_path):
    missing = str(tmp_path / "nope.json")
    with pytest.raises(SettingsError, match="nope.json.*config_path.*does not exist"):
        load_settings(missing, {})
    with pytest.raises(SettingsError, match="nope.json.*CAPCUT_CONFIG.*does not exist"):
        load_settings(env={"CAPCUT_CONFIG": missing})


def test_default_file_in_repo_root_is_optional(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "REPO_ROOT", tmp_path)
    assert load_settings(env={}).port == 9001
    write(tmp_path, "{port: 9500}")
    assert load_settings(env={}).port == 9500


# --- JSON5 and syntax errors -------------------------------------------------------------------

def test_comments_and_trailing_commas(tmp_path):
    s = load_text(tmp_path, """
    // line comment
    {
      /* block
         comment */
      port: 9600,          // unquoted key
      'host': '0.0.0.0',
      "api_keys": ["k1", "k2",],
    }
    """)
    assert (s.port, s.host, s.api_keys) == (9600, "0.0.0.0", ["k1", "k2"])


def test_syntax_error_names_file_line_and_column(tmp_path):
    msg = error(tmp_path, '{\n  "port": 9001,\n  "host": }\n')
    assert msg.startswith(str(tmp_path / "config.json") + " line 3, column 11: invalid JSON5: ")
    assert 'Unexpected "}"' in msg


def test_empty_file_is_an_error_not_defaults(tmp_path):
    assert "invalid JSON5" in error(tmp_path, "")


def test_top_level_must_be_an_object(tmp_path):
    assert "top level must be an object" in error(tmp_path, "[1, 2]")


# --- type, range and choice errors in the file -------------------------------------------------

def test_wrong_type_names_line_and_key(tmp_path):
    text = '{\n  // "port": 1\n  "s3_config": {\n    "port": "x"\n  },\n\n  "port": "abc",\n}'
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as info:
        load_settings(path, {})
    assert str(info.value) == f"{path} line 7: setting 'port' must be an integer, got \"abc\""


@pytest.mark.parametrize("text, expected", [
    ('{port: true}', "setting 'port' must be an integer, got true"),
    ('{port: 90.5}', "setting 'port' must be an integer, got 90.5"),
    ('{is_capcut_env: 1}', "setting 'is_capcut_env' must be true or false, got 1"),
    ('{is_upload_draft: "yes"}', "setting 'is_upload_draft' must be true or false, got \"yes\""),
    ('{host: null}', "setting 'host' must be a string, got null"),
    ('{api_keys: [1]}', "setting 'api_keys' must be a list of strings"),
    ('{oss_config: "x"}', "setting 'oss_config' must be an object"),
    ('{oss_config: [1]}', "setting 'oss_config' must be an object"),
    ('{port: 0}', "setting 'port' must be between 1 and 65535, got 0"),
    ('{port: 65536}', "setting 'port' must be between 1 and 65535, got 65536"),
    ('{draft_cache_size: 0}', "setting 'draft_cache_size' must be at least 1, got 0"),
    ('{draft_cache_mb: 0}', "setting 'draft_cache_mb' must be at least 1, got 0"),
    ('{keepalive_requests: 0}', "setting 'keepalive_requests' must be at least 1, got 0"),
    ('{snapshot_every: -3}', "setting 'snapshot_every' must be at least 1, got -3"),
    ('{public_base_url: "example.com"}', "setting 'public_base_url' must be an absolute http"),
    ('{redis_key_prefix: "a b"}', "setting 'redis_key_prefix' must be 1 to 64 letters, digits or _ . : -"),
])
def test_bad_values_in_file(tmp_path, text, expected):
    assert f"config.json line 1: {expected}" in error(tmp_path, text)


@pytest.mark.parametrize("key, value, choices", [
    ("store", "mysql", "memory, sqlite, redis"),
    ("job_runner", "celery", "thread, huey"),
    ("storage", "ftp", "local, oss, s3"),
    ("log_level", "loud", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
])
def test_bad_choice_lists_choices(tmp_path, key, value, choices):
    msg = error(tmp_path, f'{{\n"{key}": "{value}"}}')
    assert msg.endswith(f"line 2: setting '{key}' must be one of {choices}, got \"{value}\"")


def test_unknown_keys_are_logged_not_rejected(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="capcut.settings"):
        s = load_text(tmp_path, '{"port": 9700, "MODEL_CONFIG": {}, "purchase_links": []}',
                      {"CAPCUT_NOT_A_SETTING": "x"})
    assert s.port == 9700
    assert "MODEL_CONFIG, purchase_links" in caplog.text
    assert "NOT_A_SETTING" not in caplog.text


# --- environment variables ---------------------------------------------------------------------

@pytest.mark.parametrize("env, expected", [
    ({"CAPCUT_PORT": "x"}, 'environment variable CAPCUT_PORT: must be an integer, got "x"'),
    ({"CAPCUT_PORT": "0"}, "environment variable CAPCUT_PORT: must be between 1 and 65535"),
    ({"CAPCUT_IS_CAPCUT_ENV": "maybe"},
     "environment variable CAPCUT_IS_CAPCUT_ENV: must be one of 1/0, true/false, yes/no, on/off"),
    ({"CAPCUT_STORE": "ftp"},
     'environment variable CAPCUT_STORE: must be one of memory, sqlite, redis, got "ftp"'),
    ({"CAPCUT_OSS_CONFIG": "{bad"}, "environment variable CAPCUT_OSS_CONFIG: must be a JSON object"),
    ({"CAPCUT_API_KEYS": "[1, 2]"}, "environment variable CAPCUT_API_KEYS: must be a comma-separated"),
    ({"CAPCUT_API_KEYS": "[a, b"},
     'environment variable CAPCUT_API_KEYS: must be a comma-separated list or a JSON list of '
     'strings, got "[a, b"'),
])
def test_env_errors_name_the_variable(tmp_path, env, expected):
    assert error(tmp_path, "{}", env).startswith(expected)


@pytest.mark.parametrize("raw, value", [
    ("1", True), ("true", True), ("YES", True), ("On", True), (" on ", True),
    ("0", False), ("false", False), ("No", False), ("OFF", False),
])
def test_env_bools(tmp_path, raw, value):
    assert load_text(tmp_path, "{}", {"CAPCUT_HTTP_ERROR_STATUS": raw}).http_error_status is value


def test_env_dicts_and_ints(tmp_path):
    s = load_text(tmp_path, "{}", {"CAPCUT_S3_CONFIG": '{"bucket": "b"}', "CAPCUT_PORT": " 8080 ",
                                   "CAPCUT_MP4_OSS_CONFIG": "[]"})
    assert (s.s3_config, s.port, s.mp4_oss_config) == ({"bucket": "b"}, 8080, {})


# --- lists -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw, expected", [
    ("127.0.0.1", ["127.0.0.1"]),
    (" a, b,,c ,", ["a", "b", "c"]),
    ('["10.0.0.0/8", "localhost"]', ["10.0.0.0/8", "localhost"]),
    ("", []),
])
def test_env_lists(tmp_path, raw, expected):
    assert load_text(tmp_path, "{}", {"CAPCUT_FETCH_ALLOW_HOSTS": raw}).fetch_allow_hosts == expected


def test_file_lists_accept_a_list_or_a_comma_separated_string(tmp_path):
    s = load_text(tmp_path, '{fetch_allow_hosts: "a, b", api_keys: [" k1 ", ""]}')
    assert (s.fetch_allow_hosts, s.api_keys) == (["a", "b"], ["k1"])


# --- data_dir ----------------------------------------------------------------------------------

def test_relative_data_dir_resolves_against_repo_root_not_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_text(tmp_path, '{data_dir: "./var/data"}').data_dir == str(ROOT / "var" / "data")
    env = {"CAPCUT_DATA_DIR": "elsewhere"}
    assert load_text(tmp_path, "{}", env).data_dir == str(ROOT / "elsewhere")


def test_absolute_data_dir_is_kept(tmp_path):
    target = tmp_path / "store"
    assert load_text(tmp_path, "{}", {"CAPCUT_DATA_DIR": str(target)}).data_dir == str(target)


# --- profile -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("{}", "capcut"),
    ("{is_capcut_env: false}", "jianying"),
    ('{draft_profile: "capcut_legacy", is_capcut_env: false}', "capcut_legacy"),
    ('{draft_profile: "jianying_pro_10_2"}', "jianying_pro_10"),
    ('{draft_profile: "jianying_legacy"}', "jianying"),
    ('{draft_profile: ""}', "capcut"),
    ("{draft_profile: null, is_capcut_env: false}", "jianying"),
])
def test_profile(tmp_path, text, expected):
    assert load_text(tmp_path, text).profile == expected


def test_profile_from_env_alias(tmp_path):
    s = load_text(tmp_path, "{}", {"CAPCUT_DRAFT_PROFILE": "jianying_10_x"})
    assert (s.draft_profile, s.profile) == ("jianying_10_x", "jianying_pro_10")


def test_invalid_profile_is_an_error_listing_valid_names(tmp_path):
    msg = error(tmp_path, '{\n  draft_profile: "capcut_9"\n}')
    assert "line 2: setting 'draft_profile' is invalid: unknown draft profile 'capcut_9'" in msg
    assert "capcut, capcut_legacy, jianying" in msg
    msg = error(tmp_path, "{}", {"CAPCUT_DRAFT_PROFILE": "nope"})
    assert msg.startswith("environment variable CAPCUT_DRAFT_PROFILE: is invalid: unknown draft")


# --- upstream compatibility and misc -----------------------------------------------------------

def test_upstream_style_config_with_empty_list_oss_config(tmp_path):
    s = load_text(tmp_path, """{
        "is_capcut_env": true,
        "draft_domain": "https://www.capcutapi.top",
        "port": 9001,
        "preview_router": "/draft/downloader",
        "is_upload_draft": false,
        "oss_config": [],
        "mp4_oss_config": [],
    }""")
    assert (s.oss_config, s.mp4_oss_config, s.draft_domain) == ({}, {}, "https://www.capcutapi.top")


def test_public_base_url_loses_trailing_slash(tmp_path):
    env = {"CAPCUT_PUBLIC_BASE_URL": "https://drafts.example.com/api/"}
    assert load_text(tmp_path, "{}", env).public_base_url == "https://drafts.example.com/api"


def test_log_level_is_case_insensitive(tmp_path):
    assert load_text(tmp_path, "{}", {"CAPCUT_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_settings_are_frozen_and_hide_secrets(tmp_path):
    s = load_text(tmp_path, '{api_keys: "secret-key", oss_config: {access_key_secret: "pw"}}')
    with pytest.raises(ValidationError, match="frozen"):
        s.port = 1
    assert "secret-key" not in repr(s) and "pw" not in repr(s)


def test_example_file_documents_every_setting_with_its_default(tmp_path):
    example = ROOT / "config.json.example"
    keys = settings._key_lines(example.read_text(encoding="utf-8"))
    assert set(keys) == set(Settings.model_fields)
    assert load_settings(str(example), {}) == Settings()


def test_replace_checks_the_changes_like_loaded_values(tmp_path):
    base = Settings()
    changed = base.replace(port=9100, api_keys="a, b", data_dir="rel", log_level="debug")
    assert (changed.port, changed.api_keys, changed.log_level) == (9100, ["a", "b"], "DEBUG")
    assert changed.data_dir == str(ROOT / "rel") and base.port == 9001
    for bad in (dict(port=0), dict(port="9100"), dict(store="mysql"), dict(no_such_setting=1)):
        with pytest.raises(ValidationError):
            base.replace(**bad)


def test_settings_load_without_importing_the_rest_of_the_package(tmp_path):
    code = (f"import sys; from capcut_drafts import settings; settings.load_settings({write(tmp_path, '{}')!r}, {{}}); "
            "print(sorted(m for m in sys.modules if m.startswith('capcut_drafts.') and m != 'capcut_drafts.settings'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
