"""Eval datasets: the project's JSONL question files and SQuAD v2.0 JSON, read and validated.

JSONL: one ``{"question", "answers": [...]}`` or ``{"question", "unanswerable": true}`` object per
line, with optional ``"history"`` (chat turns before it; a user turn with no reply after it is asked
first and the assistant's real reply filled in), ``"source"`` (the one page it is asked about) or
``"pages"`` (the pages indexed together for it), ``"documents"`` (the user's choice of documents),
``"expect_documents"`` (where the answer must come from: citing any other is a wrong-document
answer), ``"all_answers"`` (every answer must be in the reply), ``"full"`` (a follow-up asked in
full, answered too, for comparison), ``"kind"`` (a label the report counts by) and ``"split"``
(``"tune"`` or ``"holdout"``, overriding the hash split). SQuAD: each article becomes one seed
document in a throwaway seeds folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.errors import AssistantError

Split = Literal["all", "tune", "holdout"]


@dataclass(frozen=True)
class EvalQuestion:
    """One question; ``answers`` is empty when the documents do not answer it."""

    question: str
    answers: tuple[str, ...] = ()
    history: tuple[dict[str, str], ...] = ()
    source: str | None = None  # the one page it is asked about (its own throwaway index)
    split: str | None = None  # "tune" or "holdout": overrides the hash split
    pages: tuple[str, ...] = ()  # the pages indexed together for it (a throwaway index per set)
    documents: tuple[str, ...] = ()  # the documents the user chose (Assistant.answer(documents=...))
    expect_documents: tuple[str, ...] = ()  # the documents its answer may cite
    all_answers: bool = False  # every answer must be in the reply (one per document)
    full: str | None = None  # for a follow-up: the same question asked in full
    kind: str | None = None  # a label ("named", "follow-up", ...) the report counts by

    @property
    def index_pages(self) -> tuple[str, ...]:
        """The pages its throwaway index holds: ``pages``, or its one ``source``; () for the seeds."""
        return self.pages or ((self.source,) if self.source else ())


@dataclass(frozen=True)
class EvalSet:
    """Questions from one file; ``documents`` (file name -> text) are seeds to index first (SQuAD)."""

    path: Path
    format: Literal["jsonl", "squad"]
    questions: tuple[EvalQuestion, ...]
    documents: dict[str, str] = field(default_factory=dict)


def in_split(question: str, split: Split) -> bool:
    """Stable ~50/50 split by the SHA-1 of the question text, the same on every machine and run.

    Per question, not per file, so adding questions never moves old ones between the halves.
    """
    if split == "all":
        return True
    digest = hashlib.sha1(question.strip().encode("utf-8")).digest()
    tune = int.from_bytes(digest[:8], "big") / 2**64 < 0.5  # the hash as a fraction in [0, 1)
    return tune if split == "tune" else not tune


def question_in_split(question: EvalQuestion, split: Split) -> bool:
    """Is ``question`` in ``split``: its own ``split`` field when it has one, else the hash split."""
    if split == "all" or question.split is None:
        return in_split(question.question, split)
    return question.split == split


def load_questions(path: Path) -> EvalSet:
    """Read a JSONL or SQuAD v2.0 question file; a bad file raises an error naming it."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AssistantError(f"Cannot read the question file {path}: {exc}") from exc
    # A whole-file JSON object with "data" is SQuAD; anything else is read line by line.
    try:
        whole = json.loads(raw)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "data" in whole:
        return _load_squad(path, whole)
    return _load_jsonl(path, raw)


