"""The trained reader (#21): the shipped weights, their recorded figures, and honest failure.

The suite never retrains. It loads the shipped ``reader.safetensors`` as the answerer does and
checks it on a small fixed sample of the articles ``training/train_reader.py`` held out,
against the figures that script recorded in ``reader.json``.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
from conftest import require_shared

from assistant import Assistant
from assistant.answering.reader import FIGURES, WEIGHTS, Reader
from assistant.answering.reader_input import best_span, collate
from assistant.errors import ReaderError

V11 = Path(__file__).resolve().parents[2] / "shared" / "eval" / "squad1.1-train-rebuilt.json"


def test_the_shipped_reader_is_small_and_has_its_figures() -> None:
    figures = json.loads(FIGURES.read_text(encoding="utf-8"))
    assert WEIGHTS.stat().st_size <= 25 * 2**20  # the ceiling; the aim is about 10 MB
    assert figures["size_bytes"] == WEIGHTS.stat().st_size  # the figures are of these weights
    assert figures["heldout_v11"]["top1"] >= 0.7 and figures["heldout_dev24"]["abstain_auc_sum"] > 0.6
    assert len(figures["learning_curve"]) >= 3


def test_the_shipped_reader_reproduces_its_recorded_figures_on_a_fixed_sample() -> None:
    require_shared(V11)
    import torch

    from training.reader_eval import normal
    from training.reader_pairs import build_pairs

    figures = json.loads(FIGURES.read_text(encoding="utf-8"))
    held = set(figures["heldout_articles"])
    articles = [a for a in json.loads(V11.read_text(encoding="utf-8"))["data"] if a["title"] in held][:2]
    from assistant.environment import autocast

    reader = Reader()  # bf16 where the CPU has it, as answers are read
    net, tokenizer, _ = reader._model()
    pairs, _ = build_pairs(articles, tokenizer, random.Random(13), 0)
    groups: dict[int, list] = {}
    with torch.inference_mode(), autocast(reader.precision):
        for k in range(0, len(pairs), 64):
            chunk = pairs[k : k + 64]
            answers, start, end = (t.float() for t in net(**collate([p.enc for p in chunk])))
            for p, a, s, e in zip(chunk, answers.tolist(), start.tolist(), end.tolist(), strict=True):
                margin, i, j = best_span(s, e, p.enc)
                groups.setdefault(p.group, []).append((p, a + margin, i, j))
    top1 = exact = 0
    for rows in groups.values():
        p, _, i, j = max(rows, key=lambda r: r[1])
        if p.label:
            top1 += 1
            exact += normal(p.sentence[p.enc.offsets[i][0] : p.enc.offsets[j][1]]) == normal(p.answer)
    n = len(groups)
    assert n >= 150
    recorded = figures["heldout_v11"]
    # Two articles only (the figures vary by article): within a few points of the recorded ones.
    assert top1 / n >= recorded["top1"] - 0.08, (top1 / n, recorded)
    assert exact / n >= recorded["span_exact"] - 0.10, (exact / n, recorded)


def test_missing_or_broken_weights_name_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "reader.safetensors"
    missing_fix = r"reader\.safetensors: the file is missing.*training\.train_reader"
    with pytest.raises(ReaderError, match=missing_fix):
        Reader(missing).read("Who?", [("A sentence.", "", "Title")])
    missing.write_bytes(b"\x00\x01 not safetensors at all")
    with pytest.raises(ReaderError, match=r"not readable safetensors.*ASSISTANT_READER=off"):
        Reader(missing).read("Who?", [("A sentence.", "", "Title")])
    import torch
    from safetensors.torch import save_file

    save_file({"something.else": torch.zeros(2)}, str(missing))
    with pytest.raises(ReaderError, match="does not"):
        Reader(missing).read("Who?", [("A sentence.", "", "Title")])


STORY = """Harbour festival draws record crowd

The harbour festival drew a record crowd of 40,000 visitors on Saturday, organisers said.

