"""Developer entry point: `python3 dev.py serve [--host H] [--port N]`, `python3 dev.py test [pytest args]`,
`python3 dev.py lint` (ruff, then mypy, as configured in pyproject.toml) or `python3 dev.py cleanup`
(delete the drafts unchanged for `draft_retention_days` now, as the web workers do every hour).

The commands create `.venv` beside this file on first use and reinstall only when a
requirements file changed, so the quick start works on a machine with nothing but Python 3.11.
`serve` runs gunicorn with gunicorn.conf.py (Flask's development server on Windows, where
gunicorn does not run); `--host`/`--port` override the `host`/`port` settings.
"""
import argparse
import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
# Prints the host and port the settings (config.json, CAPCUT_* variables) name.
_WHERE = "from capcut_drafts.settings import load_settings; s = load_settings(); print(s.host, s.port)"
# One clean-up of idle drafts with the settings; prints what it did.
_CLEANUP = ("from capcut_drafts.editing.manage import run_cleanup; from capcut_drafts.settings import load_settings; "
            "print(run_cleanup(load_settings()))")


def _stamp(requirements: str) -> tuple[Path, str]:
    """The stamp file of an install of `requirements` and the digest it holds when current."""
    digest = hashlib.sha256()
    for name in ("requirements.txt", requirements):
        digest.update((ROOT / name).read_bytes())
    return VENV / f".installed-{Path(requirements).stem}", digest.hexdigest()


def _current(requirements: str) -> bool:
    stamp, digest = _stamp(requirements)
    return stamp.exists() and stamp.read_text() == digest


def _ensure_venv(requirements: str) -> None:
    # requirements-dev.txt includes requirements.txt: a current test install serves too.
    if _current(requirements) or (requirements == "requirements.txt" and _current("requirements-dev.txt")):
        return
    if not PYTHON.exists():
        print(f"Creating {VENV} …", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print(f"Installing {requirements} into {VENV} (first run or a changed requirements file; "
          "this takes a minute or two) …", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-r", str(ROOT / requirements)],
                   check=True)
    stamp, digest = _stamp(requirements)
    stamp.write_text(digest)


def _serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="dev.py serve", description="Serve the API (gunicorn; Flask on Windows).")
    parser.add_argument("--host", help="address to listen on (setting `host`, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (setting `port`, default 9001)")
    args = parser.parse_args(argv)
    _ensure_venv("requirements.txt")
    env = dict(os.environ)
    if args.host:
        env["CAPCUT_HOST"] = args.host
    if args.port:
        env["CAPCUT_PORT"] = str(args.port)
    where = subprocess.run([str(PYTHON), "-c", _WHERE], cwd=ROOT, env=env, capture_output=True, text=True)
    if where.returncode:
        print(where.stderr, file=sys.stderr)
        return where.returncode
    host, port = where.stdout.split()
    bind = env.get("GUNICORN_BIND") if os.name != "nt" else None
    if os.name == "nt":
        command, server = [str(PYTHON), "app.py"], "Flask's development server (gunicorn does not run on Windows)"
    else:
        command, server = [str(PYTHON), "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"], \
            "gunicorn (gunicorn.conf.py)"
    address = f"http://{bind}" if bind else f"http://{f'[{host}]' if ':' in host else host}:{port}"
    print(f"Serving the CapCut draft API on {address} with {server}; docs at {address}/docs/. "
          "Ctrl+C stops it.", flush=True)
    child = subprocess.Popen(command, cwd=ROOT, env=env)
    if os.name != "nt":                # a stop sent to dev.py alone stops the server too
        signal.signal(signal.SIGTERM, lambda signum, frame: child.send_signal(signum))
    try:
        return child.wait()
    except KeyboardInterrupt:          # Ctrl+C in a terminal reaches the server too; wait for its stop
        return child.wait()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "serve":
        return _serve(argv[1:])
    if command == "test":
        _ensure_venv("requirements-dev.txt")
        return subprocess.call([str(PYTHON), "-m", "pytest", *argv[1:]], cwd=ROOT)
    if command == "cleanup":
        _ensure_venv("requirements.txt")
        return subprocess.call([str(PYTHON), "-c", _CLEANUP], cwd=ROOT)
    if command == "lint":
        _ensure_venv("requirements-dev.txt")
        return (subprocess.call([str(PYTHON), "-m", "ruff", "check", "."], cwd=ROOT)
                or subprocess.call([str(PYTHON), "-m", "mypy"], cwd=ROOT))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
