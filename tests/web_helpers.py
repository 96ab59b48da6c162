"""Shared by the web tests: seed texts, and serving the real app on a free 127.0.0.1 port."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "seeds" / "us-missile-sales-two-koreas.txt"
ARTIFACTS = Path(__file__).parent / "artifacts"
TITLE = "US Missile Sales Drive Intense Rivalry Between Two Koreas"

HOSTILE = """Harbour Festival Draws Record Crowd <script>window.__pwned=1</script> ${window.__pwned=1} \
{{constructor.constructor('window.__pwned=1')()}}

Published June 3, 2021

The harbour festival drew a record crowd of 40,000 visitors on Saturday, organisers said in a note \
titled <script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1"> \
[click](javascript:window.__pwned=1) on their website.

The mayor said the town would hold the festival again next summer, with more food stalls along the quay.

Local hotels reported that every room was booked for the weekend of the festival.
"""
LIBRARY = """Riverside Library Reopens After Flood Repairs

March 2, 2022

The Riverside public library reopened on Monday after eight months of flood repairs that cost $2.3 million, \
the city council said.

Volunteers moved more than 12,000 books back onto the shelves over the weekend.
"""
HOTELS = """Hotels Full for Harbour Weekend

Local hotels reported that every room in town was booked for the weekend of the harbour festival.
"""


@contextmanager
def serve(tmp: Path, documents: dict[str, str], **overrides: object) -> Iterator[tuple[str, Settings]]:
    """Index ``documents`` in a tmp seeds folder and serve the app on a free 127.0.0.1 port."""
    from assistant import build_index
    from assistant.web.app import CHAT_CONCURRENCY, create_app, launch_options

    seeds = tmp / "seeds"
    seeds.mkdir(parents=True)
    for name, text in documents.items():
        (seeds / name).write_text(text, encoding="utf-8")
    settings = Settings(seeds_dir=seeds, index_dir=tmp / "index", port=0, **overrides)
    build_index(settings)
    app = create_app(settings)
    options = launch_options(settings)
    app.queue(default_concurrency_limit=CHAT_CONCURRENCY).launch(
        prevent_thread_lock=True, quiet=True, **options
    )
    try:
        yield f"http://127.0.0.1:{options['server_port']}/", settings
    finally:
        app.close()