Mayor Ines Calloway opened the festival at noon and said the town would hold it again next summer.

Local hotels reported that every room in town was booked for the weekend."""


def test_the_reader_answers_by_default_with_a_direct_answer_inside_its_quote(make_settings) -> None:
    """The reader is the default answerer, end to end on a page it never saw."""
    settings = make_settings({"harbour.txt": STORY})
    assert settings.reader
    bot = Assistant(settings)
    bot.build_index()
    crowd = bot.answer("How many visitors did the festival draw?")
    assert not crowd.abstained and crowd.confidence is not None
    assert "40,000" in crowd.citations[0].quote
    assert crowd.short_answer is not None and "40,000" in crowd.short_answer
    # The span, marked inside the quote it came from.
    assert crowd.citations[0].answer_start is not None and crowd.short_answer in crowd.citations[0].quote


def test_answers_quote_what_bears_on_the_question_not_the_rest_of_a_short_story(make_settings) -> None:
    """Beside the best sentence an answer quotes only the read sentences the blend gives at least
    ``pad_min`` log-odds (rerank.quoted): before, every answer here quoted all three sentences."""
    settings = make_settings({"harbour.txt": STORY})
    bot = Assistant(settings)
    bot.build_index()
    for question, quote in (
        ("Who opened the festival?", "Mayor Ines Calloway opened the festival"),
        ("How many visitors did the festival draw?", "record crowd of 40,000"),
    ):
        reply = bot.answer(question)
        assert [c.quote for c in reply.citations if quote in c.quote], reply.text
        assert len(reply.citations) == 1, reply.text


OFF = """
import json, sys
from assistant import Settings, answer
from assistant.answering import reader
settings = Settings()
reply = answer("How many visitors came?", settings=settings)
print(json.dumps({"reader": settings.reader, "loaded": reader._shared.cache_info().currsize,
                  "abstained": reply.abstained, "text": reply.text}))
