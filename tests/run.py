"""Run the whole test suite: `python3 tests/run.py` (sets up .venv/ with the test extras first).

Extra arguments go to pytest, e.g. `python3 tests/run.py -k eval`.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant._venv import ROOT, ensure_venv

if __name__ == "__main__":
    ensure_venv(extras="test")
    os.chdir(ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", "tests", *sys.argv[1:]])
