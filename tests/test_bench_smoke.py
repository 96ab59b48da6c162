"""Smoke-run the benchmark scripts at a small size: they finish and write their tables.

Speed targets are not asserted here (CI machines vary); `bench/run_all.py` measures them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import build, common, latency, recipe, report

pytestmark = pytest.mark.skipif(not common.BBC_CSV.exists(), reason=f"no BBC corpus at {common.BBC_CSV}")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench") / "benchmarks.md"


def test_build_writes_its_section(page: Path, tmp_path: Path) -> None:
    section = build.main(["--docs", "12", "--out", str(page), "--json", str(tmp_path / "b.json")])
    text = page.read_text(encoding="utf-8")
    assert "<!-- bench:build -->" in text and "Full build vs raw encode" in text
    figures = json.loads((tmp_path / "b.json").read_text())["figures"]
    assert figures["throughput"]["sentences_embedded_by_build"] == figures["throughput"]["sentences"]
    assert figures["incremental"]["noop_sentences_embedded"] == 0
    assert figures["incremental"]["one_sentences_embedded"] == figures["incremental"]["changed_doc_sentences"]
    assert figures["incremental"]["add_sentences_embedded"] > 0 and figures["disk"]["rebuilds"] == 20
    assert len(section.targets) == 6


def test_recipe_writes_its_section(page: Path) -> None:
    section = recipe.main(["--docs", "12", "--questions", "3", "--rounds", "1", "--out", str(page)])
    text = page.read_text(encoding="utf-8")
    assert "<!-- bench:recipe -->" in text and "LangChain recipe" in text
    assert section.figures["recipe"]["chunks"] > 0 and section.figures["ours"]["passages"] > 0


def test_latency_writes_its_section(page: Path) -> None:
    section = latency.main(
        ["--docs", "12", "--questions", "3", "--rounds", "1", "--article-rounds", "1", "--cold-runs", "0",
         "--out", str(page)]
    )  # fmt: skip
    text = page.read_text(encoding="utf-8")
    assert "<!-- bench:latency -->" in text and "Warm answer latency" in text
    assert section.figures["article"]["samples"] == 3
    # Every section's targets are gathered into the page's summary.
    assert "<!-- bench:summary -->" in text and "targets met" in text
    assert text.index("bench:summary") < text.index("bench:latency") < text.index("bench:build")


def test_percentiles_and_tables() -> None:
    assert common.percentile([1, 2, 3, 4], 50) == 2.5
    assert common.percentile([5], 95) == 5
    table = report.md_table(["a", "b"], [[1, "x|y"]])
    assert table.splitlines()[2] == "| 1 | x\\|y |"
    qs = common.corpus_questions(
        [{"text": "The central bank raised interest rates sharply on Tuesday morning."}], 3
    )
    assert len(qs) == 3 and all(q.endswith("?") for q in qs)