"""


def test_assistant_reader_off_answers_with_the_fitted_scorer_alone(make_settings) -> None:
    """ASSISTANT_READER=off: the fitted scorer answers and the reader is never loaded."""
    import os
    import subprocess
    import sys

    settings = make_settings({"harbour.txt": STORY})
    Assistant(settings).build_index()
    env = {
        **os.environ,
        "ASSISTANT_READER": "off",
        "ASSISTANT_SEEDS_DIR": str(settings.seeds_dir),
        "ASSISTANT_INDEX_DIR": str(settings.index_dir),
    }
    env.pop("ASSISTANT_CHROMA_HOST", None)
    run = subprocess.run([sys.executable, "-c", OFF], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["reader"] is False and result["loaded"] == 0, result
    assert not result["abstained"] and "40,000" in result["text"], result


def test_made_distractors_swap_a_name_the_answer_sentence_holds_for_one_it_never_mentions() -> None:
    from training.reader_pairs import entity_pool, swapped

    article = {
        "paragraphs": [
            {"context": "In 1066 the Normans conquered England. They later ruled Sicily and parts of Italy."},
            {"context": "The Duchy of Normandy was founded in 911 under Rollo."},
        ]
    }
    pool = entity_pool(article)
    assert "In" not in pool.get(("name", 1), [])  # a capital that only starts a sentence is no name
    sentence = "In 1066 the Normans conquered England."
    made = {
        swapped("When did the Normans conquer England?", sentence, pool, random.Random(s)) for s in range(20)
    }
    made.discard(None)
    assert made, "a name the sentence holds should be swapped"
    for question in made:
        # One of the two names swapped for one of the article's that the answer sentence never mentions.
        assert sum(name in question for name in ("Normans", "England")) == 1, question
        assert any(name in question for name in ("Sicily", "Italy", "Rollo")), question
    # A year is swapped only for another year; a question naming nothing the sentence holds is kept.
    year = swapped("What happened in 1066?", sentence, pool, random.Random(0))
    assert year == "What happened in 911?" or year is None
    assert swapped("What did they build?", sentence, pool, random.Random(0)) is None


def test_bf16_weights_stored_once_read_the_same_as_autocast_casting_them_each_time() -> None:
    import torch

    from assistant.answering.reader import _load
    from assistant.answering.reader_input import encode
    from assistant.environment import autocast, cast_linear_weights

    net, tokenizer, layout = _load(WEIGHTS)

    def pieces(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    sentence = tokenizer(
        "The library reopens in March.", add_special_tokens=False, return_offsets_mapping=True
    )
    pair = encode(
        tokenizer,
        pieces("When does it reopen?"),
        (sentence["input_ids"], sentence["offset_mapping"]),
        pieces("The city library closed after the flood."),
        pieces("Library"),
        [],
        layout,
    )
    batch = collate([pair, pair])

    def read() -> list[torch.Tensor]:
        with torch.inference_mode(), autocast("bf16"):
            return [t.float() for t in net(**batch)]

    before = read()
    cast_linear_weights(net, "bf16")
    assert all(m.weight.dtype == torch.bfloat16 for m in net.modules() if isinstance(m, torch.nn.Linear))
    assert all(p.dtype == torch.float32 for n, p in net.named_parameters() if "LayerNorm" in n)
    for a, b in zip(before, read(), strict=True):
        assert torch.equal(a, b)


def test_the_packed_encoder_reads_the_same_as_bert_s_own_forward_over_padded_batches() -> None:
    """Answers run the encoder over the real word pieces only (packed.py); the readings must be those
    of BertModel's forward, which training used, in fp32 and in the precision answers run in."""
    import torch

    from assistant.answering.reader_input import encode
    from assistant.environment import autocast

    sentences = [s for s in STORY.split("\n") if s][1:] * 3
    for precision in ("fp32", "auto"):
        reader = Reader(precision=precision)
        net, tokenizer, layout, packed = reader._load_once()

        def pieces(text: str, tokenizer: Any = tokenizer) -> list[int]:
            return tokenizer(text, add_special_tokens=False)["input_ids"]

        pairs = []
        for k, text in enumerate(sentences):
            sentence = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
            context = " ".join(sentences[:k])  # 0 to 64 word pieces before: pairs of many lengths
            pairs.append(
                encode(
                    tokenizer,
                    pieces("Who opened the festival?"),
                    (sentence["input_ids"], sentence["offset_mapping"]),
                    pieces(context),
                    pieces("Harbour festival"),
                    [],
                    layout,
                )
            )
        assert len({len(p.ids) for p in pairs}) >= 5  # padding differs from row to row
        for batch in (collate(pairs[:6]), collate(pairs), collate(pairs[2:3])):
            with torch.inference_mode(), autocast(reader.precision):
                expected = [t.float() for t in net(**batch)]
                hidden = packed(batch["ids"], batch["mask"], batch["types"])
                got = [t.float() for t in net.heads(hidden, batch["mask"], batch["allowed"])]
            # Equal to the bit on the Xeon it was written on; other kernels may round differently.
            tolerance = 0.05 if reader.precision == "bf16" else 1e-4
            for a, b in zip(expected, got, strict=True):
                assert torch.allclose(a, b, atol=tolerance), (a - b).abs().max()


def test_ranking_parameters_fitted_for_other_features_are_refused_naming_the_refit(tmp_path: Path) -> None:
    """rerank.json's rows are matched to features by position: a file from before a feature was added
    would be read silently wrong, so it is refused with the command that refits it."""
    from assistant.answering.rerank import CONFIDENCE_FEATURES, PARAMETERS, load_rerank
    from assistant.errors import AssistantError

    data = json.loads(PARAMETERS.read_text(encoding="utf-8"))
    assert tuple(data["confidence"]["features"]) == CONFIDENCE_FEATURES
    old = dict(data, confidence=dict(data["confidence"]))
    old["confidence"]["features"] = {
        k: v for k, v in data["confidence"]["features"].items() if k != "blend_best"
    }
    stale = tmp_path / "rerank.json"
    stale.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(AssistantError, match=r"confidence model is fitted on .*training\.fit_rerank"):
        load_rerank(stale)
    del old["reader_sentence"]
    stale.write_text(json.dumps(old), encoding="utf-8")
    with pytest.raises(AssistantError, match=r"reader_sentence.*training\.fit_rerank"):
        load_rerank(stale)


