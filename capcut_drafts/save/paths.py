"""Paths on the client's machine: the drafts folder the user sent and the media paths inside it.

The draft is built on the server but opened by CapCut/JianYing on the user's computer, and the
apps find media by the path written in each material. So every path we write is a *client*
path, built as a string in the client's own style; nothing here touches this machine's disk.

Styles (chosen by the form of `draft_folder`, never by the server's OS):

* Windows drive, backslashes — ``C:\\Users\\me\\…``: backslashes throughout (forward slashes the
  user mixed in are turned into backslashes), as upstream CapCutAPI writes them.
* Windows drive, forward slashes — ``C:/Users/me/…``: kept with forward slashes (backslashes
  mixed in become ``/``). Decided so because the apps write this form themselves: CapCut
  Windows stores ``draft_fold_path`` and imported media paths as ``C:/Users/…`` and opens them.
* UNC — ``\\\\server\\share\\…``: backslashes throughout (upstream crashed on these).
* POSIX — ``/Users/me/…`` (macOS) or any other absolute ``/…`` path.

Runs of separators are collapsed, ``.`` segments dropped and trailing separators ignored.
Rejected, with a message that says what to send instead: empty values, relative paths
(including ``~/…`` and a bare ``C:``), ``..`` segments, control characters, characters
Windows forbids in names (for Windows styles), and values too long for the app to use.

No ``draft_folder``: `material_path` writes the apps' own "this draft's folder" token,
``##_draftpath_placeholder_0E685133-18CE-45ED-8CB8-2904A212EC80_##/assets/<kind>/<file>``.
CapCut (1.5 to 7.8, Windows and macOS) and JianYing write exactly this prefix for media kept
inside the draft folder and resolve it to wherever the folder sits, so a user who forgot
`draft_folder` still gets working media once the folder is copied into the drafts directory,
whatever its location or name. (Upstream wrote ``""``: media missing, its most reported
problem.)
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

    def render(self, extra: tuple[str, ...] = ()) -> str:
        parts = self.parts + extra
        if self.kind == "unc":
            return self.root + "".join(self.sep + p for p in parts)
        return self.root + self.sep.join(parts)


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
    """The drafts folder in its normalised client style (see the module doc); ValueError says what to fix."""
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
    """`draft_folder` joined with `parts` in the folder's style. Each part may hold several
    segments separated by / or \\; every segment must be a plain name (no '..')."""
    return _parse(draft_folder).render(_relative_parts(parts))


def material_path(draft_folder: str | None, draft_name: str, kind_dir: str, file_name: str) -> str:
    """The path the client's app will open: <draft_folder>/<draft_name>/assets/<kind_dir>/<file_name>
    in the folder's style, or the apps' draft-folder token when no folder was sent (module doc)."""
    check_name(draft_name)
    tail = _relative_parts(("assets", kind_dir, file_name))
    if not draft_folder:
        return "/".join((DRAFT_PATH_PLACEHOLDER, *tail))
    return _parse(draft_folder).render((draft_name, *tail))


def meta_file_path(path: str) -> str:
    """How `draft_meta_info.json` writes a material path: the apps write "./…" where the content
    has the draft-folder token."""
    if path.startswith(DRAFT_PATH_PLACEHOLDER):
        return "." + path[len(DRAFT_PATH_PLACEHOLDER):]
    return path


def base_name(path: str) -> str:
    """Last segment of a client path of any style."""
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]
