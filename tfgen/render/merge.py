"""``tfgen update``: a fresh render merged into a module that people have edited, file by file.

Each file is a three-way merge, as ``git merge-file`` does one: the *base* is what tfgen wrote
last time (kept, line for line, in the module's manifest, so no older tfgen or spec is needed
to recreate it), *ours* is the file on disk, *theirs* the fresh render. Lines only one side
changed are taken from it; where both changed the same lines differently the file gets
conflict markers (``<<<<<<<``, ``|||||||`` with the base, ``=======``, ``>>>>>>>``: git's
``diff3`` style) and is listed. The merge is :func:`merge3`, a diff3 over :mod:`difflib`'s
matching blocks (the ``merge3`` package on PyPI is GPL; tfgen is MIT).

Per file: unedited → the fresh render; edited → merged; deleted by hand → stays deleted unless
tfgen changed it (then written, as a conflict); new in the render → added; no longer rendered →
removed if unedited, else kept; on disk but never tfgen's → merged against an empty base (the
whole difference is one conflict, as git does for a file added on both sides). The manifest then
records the fresh render as the next base.

A module without a manifest (rendered by a tfgen that kept none, or vendored by hand) has no
base: ``update`` refuses to guess (its old output and a person's edits look alike) unless
``--base-spec`` names the spec it was rendered from; a render of that spec by this tfgen is
then the base. Where this tfgen's templates differ from the ones that wrote the module, those
lines read as edits on both sides and may conflict: the markers show both.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfgen.errors import HandEditError, UsageError
from tfgen.render import writer
from tfgen.render.manifest import (
    MANIFEST,
    Manifest,
    classify,
    describe,
    put_manifest,
    read_manifest,
    stale_files,
)

Labels = tuple[str, str, str]
"""How the conflict markers name ours, the base and theirs."""


def merge3(base: Sequence[str], ours: Sequence[str], theirs: Sequence[str], labels: Labels) -> tuple[list[str], int]:
    """Merge two edits of ``base`` (lists of lines, each with its newline); return the lines and the conflicts."""
    out: list[str] = []
    conflicts = 0
    at_base = at_ours = at_theirs = 0
    for base_start, base_end, ours_start, ours_end, theirs_start, theirs_end in _stable_regions(base, ours, theirs):
        old = list(base[at_base:base_start])
        mine = list(ours[at_ours:ours_start])
        new = list(theirs[at_theirs:theirs_start])
        if new in (mine, old):  # the same change on both sides, or only ours
            out.extend(mine)
        elif mine == old:
            out.extend(new)
        else:
            conflicts += 1
            out.extend(_conflict(mine, old, new, labels))
        out.extend(base[base_start:base_end])
        at_base, at_ours, at_theirs = base_end, ours_end, theirs_end
    return out, conflicts


def _stable_regions(
    base: Sequence[str], ours: Sequence[str], theirs: Sequence[str]
) -> list[tuple[int, int, int, int, int, int]]:
    """Stretches of ``base`` that both sides kept, with where they are in each side; a final empty one ends the files."""
    mine = difflib.SequenceMatcher(None, base, ours, autojunk=False).get_matching_blocks()
    new = difflib.SequenceMatcher(None, base, theirs, autojunk=False).get_matching_blocks()
    regions = []
    i = j = 0
    while i < len(mine) and j < len(new):
        a_base, a_side, a_size = mine[i]
        b_base, b_side, b_size = new[j]
        start, end = max(a_base, b_base), min(a_base + a_size, b_base + b_size)
        if start < end:
            regions.append(
                (
                    start,
                    end,
                    a_side + start - a_base,
                    a_side + end - a_base,
                    b_side + start - b_base,
                    b_side + end - b_base,
                )
            )
        if a_base + a_size < b_base + b_size:
            i += 1
        else:
            j += 1
    regions.append((len(base), len(base), len(ours), len(ours), len(theirs), len(theirs)))
    return regions


def _conflict(mine: list[str], old: list[str], new: list[str], labels: Labels) -> list[str]:
    def block(lines: list[str]) -> list[str]:
        return [*lines[:-1], lines[-1] if lines[-1].endswith("\n") else lines[-1] + "\n"] if lines else []

    ours, base, theirs = labels
    return [
        f"<<<<<<< {ours}\n",
        *block(mine),
        f"||||||| {base}\n",
        *block(old),
        "=======\n",
        *block(new),
        f">>>>>>> {theirs}\n",
    ]


@dataclass
class UpdateResult(writer.WriteResult):
    """What ``tfgen update`` did (or, with ``dry_run``, would do) to a module directory.

    ``changed`` lists every file written; the lists below say how each came to be.
    """

    updated: list[str] = field(default_factory=list)
    """Unedited files, now the fresh render."""
    merged: list[str] = field(default_factory=list)
    """Edited files, the fresh render merged in cleanly."""
    conflicts: list[str] = field(default_factory=list)
    """Files written with conflict markers (or a deleted file tfgen changed, written again)."""
    added: list[str] = field(default_factory=list)
    left_deleted: list[str] = field(default_factory=list)
    """Files deleted by hand that the fresh render does not change: they stay deleted."""
    diff: str = ""
    """From the module on disk to the result (the module's files only)."""


def update_module(
    files: dict[str, str],
    directory: Path,
    manifest: Manifest,
    *,
    dry_run: bool = False,
    base: Manifest | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> UpdateResult:
    """Merge a fresh render (``files``, recorded as ``manifest``) into ``directory``, keeping hand edits.

    The merge base of each file is what the module's manifest says tfgen wrote. A module
    without one (rendered by a tfgen that kept no manifest) needs ``base``: a render of the
    spec it was made from, standing in for the manifest.

    Raises:
        UsageError: If ``directory`` is refused (see :func:`tfgen.render.writer.check_target`),
            or ``base`` is given for a module that has a manifest.
        HandEditError: If the module has no manifest, no ``base`` is given, and files would be
            merged (tfgen cannot tell hand edits from its own old output; nothing is written).
        RenderError: If its manifest is unreadable, or the files cannot be written.
    """
    result = UpdateResult(directory=directory)
    data = {name: text.encode("utf-8") for name, text in files.items()}
    with writer.opened(directory, on_wait, names=[*files, MANIFEST]) as module:
        old = _merge_base(module, data, base)
        recorded = old.files if old is not None else {}
        last = f"tfgen {old.tfgen_version if old is not None else '?'} (last render)"
        writes: dict[str, bytes] = {}
        disk_text: dict[str, str | None] = {}
        for state in classify(module, data, old):
            name, fresh = state.name, files[state.name]
            ours = _text(state.disk)
            disk_text[name] = ours
            if state.kind == "same":
                result.unchanged.append(name)
            elif state.kind == "missing" and name not in recorded:
                result.added.append(name)
                writes[name] = data[name]
            elif state.kind == "missing":
                if recorded[name] == fresh:
                    result.left_deleted.append(name)
                else:
                    result.conflicts.append(name)
                    writes[name] = data[name]
            elif state.kind == "spec":
                result.updated.append(name)
                writes[name] = data[name]
            else:
                lines, conflicts = merge3(
                    recorded.get(name, "").splitlines(keepends=True),
                    (ours or "").splitlines(keepends=True),
                    fresh.splitlines(keepends=True),
                    (f"{directory / name} (yours)", last, f"tfgen {manifest.tfgen_version}"),
                )
                (result.conflicts if conflicts else result.merged).append(name)
                writes[name] = "".join(lines).encode("utf-8")
        for name, unedited in stale_files(module, data, old).items():
            (result.removed if unedited else result.kept).append(name)
            disk_text[name] = _text(module.read(name))
        result.changed = list(writes)
        result.diff = _diff(directory, disk_text, writes, result.removed)
        if not dry_run:
            module.put(writes)
            for name in result.removed:
                module.remove(name)
            put_manifest(module, manifest)
    return result


def _merge_base(module: writer.ModuleDir, data: dict[str, bytes], base: Manifest | None) -> Manifest | None:
    """What tfgen wrote last into ``module``: its manifest, else ``base``; refused when neither can tell."""
    old = read_manifest(module)
    if old is not None and base is not None:
        raise UsageError(
            f"{module.shown}: has a {MANIFEST}, which is the merge base; --base-spec is for a module without one"
        )
    if old is not None or base is not None:
        return old or base
    unknown = [state for state in classify(module, data, None) if state.kind == "unknown"]
    if unknown:
        raise HandEditError(
            f"{module.shown}: no {MANIFEST}, so tfgen cannot tell hand edits from its own old output; nothing written",
            describe(module.shown, unknown, manifest=False),
            hint="give the spec the module was rendered from with --base-spec OLD.yaml "
            "(e.g. `git show HEAD~1:aurora.yaml > OLD.yaml`), or overwrite the files with `tfgen render --force`",
        )
    return None


def _text(data: bytes | None) -> str | None:
    if data is None:
        return None
    return "" if data == writer.NOT_A_FILE else data.decode("utf-8", errors="replace")


def _diff(directory: Path, before: dict[str, str | None], writes: dict[str, bytes], removed: list[str]) -> str:
    chunks: list[str] = []
    after: dict[str, str | None] = {name: blob.decode("utf-8") for name, blob in writes.items()}
    after.update(dict.fromkeys(removed))
    for name, text in after.items():
        old, new = before.get(name), text
        chunks.extend(
            difflib.unified_diff(
                (old or "").splitlines(keepends=True),
                (new or "").splitlines(keepends=True),
                "/dev/null" if old is None else f"{directory}/{name}",
                "/dev/null" if new is None else f"updated/{name}",
            )
        )
    return "".join(chunks)
