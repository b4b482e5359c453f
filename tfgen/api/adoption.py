"""import: an existing Aurora PostgreSQL cluster taken over by tfgen.

:func:`import_cluster` reads the cluster through the AWS API (:mod:`tfgen.ops.discovery`),
writes a spec that reproduces it (:mod:`tfgen.ops.adoption`), and puts Terraform ``import``
blocks into the spec's working directory (:mod:`tfgen.deploy.imports`): the next ``tfgen plan``
imports what exists instead of creating it, and ``tfgen apply`` clears the blocks once the
state holds them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from tfgen.deploy import imports, workdir
from tfgen.deploy.imports import ImportBlock
from tfgen.errors import SpecError, UsageError
from tfgen.spec import writing
from tfgen.spec.loading import load_spec


@dataclass(frozen=True)
class ImportOutcome:
    """What :func:`import_cluster` wrote."""

    spec_path: Path
    directory: Path
    imports: list[ImportBlock]
    changes: list[str]
    """What the first apply changes, one line each."""
    left_alone: list[str]
    """What names the cluster but stays outside tfgen's management."""


def import_cluster(
    cluster_id: str,
    region: str,
    *,
    out: Path | None = None,
    force: bool = False,
    local: bool = False,
    endpoint: str | None = None,
    base_dir: Path | None = None,
    workdir_path: Path | None = None,
) -> ImportOutcome:
    """Write a spec for cluster ``cluster_id`` and the import blocks of its working directory.

    Args:
        cluster_id: The DB cluster identifier.
        region: Its AWS region.
        out: The spec file to write; default ``<cluster_id>.yaml`` in ``base_dir``.
        force: Overwrite ``out`` if it exists.
        local: Read the running background emulator (``tfgen emulator start``) instead of AWS.
        endpoint: URL of a running emulator (implies ``local``).
        base_dir: Parent of ``.tfgen/``; default the current directory.
        workdir_path: The working directory; default ``<base_dir>/.tfgen/<cluster_id>``.

    Raises:
        ImportRefusedError: If the cluster is missing or cannot be expressed by a spec.
        UsageError: If ``out`` exists (without ``force``), no emulator runs, or the working directory has a state.
        AwsError, EmulatorError: If AWS (or the emulator) cannot be read.
    """
    from tfgen.ops import adoption, discovery
    from tfgen.ops.aws import clients

    base = base_dir or Path.cwd()
    target = out or base / f"{cluster_id}.yaml"
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists; not overwriting it", hint="add --force, or choose another -o")
    url = _emulator_url(base, endpoint) if (local or endpoint) else None
    found = discovery.discover(clients(region, url), cluster_id)
    adopted = adoption.adopt(found)
    header = [
        f"Written by tfgen import from {'the local emulator' if url else 'AWS'}: cluster {cluster_id} in {region}, "
        "as deployed. Comments say where tfgen's defaults differ and what adopting them would change.",
        f"The next `tfgen plan` imports {len(adopted.imports)} existing resources (nothing is replaced).",
    ]
    if adopted.changes:
        header += ["", "What the first apply changes:"] + [f"- {change}" for change in adopted.changes]
    if adopted.left_alone:
        header += ["", "Left alone (not managed by tfgen):"] + [f"- {item}" for item in adopted.left_alone]
    text = writing.dump(adopted.spec, adopted.comments, header)
    directory = workdir_path or base / ".tfgen" / cluster_id
    _check_no_state(directory)
    _write_spec(target, text, force=force)
    workdir.create(directory)
    workdir.mark_adopted(directory, "local" if url else "aws")
    imports.write(directory, adopted.imports)
    return ImportOutcome(target, directory, adopted.imports, adopted.changes, adopted.left_alone)


def _emulator_url(base: Path, endpoint: str | None) -> str:
    from tfgen.emulator import background
    from tfgen.emulator.endpoint import check_endpoint, check_reachable

    if endpoint is not None:
        url = check_endpoint(endpoint)
        check_reachable(url)
        return url
    info = background.status(base)
    if info is None:
        raise UsageError(
            "no local emulator is running here: there is no cluster to import",
            hint="tfgen emulator start (then make the cluster), or --endpoint URL",
        )
    return info.url


def _check_no_state(directory: Path) -> None:
    """Refuse a working directory whose state already holds resources (the cluster is managed there)."""
    try:
        state = json.loads((directory / "terraform.tfstate").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if state.get("resources"):
        raise UsageError(
            f"{directory} already holds a Terraform state with resources: the cluster is managed there",
            hint="tfgen plan the spec of that directory, or --workdir another directory",
        )


def _write_spec(target: Path, text: str, *, force: bool) -> None:
    """Write the spec atomically, after checking it loads (a refusal leaves nothing behind)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        load_spec(tmp)
    except SpecError as error:
        tmp.unlink()
        raise SpecError(
            [f"the spec written for this cluster is invalid: {line}" for line in error.lines()],
            hint="a setting tfgen cannot express, or a tfgen bug: please report it",
        ) from None
    if target.exists() and not force:
        tmp.unlink()
        raise UsageError(f"{target}: already exists; not overwriting it", hint="add --force, or choose another -o")
    os.replace(tmp, target)
