"""The process environment the assistant needs: offline, quiet, no telemetry — set in one place.

Libraries read these variables when they are first imported, so every entry point (the model
loader, the Chroma client, the web app, tests and benchmarks) calls :func:`offline` before it
imports transformers, chromadb or gradio. Values a user set explicitly are kept.
"""

from __future__ import annotations

import os

#: Never reach for a model hub or send usage data: this project runs without the internet.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",  # tokenizers' thread pool warns after a fork; we never need it
    "ANONYMIZED_TELEMETRY": "False",  # Chroma
    "GRADIO_ANALYTICS_ENABLED": "False",
}


def offline() -> None:
    """Set the offline defaults (an explicit setting in the environment wins)."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)
