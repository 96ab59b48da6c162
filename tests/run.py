"""Run the whole test suite: `python3 tests/run.py` (sets up .venv/ with the test extras first).

Extra arguments go to pytest, e.g. `python3 tests/run.py -k eval`.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant._venv import ROOT, ensure_venv

CHROMIUM = "/usr/bin/chromium"


def ensure_browser() -> None:
    """Debian's chromium for the browser tests: installed here when this is root with apt-get (as
    .ci/run does), else the command is named; without it those tests skip (outside CI) or fail."""
    if Path(CHROMIUM).exists():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("Installing Debian's chromium for the browser tests (first run only) ...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=False, env=env, stdout=subprocess.DEVNULL)
        done = subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium", "chromium-driver"],
            check=False,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        if done.returncode == 0:
            return
    print(
        "Note: the browser tests need Debian's chromium: sudo apt-get install chromium chromium-driver",
        flush=True,
    )


if __name__ == "__main__":
    if "--help" not in sys.argv:
        ensure_browser()
    ensure_venv(extras="test")
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", "tests", *sys.argv[1:]])
