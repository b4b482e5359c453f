"""Re-render every golden directory from its example spec: `make goldens` is the only way."""

from __future__ import annotations

from tests.goldens import GOLDENS, spec_path
from tfgen import api


def main() -> None:
    """Render each example into its golden directory."""
    for name, directory in GOLDENS.items():
        outcome = api.render(spec_path(name), directory, force=True)  # the goldens are tfgen's alone
        assert outcome.written is not None
        print(f"{directory}: {len(outcome.written.changed)} changed")


if __name__ == "__main__":
    main()
