"""The chat model factory: ``ASSISTANT_LLM`` ("provider:model") -> a LangChain chat model.

Providers: ``openai`` (OpenAI and every OpenAI-compatible server), ``ollama``, and ``local`` (a
model folder or .gguf file run in-process, no server; :mod:`assistant.llm.local_model`). Provider
packages are imported only here, when a chat model is made, so the default install needs none.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from assistant.errors import LLMError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from assistant.settings import Settings

#: Retries after a failed request: none, so a slow or dead server costs at most ``llm_timeout``.
MAX_RETRIES = 0
_EXTRAS = {"openai": "openai", "ollama": "ollama", "local": "local"}
_EXAMPLES = (
    "use e.g. openai:gpt-4o-mini (also for OpenAI-compatible servers, with ASSISTANT_LLM_BASE_URL), "
    "ollama:llama3.1, or local:/path/to/model.gguf"
)


def make_chat_model(settings: Settings) -> BaseChatModel:
    """Build the chat model named by ``settings.llm``: "openai:<model>", "ollama:<model>" or "local:<path>".

    ``openai`` also covers any OpenAI-compatible server (vLLM, llama.cpp, LM Studio) through
    ``settings.llm_base_url``; a local server without ``llm_api_key`` gets a placeholder key.
    Requests use ``settings.llm_timeout`` and at most :data:`MAX_RETRIES` retries. ``local`` loads
    the model in this process (once per process) and writes at most ``settings.llm_max_tokens``.

    Raises:
        LLMError: no or malformed ``llm`` setting, unsupported provider, missing provider package,
            a missing or unreadable local model, or a provider that rejects the configuration.
    """
    spec = (settings.llm or "").strip()
    provider, _, model = spec.partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if not spec or not model:
        raise LLMError(f"ASSISTANT_LLM={spec!r} is not 'provider:model': {_EXAMPLES}.")
    if provider not in _EXTRAS:
        raise LLMError(f"Unsupported LLM provider {provider!r} in ASSISTANT_LLM={spec!r}: {_EXAMPLES}.")
    if provider == "local":
        return _local(model, settings)
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as exc:
        raise LLMError(
            f"The LLM option needs LangChain: pip install -e '.[{_EXTRAS[provider]}]' ({exc})."
        ) from exc
    kwargs: dict[str, Any] = {"temperature": 0}
    if provider == "openai":
        api_key = settings.llm_api_key or os.environ.get("OPENAI_API_KEY")
        if not api_key and not settings.llm_base_url:
            raise LLMError(
                "openai: needs an API key: set ASSISTANT_LLM_API_KEY (or OPENAI_API_KEY), or point "
                "ASSISTANT_LLM_BASE_URL at an OpenAI-compatible server such as http://127.0.0.1:8000/v1."
            )
        kwargs.update(api_key=api_key or "not-needed", timeout=settings.llm_timeout, max_retries=MAX_RETRIES)
    else:
        kwargs["client_kwargs"] = {"timeout": settings.llm_timeout}
        if settings.llm_api_key:
            kwargs["client_kwargs"]["headers"] = {"Authorization": f"Bearer {settings.llm_api_key}"}
    if settings.llm_base_url:
        kwargs["base_url"] = settings.llm_base_url
    try:
        return init_chat_model(model, model_provider=provider, **kwargs)
    except ImportError as exc:
        raise LLMError(
            f"ASSISTANT_LLM={spec!r} needs the langchain-{provider} package: "
            f"pip install -e '.[{_EXTRAS[provider]}]' ({exc})."
        ) from exc
    except Exception as exc:  # provider-side validation (pydantic, openai client) of the settings
        raise LLMError(f"Cannot set up the chat model {spec!r}: {exc}") from exc


def _local(path: str, settings: Settings) -> BaseChatModel:
    """The in-process model at ``path``, loaded now so a bad path fails at set-up, not mid-answer."""
    from assistant.llm.local_model import LocalChatModel, load_model, resolve_model_path

    resolved = resolve_model_path(path)
    load_model(resolved)
    return LocalChatModel(
        path=str(resolved), max_new_tokens=settings.llm_max_tokens, timeout=settings.llm_timeout
    )
