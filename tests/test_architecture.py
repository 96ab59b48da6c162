"""The folder tree is the architecture: one subpackage per stage, imports flowing one way.

The stages are declared once, as an import-linter ``layers`` contract in pyproject.toml; these tests
run ``lint-imports`` on the package, show that it catches an import of a later stage, and check that
the fitted files an installed wheel needs travel inside it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ("ingest", "indexing", "answering", "llm", "web", "eval")


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH first: the copy in ``cwd`` is analysed, not the installed package.
    env = {"PATH": str(BIN), "PYTHONPATH": str(cwd), "HOME": str(cwd)}
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_stage_contract_holds() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_an_import_of_a_later_stage_breaks_the_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "assistant", tmp_path / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    seeds = tmp_path / "assistant" / "ingest" / "seeds.py"
    seeds.write_text(seeds.read_text(encoding="utf-8") + "\nfrom assistant.answering import retrieval\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "BROKEN" in done.stdout
    assert "assistant.ingest.seeds -> assistant.answering.retrieval" in done.stdout


def test_the_top_level_holds_the_api_and_the_stages_only() -> None:
    top = sorted(p.name for p in (ROOT / "assistant").glob("*.py"))
    assert len(top) <= 8, top
    for stage in STAGES:
        init = ROOT / "assistant" / stage / "__init__.py"
        assert init.exists(), stage
        text = init.read_text(encoding="utf-8")
        assert text.startswith('"""') and "__all__" in text, f"{init}: needs a docstring and __all__"


def test_ruff_is_clean() -> None:
    done = subprocess.run(
        [str(BIN / "ruff"), "check", "assistant", "bench", "tests", "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_built_wheel_carries_the_fitted_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copytree(ROOT / "assistant", src / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    out = tmp_path / "dist"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    wheel = next(out.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    fitted = ("answerer.json", "rerank.json", "reader.json", "reader.safetensors")
    for needed in (
        *(f"assistant/answering/{n}" for n in fitted),
        "assistant/ingest/seeds.py",
        "assistant/web/app.py",
    ):
        assert needed in names, needed
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # The installed copy finds its fitted file next to its module, not in the source tree.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from assistant.answering import scorer; "
        "assert scorer.PARAMETERS.is_relative_to(sys.argv[1]), scorer.PARAMETERS; "
        "print(scorer.load_parameters().min_confidence)"
    )
    run = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) > 0
