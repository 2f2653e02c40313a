"""Developer entry point: `python3 dev.py serve`, `python3 dev.py test [pytest args]` or
`python3 dev.py lint` (ruff, then mypy, as configured in pyproject.toml).

The commands create `.venv` beside this file on first use and reinstall only when a
requirements file changed, so the quick start works on a machine with nothing but Python 3.11.
"""
import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _ensure_venv(requirements: str) -> None:
    req = ROOT / requirements
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    stamp = VENV / f".installed-{req.stem}"
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-r", str(req)], check=True)
    stamp.write_text(digest.hexdigest())


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "serve":
        _ensure_venv("requirements.txt")
        return subprocess.call([str(PYTHON), str(ROOT / "app.py"), *argv[1:]], cwd=ROOT)
    if command == "test":
        _ensure_venv("requirements-dev.txt")
        return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT)
    if command == "lint":
        _ensure_venv("requirements-dev.txt")
        return (subprocess.call([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT)
                or subprocess.call([str(PYTHON), "-m", "mypy"], cwd=ROOT))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
