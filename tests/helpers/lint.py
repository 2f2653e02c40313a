"""`npx capcut-cli@0.23.0 lint` on a saved draft folder (skips the test where Node.js is missing)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

LINT = ["npx", "-y", "capcut-cli@0.23.0"]


def lint(folder: Path, *extra: str) -> tuple[int, dict]:
    """capcut-cli's exit code and its JSON report for `folder`."""
    if shutil.which("npx") is None:
        pytest.skip("npx (Node.js) is not installed, so capcut-cli cannot lint the folder here")
    result = subprocess.run([*LINT, "lint", str(folder), *extra], capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"capcut-cli lint printed no JSON (exit {result.returncode}): {result.stdout[:500]} "
                    f"{result.stderr[:500]}")
    return result.returncode, report
