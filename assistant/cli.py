"""The `assistant` command: a thin shell over the Python API (ask, documents, index, eval, web, inspect)."""

from __future__ import annotations

import errno
import json
import logging
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from assistant.errors import AssistantError


def _clean_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Show an AssistantError as its message and exit 1: users get the fix, not a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            _fail(str(exc))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                _fail("No space left on the device: free space or set ASSISTANT_INDEX_DIR.")
            where = f" ({exc.filename})" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}.")
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


def _fail(message: str) -> None:
    # One line: a message from deep down (say, a file name) must not break the line.
    click.secho(f"Error: {' '.join(message.split())}", fg="red", err=True)
    sys.exit(1)


def _text_argument(value: str, what: str) -> str:
    """``value`` as clean text: bytes that were not UTF-8 on the command line reach Python as lone
    surrogates (and a shell can pass ``$'\\ud800'`` too); they would fail deep inside the answerer."""
    from assistant.errors import BadQuestionError

    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadQuestionError(
            f"The {what} holds bytes that are not UTF-8 text (at character {exc.start + 1}): "
            "type it again, or set your terminal to UTF-8."
        ) from None
    return value


def _settings(**overrides: Any) -> Any:
    from pydantic import ValidationError

    from assistant.settings import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise AssistantError(f"Bad setting {field} (ASSISTANT_{field.upper()}): {first['msg']}") from None


@click.group()
@click.version_option(package_name="news-assistant")
def main() -> None:
    """Ask questions about the news articles in seeds/ and get answers that quote them."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option("--seeds", type=click.Path(path_type=Path), help="Seeds folder (default: seeds/).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default: index/).")
@click.option(
    "--document",
    "documents",
    multiple=True,
    metavar="NAME",
    help="Answer from this document only: file name, title, site or author (repeatable; "
    "`assistant documents` lists them).",
)
@_clean_errors
def ask(
    question: str, as_json: bool, seeds: Path | None, index_dir: Path | None, documents: tuple[str, ...]
) -> None:
    """Answer QUESTION with numbered citations and their quotes."""
    from assistant import answer

    question = _text_argument(question, "question")
    chosen = [_text_argument(d, "document name") for d in documents] or None
    result = answer(question, documents=chosen, settings=_settings(seeds_dir=seeds, index_dir=index_dir))
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    click.echo(result.text)
    if result.notice:
        click.secho(result.notice, fg="yellow", err=True)
    for c in result.citations:
        click.echo(f"\n[{c.number}] {c.title} ({c.source}:{c.start}-{c.end})")
        click.echo(f'    "{" ".join(c.quote.split())}"')


@main.command()
@click.option("--seeds", type=click.Path(path_type=Path), help="Seeds folder (default: seeds/).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default: index/).")
@click.option("--wait", is_flag=True, help="Wait for a build already running instead of failing.")
@click.option("--watch", is_flag=True, help="Keep running and rebuild whenever seeds/ changes.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_clean_errors
def index(seeds: Path | None, index_dir: Path | None, wait: bool, watch: bool, quiet: bool) -> None:
    """Build or update the index from the seeds folder (only changed documents are embedded)."""
    from assistant import build_index

    settings = _settings(seeds_dir=seeds, index_dir=index_dir)

    def run() -> None:
        report = build_index(settings, progress=not quiet, wait=wait)
        if report.moved_aside:
            click.secho(
                f"The index was damaged: moved the damaged index to {report.moved_aside} and rebuilt it "
                "from the seeds (delete that folder once you no longer need it).",
                fg="yellow",
                err=True,
            )
        for problem in report.skipped:
            click.secho(f"Skipped {problem}", fg="yellow", err=True)
        note = " (full rebuild: model or splitter settings changed)" if report.rebuilt else ""
        click.echo(
            f"Index {'updated' if report.changed else 'up to date'}{note}: {report.added} added, "
            f"{report.updated} updated, {report.removed} removed, {report.unchanged} unchanged; "
            f"{report.chunks} passages ({report.seconds:.1f}s)."
        )
        if report.embedded:
            click.echo(
                f"Embedded {report.embedded} sentences, {report.sentences_per_second:.0f}/s "
                f"({report.precision} embedding model)."
            )

    run()
    if watch:
        from assistant.indexing.watch import watch_seeds

        watch_seeds(
            settings,
            run,
            ready=lambda: click.echo(f"Watching {settings.seeds_dir}/ for changes (Ctrl-C to stop)."),
        )


@main.command("documents")
@click.option("--seeds", type=click.Path(path_type=Path), help="Seeds folder (default: seeds/).")
@click.option("--index", "index_dir", type=click.Path(path_type=Path), help="Index folder (default: index/).")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@_clean_errors
def list_documents(seeds: Path | None, index_dir: Path | None, as_json: bool) -> None:
    """List the indexed documents: file, title, site, author, date (names `ask --document` takes)."""
    import dataclasses

    from assistant.api import indexed_documents

    docs = indexed_documents(_settings(seeds_dir=seeds, index_dir=index_dir))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(d) for d in docs], indent=2, ensure_ascii=False))
        return
    if not docs:
        click.echo("No index yet: run `assistant index`.")
    for d in docs:
        about = " · ".join(x for x in (d.site, d.author, d.date) if x)
        click.echo(f"{d.source}\n    {d.title}" + (f"\n    {about}" if about else ""))


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--show-misses", type=int, default=0, help="Print up to N questions it got wrong.")
@click.option(
    "--split",
    type=click.Choice(["all", "tune", "holdout"]),
    default="all",
    help="Score a stable half of the questions (tune on one, report the other).",
)
@click.option("--limit", type=int, default=None, help="Score only the first N questions.")
@click.option(
    "--seeds-from",
    type=click.Path(file_okay=False, path_type=Path),
    multiple=True,
    help='Folder of the pages questions name in "source" or "pages" (repeatable; default: FILE\'s folder).',
)
@_clean_errors
def evaluate(
    file: Path, as_json: bool, show_misses: int, split: str, limit: int | None, seeds_from: tuple[Path, ...]
) -> None:
    """Score the assistant on FILE: the project's JSONL question set or a SQuAD v2.0 JSON."""
    from assistant.eval.evaluate import format_misses, format_table, run_eval

    report = run_eval(
        file, _settings(), split=split, limit=limit, progress=not as_json, seeds_from=list(seeds_from) or None
    )
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else format_table(report))
    if show_misses:
        click.echo(format_misses(report, show_misses))


@main.command()
@click.option("--host", help="Bind address (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 7860).")
@click.option("--mcp", is_flag=True, default=None, help="Also serve an MCP server at /gradio_api/mcp/.")
@_clean_errors
def web(host: str | None, port: int | None, mcp: bool | None) -> None:
    """Start the web chat (with --mcp, also the MCP tools ask, search and list_documents)."""
    from assistant.web.app import launch

    launch(_settings(host=host, port=port, mcp=mcp))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--width", type=int, default=100, help="Characters of each paragraph to show.")
@_clean_errors
def inspect(file: Path, width: int) -> None:
    """Show how FILE is read: title, date, author, kept paragraphs, dropped blocks and why."""
    from assistant.ingest.cleaning import format_reading
    from assistant.ingest.seeds import SeedProblem, inspect_seed

    result = inspect_seed(file, file.name, int(_settings().max_seed_mb * 2**20))
    if isinstance(result, SeedProblem):
        raise AssistantError(f"Cannot read {file}: {result.reason}")
    click.echo(format_reading(result, width))


if __name__ == "__main__":
    main()
