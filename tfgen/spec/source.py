"""A spec file as text: read with size and encoding checks, its label, and its digest.

No YAML here: ``tfgen apply SPEC --plan FILE`` reads a spec's text to know it is the very text
the plan was made from (:attr:`tfgen.spec.loading.LoadedSpec.source_digest`), and then needs
neither the parser nor the model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MAX_BYTES = 1_000_000
"""A spec describes one cluster; anything larger than this is not a spec."""


class YamlSourceError(Exception):
    """Raised when the text cannot become spec data.

    Args:
        line: 1-based line of the problem (1 when unknown).
        message: What is wrong.
        from_parser: The YAML reader or parser refused the text (rather than the
            data built from it).
    """

    def __init__(self, line: int, message: str, from_parser: bool = False) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.from_parser = from_parser


def read_text(path: Path) -> str:
    """Read a spec file as UTF-8 text with size and encoding checks.

    Raises:
        YamlSourceError: If the file is too large, binary, or not UTF-8.
        OSError: If the file cannot be read (the caller words it).
    """
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlSourceError(1, f"file is larger than {MAX_BYTES / 1_000_000:g} MB; a spec describes one cluster")
    if b"\x00" in raw:
        raise YamlSourceError(1, "file is binary, not YAML text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # utf-8-sig counts exc.start after a byte-order mark
        offset = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw[:offset].count(b"\n") + 1
        raise YamlSourceError(line, "file is not valid UTF-8 text") from None


def digest(text: str) -> str:
    """The digest of a spec's text: equal digests, the same spec (for one tfgen version and environment)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def label(path: Path, environment: str | None) -> str:
    """The spec file, with ``--env NAME`` when an environment was chosen: how messages name it."""
    return f"{path} --env {environment}" if environment else str(path)
