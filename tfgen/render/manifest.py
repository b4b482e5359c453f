"""What tfgen wrote into a module, so that it can tell "the spec changed" from "a person edited this".

Every render writes :data:`MANIFEST` into the module: the tfgen version, the spec's name, digest
and environment, and for each file its sha256 and the very text tfgen wrote (as a list of lines,
so that a change to the manifest reads in a diff like the change to the file). The text is the base
of ``tfgen update``'s three-way merge (a re-render of the recorded spec would need the recorded
tfgen's templates). The manifest holds no time and no absolute path, so it is as stable as the
files (golden files include it); terraform and Checkov ignore a ``.json`` file that is not
``*.tf.json``.

Each file tfgen renders is, against the module on disk (see :func:`classify`):

========== ================================================================== ==================
kind       meaning                                                            ``render`` does
========== ================================================================== ==================
same       on disk as the fresh render                                        nothing
missing    not on disk                                                        writes it
spec       as tfgen wrote it; the spec (or tfgen) changed since               writes it
edited     tfgen wrote it, then it was edited by hand                         refuses (``--force``)
unknown    on disk, but not written by tfgen (or no manifest to tell)         refuses (``--force``)
========== ================================================================== ==================

A file tfgen wrote before and no longer renders is removed if unedited, else kept and reported.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tfgen import __version__
from tfgen.errors import DriftError, HandEditError, RenderError
from tfgen.render import writer
from tfgen.spec.model import Spec

MANIFEST = ".tfgen-manifest.json"
"""The manifest's name in a module directory."""

_NOTE = "Written by tfgen: what it wrote here, to tell its own files from hand edits. Commit it; do not edit it."

