"""Paths on the client's machine: the drafts folder the user sent and the media paths inside it.

The draft is built on the server but opened by CapCut/JianYing on the user's computer, and the
apps find media by the path written in each material. So every path we write is a *client*
path, built as a string; nothing here touches this machine's disk.

Forms (chosen by the form of `draft_folder`, never by the server's OS):

* Windows drive, ``C:\\Users\\me\\…`` or ``C:/Users/me/…``: written ``C:/Users/me/…`` with forward
  slashes, whichever the user sent, because that is how the apps write them. Every app-written
  reference draft on Windows (CapCut 1.5–9.1, JianYing 2.8.5–5.9) has its imported media paths,
  ``draft_fold_path``, meta ``file_Path`` and agency ``source_path`` as ``X:/…`` (e.g.
  capcut-8.9-win-donor-282new: ``E:/E Download/…/IMG_1482.MOV``,
  ``C:/Users/Acer/AppData/Local/CapCut/User Data/Projects/com.lveditor.draft/282new``). The one
  exception is ``draft_root_path``, see `root_path`.
* UNC, ``\\\\server\\share\\…``: backslashes throughout (no reference shows one; kept as upstream
  CapCutAPI writes Windows paths, which upstream crashed on for UNC).
* POSIX, ``/Users/me/…`` (macOS) or any other absolute ``/…`` path: as sent.

`validate_draft_folder` keeps the user's own separators (it is what the task record and the draft
page show); `join`, `material_path` and `root_path` give the form written into the draft.
Runs of separators are collapsed, ``.`` segments dropped and trailing separators ignored.
Rejected, with a message that says what to send instead: empty values, relative paths
(including ``~/…`` and a bare ``C:``), ``..`` segments, control characters, unpaired surrogates,
characters Windows forbids in names (for Windows forms), and values too long for the app to use.

No ``draft_folder``: `material_path` writes the apps' own "this draft's folder" token,
``##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##/assets/<kind>/<file>``.
CapCut (1.5 to 7.8, Windows and macOS) and JianYing 5.4.5β write exactly this prefix for media kept
inside the draft folder and resolve it to wherever the folder sits, so a user who forgot
`draft_folder` still gets working media once the folder is copied into the drafts directory,
whatever its location or name. No CapCut 7.9–9.1 reference has the token (their media all sit
outside the draft folder); those versions write absolute paths, which a download with
``?draft_folder=`` gives (capcut_drafts/save/relocate.py). (Upstream wrote ``""``: media missing,
its most reported problem.)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ClientOS = Literal["windows", "mac", "linux"]

# The token the apps write for "the folder of this draft" in material paths.
DRAFT_PATH_PLACEHOLDER = "##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##"

# Longest accepted drafts folder. Windows apps still live with MAX_PATH (260): the folder plus
# "\<draft name>\assets\video\video_<16 hex>.mp4" (about 70 characters) must stay below it.
MAX_FOLDER_LENGTH = 1024
MAX_WINDOWS_FOLDER_LENGTH = 180
MAX_NAME_LENGTH = 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_DRIVE = re.compile(r"^([A-Za-z]):([\\/]|$)")
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*]')
_WINDOWS_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)

_HINT = ("send the absolute path of your CapCut/JianYing drafts folder, e.g. "
         r"C:\Users\<you>\AppData\Local\CapCut\User Data\Projects\com.lveditor.draft or "
         "/Users/<you>/Movies/CapCut/User Data/Projects/com.lveditor.draft")


@dataclass(frozen=True)
class _Parsed:
    kind: str          # "drive_back", "drive_fwd", "unc" or "posix"
    root: str          # "C:\\", "C:/", "\\\\server\\share" or "/"
    parts: tuple[str, ...]

    @property
    def sep(self) -> str:
        return "/" if self.kind in ("drive_fwd", "posix") else "\\"

    @property
    def windows(self) -> bool:
        return self.kind != "posix"

    def render(self, extra: tuple[str, ...] = (), sep: str | None = None) -> str:
        """The path with `extra` segments appended; `sep` replaces a drive path's separators."""
        parts = self.parts + extra
        if self.kind == "unc":
            return self.root + "".join("\\" + p for p in parts)
        if self.kind == "posix" or sep is None:
            return self.root + self.sep.join(parts)
        return self.root[:2] + sep + sep.join(parts)

    def app_form(self, extra: tuple[str, ...] = ()) -> str:
        """The path as the apps write it: a drive path with forward slashes (module doc)."""
        return self.render(extra, "/")


