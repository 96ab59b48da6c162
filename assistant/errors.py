"""Every error the assistant raises on purpose, each with a message that says what to do.

The CLI catches :class:`AssistantError` and shows its message; anything else is a bug. A message
can name server paths and command-line flags, which mean nothing to (and should not reach) a client
of the web chat or its MCP tools: those show :attr:`AssistantError.public` instead, which each error
that names a path or a flag words for someone with only the web page; the server log keeps the rest.
"""

from __future__ import annotations

from pathlib import Path


class AssistantError(Exception):
    """Base class: the message is meant for the user and names the fix."""

    def __init__(self, message: str = "", public: str | None = None) -> None:
        super().__init__(message)
        self._public = public

    @property
    def public(self) -> str:
        """The message for a web or MCP client: no server path, no command-line advice."""
        return self._public if self._public is not None else str(self)


class BadQuestionError(AssistantError, ValueError):
    """The question is empty, too long or unreadable."""


class NoSeedsError(AssistantError):
    """The seeds folder is missing or holds no usable document."""

    def __init__(self, seeds_dir: Path, skipped: int = 0) -> None:
        extra = f" ({skipped} file(s) were skipped, see the warnings above)" if skipped else ""
        super().__init__(
            f"No usable seed documents in {seeds_dir}/{extra}: add .txt, .md, .html, .mhtml, .pdf or .docx "
            "files there, then run `assistant index` (or set ASSISTANT_SEEDS_DIR).",
            "No usable documents yet: add a .txt, .md, .html, .mhtml, .pdf or .docx file in the "
            "Documents tab.",
        )
        self.seeds_dir = seeds_dir


class IndexMissingError(AssistantError):
    """There is no index to answer from."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"No index at {where}: run `assistant index` to build it.",
            "There is no index yet: press Rebuild in the Documents tab.",
        )


class IndexBusyError(AssistantError):
    """Another process is building the index."""

    def __init__(self, lock_path: Path, pid: str = "") -> None:
        who = f" (pid {pid})" if pid else ""
        super().__init__(
            f"Another `assistant index`{who} is rebuilding the index (lock {lock_path}); "
            "wait for it to finish, or pass --wait.",
            "The index is being rebuilt right now: try again in a moment.",
        )


class ChromaUnreachableError(AssistantError):
    """The configured Chroma server does not answer."""

    def __init__(self, host: str, port: int, reason: str = "") -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"Cannot reach the Chroma server at {host}:{port}{why}. Start it with "
            f"`chroma run --path <dir> --host {host} --port {port}`, or unset ASSISTANT_CHROMA_HOST "
            "to use the local index/ folder.",
            "The assistant's index server is not answering; try again later, or tell whoever runs it.",
        )


class ModelLoadError(AssistantError):
    """The embedding model could not be loaded offline."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"Cannot load the embedding model {name!r}: {reason}. Set ASSISTANT_EMBEDDING_MODEL to a local "
            "sentence-transformers folder, or leave it unset for the packaged all-MiniLM-L6-v2.",
            "The assistant's embedding model could not be loaded; tell whoever runs it (see its log).",
        )


class ReaderError(AssistantError):
    """The trained reader's weights are missing, corrupt or do not fit the packaged model."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(
            f"Cannot load the reader from {path}: {reason}. Rebuild it with "
            "`.venv/bin/python -m training.train_reader` (or reinstall the package), or set "
            "ASSISTANT_READER=off to answer without it.",
            "The assistant's trained reader could not be loaded; tell whoever runs it (see its log).",
        )


class PortInUseError(AssistantError):
    """The web chat's port is taken by another program."""

    def __init__(self, port: int) -> None:
        super().__init__(f"Port {port} is in use: set ASSISTANT_PORT or stop the other app.")  # server only
        self.port = port


class LLMError(AssistantError):
    """The optional LLM backend is misconfigured or not installed."""


class IndexVanishedError(AssistantError):
    """The index folder was deleted (or replaced) while the assistant was using it."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The index folder {where} was deleted while the assistant was running: run `assistant index` "
            "(or press Rebuild in the Documents tab) to recreate it.",
            "The index was deleted while the assistant was running: press Rebuild in the Documents tab.",
        )


class IndexReadOnlyError(AssistantError):
    """The index folder cannot be written."""

    def __init__(self, where: str) -> None:
        super().__init__(
            f"The index folder {where} is not writable: fix its permissions, or set ASSISTANT_INDEX_DIR "
            "to a writable folder.",
            "The assistant cannot write its index (a permissions problem on the server); tell whoever "
            "runs it.",
        )


class DiskFullError(AssistantError):
    """The disk holding the index is full."""

    def __init__(self, where: Path | str) -> None:
        where = f"{where}/" if isinstance(where, Path) else where
        super().__init__(
            f"No space left on the device holding {where}: free space or set ASSISTANT_INDEX_DIR.",
            "The server's disk is full, so the index cannot be updated; the documents already indexed "
            "still answer. Tell whoever runs it.",
        )


class IndexDamagedError(AssistantError):
    """The index's database is not readable (a damaged or overwritten ``chroma.sqlite3``)."""

    def __init__(self, where: str, reason: str = "") -> None:
        why = f" ({reason})" if reason else ""
        super().__init__(
            f"The index at {where} is damaged{why}: run `assistant index` to move it aside and rebuild it "
            "from the seeds (or press Rebuild in the Documents tab).",
            "The index is damaged: press Rebuild in the Documents tab to rebuild it from the documents.",
        )


class BuildFailedError(AssistantError):
    """A build run in a child process (the web app's) failed; the message is the child's."""


class BuildTimeoutError(AssistantError):
    """A build run in a child process took longer than ``Settings.build_seconds`` and was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"The index build took longer than {seconds:g} s and was stopped; the previous index is still "
            "served. Raise ASSISTANT_BUILD_SECONDS for a large folder of documents, or build it with "
            "`assistant index`.",
            "Updating the index took too long and was stopped; the documents already indexed still answer. "
            "Tell whoever runs it.",
        )


class UnknownDocumentError(AssistantError, ValueError):
    """A document chosen by name (``documents=[...]``, ``--document``) is not in the index."""