class _Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class _Line(BaseModel):
    """One JSONL line, validated (unknown keys are ignored, so files can carry notes)."""

    model_config = ConfigDict(extra="ignore")

    question: str = Field(min_length=1)
    answers: list[str] = []
    unanswerable: bool = False
    history: list[_Turn] = []
    source: str | None = None
    split: Literal["tune", "holdout"] | None = None
    pages: list[str] = []
    documents: list[str] = []
    expect_documents: list[str] = []
    all_answers: bool = False
    full: str | None = None
    kind: str | None = None

    @field_validator("pages", "expect_documents")
    @classmethod
    def _names_are_files(cls, names: list[str]) -> list[str]:
        for name in names:
            if not name.strip() or ".." in name:
                raise ValueError("each page must be a file name inside the pages folder")
        return names

    @field_validator("answers")
    @classmethod
    def _answers_have_text(cls, answers: list[str]) -> list[str]:
        if not all(a.strip() for a in answers):
            raise ValueError("answers must be non-empty strings")
        return answers

    @field_validator("source")
    @classmethod
    def _source_is_a_name(cls, source: str | None) -> str | None:
        if source is not None and (not source.strip() or ".." in source):
            raise ValueError("source must be a file name inside the seeds folder")
        return source

    @model_validator(mode="after")
    def _answers_or_unanswerable(self) -> _Line:
        if bool(self.answers) == self.unanswerable:
            raise ValueError('give either a non-empty "answers" list or "unanswerable": true')
        return self


def _line_problem(where: str, error: Any) -> str:
    """One line's first validation error, as a sentence naming the line and the field."""
    if error["type"] == "json_invalid":
        return (
            f"{where} is not JSON ({error['msg']}). Expected JSONL, one "
            '{"question": ..., "answers": [...]} per line, or a SQuAD v2.0 JSON file.'
        )
    fields = [str(p) for p in error["loc"] if not isinstance(p, int)]
    if not fields:
        msg = error["msg"].removeprefix("Value error, ")
        if error["type"] == "value_error":
            return f"{where}: {msg}."
        return f'{where}: expected an object with a "question" string and "answers" or "unanswerable".'
    return f'{where}: "{fields[0]}": {error["msg"].removeprefix("Value error, ")}.'


def _load_jsonl(path: Path, raw: str) -> EvalSet:
    questions = []
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            item = _Line.model_validate_json(line)
        except ValidationError as exc:
            raise AssistantError(_line_problem(where, exc.errors()[0])) from None
        history = tuple(t.model_dump() for t in item.history)
        questions.append(
            EvalQuestion(
                item.question,
                tuple(item.answers),
                history,
                item.source,
                item.split,
                tuple(item.pages),
                tuple(item.documents),
                tuple(item.expect_documents),
                item.all_answers,
                item.full,
                item.kind,
            )
        )
    if not questions:
        raise AssistantError(f"No questions in {path}: it is empty.")
    return EvalSet(path, "jsonl", tuple(questions))


def _load_squad(path: Path, data: dict[str, Any]) -> EvalSet:
    questions: list[EvalQuestion] = []
    documents: dict[str, str] = {}
    try:
        for number, article in enumerate(data["data"]):
            title = str(article["title"]).replace("_", " ").strip()
            contexts = [str(p["context"]).strip() for p in article["paragraphs"]]
            # Named after the title alone: the indexer falls back to the file name for a one-word title.
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "article"
            name = f"{slug}.txt" if f"{slug}.txt" not in documents else f"{slug}-{number}.txt"
            # Title first so the indexer takes it as the headline; blank lines keep paragraphs apart.
            documents[name] = "\n\n".join([title, *contexts]) + "\n"
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    gold = () if qa.get("is_impossible") else (a["text"] for a in qa["answers"])
                    # Crowd workers often repeat the same span; keep each answer once, in order.
                    answers = tuple(dict.fromkeys(a for a in gold if a.strip()))
                    questions.append(EvalQuestion(str(qa["question"]).strip(), answers))
    except (KeyError, TypeError, AttributeError) as exc:
        raise AssistantError(
            f"{path} looks like SQuAD JSON but is malformed ({type(exc).__name__}: {exc}); expected "
            "data[].title, data[].paragraphs[].context and .qas[].question/answers/is_impossible."
        ) from None
    if not questions:
        raise AssistantError(f"No questions in {path}: its SQuAD data holds no qas.")
    return EvalSet(path, "squad", tuple(questions), documents)