def _fail(message: str) -> None:
    raise ValueError(f"Invalid draft_folder: {message}")


def _parse(value: str) -> _Parsed:
    if not isinstance(value, str):
        _fail(f"expected a string, got {type(value).__name__}; {_HINT}.")
    text = value.strip()
    if not text:
        _fail(f"it is empty; {_HINT}.")
    if _CONTROL.search(text):
        _fail("it contains control characters (a newline, tab or NUL byte?); send the folder path "
              "on one line, without escape sequences.")
    if _SURROGATE.search(text):
        _fail("it contains an unpaired surrogate (not valid Unicode); send the folder path as UTF-8 text.")
    if len(text) > MAX_FOLDER_LENGTH:
        _fail(f"it is {len(text)} characters long; at most {MAX_FOLDER_LENGTH} are accepted.")

    drive = _DRIVE.match(text)
    if drive:
        if not drive.group(2):
            _fail(f"'{text}' names a drive but no folder; write it as {drive.group(1)}:\\ followed by "
                  "the folder, e.g. " + drive.group(1) + r":\CapCut Drafts.")
        kind = "drive_back" if drive.group(2) == "\\" else "drive_fwd"
        letter = drive.group(1)
        rest = text[2:]
        root = f"{letter}:\\" if kind == "drive_back" else f"{letter}:/"
    elif text.startswith("\\\\"):
        pieces = [p for p in re.split(r"[\\/]+", text[2:]) if p]
        if len(pieces) < 2:
            _fail(f"'{text}' is a network path without a share; write it as \\\\server\\share\\folder.")
        kind, root, rest = "unc", f"\\\\{pieces[0]}\\{pieces[1]}", "\\".join(pieces[2:])
        _check_parts(pieces[:2], windows=True, what="server and share")
    elif text.startswith("/"):
        kind, root, rest = "posix", "/", text[1:]
    elif text.startswith("~"):
        _fail(f"'{text}' starts with '~', which the app does not expand; write your home folder out, "
              "e.g. /Users/<you>/Movies/CapCut/User Data/Projects/com.lveditor.draft.")
    else:
        _fail(f"'{text}' is a relative path; {_HINT}.")

    parts = tuple(p for p in re.split(r"[\\/]+", rest) if p and p != ".")
    _check_parts(parts, windows=kind != "posix", what="folder")
    parsed = _Parsed(kind, root, parts)
    if parsed.windows and len(parsed.render()) > MAX_WINDOWS_FOLDER_LENGTH:
        _fail(f"it is {len(parsed.render())} characters long; Windows apps fail on paths over 260 characters, "
              f"so a Windows drafts folder may have at most {MAX_WINDOWS_FOLDER_LENGTH} (the draft and media "
              "names are added to it). Use a shorter folder, e.g. C:\\CapCut Drafts.")
    return parsed


def _check_parts(parts, *, windows: bool, what: str) -> None:
    for part in parts:
        if part == "..":
            _fail("it contains a '..' segment; send the folder's absolute path without '..'.")
        if windows and _WINDOWS_FORBIDDEN.search(part):
            _fail(f"the {what} name '{part}' contains a character Windows does not allow in names "
                  "(< > : \" | ? *).")


def validate_draft_folder(value: str) -> str:
    """The drafts folder normalised, with the user's own separators (what the task and the draft
    page show; see the module doc); ValueError says what to fix."""
    return _parse(value).render()


def client_os(draft_folder: str | None) -> ClientOS:
    """Best guess of the client's OS: Windows styles → "windows"; /Users/… or /Volumes/… → "mac";
    anything else, including no folder, → "linux" (the writer reads that as "unknown")."""
    if not draft_folder:
        return "linux"
    parsed = _parse(draft_folder)
    if parsed.windows:
        return "windows"
    if parsed.parts and parsed.parts[0] in ("Users", "Volumes"):
        return "mac"
    return "linux"


