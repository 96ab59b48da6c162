"""Smoke-run bench/quality.py at a tiny size: a two-paragraph SQuAD file in, the page and chart out."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.eval.evaluate import in_split, load_questions
from bench import quality

PARAGRAPHS = [
    (
        "The Kelburn Bridge opened in 1931 and crosses the Tarran River at its narrowest point. "
        "It was designed by the engineer Agnes Moray, who chose a steel arch over a suspension design. "
        "The bridge carries two lanes of traffic and a footpath on its eastern side.",
        [("When did the Kelburn Bridge open?", ["1931"]),
         ("Who designed the Kelburn Bridge?", ["Agnes Moray"]),
         ("Which river does the bridge cross?", ["Tarran River", "the Tarran River"]),
         ("How many lanes did the bridge have in 1850?", [])],
    ),
    (
        "A toll of two pence was charged until 1962, when the city council bought out the bridge company. "
        "Repairs in 1998 replaced the deck and repainted the arch in its original grey.",
        [("When was the toll removed?", ["1962"]), ("What colour is the arch?", ["grey"]),
         ("Who bought the bridge in 1898?", [])],
    ),
]  # fmt: skip


def squad_file(folder: Path) -> Path:
    paragraphs = [
        {"context": context, "qas": [
            {"id": f"{p}-{n}", "question": q, "is_impossible": not gold,
             "answers": [{"text": g, "answer_start": context.find(g)} for g in gold]}
            for n, (q, gold) in enumerate(qas)
        ]}
        for p, (context, qas) in enumerate(PARAGRAPHS)
    ]  # fmt: skip
    path = folder / "tiny-squad.json"
    path.write_text(
        json.dumps({"version": "v2.0", "data": [{"title": "Kelburn_Bridge", "paragraphs": paragraphs}]})
    )
    return path


def test_quality_page_and_chart_are_written(tmp_path: Path) -> None:
    squad = squad_file(tmp_path)
    evalset = load_questions(squad)
    questions = [q.question for q in evalset.questions]
    assert any(in_split(q, "tune") for q in questions) and any(in_split(q, "holdout") for q in questions)

    baselines = quality.measure_baselines(evalset)
    reports, project = quality.measure_project(squad, None, (150, 400))
    run = quality.Run(reports, project, baselines, len(questions), 1.0)
    out = tmp_path / "docs" / "quality.md"
    quality.write_chart(out.with_suffix(".png"), project, baselines)
    quality.write_markdown(out, run, out.with_suffix(".png"))

    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The answerer's reliability diagram, drawn from the bins the trainer recorded.
    assert out.with_name("calibration.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = out.read_text(encoding="utf-8")
    for heading in (
        "## Metrics per question set",
        "## Recipe vs this project",
        "## How to read",
        "quality.png",
        "calibration.png",
    ):
        assert heading in page
    assert [p.label for p in project] == ["150", "400"]
    assert [p.label for p in baselines["LangChain recipe (1000/200 chunks, top-k)"]] == [
        "k=1",
        "k=2",
        "k=3",
        "k=4",
    ]
    points = [*project, *(p for ps in baselines.values() for p in ps)]
    assert all(0.0 <= p.hit_rate <= 1.0 and p.chars > 0 for p in points)
    assert set(reports) == {f"{squad.name}, {s}" for s in ("all", "tune", "holdout")}
    for report in reports.values():
        rates = [report.answer_hit_rate, report.false_abstention_rate, report.citation_integrity]
        assert all(r is not None and 0.0 <= r <= 1.0 for r in rates)
    assert f"{reports[f'{squad.name}, all'].answer_hit_rate:.1%}" in page


def test_the_target_verdicts_read_a_zero_false_abstention_as_zero(tmp_path: Path) -> None:
    import dataclasses

    squad = squad_file(tmp_path)
    reports, project = quality.measure_project(squad, None, (400,))
    full = reports[f"{squad.name}, all"]
    run = quality.Run(
        {f"{squad.name}, all": dataclasses.replace(full, false_abstention_rate=0.0)}, project, {}
    )
    (line,) = quality.target_lines(run)
    assert "with false abstention 0.0%" in line  # a perfect figure once printed as 100.0%
    missing = quality.Run(
        {f"{squad.name}, all": dataclasses.replace(full, false_abstention_rate=None)}, project, {}
    )
    assert "with false abstention 100.0% (not met)" in quality.target_lines(missing)[0]
