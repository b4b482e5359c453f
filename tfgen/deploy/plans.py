"""Saved plans for review: ``tfgen plan SPEC --out FILE``, then ``tfgen apply SPEC --plan FILE``.

A reviewed plan must be applied exactly, and only where it was made. The plan file is
terraform's own (a zip archive), with one more entry, :data:`ORIGIN_ENTRY`, that terraform
ignores: where the plan comes from (:class:`PlanOrigin`: the spec's digest and environment,
the working directory, where the state lives, the target and emulator) and a digest of
terraform's entries, so that the record cannot be moved to another plan, and a renamed or
copied file still says where it belongs. :func:`check_origin` refuses a plan made for
another spec, working directory or backend before terraform runs; terraform itself refuses
a plan whose state changed since (:data:`STALE_PLAN`). Plan files hold the prior state,
sensitive values included: they are written 0600.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from tfgen import __version__
from tfgen.errors import TfgenError

ORIGIN_ENTRY = "tfgen/origin.json"
"""The archive entry of a saved plan that records where it comes from."""
STALE_PLAN = "Saved plan is stale"
"""Summary of terraform's diagnostic when the state changed between plan and apply."""


class SavedPlanError(TfgenError):
    """Raised by ``tfgen apply --plan`` before anything changes: the file is not a plan saved by
    ``tfgen plan --out``, belongs to another spec, working directory or backend, or is stale."""


@dataclasses.dataclass(frozen=True)
class PlanOrigin:
    """Where a saved plan was made.

    Attributes:
        spec: The spec's label (file, and environment) for messages.
        spec_digest: :meth:`tfgen.spec.model.Spec.digest` (the module it renders to).
        environment: The spec's environment (``--env``), if any.
        workdir: The working directory, absolute.
        backend: Where the state lives (:func:`tfgen.deploy.backend.identity`).
        target: ``aws`` or ``local``.
        endpoint: The emulator's URL with ``--local`` (the plan's provider points there), else None.
        tfgen: tfgen's version.
        source: :func:`tfgen.spec.source.digest` of the spec's text: the same text (and tfgen version)
            is the same spec, so ``apply --plan`` need not parse it again (:func:`unchanged`).
        name: The cluster's name (the default working directory), for the same purpose.
        warnings: The spec's warnings, shown again when the plan is applied.
    """

    spec: str
    spec_digest: str
    environment: str | None
    workdir: str
    backend: str
    target: str
    endpoint: str | None
    tfgen: str = __version__
    source: str = ""
    name: str = ""
    warnings: tuple[str, ...] = ()


def save_plan(plan_file: Path, out: Path, origin: PlanOrigin) -> Path:
    """Copy terraform's saved plan to ``out`` (mode 0600, atomically) with its origin recorded.

    Raises:
        SavedPlanError: If ``out`` cannot be written (a directory, no such folder, no permission).
    """
    import shutil  # here, not at the top: apply --plan only reads plans (its start-up)
    import tempfile
    import zipfile

    out = out.absolute()
    if out.is_dir():
        raise SavedPlanError(f"--out {out} is a directory; name the plan file to write")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as error:
        raise SavedPlanError(f"cannot write the plan to {out}: {error.strerror or error}") from None
    temporary = Path(name)
    try:
        os.fchmod(handle, 0o600)  # mkstemp's mode already; whatever the umask
        with os.fdopen(handle, "wb") as target, plan_file.open("rb") as source:
            shutil.copyfileobj(source, target)
        try:
            digest = _plan_digest(_entries(temporary))
        except ValueError as error:
            raise SavedPlanError(f"terraform's plan {plan_file} is not a zip archive ({error})") from None
        with zipfile.ZipFile(temporary, "a") as archive:
            record = {**dataclasses.asdict(origin), "plan_digest": digest}
            archive.writestr(ORIGIN_ENTRY, json.dumps(record, indent=2, sort_keys=True) + "\n")
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    return out