def check_name(name: str, what: str = "draft name") -> str:
    """A single folder or file name that is safe on every OS the apps run on; returns it unchanged."""
    if not isinstance(name, str) or not name or not name.strip():
        raise ValueError(f"Invalid {what}: it is empty.")
    if name in (".", ".."):
        raise ValueError(f"Invalid {what}: '{name}' is not a name.")
    if _CONTROL.search(name):
        raise ValueError(f"Invalid {what}: it contains control characters.")
    if "/" in name or "\\" in name:
        raise ValueError(f"Invalid {what} '{name}': it may not contain '/' or '\\'.")
    if _WINDOWS_FORBIDDEN.search(name):
        raise ValueError(f"Invalid {what} '{name}': it contains a character Windows does not allow in names "
                         "(< > : \" | ? *).")
    if name[-1] in ". " or name[0] == " ":
        raise ValueError(f"Invalid {what} '{name}': Windows does not allow names that start with a space "
                         "or end with a dot or space.")
    if _WINDOWS_RESERVED.match(name):
        raise ValueError(f"Invalid {what} '{name}': it is a reserved device name on Windows.")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"Invalid {what}: it is {len(name)} characters long; at most {MAX_NAME_LENGTH}.")
    return name


def _relative_parts(parts: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for part in parts:
        for piece in re.split(r"[\\/]+", part):
            if piece and piece != ".":
                check_name(piece, "path segment")
                out.append(piece)
    return tuple(out)


def join(draft_folder: str, *parts: str) -> str:
    """`draft_folder` joined with `parts`, as the apps write it (module doc). Each part may hold
    several segments separated by / or \\; every segment must be a plain name (no '..')."""
    return _parse(draft_folder).app_form(_relative_parts(parts))


def app_separator(draft_folder: str) -> str:
    """The separator of paths written for `draft_folder`: "\\" for UNC, else "/"."""
    return "\\" if _parse(draft_folder).kind == "unc" else "/"


# Which profiles' apps write `draft_root_path` of a Windows drive with backslashes, while every
# other path of the draft has forward slashes (checked in tests/save/test_paths.py):
#   capcut (8.9.1): capcut-8.9-win-donor-282new C:\Users\Acer\AppData\Local\CapCut\User Data\…
#       (the 8.1.1 quran folders wrote C:/Users/davro/…; 8.9.1 is the profile's version);
#   capcut_legacy (6.5): capcut-6.2-win-baby-starfish C:/Users/TAI/AppData/Local/CapCut Drafts and
#       the 6.9 hybrid E:/CapCut Drafts (capcut-6.9-win-rolik wrote backslashes);
#   jianying, jianying_pro_10 (5.9 content): every JianYing 5.x meta, e.g. jianying-5.5-win-draftdemo-normal
#       Z:\jianying\Data\JianyingPro Drafts (5.6 t1 and t2 the same).
ROOT_BACKSLASH_PROFILES = frozenset({"capcut", "jianying", "jianying_pro_10"})


def root_path(draft_folder: str, profile: str) -> str:
    """`draft_root_path` of draft_meta_info.json for the app of `profile` (a profile name): the
    folder as the apps write it, with backslashes on a Windows drive where that app version does."""
    parsed = _parse(draft_folder)
    if profile in ROOT_BACKSLASH_PROFILES:
        return parsed.render(sep="\\")
    return parsed.app_form()


def material_path(draft_folder: str | None, draft_name: str, kind_dir: str, file_name: str) -> str:
    """The path the client's app will open: <draft_folder>/<draft_name>/assets/<kind_dir>/<file_name>
    as the apps write it, or the apps' draft-folder token when no folder was sent (module doc)."""
    check_name(draft_name)
    tail = _relative_parts(("assets", kind_dir, file_name))
    if not draft_folder:
        return "/".join((DRAFT_PATH_PLACEHOLDER, *tail))
    return _parse(draft_folder).app_form((draft_name, *tail))


def meta_file_path(path: str) -> str:
    """How `draft_meta_info.json` writes a material path: the apps write "./…" where the content
    has the draft-folder token."""
    if path.startswith(DRAFT_PATH_PLACEHOLDER):
        return "." + path[len(DRAFT_PATH_PLACEHOLDER):]
    return path


def base_name(path: str) -> str:
    """Last segment of a client path of any style."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]
