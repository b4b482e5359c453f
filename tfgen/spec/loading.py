"""Loading a spec file: read, parse, validate; every environment merged and checked too.

A spec is valid when its fields are (:mod:`tfgen.spec.model`), its cross-field rules
hold (:mod:`tfgen.spec.rules`), and so are those of every environment merged over it
(:mod:`tfgen.spec.environments`), no two of which may share a cluster or a state.
Every problem becomes one ``FILE:LINE: field.path: message`` line of a
:class:`~tfgen.errors.SpecError` (:mod:`tfgen.spec.messages`).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from pathlib import Path

from tfgen.errors import SpecError, UsageError
from tfgen.spec import environments, source, yaml_source
from tfgen.spec.backends import CloudBackend, S3Backend
from tfgen.spec.messages import KINDS, Found, dotted, format_issue, in_environment, located
from tfgen.spec.model import Spec
from tfgen.spec.record import ValidationError
from tfgen.spec.rules import rule_problems, warnings_for


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from and its warnings."""

    spec: Spec
    path: Path
    document: yaml_source.Document
    warnings: list[str]
    environment: str | None = None
    """The environment merged over the base spec; None for the base spec itself."""
    environments: tuple[str, ...] = ()
    """Every environment the file defines, in file order."""
    source_digest: str = ""
    """:func:`tfgen.spec.source.digest` of the text it was loaded from (a saved plan records it)."""

    @property
    def label(self) -> str:
        """The spec file, with ``--env NAME`` when an environment was chosen."""
        return source.label(self.path, self.environment)


def load_spec(path: Path, environment: str | None = None) -> LoadedSpec:
    """Read, parse and validate a spec file: the base spec and every environment.

    Args:
        path: The spec file.
        environment: The environment to return, merged over the base; None for the base.

    Raises:
        SpecError: With one ``FILE:LINE: field.path: message`` per problem, in the base
            spec or in any environment.
        UsageError: If ``environment`` is given and the file has no such environment.
    """
    text = _read(path)
    return parse_spec(text, path, environment)


def load_environments(path: Path) -> dict[str, LoadedSpec]:
    """Every environment of a spec file, merged and validated (empty if it has none).

    Raises:
        SpecError: As :func:`load_spec`.
    """
    return _load_all(_read(path), path)[1]


def _read(path: Path) -> str:
    try:
        return source.read_text(path)
    except IsADirectoryError:
        raise SpecError([f"{path}: is a directory, not a spec file"]) from None
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except source.YamlSourceError as exc:
        raise SpecError([f"{path}:{exc.line}: {exc.message}"]) from None
    except OSError as exc:
        raise SpecError([f"{path}: cannot read: {exc.strerror or exc}"]) from None


def parse_spec(text: str, path: Path, environment: str | None = None) -> LoadedSpec:
    """Validate spec text; ``path`` only names the source in messages.

    Raises:
        SpecError: With one ``FILE:LINE: field.path: message`` per problem.
        UsageError: If ``environment`` is given and the spec has no such environment.
    """
    base, merged = _load_all(text, path)
    if environment is None:
        return dataclasses.replace(base, source_digest=source.digest(text))
    if environment in merged:
        return dataclasses.replace(merged[environment], source_digest=source.digest(text))
    if not merged:
        raise UsageError(f"{path} has no environments; drop --env {environment}")
    close = difflib.get_close_matches(environment, list(merged), n=1, cutoff=0.6)
    raise UsageError(
        f"{path} has no environment {environment!r}"
        + (f"; did you mean {close[0]!r}?" if close else "")
        + f" (it has {', '.join(merged)})"
    )


def _load_all(text: str, path: Path) -> tuple[LoadedSpec, dict[str, LoadedSpec]]:
    try:
        document = yaml_source.parse(text)
    except source.YamlSourceError as exc:
        raise SpecError([f"{path}:{exc.line}: {exc.message}"]) from None
    if not isinstance(document.data, dict):
        kind = "empty" if document.data is None else KINDS.get(type(document.data), "a single value")
        raise SpecError(
            [f"{path}:{document.line_of(())}: the spec must be a mapping of fields (name, region, ...), not {kind}"]
        )
    spec, problems, warnings = _check(document)
    if spec is None:
        raise SpecError([f"{path}:{line}: {text}" for line, text in _dedupe([(line, t) for _, line, t in problems])])
    names = tuple(spec.environments)
    base = LoadedSpec(spec, path, document, [f"{path}:{line}: {t}" for _, line, t in warnings], None, names)
    merged: dict[str, LoadedSpec] = {}
    found: list[tuple[int, str]] = []
    for name in names:
        doc = environments.merge(document, name)
        env_spec, env_problems, env_warnings = _check(doc)
        if environments.KEY in doc.data:
            env_problems.append(located(doc, ("environments",), "an environment cannot have environments of its own"))
            env_spec = None
        found.extend((line, in_environment(doc, loc, t)) for loc, line, t in env_problems)
        if env_spec is not None:
            shown = [f"{path}:{line}: {in_environment(doc, loc, t)}" for loc, line, t in env_warnings]
            merged[name] = LoadedSpec(env_spec, path, doc, shown, name, names)
    if not found:
        found = [(line, text) for line, text in _shared_by_environments(merged)]
    if found:
        raise SpecError([f"{path}:{line}: {text}" for line, text in _dedupe(found)])
    return base, merged


def _check(document: yaml_source.Document) -> tuple[Spec | None, list[Found], list[Found]]:
    """Validate one document: the spec (None if invalid), its problems and its warnings."""
    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as exc:
        problems = []
        for issue in exc.errors():
            line, text = format_issue(issue, document)
            problems.append((issue["loc"], line, text))
        return None, problems, []
    rules = [located(document, loc, message) for loc, message in rule_problems(spec)]
    if rules:
        return None, rules, []
    return spec, [], [located(document, loc, message) for loc, message in warnings_for(spec)]


def _shared_by_environments(merged: dict[str, LoadedSpec]) -> list[tuple[int, str]]:
    """Environments that would share a cluster or a state: each must be its own."""
    problems: list[tuple[int, str]] = []
    names: dict[str, str] = {}
    states: dict[str, str] = {}
    for env, loaded in merged.items():
        doc = loaded.document
        assert isinstance(doc, environments.Merged)
        spec = loaded.spec
        other = names.setdefault(spec.name, env)
        if other != env:
            loc: yaml_source.Loc = ("name",)
            message = f"name: {spec.name!r} is also the cluster of environment {other}; each environment needs its own"
            problems.append((doc.line_of(loc), in_environment(doc, loc, message)))
        location = spec.state_location
        if location == "local" or (isinstance(spec.backend, CloudBackend) and spec.cloud_workspace is None):
            continue  # a local state lives in each environment's own working directory; tags: workspaces differ
        other = states.setdefault(location, env)
        if other != env:
            loc = ("backend", "key") if isinstance(spec.backend, S3Backend) else ("backend", "workspace")
            message = (
                f"{dotted(loc)}: the state {location} is also environment {other}'s; give each environment "
                f"its own (or leave {dotted(loc)} unset: it defaults to one per cluster name)"
            )
            problems.append((doc.line_of(loc), in_environment(doc, loc, message)))
    return problems


def _dedupe(items: list[tuple[int, str]]) -> list[tuple[int, str]]:
    seen: set[tuple[int, str]] = set()
    ordered = []
    for item in sorted(items, key=lambda pair: pair[0]):
        if item not in seen:
            seen.add(item)
            ordered.append(item)
    return ordered