def read_origin(path: Path) -> PlanOrigin:
    """Where the plan saved at ``path`` was made.

    Raises:
        SavedPlanError: If the file is missing, not a terraform plan, not saved by ``tfgen plan
            --out``, or its record does not match its plan.
    """
    if not path.is_file():
        raise SavedPlanError(f"{path}: no such plan file", hint="save one with tfgen plan SPEC --out FILE")
    try:
        entries = _entries(path)
        if "tfplan" not in entries:
            raise ValueError("no tfplan entry")
        if ORIGIN_ENTRY not in entries:
            raise SavedPlanError(
                f"{path} is a terraform plan, but not one saved by tfgen plan --out: it does not say which "
                "spec, working directory and backend it belongs to; nothing was changed",
                hint="save the plan with tfgen plan SPEC --out FILE",
            )
        record: dict[str, Any] = json.loads(entries[ORIGIN_ENTRY])
        digest = _plan_digest(entries)
    except (OSError, ValueError) as error:
        raise SavedPlanError(
            f"{path} is not a plan saved by tfgen plan --out ({error}); nothing was changed",
            hint="save the plan with tfgen plan SPEC --out FILE",
        ) from None
    if record.pop("plan_digest", None) != digest:
        raise SavedPlanError(
            f"{path}: its record of origin does not belong to the plan it holds (the file was altered); "
            "nothing was changed",
            hint="plan again with tfgen plan SPEC --out FILE",
        )
    fields = {f.name for f in dataclasses.fields(PlanOrigin)}
    try:
        if not isinstance(record.get("warnings", []), list):
            raise TypeError("warnings is not a list")
        record["warnings"] = tuple(str(warning) for warning in record.get("warnings", []))
        return PlanOrigin(**{k: v for k, v in record.items() if k in fields})
    except TypeError as error:
        raise SavedPlanError(f"{path}: unreadable record of origin ({error}); nothing was changed") from None


def check_origin(path: Path, saved: PlanOrigin, current: PlanOrigin) -> None:
    """Refuse a saved plan made for another spec, environment, working directory, backend or emulator.

    Raises:
        SavedPlanError: Naming what differs; nothing was changed.
    """
    hint = f"plan again for this spec: tfgen plan SPEC --out {path}"
    if saved.spec_digest != current.spec_digest or saved.environment != current.environment:
        raise SavedPlanError(
            f"{path} was planned from another spec ({saved.spec}), not {current.spec}: the module it "
            "renders to differs; nothing was changed",
            hint=hint,
        )
    if saved.workdir != current.workdir:
        raise SavedPlanError(
            f"{path} was planned in the working directory {saved.workdir}, not {current.workdir}; nothing was changed",
            hint=f"pass --workdir {saved.workdir}, or {hint}",
        )
    if saved.backend != current.backend:
        raise SavedPlanError(
            f"{path} was planned with the state in {saved.backend}; the spec now keeps it in {current.backend}; "
            "nothing was changed",
            hint=hint,
        )
    if saved.target != current.target or saved.endpoint != current.endpoint:
        raise SavedPlanError(
            f"{path} was planned against {_describe(saved)}, not {_describe(current)}; nothing was changed",
            hint=hint,
        )


def unchanged(saved: PlanOrigin, source_digest: str | None, environment: str | None) -> bool:
    """True if the spec's text (``source_digest``, :func:`tfgen.spec.source.digest`) is the very text
    ``saved`` was planned from, for the same environment, by this version of tfgen: the spec it
    loads to is the one planned, so it need not be loaded.

    Any doubt (an older plan without the record, a text that could not be read) is False: load it.
    """
    if not saved.source or not saved.name or saved.tfgen != __version__ or saved.environment != environment:
        return False
    return source_digest == saved.source


def stale_plan_error(path: Path) -> SavedPlanError:
    """terraform's "Saved plan is stale" as tfgen says it."""
    return SavedPlanError(
        f"{path} is stale: the state changed since it was planned (another apply or a refresh ran); "
        "terraform applied nothing",
        hint="plan again with tfgen plan SPEC --out FILE, review it, and apply that one",
    )


