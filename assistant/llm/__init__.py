"""LLM: the optional chat-model answerer, given the same evidence as the extractive one.

Takes ``Evidence`` and a LangChain chat model (``chat_models.make_chat_model``: OpenAI-compatible,
Ollama, or a local Hugging Face/GGUF model run in-process by ``local_model``); gives an ``Answer``
whose every sentence is checked against the passages it cites (``grounding``). The answer stage
uses ``llm_answer``, ``rewrite_question`` and ``make_chat_model``.
"""

from assistant.llm.answerer import llm_answer, make_chat_model, rewrite_question

__all__ = ["llm_answer", "make_chat_model", "rewrite_question"]
