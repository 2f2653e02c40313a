"""capcut_drafts.save.paths: client paths as the apps write them (Windows, UNC, macOS, Linux), validation
messages, the OS guess and the no-folder fallback. The forms per app version, checked against the app-written
reference drafts, are in test_app_path_forms.py."""
from __future__ import annotations

import pytest

from capcut_drafts.save import paths

WIN = r"C:\Users\me\AppData\Local\CapCut\User Data\Projects\com.lveditor.draft"
WIN_APP = "C:/Users/me/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft"     # as the apps write it
MAC = "/Users/me/Movies/CapCut/User Data/Projects/com.lveditor.draft"
FILE = "video_454a5414d017e3bc.mp4"
TAIL = "/dfd_1/assets/video/" + FILE
TAIL_UNC = "\\dfd_1\\assets\\video\\" + FILE


# --- material_path: the form the apps write, per kind of folder -------------------------------------

@pytest.mark.parametrize("folder, expected", [
    (WIN, WIN_APP + TAIL),                        # backslashes sent: forward slashes written
    (WIN + "\\", WIN_APP + TAIL),                 # trailing separator
    (WIN + "\\\\", WIN_APP + TAIL),
    (r"C:\Users/me\Drafts", "C:/Users/me/Drafts" + TAIL),   # mixed
    ("C:/Users/me/CapCut Drafts", "C:/Users/me/CapCut Drafts" + TAIL),
    ("C:/Users/me/CapCut Drafts/", "C:/Users/me/CapCut Drafts" + TAIL),
    ("C:/Users\\me/Drafts", "C:/Users/me/Drafts" + TAIL),
    ("D:\\", "D:" + TAIL),                                 # a drive root
    ("e:/", "e:" + TAIL),
    (r"\\nas\share\CapCut Drafts", r"\\nas\share\CapCut Drafts" + TAIL_UNC),   # UNC: backslashes
    ("\\\\nas\\share\\", r"\\nas\share" + TAIL_UNC),
    (MAC, MAC + TAIL),
    (MAC + "/", MAC + TAIL),
    ("/home/me/drafts", "/home/me/drafts" + TAIL),
    ("/home/me//drafts/./x/", "/home/me/drafts/x" + TAIL),
    ("/", TAIL),
    ("  /home/me/drafts\n", "/home/me/drafts" + TAIL),    # pasted with whitespace
])
def test_material_path_is_written_as_the_apps_write_it(folder, expected):
    assert paths.material_path(folder, "dfd_1", "video", FILE) == expected


def test_windows_drive_paths_have_no_backslash():
    got = paths.material_path(WIN, "dfd_cat_1_ab", "video", FILE)
    assert got == WIN_APP + "/dfd_cat_1_ab/assets/video/" + FILE
    assert "\\" not in got


@pytest.mark.parametrize("folder", [None, ""])
def test_without_a_folder_the_path_uses_the_apps_draft_folder_token(folder):
    got = paths.material_path(folder, "dfd_1", "audio", "audio_1.mp3")
    assert got == "##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##/assets/audio/audio_1.mp3"
    assert paths.meta_file_path(got) == "./assets/audio/audio_1.mp3"


def test_meta_file_path_leaves_absolute_paths_alone():
    assert paths.meta_file_path(WIN + "\\x.mp4") == WIN + "\\x.mp4"


# --- join, client_os, validate ---------------------------------------------------------------------

def test_join_uses_the_apps_form_and_splits_parts():
    assert paths.join(WIN, "my draft") == WIN_APP + "/my draft"
    assert paths.join("C:/x", "a/b", "c") == "C:/x/a/b/c"
    assert paths.join(r"\\srv\share", "d") == r"\\srv\share\d"
    assert paths.join(MAC, "d", "assets\\video") == MAC + "/d/assets/video"


@pytest.mark.parametrize("folder, os_name", [
    (WIN, "windows"), ("C:/Users/me", "windows"), (r"\\nas\share\x", "windows"), ("d:\\", "windows"),
    (MAC, "mac"), ("/Volumes/External/CapCut", "mac"), ("/home/me/drafts", "linux"), ("/Usersx/a", "linux"),
    (None, "linux"), ("", "linux"),
])
def test_client_os_guess(folder, os_name):
    assert paths.client_os(folder) == os_name


@pytest.mark.parametrize("folder, normalised", [
    (WIN + "\\", WIN), ("C:/a/b/", "C:/a/b"), (r"\\srv\share\x\\", r"\\srv\share\x"), ("/a//b/", "/a/b"),
    ("d:\\", "d:\\"), ("/", "/"),
])
def test_validate_returns_the_normalised_folder(folder, normalised):
    assert paths.validate_draft_folder(folder) == normalised


@pytest.mark.parametrize("value, fragment", [
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("drafts", "is a relative path"),
    ("./drafts", "is a relative path"),
    ("CapCut\\Drafts", "is a relative path"),
    ("~/Movies/CapCut", "starts with '~'"),
    ("C:", "names a drive but no folder"),
    (r"C:\a\..\b", "'..' segment"),
    ("/home/me/../etc", "'..' segment"),
    (r"\\srv\share\..\x", "'..' segment"),
    ("C:\\a\tb", "control characters"),
    ("/a/b\x00c", "control characters"),
    ("/a\nb", "control characters"),
    ("\\\\server", "network path without a share"),
    (r"C:\a?b", "Windows does not allow"),
    ("C:/a:b", "Windows does not allow"),
    ("/a/\ud800b", "unpaired surrogate"),
    ("C:\\a\udfffb", "unpaired surrogate"),
    ("/a/" + "x" * 1100, "at most 1024"),
    ("C:\\" + "x" * 200, "at most 180"),
])
def test_invalid_folders_say_what_to_fix(value, fragment):
    with pytest.raises(ValueError) as err:
        paths.validate_draft_folder(value)
    assert fragment in str(err.value)
    assert str(err.value).startswith("Invalid draft_folder:")


def test_relative_message_shows_an_example():
    with pytest.raises(ValueError, match=r"AppData\\Local\\CapCut"):
        paths.validate_draft_folder("Projects")


def test_posix_folders_may_contain_characters_windows_forbids():
    assert paths.validate_draft_folder("/home/me/a:b") == "/home/me/a:b"


def test_non_string_is_rejected():
    with pytest.raises(ValueError, match="expected a string"):
        paths.validate_draft_folder(42)   # type: ignore[arg-type]


def test_material_path_rejects_bad_folders_and_names():
    with pytest.raises(ValueError, match="'..' segment"):
        paths.material_path("/a/../b", "d", "video", FILE)
    for bad in ("../x", "a/b", "a\\b", "..", "", "CON", "x?", "end."):
        with pytest.raises(ValueError):
            paths.material_path(MAC, bad, "video", FILE)
    with pytest.raises(ValueError):
        paths.material_path(MAC, "d", "video", "../../etc/passwd")


@pytest.mark.parametrize("name", ["dfd_cat_1700000000_abcd1234", "1. Fotiha", "5月16日", "0512(1)-복사", "a b"])
def test_check_name_accepts_names_the_apps_use(name):
    assert paths.check_name(name) == name


def test_base_name_of_any_style():
    assert paths.base_name(WIN + "\\clip.mp4") == "clip.mp4"
    assert paths.base_name("C:/x/clip.mp4") == "clip.mp4"
    assert paths.base_name("##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##/assets/a.mp3") == "a.mp3"
