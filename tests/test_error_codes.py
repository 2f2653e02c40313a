"""Every `code` a reply can carry is an `ErrorCode` member, and the README's table is the enum.

The source check reads every service module (not storage/: its codes are the providers' own,
shown inside messages and `upload_error_code`, never as a reply's `code`) and collects the
string literals that can flow into a code slot: a `code=` argument, a positional argument in
the place of a parameter named `code`, a `{"code": …}` entry, an assignment to `code`, `.code`
or `*_CODE`, a `code` parameter's default, and the `code` column of a module-level table
unpacked by a `for … code … in TABLE` loop.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from capcut_drafts.errors import ApiError, ErrorCode

REPO = Path(__file__).resolve().parent.parent
# every source file except capcut_drafts/storage/, whose codes are the cloud providers' own
SOURCES = ["app.py", "mcp_server.py", "worker.py", "gunicorn.conf.py", "tools"] + sorted(
    str(part.relative_to(REPO)) for part in (REPO / "capcut_drafts").iterdir()
    if part.name not in ("storage", "__pycache__") and (part.is_dir() or part.suffix == ".py"))


def source_files() -> list[Path]:
    files = []
    for entry in SOURCES:
        path = REPO / entry
        files += sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
    return files


def literals(node: ast.AST) -> set[str]:
    """The string literals `node` can evaluate to; an `ErrorCode.X` gives X's value (or the
    impossible "ErrorCode.X" when X is no member)."""
    if isinstance(node, ast.Constant):          # None and "" stand for "no code"
        return {node.value} if isinstance(node.value, str) and node.value else set()
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ErrorCode":
        member = ErrorCode.__members__.get(node.attr)
        return {member.value if member else f"ErrorCode.{node.attr}"}
    if isinstance(node, ast.BoolOp):
        return set().union(*(literals(v) for v in node.values))
    if isinstance(node, ast.IfExp):
        return literals(node.body) | literals(node.orelse)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Dict):
        return set().union(*(literals(v) for v in node.value.values))
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("str", "ErrorCode") and node.args:
            return literals(node.args[0])
        if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Dict):
            found = set().union(*(literals(v) for v in func.value.values))
            return found | (literals(node.args[1]) if len(node.args) > 1 else set())
    return set()


def code_positions(trees: list[ast.Module]) -> dict[str, int]:
    """Callable name -> index of its positional parameter named `code` (self left out)."""
    positions = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                init = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
                names = [a.arg for a in init.args.args[1:]] if init else []
            elif isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.args]
                names = names[1:] if names[:1] == ["self"] else names
            else:
                continue
            if "code" in names:
                positions[node.name] = names.index("code")
    return positions


def callee(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def is_code_target(target: ast.AST) -> bool:
    if isinstance(target, ast.Name):
        return target.id == "code" or target.id.endswith("_CODE")
    return isinstance(target, ast.Attribute) and target.attr == "code"


def table_column(tree: ast.Module, loop: ast.For) -> set[str]:
    """Literals in the `code` column of the module-level table a `for (…, code, …) in TABLE` reads."""
    if not (isinstance(loop.target, ast.Tuple) and isinstance(loop.iter, ast.Name)):
        return set()
    names = [t.id if isinstance(t, ast.Name) else "" for t in loop.target.elts]
    if "code" not in names:
        return set()
    column = names.index("code")
    found = set()
    for node in tree.body:
        named = isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == loop.iter.id
                                                     for t in node.targets)
        if named and isinstance(node.value, (ast.Tuple, ast.List)):
            for row in node.value.elts:
                if isinstance(row, (ast.Tuple, ast.List)) and len(row.elts) > column:
                    found |= literals(row.elts[column])
    return found


def codes_in(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    """Every literal that can reach a code slot -> where it was found."""
    positions = code_positions(list(trees.values()))
    found: dict[str, set[str]] = {}

    def note(values: set[str], where: str) -> None:
        for value in values:
            found.setdefault(value, set()).add(where)

    for name, tree in trees.items():
        for node in ast.walk(tree):
            where = f"{name}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg == "code":
                        note(literals(keyword.value), where)
                index = positions.get(callee(node))
                if index is not None and index < len(node.args):
                    note(literals(node.args[index]), where)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=False):
                    if isinstance(key, ast.Constant) and key.value == "code":
                        note(literals(value), where)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(is_code_target(t) for t in targets):
                    note(literals(node.value), where)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + node.args.defaults \
                    + node.args.kw_defaults
                for arg, default in zip(args, defaults, strict=False):
                    if arg.arg == "code" and default is not None:
                        note(literals(default), where)
            elif isinstance(node, ast.For):
                note(table_column(tree, node), where)
    return found


def parse(files: list[Path]) -> dict[str, ast.Module]:
    return {str(f.relative_to(REPO)): ast.parse(f.read_text(encoding="utf-8"), str(f)) for f in files}


# -- the source ----------------------------------------------------------------------------------

def test_every_code_in_the_source_is_an_error_code():
    found = codes_in(parse(source_files()))
    unknown = {code: sorted(where) for code, where in found.items() if code not in set(ErrorCode)}
    assert not unknown, f"codes that are not ErrorCode members (add them to capcut_drafts/errors.py): {unknown}"
    unused = sorted(set(ErrorCode) - set(found))
    assert not unused, f"ErrorCode members no source uses (remove them, and their README rows): {unused}"


SAMPLE = '''
TABLE = ((1, "Bad", "from_table", "msg"),)
DEPTH_CODE = "from_constant"

def deny(envelope, status, code, message): ...

class Failure(Exception):
    def __init__(self, message, code="from_default"): ...

def handler(exc, note):
    deny(None, 401, "from_position", "no")
    Failure("x", "from_class_position")
    raise Failure("x", code="from_keyword" if exc else ErrorCode.NOT_FOUND)
    body = {"code": "from_dict", "other": "not_a_code"}
    code = {404: "from_mapping"}.get(exc, "from_mapping_default")
    Failure("x", code=str(note.get("code") or "from_fallback"))
    Failure("x", code=ErrorCode.NO_SUCH_MEMBER)
    for status, reason, code, message in TABLE:
        pass
    print("not_a_code", "code")
'''


def test_the_scan_finds_codes_in_every_kind_of_slot():
    found = set(codes_in({"sample.py": ast.parse(SAMPLE)}))
    assert found == {"from_table", "from_constant", "from_default", "from_position", "from_class_position",
                     "from_keyword", "not_found", "from_dict", "from_mapping", "from_mapping_default",
                     "from_fallback", "ErrorCode.NO_SUCH_MEMBER"}


# -- the enum ------------------------------------------------------------------------------------

def test_members_are_strings_with_a_one_line_meaning():
    assert len({c.value for c in ErrorCode}) == len(ErrorCode)
    for code in ErrorCode:
        assert code == code.value and re.fullmatch(r"[a-z]+(_[a-z]+)*", code.value)
        assert code.meaning.endswith(".") and "\n" not in code.meaning and "|" not in code.meaning


def test_api_error_takes_only_error_codes():
    assert ApiError("x", "draft_not_found").code is ErrorCode.DRAFT_NOT_FOUND
    with pytest.raises(ValueError):
        ApiError("x", "no_such_code")


# -- the README ----------------------------------------------------------------------------------

def test_the_readme_table_is_the_enum():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Using the API\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z_]+)` \| (.+) \|$", section, re.M)
    expected = [(c.value, c.meaning) for c in ErrorCode]
    table = "\n".join(f"| `{code}` | {meaning} |" for code, meaning in expected)
    assert rows == expected, f"replace the error-code rows in README 'Using the API' with:\n{table}"
