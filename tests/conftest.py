"""Shared fixtures: real packaged model, real Chroma in temporary folders."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from assistant import Settings, build_index
from assistant.environment import offline

offline()

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "seeds" / "us-missile-sales-two-koreas.txt"


@pytest.fixture(scope="session")
def article_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The project's article in a temporary seeds folder, indexed once for the whole session."""
    base = tmp_path_factory.mktemp("article")
    (base / "seeds").mkdir()
    shutil.copy(ARTICLE, base / "seeds" / ARTICLE.name)
    settings = Settings(seeds_dir=base / "seeds", index_dir=base / "index")
    build_index(settings)
    return settings


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings over a fresh seeds folder filled with the given {name: text} documents."""

    def make(docs: dict[str, str | bytes], **overrides: object) -> Settings:
        seeds = tmp_path / "seeds"
        seeds.mkdir(exist_ok=True)
        for name, content in docs.items():
            path = seeds / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
        return Settings(seeds_dir=seeds, index_dir=tmp_path / "index", **overrides)

    return make


def load_questions() -> list[dict]:
    """The project's own question set about the article."""
    lines = (ROOT / "tests" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def require_shared(*paths: Path) -> None:
    """Skip, with the reason, when data from ../shared is absent; with CI set, fail instead: CI
    always has ../shared beside the repo, so a missing file there is a broken run, not a skip."""
    missing = [str(p) for p in paths if not p.exists()]
    if not missing:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{', '.join(missing)} missing: CI must have ../shared beside the repository")
    pytest.skip(f"{', '.join(missing)} not present (../shared is not beside the repository)")