def test_a_distilled_reader_of_fewer_layers_is_read_as_its_file_records(tmp_path: Path) -> None:
    """A reader distilled into fewer layers (train_reader --student-layers) ships all its layers and
    their count; loading builds that many, so its weights are not read into the wrong layers."""
    import torch
    from safetensors.torch import load_file

    from assistant.answering.reader import _load, build_net, keep_layers
    from assistant.answering.reader_input import CONTEXT_LAYOUT
    from assistant.indexing.embedding import resolve_model
    from assistant.settings import PACKAGED_MODEL
    from training.export import export

    net = build_net(resolve_model(PACKAGED_MODEL))
    net.load_state_dict({k: v.float() for k, v in load_file(str(WEIGHTS)).items()}, strict=False)
    assert keep_layers(net.encoder, 3) == [1, 3, 5]
    student = tmp_path / "reader.safetensors"
    export(net, 3, CONTEXT_LAYOUT, {}, student, tmp_path / "reader.json")
    loaded, _, _ = _load(student)
    assert len(loaded.encoder.encoder.layer) == 3
    teacher, _, _ = _load(WEIGHTS)
    for k, old in enumerate((1, 3, 5)):  # the student's layer k is the teacher's layer `old`
        mine = loaded.encoder.encoder.layer[k].output.dense.weight
        assert torch.equal(mine, teacher.encoder.encoder.layer[old].output.dense.weight)
    readings = Reader(student).read("Who opened the festival?", [("Mayor Ines Calloway opened it.", "", "")])
    assert len(readings) == 1 and math.isfinite(readings[0].answers)
    from safetensors.torch import save_file

    save_file(load_file(str(student)), str(student), metadata={"encoder_layers": "9"})
    with pytest.raises(ReaderError, match=r"encoder_layers do not fit.*1 to 6 layers, not 9"):
        _load(student)


def test_a_training_run_told_to_stop_finishes_its_batch_and_checkpoints_instead_of_dying() -> None:
    """``kill`` or Ctrl-C on train_reader becomes a request the loop sees between batches (then it
    saves a checkpoint), so a stopped run loses nothing; the process's own handlers come back after."""
    import os
    import signal

    from training.checkpoint import StopRequests

    before = signal.getsignal(signal.SIGTERM)
    with StopRequests() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)  # without the handler this would end the test run
        assert stop.requested
        with pytest.raises(KeyboardInterrupt):  # asked twice: stop at once
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_student_s_checkpoint_is_refused_by_a_resume_with_other_layers(tmp_path: Path) -> None:
    """A student's checkpoint names layers 0..K-1, which the full reader has too: resumed without its
    --student-layers it would load into the wrong layers without a word, so it is refused."""
    import torch

    from assistant.answering.reader import build_net
    from assistant.indexing.embedding import resolve_model
    from assistant.settings import PACKAGED_MODEL
    from training import checkpoint

    def network(layers: int) -> tuple[Any, Any]:
        net = build_net(resolve_model(PACKAGED_MODEL), layers)
        for name, param in net.named_parameters():
            param.requires_grad = not name.startswith("encoder.embeddings")
        return net, torch.optim.AdamW([p for p in net.parameters() if p.requires_grad])

    saved = tmp_path / "checkpoint.pt"
    student, opt = network(3)
    checkpoint.save(saved, student, opt, {"seen": 64}, random.Random(1))
    assert checkpoint.load(saved, *network(3), random.Random())["seen"] == 64
    for other in (6, 4):  # the full reader (layers 0-2 would load silently), another student
        with pytest.raises(SystemExit, match=r"do not fit.*--student-layers"):
            checkpoint.load(saved, *network(other), random.Random())
