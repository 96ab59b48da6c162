"""A chat model run in-process with transformers, from a local model folder or a .gguf file.

``ASSISTANT_LLM=local:<path>`` needs no server: the model is loaded once per process (per path) and
generates greedily on the CPU (or the first GPU, if torch sees one), streaming its tokens. Every
call gives up after ``timeout`` seconds. Needs the ``local`` extra (``gguf`` and ``accelerate``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.errors import LLMError

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}
_FIX = (
    "point ASSISTANT_LLM=local:<path> at a Hugging Face model folder (config.json, tokenizer, "
    "weights) or a .gguf file"
)


@dataclass
class _Loaded:
    """A loaded tokenizer and model; ``lock`` lets one generation run at a time (CPU-bound anyway)."""

    tokenizer: Any
    model: Any
    lock: threading.Lock


_CACHE: dict[tuple[str, float], _Loaded] = {}
_CACHE_LOCK = threading.Lock()


def resolve_model_path(spec: str) -> Path:
    """The model folder or .gguf file named by ``spec``; a folder holding one .gguf file means that file.

    Raises:
        LLMError: the path does not exist, is not a model folder, or is a file that is not .gguf.
    """
    path = Path(spec).expanduser()
    if not path.exists():
        raise LLMError(f"ASSISTANT_LLM=local:{spec}: {path} does not exist; {_FIX}.")
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise LLMError(f"ASSISTANT_LLM=local:{spec}: {path} is a file but not a .gguf file; {_FIX}.")
        return path
    ggufs = sorted(path.glob("*.gguf"))
    if not (path / "config.json").is_file():
        if len(ggufs) == 1:
            return ggufs[0]
        what = f"{len(ggufs)} .gguf files (name one)" if ggufs else "no config.json and no .gguf file"
        raise LLMError(f"ASSISTANT_LLM=local:{spec}: the folder {path} has {what}; {_FIX}.")
    return path


def load_model(path: Path) -> _Loaded:
    """Load (once per process and file version) the tokenizer and causal LM at ``path``.

    Raises:
        LLMError: transformers, torch or gguf is missing, the files are unreadable, or the model has
            no chat template.
    """
    key = (str(path.resolve()), path.stat().st_mtime)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load(path)
        return _CACHE[key]


def _load(path: Path) -> _Loaded:
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if path.is_file():
            import gguf  # noqa: F401  (transformers reads .gguf files with it; fail early and clearly)
    except ImportError as exc:
        raise LLMError(f"local:{path} needs the local extra: pip install -e '.[local]' ({exc}).") from exc
    folder, kwargs = (path.parent, {"gguf_file": path.name}) if path.is_file() else (path, {})
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=torch.float32, **kwargs
        )
    except Exception as exc:  # corrupt or foreign files surface as many different exception types
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
        raise LLMError(f"Cannot load the local model {path} ({detail}); {_FIX}.") from exc
    if not getattr(tokenizer, "chat_template", None):
        raise LLMError(f"The local model {path} has no chat template: use an instruct (chat) model.")
    if torch.cuda.is_available():
        model = model.to("cuda")
    model.eval()
    return _Loaded(tokenizer, model, threading.Lock())


class LocalChatModel(BaseChatModel):
    """A LangChain chat model over a transformers causal LM loaded from ``path`` (greedy decoding)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: str = Field(description="Model folder or .gguf file, as resolved by resolve_model_path.")
    max_new_tokens: int = Field(256, ge=1, description="Most tokens written per reply.")
    timeout: float = Field(30.0, gt=0, description="Seconds before a reply is abandoned (TimeoutError).")

    @property
    def _llm_type(self) -> str:
        return "local-transformers"

    @property
    def model_name(self) -> str:
        """The file or folder name, for ``Answer.answered_by``."""
        return Path(self.path).name

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chunks = list(self._stream(messages, stop, run_manager, **kwargs))
        text = "".join(c.text for c in chunks)
        meta = chunks[-1].message.response_metadata if chunks else {}
        message = AIMessage(text, response_metadata=meta)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        loaded = load_model(Path(self.path))
        deadline = time.monotonic() + self.timeout
        if not loaded.lock.acquire(timeout=self.timeout):
            raise TimeoutError(f"the local model {self.model_name} is busy with another question")
        stopped = threading.Event()  # set when the caller goes away, so generation ends too

        class _Deadline(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> bool:
                return stopped.is_set() or time.monotonic() > deadline

        try:
            chat = [{"role": _ROLES.get(m.type, "user"), "content": m.text} for m in messages]
            inputs = loaded.tokenizer.apply_chat_template(
                chat, add_generation_prompt=True, return_tensors="pt", return_dict=True
            ).to(loaded.model.device)
            streamer = TextIteratorStreamer(
                loaded.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=self.timeout
            )
            result: dict[str, Any] = {}

            def run() -> None:
                try:
                    result["ids"] = loaded.model.generate(
                        **inputs, max_new_tokens=self.max_new_tokens, do_sample=False,
                        streamer=streamer, stopping_criteria=StoppingCriteriaList([_Deadline()]),
                        pad_token_id=loaded.tokenizer.eos_token_id,
                    )  # fmt: skip
                except BaseException as exc:  # re-raised in the caller's thread below
                    result["error"] = exc
                    streamer.end()

            worker = threading.Thread(target=run, name="local-llm", daemon=True)
            worker.start()
            try:
                for piece in streamer:
                    if time.monotonic() > deadline:
                        break
                    if piece:
                        if run_manager:
                            run_manager.on_llm_new_token(piece)
                        yield ChatGenerationChunk(message=AIMessageChunk(piece))
            except queue.Empty:  # no token within the timeout
                pass
            stopped.set()
            worker.join(max(0.0, deadline - time.monotonic()) + 5)
            if "error" in result:
                raise result["error"]
            if time.monotonic() > deadline:
                raise TimeoutError(f"the local model {self.model_name} took over {self.timeout:g} s")
            written = result["ids"].shape[-1] - inputs["input_ids"].shape[-1] if "ids" in result else 0
            reason = "length" if written >= self.max_new_tokens else "stop"
            yield ChatGenerationChunk(message=AIMessageChunk("", response_metadata={"finish_reason": reason}))
        finally:
            stopped.set()
            loaded.lock.release()
