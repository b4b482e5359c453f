"""A change of backend for a working directory that already has a state: read, check, ask, move, verify.

When the spec's ``backend`` changes, the state is read where terraform last initialised the
directory (:func:`plan_migration`), the destination is checked not to hold another state, the
user confirms, a copy is kept, ``terraform init -migrate-state`` moves it, and
:func:`check_migrated` checks it arrived whole: :class:`StateSummary` condenses a state (lineage,
serial, resource addresses, a digest of its content) for that.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfgen.deploy import backend, workdir
from tfgen.errors import TerraformError, TfgenError, UsageError
from tfgen.spec.loading import LoadedSpec
from tfgen.terraform.commands import Terraform


@dataclass(frozen=True)
class StateSummary:
    """What identifies a state and what it holds.

    Attributes:
        lineage: Terraform's id of the state's history. A migration to an empty backend
            may start a new one (terraform 1.11 does, local to S3), so it does not tell
            whether resources moved.
        serial: Increases with every write (a new lineage starts again at 1).
        resources: Every resource instance address, sorted.
        content: sha256 of the resources with all their attributes (and the outputs):
            equal exactly when the same infrastructure is recorded.
    """

    lineage: str
    serial: int
    resources: tuple[str, ...]
    content: str = ""

    @classmethod
    def from_json(cls, text: str) -> StateSummary | None:
        """Summarise ``terraform state pull`` output; None when there is no state.

        Raises:
            ValueError: If the text is not a state.
        """
        if not text.strip():
            return None
        data = json.loads(text)
        if not isinstance(data, dict) or "lineage" not in data:
            raise ValueError("not a terraform state")
        addresses = []
        for resource in data.get("resources") or []:
            prefix = f"{resource['module']}." if resource.get("module") else ""
            prefix += "data." if resource.get("mode") == "data" else ""
            base = f"{prefix}{resource['type']}.{resource['name']}"
            for instance in resource.get("instances") or []:
                index = instance.get("index_key")
                addresses.append(base if index is None else f"{base}[{json.dumps(index)}]")
        recorded = {"resources": data.get("resources") or [], "outputs": data.get("outputs") or {}}
        content = hashlib.sha256(json.dumps(recorded, sort_keys=True).encode()).hexdigest()
        return cls(
            lineage=str(data["lineage"]),
            serial=int(data.get("serial", 0)),
            resources=tuple(sorted(addresses)),
            content=content,
        )

    def describe(self) -> str:
        """E.g. ``27 resources, serial 4``."""
        return f"{len(self.resources)} resource{'' if len(self.resources) == 1 else 's'}, serial {self.serial}"


@dataclass(frozen=True)
class Migration:
    """A change of backend for a working directory that has a state.

    Attributes:
        source: Where the state is (:func:`tfgen.deploy.backend.identity`), e.g. ``local``.
        destination: Where it goes, e.g. ``s3://bucket/tfgen/orders-prod.tfstate``.
        state: What moves.
        backup: The copy of the state taken before moving it (set once taken).
    """

    source: str
    destination: str
    state: StateSummary
    backup: Path | None = None


ConfirmMigration = Callable[[Migration], bool]
"""Asked before migrating the state to another backend; False cancels."""


def plan_migration(
    tf: Terraform,
    data_dir: Path,
    loaded: LoadedSpec,
    source: str,
    destination: str,
    endpoint: str | None,
    confirm: ConfirmMigration | None,
) -> Migration | None:
    """Before ``terraform init`` moves it: read the state where it is, check the destination, ask.

    Returns:
        The migration to make (its backup taken), or None when there is nothing to move.
    """
    text = _pull_source(tf, data_dir)
    state = StateSummary.from_json(text)
    if state is None or not state.resources:
        return None
    found = _state_at_destination(tf, loaded, endpoint)
    if found is not None and found.resources and (found.lineage != state.lineage or found.serial > state.serial):
        raise UsageError(
            f"{destination} already holds a state ({found.describe()}, lineage {found.lineage}) that is not "
            f"the one of {tf.workdir} ({state.describe()}, lineage {state.lineage}); refusing to overwrite it",
            hint="give the spec another backend.key (or workspace), or move that state away first; nothing changed",
        )
    migration = Migration(source, destination, state)
    if confirm is None:
        raise UsageError(
            f"the backend of {tf.workdir} changed from {source} to {destination}: moving its state "
            f"({state.describe()}) needs confirmation",
            hint="pass --yes to migrate, or restore the spec's backend",
        )
    if not confirm(migration):
        raise TfgenError(
            f"state migration cancelled; {tf.workdir} still keeps its state in {source}",
            hint="restore the spec's backend, or run again and confirm",
        )
    backup = workdir.save_backup(tf.workdir, text, source)
    return dataclasses.replace(migration, backup=backup)


def _pull_source(tf: Terraform, data_dir: Path) -> str:
    """The state where terraform last initialised this directory (its saved backend), as JSON text.

    The saved backend is the truth: ``main.tf`` may already name the new one (a migration
    that failed half way leaves it so).
    """
    saved_path = tf.workdir / data_dir / "terraform.tfstate"
    saved = json.loads(saved_path.read_text(encoding="utf-8")) if saved_path.is_file() else {}
    used = saved.get("backend") if isinstance(saved, dict) else None
    if not isinstance(used, dict) or used.get("type") in (None, "local"):
        return _local_state(tf.workdir)
    block = "cloud" if used["type"] == "cloud" else "backend"
    config = _without_nulls(used.get("config") or {})
    settings = config if block == "cloud" else {used["type"]: config}
    return _scratch_pull(tf, "main.tf.json", json.dumps({"terraform": {block: settings}}, indent=2))


def _without_nulls(value: object) -> object:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _local_state(directory: Path) -> str:
    path = directory / "terraform.tfstate"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def _state_at_destination(tf: Terraform, loaded: LoadedSpec, endpoint: str | None) -> StateSummary | None:
    """The state the spec's backend already holds."""
    block = backend.block(loaded.spec, endpoint=endpoint)
    if block is None:  # the local backend: the working directory's own file
        return StateSummary.from_json(_local_state(tf.workdir))
    return StateSummary.from_json(_scratch_pull(tf, "main.tf", f"terraform {{\n{block}\n}}\n"))


def _scratch_pull(tf: Terraform, name: str, text: str) -> str:
    """``terraform state pull`` through a scratch configuration holding only a backend block."""
    probe = tf.workdir / ".tfgen-probe"
    shutil.rmtree(probe, ignore_errors=True)
    probe.mkdir()
    try:
        (probe / name).write_text(text, encoding="utf-8")
        env = {**tf.settings.env, "TF_DATA_DIR": str(probe / ".terraform")}  # never the working directory's
        scratch = Terraform(probe, dataclasses.replace(tf.settings, env=env))
        scratch.init(reconfigure=True)
        return scratch.state_pull()
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def check_migrated(tf: Terraform, migration: Migration) -> None:
    arrived = StateSummary.from_json(tf.state_pull())
    if arrived is None or arrived.content != migration.state.content:  # terraform may start a new lineage
        got = arrived.describe() if arrived else "no state"
        raise TerraformError(
            f"after migrating to {migration.destination}, the state there ({got}) does not record the same "
            f"resources as the one migrated from {migration.source} ({migration.state.describe()})",
            hint=f"the state before the migration is kept in {migration.backup}; "
            "`terraform state push` it once the backend is right",
        )
