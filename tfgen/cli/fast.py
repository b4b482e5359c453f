"""The fast parser: ``render``, ``validate``, ``plan``, ``apply --plan --auto-approve``, ``backup``, ``--version`` without Typer.

Importing Typer and parsing with it costs more than rendering a module (``tfgen render``
runs in pre-commit hooks; ``plan SPEC`` and ``apply SPEC --plan FILE --auto-approve`` run in CI
beside terraform's plan and apply), so :func:`parse_fast` accepts only complete, well-formed
invocations of the hot commands and declines everything else (help, an unknown, unusual
or incomplete option, another command, a completion request), which then goes to Typer
unchanged. ``tests/test_entry.py`` holds it to exactly the arguments Typer passes.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tfgen import DEFAULT_MODULE_DIR
from tfgen.cli import commands

# The options of the hot commands as tfgen.cli.app declares them for Typer: spelling -> parameter.
_ENV = {"--env": "env", "-e": "env"}
_VALIDATE = {**_ENV, "--workdir": "workdir"}
_RENDER = {**_ENV, "--out": "out", "-o": "out"}
_RENDER_FLAGS = {"--check": "check", "--force": "force"}
_APPLY = {
    **_ENV,
    "--workdir": "workdir",
    "--endpoint": "endpoint",
    "--plugin-mirror": "mirror",
    "--plugin-cache": "cache",
    "--terraform": "binary",
    "--lock-timeout": "lock_timeout",
    "--plan": "plan_file",
}
_APPLY_FLAGS = {"--auto-approve": "auto_approve", "--local": "local", "--json": "json_lines", "--yes": "yes"}
_PLAN = {**{k: v for k, v in _APPLY.items() if k != "--plan"}, "--out": "out"}  # --jobs: a directory's
_PLAN_FLAGS = {
    **{k: v for k, v in _APPLY_FLAGS.items() if k != "--auto-approve"},
    "--detailed-exitcode": "detailed_exitcode",
}
_APPLY_ENVVARS = {"mirror": "TFGEN_PLUGIN_MIRROR", "cache": "TFGEN_PLUGIN_CACHE_DIR", "binary": "TFGEN_TERRAFORM"}
_BACKUP = {
    **_ENV,
    "--out": "out",
    "--table": "table",
    "--schema": "schema",
    "--query": "query",
    "--host": "host",
    "--port": "port",
    "--user": "user",
    "--dbname": "dbname",
    "--workdir": "workdir",
    "--endpoint": "endpoint",
    "--terraform": "binary",
}
_BACKUP_FLAGS = {"--local": "local"}
"""The options Typer reads from the environment when they are not given (an empty variable is not given)."""


def parse_fast(argv: Sequence[str]) -> functools.partial[int] | None:
    """The command function and arguments of a common invocation, or None to leave it to Typer.

    Accepts ``--version``, ``render`` / ``validate``, ``plan`` of a spec file, ``apply`` with ``--plan`` and
    ``--auto-approve`` (a reviewed plan, applied without a prompt) and ``backup``, with their specs and options in any
    order (``-o X``, ``-oX``, ``--out X``, ``--out=X``; the last of a repeated option wins;
    ``--`` ends the options). Declines, among others, help, unknown options, a missing,
    empty or dash-led option value, and a wrong number of specs.
    """
    if list(argv) == ["--version"]:
        return functools.partial(commands.show_version)
    if not argv:
        return None
    command, *words = argv
    if command == "validate":
        parsed = _split(words, _VALIDATE, {})
        if parsed is None or len(parsed[0]) != 1:
            return None
        (spec,), given = parsed
        workdir = Path(given["workdir"]) if "workdir" in given else None
        return functools.partial(commands.validate_spec, spec=Path(spec), env=given.get("env"), workdir=workdir)
    if command == "render":
        parsed = _split(words, _RENDER, _RENDER_FLAGS)
        if parsed is None or not parsed[0]:
            return None
        specs, given = parsed
        return functools.partial(
            commands.render_specs,
            specs=[Path(spec) for spec in specs],
            out=Path(given["out"]) if "out" in given else DEFAULT_MODULE_DIR,
            check="check" in given,
            env=given.get("env"),
            force="force" in given,
        )
    if command == "plan":
        return _plan(words)
    if command == "apply":
        return _apply(words)
    if command == "backup":
        return _backup(words)
    return None


def _backup(words: Sequence[str]) -> functools.partial[int] | None:
    """``backup SPEC --out FILE`` with its options; a port that is not a plain number goes to Typer."""
    parsed = _split(words, _BACKUP, _BACKUP_FLAGS)
    if parsed is None or len(parsed[0]) != 1 or "out" not in parsed[1]:
        return None
    (spec,), given = parsed
    port = given.get("port")
    if port is not None and not (port.isascii() and port.isdigit()):
        return None
    if "binary" not in given and os.environ.get("TFGEN_TERRAFORM"):
        given["binary"] = os.environ["TFGEN_TERRAFORM"]
    from tfgen.cli import backup  # not on the path of render and validate

    return functools.partial(
        backup.backup,
        spec=Path(spec),
        out=Path(given["out"]),
        table=given.get("table"),
        schema=given.get("schema"),
        query=given.get("query"),
        host=given.get("host"),
        port=None if port is None else int(port),
        user=given.get("user"),
        dbname=given.get("dbname"),
        workdir=Path(given["workdir"]) if "workdir" in given else None,
        local="local" in given,
        endpoint=given.get("endpoint"),
        binary=given.get("binary", "terraform"),
        env=given.get("env"),
    )


def _plan(words: Sequence[str]) -> functools.partial[int] | None:
    """``plan SPEC [options]`` of a spec file; a directory (and ``--jobs``, its option) goes to Typer."""
    parsed = _split(words, _PLAN, _PLAN_FLAGS)
    if parsed is None or len(parsed[0]) != 1 or Path(parsed[0][0]).is_dir():
        return None
    (spec,), given = parsed
    _from_environment(given)
    from tfgen.cli import planning  # not on the path of render and validate

    return functools.partial(
        planning.plan_spec,
        spec=Path(spec),
        env=given.get("env"),
        workdir=Path(given["workdir"]) if "workdir" in given else None,
        local="local" in given,
        endpoint=given.get("endpoint"),
        json_lines="json_lines" in given,
        mirror=Path(given["mirror"]) if "mirror" in given else None,
        cache=Path(given["cache"]) if "cache" in given else None,
        binary=given.get("binary", "terraform"),
        lock_timeout=given.get("lock_timeout"),
        yes="yes" in given,
        out=Path(given["out"]) if "out" in given else None,
        detailed_exitcode="detailed_exitcode" in given,
    )


def _from_environment(given: dict[str, str]) -> None:
    """The options Typer reads from the environment (``envvar``) when the command line lacks them."""
    for name, variable in _APPLY_ENVVARS.items():
        if name not in given and os.environ.get(variable):
            given[name] = os.environ[variable]


def _apply(words: Sequence[str]) -> functools.partial[int] | None:
    """``apply SPEC --plan FILE --auto-approve [options]``; without ``--plan`` or ``--auto-approve``, None."""
    parsed = _split(words, _APPLY, _APPLY_FLAGS)
    if parsed is None or len(parsed[0]) != 1 or not {"plan_file", "auto_approve"} <= parsed[1].keys():
        return None
    (spec,), given = parsed
    _from_environment(given)
    from tfgen.cli import reviewed  # not on the path of render and validate
    from tfgen.deploy import saved  # noqa: F401  (what it runs: imported within the start-up, tfgen.cli.main.run)

    def path(name: str) -> Path | None:
        return Path(given[name]) if name in given else None

    return functools.partial(
        reviewed.apply_approved,
        spec=Path(spec),
        plan_file=Path(given["plan_file"]),
        env=given.get("env"),
        workdir=path("workdir"),
        local="local" in given,
        endpoint=given.get("endpoint"),
        json_lines="json_lines" in given,
        mirror=path("mirror"),
        cache=path("cache"),
        binary=given.get("binary", "terraform"),
        lock_timeout=given.get("lock_timeout"),
    )


def _split(
    words: Sequence[str], options: Mapping[str, str], flags: Mapping[str, str]
) -> tuple[list[str], dict[str, str]] | None:
    """The positional words and ``{parameter: value}`` (``""`` for a flag), or None on anything unusual."""
    positional: list[str] = []
    given: dict[str, str] = {}
    rest = iter(words)
    for word in rest:
        if word == "--":
            positional.extend(rest)
        elif not word.startswith("-"):
            positional.append(word)
        elif word in flags:
            given[flags[word]] = ""
        else:
            name, value = _option(word, rest)
            if name not in options or not value or value.startswith("-"):
                return None
            given[options[name]] = value
    if "" in positional:  # Path("") would be the current directory
        return None
    return positional, given


def _option(word: str, rest: Iterator[str]) -> tuple[str, str]:
    """An option's name and value: ``--name=value``, ``-nvalue``, or the next word."""
    if word.startswith("--"):
        name, equals, value = word.partition("=")
        return name, value if equals else next(rest, "")
    return word[:2], word[2:] or next(rest, "")