def _describe(origin: PlanOrigin) -> str:
    return "real AWS" if origin.target == "aws" else f"the emulator at {origin.endpoint}"


def _plan_digest(entries: dict[str, bytes]) -> str:
    """sha256 over terraform's entries (names and contents), not the record of origin."""
    digest = hashlib.sha256()
    for name in sorted(n for n in entries if n != ORIGIN_ENTRY):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256(entries[name]).digest())
    return digest.hexdigest()


def _entries(path: Path) -> dict[str, bytes]:
    """The entries of the zip archive at ``path``, by name, uncompressed.

    A plan as terraform writes it (Go's ``archive/zip``: stored or deflated entries, no ZIP64,
    one disk) is read here; any other archive goes to :mod:`zipfile`, which reads (or refuses)
    more kinds. Either way the entries are the same; importing :mod:`zipfile` cost ``apply --plan``
    3% of the instructions it runs before terraform starts (callgrind).

    Raises:
        OSError: If the file cannot be read.
        ValueError: If it is not a zip archive, a damaged one (a CRC that does not match), or one
            that holds a name twice.
    """
    data = path.read_bytes()
    entries = _plain_zip(data)
    if entries is not None:
        return entries
    import zipfile  # the uncommon archive only

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if len(set(names)) != len(names):
                raise ValueError("an entry appears twice")
            return {name: archive.read(name) for name in names}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as error:
        raise ValueError(str(error)) from None


_END = struct.Struct("<4s4H2LH")
"""The end of central directory record (APPNOTE.TXT 4.3.16)."""
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
"""A central directory file header (APPNOTE.TXT 4.3.12)."""
_LOCAL = struct.Struct("<4s2B4HL2L2H")
"""A local file header (APPNOTE.TXT 4.3.7)."""
_STORED, _DEFLATED = 0, 8


def _plain_zip(data: bytes) -> dict[str, bytes] | None:
    """The entries of a plain zip archive (one disk, no ZIP64, no encryption, stored or deflated,
    no comment, each name once); None for anything else, or anything that does not add up."""
    end = len(data) - _END.size
    if end < 0 or data[end : end + 4] != b"PK\x05\x06":
        return None  # a comment after the record, or not a zip archive at all
    _, disk, cd_disk, here, count, cd_size, cd_offset, _ = _END.unpack_from(data, end)
    if disk or cd_disk or here != count or cd_offset + cd_size != end:
        return None  # several disks, ZIP64 (0xFFFF, 0xFFFFFFFF), data before the archive
    entries: dict[str, bytes] = {}
    position = cd_offset
    for _ in range(count):
        if position + _CENTRAL.size > end:
            return None
        (signature, _, _, _, _, flags, method, _, _, crc, size, full_size, name_length, extra_length, comment_length,
         _, _, _, offset) = _CENTRAL.unpack_from(data, position)  # fmt: skip
        raw_name = data[position + _CENTRAL.size : position + _CENTRAL.size + name_length]
        position += _CENTRAL.size + name_length + extra_length + comment_length
        if signature != b"PK\x01\x02" or flags & 0x1 or method not in (_STORED, _DEFLATED) or position > end:
            return None  # encrypted, or compressed some other way
        if not raw_name.isascii():
            return None  # a UTF-8 or cp437 name: zipfile decodes it
        name = raw_name.decode("ascii")
        if name in entries or offset + _LOCAL.size > cd_offset:
            return None
        local_signature, *_, local_name_length, local_extra_length = _LOCAL.unpack_from(data, offset)
        start = offset + _LOCAL.size + local_name_length + local_extra_length
        if local_signature != b"PK\x03\x04" or start + size > cd_offset:
            return None
        body = data[start : start + size]
        try:
            content = body if method == _STORED else zlib.decompress(body, -15)
        except zlib.error:
            return None
        if len(content) != full_size or zlib.crc32(content) != crc:
            return None
        entries[name] = content
    return entries
