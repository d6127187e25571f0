"""Hostile names and strings stay inert in every output, and nothing escapes --report-dir.

A pull request controls spec text and file names; the terminal, report.md,
index.md, report.json and JUnit must show them, never act on them.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gdcheck.cli import main
from gdcheck.errors import printable

SPECS = Path(__file__).resolve().parent.parent / "specs"
ESC = "\x1b"
HOSTILE = "<script>alert(1)</script> ]]> | `x` \x1b[31mred\x1b[0m \x00nul"

SPEC = """gdcheck: 1
name: {name}
description: "{description}"
parameters:
  a: {{init: uniform(-1, 1)}}
objective: (a - 0.5)**2
optimizer: {{method: gd, learning_rate: 0.1, steps: 500, tolerance: 1.0e-9}}
checks: {{gradient: {{examples: 5}}, descent: {{examples: 5}}, convergence: {{runs: 2}}}}
"""


def yaml_string(text: str) -> str:
    """`text` inside a YAML double-quoted string (control characters as \\x escapes)."""
    return "".join(f"\\x{ord(c):02x}" if ord(c) < 32 else ("\\\\" if c == "\\" else
                   '\\"' if c == '"' else c) for c in text)


def every_file(folder: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}


@pytest.mark.parametrize("text", [HOSTILE, "\x9b31m", "a\rb\u2028c"])
def test_printable_leaves_no_control_character(text):
    shown = printable(text)
    assert not any(ord(c) < 32 and c not in "\n\t" or 0x7f <= ord(c) <= 0x9f for c in shown)
    assert "\\x1b" in printable(ESC)


def test_hostile_description_and_file_name_are_inert_everywhere(tmp_path, capsys):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / f"evil{ESC}[31m<b>.yaml").write_text(
        SPEC.format(name="evil", description=yaml_string(HOSTILE)))
    reports = tmp_path / "reports"
    status = main(["verify", str(specs), "--report-dir", str(reports), "--jobs", "1",
                   "--junit", str(tmp_path / "junit.xml"), "--summary", str(tmp_path / "s.md")])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert ESC not in captured.out + captured.err and "\\x1b" in captured.out
    document = json.loads((reports / "evil" / "report.json").read_text())
    assert document["description"] == HOSTILE  # JSON keeps the text exactly, escaped
    markdown = (reports / "evil" / "report.md").read_text()
    assert ESC not in markdown and "\x00" not in markdown
    # no HTML tag can open: outside code spans (rendered literally), every tag-like < is escaped
    prose = re.sub(r"(`+).*?\1", "", markdown)
    assert re.search(r"(?<!\\)<[A-Za-z/!?]", prose) is None
    for name in ("index.md", "evil/report.md"):
        assert ESC not in (reports / name).read_text()
    ET.parse(tmp_path / "junit.xml")  # still valid XML
    assert ESC not in (tmp_path / "s.md").read_text()


@pytest.mark.parametrize("name", ["../escape", "..", "/etc/x", "a/b", f"x{ESC}[31m", "x]]>",
                                  "<script>", "x\x00y"])
def test_a_name_that_could_leave_the_report_folder_is_refused(tmp_path, capsys, name):
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.format(name=json.dumps(name), description="d"))
    reports = tmp_path / "out" / "reports"
    assert main(["verify", str(spec), "--report-dir", str(reports), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "name:" in err and ESC not in err and "\x00" not in err
    created = {path.relative_to(tmp_path) for path in tmp_path.rglob("*")}
    assert created <= {Path("spec.yaml"), Path("out"), Path("out/reports"),
                       Path("out/reports/index.md")}


def test_hostile_keys_and_expressions_in_errors_are_inert(tmp_path, capsys):
    spec = tmp_path / "spec.yaml"
    spec.write_text('gdcheck: 1\nname: x\n"bad\\x1b[2Jkey": 1\n')
    assert main(["derive", str(spec)]) == 2
    err = capsys.readouterr().err
    assert ESC not in err and "unknown key" in err
    spec.write_text(SPEC.format(name="x", description="d").replace(
        "(a - 0.5)**2", '"a + \\x1b[2J"'))
    assert main(["derive", str(spec)]) == 2
    err = capsys.readouterr().err
    assert ESC not in err and "not allowed" in err


def test_reports_stay_inside_the_report_folder(tmp_path):
    before = every_file(tmp_path)
    reports = tmp_path / "reports"
    assert main(["verify", str(SPECS / "rosenbrock.yaml"), "--report-dir", str(reports),
                 "--jobs", "1"]) == 0
    after = every_file(tmp_path)
    assert all(reports in path.parents for path in set(after) - set(before))