KINDS = {
    "missing": "missing",
    "spec": "the spec (or tfgen) changed since tfgen wrote it",
    "edited": "edited by hand since tfgen wrote it",
    "unknown": "not written by tfgen (not in its manifest)",
}
"""Drift kind → how ``render --check`` and refusals describe it."""


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    """What tfgen wrote into a module directory."""

    spec_name: str
    spec_digest: str
    environment: str | None
    files: dict[str, str]
    """Relative path → the text tfgen wrote."""
    tfgen_version: str = __version__

    @classmethod
    def of(cls, spec: Spec, environment: str | None, files: dict[str, str]) -> Manifest:
        """The manifest of a fresh render of ``spec``."""
        return cls(spec.name, spec.digest(), environment, dict(files))

    def text(self) -> str:
        """The manifest as stable JSON text."""
        document = {
            "note": _NOTE,
            "tfgen_version": self.tfgen_version,
            "spec": {"name": self.spec_name, "digest": self.spec_digest, "environment": self.environment},
            "files": {
                name: {"sha256": sha256(text.encode("utf-8")), "lines": text.splitlines(keepends=True)}
                for name, text in self.files.items()
            },
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def parse(cls, data: bytes, where: Path) -> Manifest:
        """Read a manifest's bytes.

        Raises:
            RenderError: If they are not a tfgen manifest.
        """
        try:
            document = json.loads(data.decode("utf-8"))
            spec = document["spec"]
            files = {name: "".join(entry["lines"]) for name, entry in document["files"].items()}
            manifest = cls(spec["name"], spec["digest"], spec["environment"], files, document["tfgen_version"])
            if not all(isinstance(v, str) for v in (*files, *files.values(), manifest.tfgen_version)):
                raise TypeError("a name or text is not a string")
            unsafe = [name for name in files if not _inside(name)]
            if unsafe:  # a manifest is repository content: it must not reach outside the module
                raise ValueError(f"{unsafe[0]!r} is not a path inside the module")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise RenderError(
                f"{where}: not a tfgen manifest ({type(exc).__name__}: {exc})",
                hint="restore it from version control, or remove it and render with --force",
            ) from None
        return manifest


def _inside(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and "\\" not in name and not {"", ".", ".."} & set(parts)


def read_manifest(module: writer.ModuleDir) -> Manifest | None:
    """The manifest of ``module``, or None if it has none.

    Raises:
        RenderError: If it is not a tfgen manifest.
    """
    data = module.read(MANIFEST)
    return None if data is None else Manifest.parse(data, module.shown / MANIFEST)


@dataclass(frozen=True)
class FileState:
    """One rendered file against the module on disk."""

    name: str
    kind: str
    """``same``, ``missing``, ``spec``, ``edited`` or ``unknown`` (see the module's table)."""
    disk: bytes | None
    """What the file on disk holds (None: no file)."""


def classify(module: writer.ModuleDir, files: dict[str, bytes], old: Manifest | None) -> list[FileState]:
    """Each rendered file's state against the module on disk and what tfgen wrote last (``old``)."""
    recorded = old.files if old is not None else {}
    states = []
    for name, fresh in files.items():
        disk = module.read(name)
        if disk is None:
            kind = "missing"
        elif disk == fresh:
            kind = "same"
        elif name in recorded and disk == recorded[name].encode("utf-8"):
            kind = "spec"
        elif name in recorded:
            kind = "edited"
        else:
            kind = "unknown"
        states.append(FileState(name, kind, disk))
    return states


def stale_files(module: writer.ModuleDir, files: dict[str, bytes], old: Manifest | None) -> dict[str, bool]:
    """Files tfgen wrote last time and no longer renders that are still there → whether they are unedited."""
    if old is None:
        return {}
    stale = {}
    for name, text in old.files.items():
        if name not in files:
            disk = module.read(name)
            if disk is not None:
                stale[name] = disk == text.encode("utf-8")
    return stale


def _encode(files: dict[str, str], directory: Path) -> dict[str, bytes]:
    try:
        return {name: text.encode("utf-8") for name, text in files.items()}
    except UnicodeEncodeError as exc:
        raise RenderError(f"{directory}: cannot write: {exc}") from None


def describe(directory: Path, states: list[FileState], *, manifest: bool = True) -> list[str]:
    """``DIR/NAME: how it differs`` for each state that is drift.

    Without a ``manifest`` (a module rendered by a tfgen that kept none), a file that is not
    the fresh render is described by its first line: tfgen's header names the version and spec.
    """
    return [
        f"{directory / state.name}: {KINDS[state.kind] if manifest or state.kind != 'unknown' else origin(state.disk)}"
        for state in states
        if state.kind in KINDS
    ]


_HEADER = re.compile(rb"# Generated by tfgen (\S+) from spec (\S+) \(sha256 [0-9a-f]{64}\)\.")


def origin(disk: bytes | None) -> str:
    """Who wrote a file, as far as its first line (tfgen's header) tells."""
    found = _HEADER.match(disk or b"")
    if found is None:
        return "not written by tfgen (no tfgen header, no manifest)"
    version, spec = (part.decode("utf-8", errors="replace") for part in found.groups())
    return f"written by tfgen {version} from spec {spec}, maybe edited since (no manifest to tell)"


def write_module(
    files: dict[str, str],
    directory: Path,
    manifest: Manifest,
    *,
    force: bool = False,
    durable: bool = True,
    on_wait: Callable[[str], None] | None = None,
) -> writer.WriteResult:
    """Write a rendered module and its manifest; never overwrite a file tfgen did not write or that was edited.

    Raises:
        HandEditError: Without ``force``, if a file to write was edited since tfgen wrote it or
            was not written by tfgen (nothing is written then).
        UsageError: If ``directory`` is refused (see :func:`tfgen.render.writer.check_target`).
        RenderError: If the manifest is unreadable, or the files cannot be written.
    """
    data = _encode(files, directory)
    result = writer.WriteResult(directory=directory)
    with writer.opened(directory, on_wait, names=[*files, MANIFEST], durable=durable) as module:
        old = read_manifest(module)
        states = classify(module, data, old)
        blocked = [state for state in states if state.kind in ("edited", "unknown")]
        if blocked and not force:
            raise HandEditError(
                f"{directory}: {len(blocked)} file(s) would be overwritten; nothing written",
                describe(directory, blocked, manifest=old is not None),
                hint=(
                    "keep the edits with `tfgen update` (a three-way merge), or overwrite them with --force"
                    if old is not None
                    else f"no {MANIFEST} here (a module rendered by an older tfgen, or not by tfgen): keep hand edits "
                    "with `tfgen update SPEC --base-spec OLD.yaml` (the spec it was rendered from), "
                    "or overwrite them with --force"
                ),
            )
        for state in states:
            (result.unchanged if state.kind == "same" else result.changed).append(state.name)
        module.put({name: data[name] for name in result.changed})
        for name, unedited in stale_files(module, data, old).items():
            if unedited:
                module.remove(name)
                result.removed.append(name)
            else:
                result.kept.append(name)
        put_manifest(module, manifest)
        result.foreign = [
            name
            for name in writer.existing_files(module.path, [MANIFEST])
            if name not in files and name not in result.kept
        ]
    return result


def put_manifest(module: writer.ModuleDir, manifest: Manifest) -> None:
    """Write ``manifest`` into ``module`` unless it holds it already."""
    text = manifest.text().encode("utf-8")
    if module.read(MANIFEST) != text:
        module.put({MANIFEST: text})  # last: until it is written, the old one still describes the files


def check_module(
    files: dict[str, str], directory: Path, manifest: Manifest, on_wait: Callable[[str], None] | None = None
) -> None:
    """Compare ``directory`` with a fresh render (``files``) and its ``manifest``.

    Raises:
        DriftError: If they differ: a diff, and each file's kind of drift (see the module's table).
    """
    data = _encode(files, directory)
    with writer.reading(directory, on_wait) as module:
        old = read_manifest(module)
        states = classify(module, data, old)
        foreign = [name for name in writer.existing_files(module.path, [MANIFEST]) if name not in files]
        current = module.read(MANIFEST) == manifest.text().encode("utf-8")
    drifted = [state for state in states if state.kind != "same"]
    if not drifted and not foreign and current:
        return
    lines = describe(directory, drifted, manifest=old is not None) + [
        f"{directory / name}: not written by tfgen" for name in foreign
    ]
    if not current and not lines:
        lines.append(f"{directory / MANIFEST}: out of date (the files are current; render again to record them)")
    diff = _diff(directory, drifted, files) + "".join(
        f"Only in {directory}: {name} (not written by tfgen)\n" for name in foreign
    )
    edited = any(state.kind in ("edited", "unknown") for state in drifted)
    raise DriftError(
        f"{directory} differs from a fresh render of the spec",
        diff,
        lines,
        hint=(
            "keep hand edits with `tfgen update SPEC -o DIR` (a three-way merge), or drop them with `tfgen render --force`"
            if edited
            else "run `tfgen render` to bring it up to date"
        ),
    )


def _diff(directory: Path, states: list[FileState], files: dict[str, str]) -> str:
    chunks: list[str] = []
    for state in states:
        before: list[str] = []
        if state.disk is not None:
            try:
                before = state.disk.decode("utf-8").splitlines(keepends=True)
            except UnicodeDecodeError:
                before = ["(not UTF-8 text)\n"]
        source = "/dev/null" if state.disk is None else f"{directory}/{state.name}"
        chunks.extend(
            difflib.unified_diff(before, files[state.name].splitlines(keepends=True), source, f"rendered/{state.name}")
        )
    return "".join(chunks)
