"""Python values as HCL, in terraform fmt style."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tfgen.render import hcl


def test_scalars_and_escapes() -> None:
    assert hcl.value(None) == "null"
    assert hcl.value(True) == "true"
    assert hcl.value(8.0) == "8"
    assert hcl.value(0.5) == "0.5"
    assert hcl.value('a "quoted" ${x} %{y} \\ \n') == '"a \\"quoted\\" $${x} %%{y} \\\\ \\n"'
    with pytest.raises(ValueError):
        hcl.number(float("nan"))


def test_map_alignment_follows_fmt() -> None:
    assert hcl.value({"a": 1, "long_name": {"b": 2, "cc": "x"}, "z": 3, "quoted-key": 4, "a.b": 5}) == (
        "{\n"
        "  a = 1\n"
        "  long_name = {\n"
        "    b  = 2\n"
        '    cc = "x"\n'
        "  }\n"
        "  z          = 3\n"
        "  quoted-key = 4\n"
        '  "a.b"      = 5\n'
        "}"
    )


def test_list_of_maps_is_indented() -> None:
    assert hcl.value([{"name": "x", "value": "1"}], 2) == (
        '[\n    {\n      name  = "x"\n      value = "1"\n    },\n  ]'
    )


@pytest.mark.parametrize(
    "key",
    [
        "\x1b\u0301",
        "\u0301a",
        "a\u200db",
        "\u0915\u093e",
        "\u1100\u1161",
        "\U0001f44d\U0001f3fb",
        "\u0600a",
        "\U0001f3f4\U000e0067\U000e0062\U000e007f",
        "cafe\u0301",
        "x\u200by",
    ],
)
def test_alignment_matches_terraform_fmt(key: str, tmp_path: Path, terraform_cli_env: dict[str, str]) -> None:
    text = 'variable "x" {\n  default = ' + hcl.value({key: "x", "abcdefgh": "y"}, 2) + "\n}\n"
    (tmp_path / "x.tf").write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", str(tmp_path / "x.tf")],
        capture_output=True,
        text=True,
        env={**os.environ, **terraform_cli_env},
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_alignment_counts_graphemes_like_terraform_fmt() -> None:
    assert hcl.display_width("cafe\u0301") == 4
    assert hcl.display_width("\U0001f1e9\U0001f1ea") == 1  # a flag
    assert hcl.display_width("\U0001f468\u200d\U0001f469") == 1  # a ZWJ sequence
    assert hcl.display_width("x\u200by") == 3  # a zero width space is a grapheme of its own
    assert hcl.display_width("\u6f22\u5b57") == 2
    assert hcl.align([("cafe\u0301", '"x"'), ("abcde", '"y"')]) == ['cafe\u0301  = "x"', 'abcde = "y"']
