"""Every error the assistant raises on purpose, each with a message that says what to do.

The CLI and the web chat catch :class:`AssistantError` and show its message; anything else is a bug.
"""

from __future__ import annotations

from pathlib import Path


class AssistantError(Exception):
    """Base class: the message is meant for the user and names the fix."""


class BadQuestionError(AssistantError, ValueError):
    """The question is empty, too long or unreadable."""


class NoSeedsError(AssistantError):
    """The seeds folder is missing or holds no usable document."""

    def __init__(self, seeds_dir: Path, skipped: int = 0) -> None:
        extra = f" ({skipped} file(s) were skipped, see the warnings above)" if skipped else ""
        super().__init__(
            f"No usable seed documents in {seeds_dir}/{extra}: add .txt, .md, .html, .mhtml, .pdf or .docx "
            "files there, then run `assistant index` (or set ASSISTANT_SEEDS_DIR)."
        )
        self.seeds_dir = seeds_dir


class IndexMissingError(AssistantError):
    """There is no index to answer from."""

    def __init__(self, where: str) -> None:
        super().__init__(f"No index at {where}: run `assistant index` to build it.")


class IndexBusyError(AssistantError):
    """Another process is building the index."""

    def __init__(self, lock_path: Path, pid: str = "") -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"Another `assistant index`{who} is rebuilding the index (lock {lock_path}); "
            "wait for it to finish, or pass --wait."
        )


class ChromaUnreachableError(AssistantError):
    """The configured Chroma server does not answer."""

    def __init__(self, host: str, port: int, reason: str = "") -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Cannot reach the Chroma server at {host}:{port}{why}. Start it with "
            f"`chroma run --path <dir> --host {host} --port {port}`, or unset ASSISTANT_CHROMA_HOST "
            "to use the local index/ folder."
        )


class ModelLoadError(AssistantError):
    """The embedding model could not be loaded offline."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"Cannot load the embedding model {name!r}: {reason}. Set ASSISTANT_EMBEDDING_MODEL to a local "
            "sentence-transformers folder, or leave it unset for the packaged all-MiniLM-L6-v2."
        )


class ReaderError(AssistantError):
    """The trained reader's weights are missing, corrupt or do not fit the packaged model."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(
            f"Cannot load the reader from {path}: {reason}. Rebuild it with "
            "`.venv/bin/python -m bench.train_reader` (or reinstall the package), or set "
            "ASSISTANT_READER=off to answer without it."
        )


class PortInUseError(AssistantError):
    """The web chat's port is taken by another program."""

    def __init__(self, port: int) -> None:
        super().__init__(f"Port {port} is in use: set ASSISTANT_PORT or stop the other app.")
        self.port = port


class LLMError(AssistantError):
    """The optional LLM backend is misconfigured or not installed."""


class IndexVanishedError(AssistantError):
    """The index folder was deleted (or replaced) while the assistant was using it."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The index folder {where} was deleted while the assistant was running: run `assistant index` "
            "(or press Rebuild in the Documents tab) to recreate it."
        )


class IndexReadOnlyError(AssistantError):
    """The index folder cannot be written."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The index folder {where} is not writable: fix its permissions, or set ASSISTANT_INDEX_DIR "
            "to a writable folder."
        )


class DiskFullError(AssistantError):
    """The disk holding the index is full."""

    def __init__(self, where: Path | str) -> None:
        where = f"{where}/" if isinstance(where, Path) else where
        super().__init__(
            f"No space left on the device holding {where}: free space or set ASSISTANT_INDEX_DIR."
        )


class UnknownDocumentError(AssistantError, ValueError):
    """A document chosen by name (``documents=[...]``, ``--document``) is not in the index."""
