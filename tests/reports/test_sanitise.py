"""Hostile strings through every output: nothing a spec, a YAML key, a CSV cell or a file
name holds can end a line, start a CI command (`::error::`), colour a terminal, open
Markdown, or make JUnit XML or JSON unreadable.

One table of hostile strings (STYLE.md item 12) goes through the sanitisers (errors.printable,
excerpt; the Markdown helpers; junit.xml_text) and through the real writers: the command
line in-process (stdout, stderr, report.md, report.json, index.md, --summary, --junit,
--format json) and each report writer on a hand-built Verification whose every string is
hostile. Every output is held to the same checks (`assert_inert`, `assert_tables_intact`).
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from gdcheck.cli import main
from gdcheck.errors import excerpt, printable
from gdcheck.reports import write_index, write_junit, write_report, write_summary
from gdcheck.reports.junit import xml_text
from gdcheck.reports.markdown import code, escape, fenced, table
from gdcheck.results import CheckResult, Counterexample, SpecFailure, Verification

FORGED = "::error title=x::forged"
HOSTILE = {
    "newline-command": f"ok\n{FORGED}",
    "cr-command": f"ok\r{FORGED}",
    "leading-command": FORGED,
    "spaced-command": f"   {FORGED}",
    "legacy-command": "##[error]forged",
    "azure-command": "##vso[task.complete result=Succeeded]",
    "ansi-colour": "\x1b[31mred\x1b[0m",
    "osc-hyperlink": "\x1b]8;;http://evil\x07click\x1b]8;;\x07",
    "c1-csi": "\x9b31mred",
    "nul": "a\x00b",
    "tab": "a\tb",
    "line-separator": f"a\u2028{FORGED}\u2029b\x85c",
    "lone-surrogate": "a\ud800b\udcffc",
    "bidi-override": "abc\u202edcba\u2066",
    "table-pipe": "a | b | c",
    "escaped-pipe": "a \\| b \\\\| c \\",
    "backticks": "`code` and ``` fence ````",
    "html": "<script>alert(1)</script><img src=x onerror=alert(1)>",
    "link": "[all gradients verified](http://evil)",
    "image": "![img](http://evil)",
    "heading": "# forged heading",
    "emphasis": "*bold* _em_ ~~gone~~ $math$ &lt;",
    "xml-forbidden": "a\x01\x08\x0b\x0c\x0e\x1f\ufffe\uffffb",
    "cdata": "]]> <![CDATA[ &amp; \"'",
    "long": "θ" + "x" * 10_000,
}
LEGITIMATE = "θ σ ∇L naïve 😀 C:\\specs"
CI_COMMAND = ("::", "##[", "##vso[")   # what a CI runner acts on at a line's start
TABLE_ROW = re.compile(r"^\|.*\|$")


def unescaped(text: str, chars: str) -> list[str]:
    """The characters of `chars` in `text` that no backslash escapes (Markdown's rule)."""
    found, backslashes = [], 0
    for char in text:
        if char in chars and backslashes % 2 == 0:
            found.append(char)
        backslashes = backslashes + 1 if char == "\\" else 0
    return found


def assert_inert(text: str, where: str) -> None:
    """Every line of an output printable, and none a CI command."""
    for line in text.split("\n"):
        assert line.isprintable(), f"{where}: raw control character in {line[:200]!r}"
        assert not line.lstrip().startswith(CI_COMMAND), f"{where}: CI command {line[:200]!r}"


def assert_tables_intact(markdown: str, where: str) -> None:
    """Every row of every Markdown table has as many cells as the table's header (GFM splits
    cells at each `|` no backslash is right before, even inside code)."""
    columns = None
    for line in markdown.split("\n"):
        if not TABLE_ROW.match(line):
            columns = None
            continue
        cells = len(re.findall(r"(?<!\\)\|", line)) - 1
        columns = cells if columns is None else columns
        assert cells == columns, f"{where}: {cells} cells, the header has {columns}: {line!r}"


def read_outputs(folder: Path) -> dict[str, str]:
    return {str(path.relative_to(folder)): path.read_text(encoding="utf-8")
            for path in sorted(folder.rglob("*")) if path.suffix in (".md", ".xml")}


# ----------------------------------------------------------------- the sanitisers


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_printable_is_one_inert_line(text: str) -> None:
    shown = printable(text)
    assert_inert(shown, "printable")
    assert "\n" not in shown and shown.encode("utf-8")   # no surrogate left to crash a write
    assert printable(shown) == shown


def test_printable_escapes_as_python_writes_them_and_keeps_real_text() -> None:
    assert printable("a\nb\r\tc\x1b[0m\ud800\u2028") == r"a\nb\r\tc\x1b[0m\ud800\u2028"
    assert printable(FORGED) == r"\x3a:error title=x::forged"
    assert printable("  ##[error]x") == r"  \x23#[error]x"
    assert printable("a ::b ## c") == "a ::b ## c"   # only a line's start is a command
    assert printable(LEGITIMATE) == LEGITIMATE


def test_excerpt_is_short_printable_and_cut() -> None:
    assert excerpt("\n" * 100) == r"\n" * 40 + "…"
    assert excerpt(FORGED + "x" * 100).startswith(r"\x3a:error")
    assert len(excerpt(HOSTILE["long"])) == 41 and excerpt("θ") == "θ"


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_markdown_helpers_keep_text_inert(text: str) -> None:
    rows = table(["name", "prose", "code"], [[escape(text), escape(text), code(text, True)]])
    assert_tables_intact("\n".join(rows), "table")
    prose = escape(text)
    assert_inert(prose, "escape")
    assert not unescaped(prose, "<>[]`*_|&$~"), prose   # no tag, link, code, emphasis, cell
    assert not prose.startswith("#")
    block = fenced([text, text], "sh")
    assert_inert("\n".join(block), "fenced")
    assert len(block) == 4 and block[0] == block[-1] + "sh"
    assert all(not line.startswith(block[-1]) for line in block[1:-1])   # none closes it


def test_markdown_keeps_legitimate_text_readable() -> None:
    assert escape(LEGITIMATE) == r"θ σ ∇L naïve 😀 C:\\specs"
    assert code("a`b") == "``a`b``" and fenced(["θ = 1"]) == ["```", "θ = 1", "```"]


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_xml_text_always_parses(text: str) -> None:
    element = ET.Element("failure", message=xml_text(text))
    element.text = xml_text(text)
    parsed = ET.fromstring(ET.tostring(element, encoding="utf-8"))
    assert parsed.get("message") == parsed.text and parsed.text.isprintable()
    assert xml_text(LEGITIMATE) == LEGITIMATE


# ----------------------------------------------------------------- every report writer


def hostile_verification(text: str) -> Verification:
    """A failed verification whose every string a user could control is `text`."""
    spec = SimpleNamespace(name="hostile", path=Path(f"specs/{text[:200]}.yaml"),
                           description=f"{LEGITIMATE}\n{text}\n{text}")
    example = Counterexample({"w": [1.0, 2.0]}, f"detail {text}", f"gdcheck verify {text}")
    checks = {f"gradient {text[:50]}": CheckResult("gradient", False, f"{text} summary",
                                                   {"examples": 3, "note": text}, example,
                                                   warnings=[text], seconds=0.1),
              "descent": CheckResult("descent", True, text, {"examples": 3})}
    return Verification(spec=spec, seed=0, checks=checks, parameter_names=["w[0]", "w[1]"],
                        objective_formula="sum(w**2)", gradient_formulas={"w": "2*w"},
                        nondifferentiable=[text], warnings=[text], definitions=[text],
                        timings={text: 0.5})


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_report_writer_survives(tmp_path: Path, text: str) -> None:
    verification = hostile_verification(text)
    folder = write_report(verification, tmp_path / "reports")
    entries = [replace(verification, report_dir=folder), SpecFailure(text, f"{text}: message")]
    write_index(entries, tmp_path / "reports")
    write_summary(entries, tmp_path / "summary.md")
    suite = ET.parse(write_junit(entries, tmp_path / "junit.xml")).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    for name, output in read_outputs(tmp_path).items():
        assert_inert(output, name)
        assert_tables_intact(output, name)
    document = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert document["description"] == verification.spec.description   # exactly, escaped
    assert "θ σ ∇L naïve 😀" in (folder / "report.md").read_text(encoding="utf-8")


def test_the_summary_appends_to_a_file_in_any_encoding(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_bytes(b"an earlier step \xff\n")   # the job's steps share one summary file
    write_summary([SpecFailure("a.yaml", f"bad {HOSTILE['lone-surrogate']}")], summary)
    written = summary.read_bytes()
    assert written.startswith(b"an earlier step \xff\n## gdcheck\n")
    assert_inert(written.split(b"\n", 1)[1].decode("utf-8"), "summary")


# ----------------------------------------------------------------- the command line


SPEC = """gdcheck: 1
name: {name}
description: "{description}"
parameters:
  a: {{init: uniform(-1, 1)}}
objective: (a - 0.5)**2
optimizer: {{method: gd, learning_rate: 0.1, steps: 5}}
checks: {{gradient: {{examples: 5}}, descent: {{examples: 5}}, convergence: {{runs: 1}}}}
"""
CSV_SPEC = """gdcheck: 1
name: csv-header
parameters: {w: {shape: [2]}, b: {}}
inputs: {x: {shape: [2]}}
target: {y: {}}
model: sigmoid(dot(w, x) + b)
loss: -(y*log(y_pred) + (1 - y)*log(1 - y_pred))
data: {csv: data.csv, columns: {x: [x1, x2], y: y}}
optimizer: {method: gd, learning_rate: 0.5, steps: 10}
"""
# a spec's description: every hostile string but a lone surrogate, which the reader refuses
# in spec text (file names can hold one, below, and the report writers are tested on it)
DESCRIPTION = "\n".join([LEGITIMATE, *(text for text in HOSTILE.values()
                                      if not re.search("[\ud800-\udfff]", text))])
# a file name: a newline, two CI commands, ANSI, Markdown, and a byte that is not UTF-8
FILE_NAME = os.fsencode(f"{FORGED}\n##[error]x \x1b[31m|`<b>[x](evil)") + b"\xff.yaml"


def yaml_string(text: str) -> str:
    """`text` inside a YAML double-quoted string, every character outside ASCII escaped."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else
                   f"\\x{ord(c):02x}" if ord(c) < 0x100 else
                   f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}"
                   for c in text)


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of hostile specs: a failing one with a hostile description and file name,
    one per hostile YAML key, and one whose CSV header cell is hostile."""
    folder = tmp_path_factory.mktemp("specs")
    (Path(os.fsdecode(os.fsencode(folder) + b"/" + FILE_NAME))
     .write_text(SPEC.format(name="described", description=yaml_string(DESCRIPTION))))
    for number, text in enumerate(HOSTILE.values()):
        spec = SPEC.format(name=f"key-{number}", description="d")
        (folder / f"key-{number}.yaml").write_text(f'{spec}"{yaml_string(text)}": 1\n')
    (folder / "csv.yaml").write_text(CSV_SPEC)
    (folder / "data.csv").write_text(f'x1,"x2 {HOSTILE["newline-command"]}\x1b[31m",y\n'
                                     "0.5,1.0,1\n1.0,-1.0,0\n")
    return folder


def run_verify(specs: Path, *options: str, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    monkeypatch.chdir(specs)   # paths print as given: '.' makes the file name start a line
    status = main(["verify", ".", "--jobs", "1", *options])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_command_line_keeps_every_output_inert(specs: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    reports, junit, summary = tmp_path / "r", tmp_path / "junit.xml", tmp_path / "summary.md"
    status, out, err = run_verify(specs, "--report-dir", str(reports), "--junit", str(junit),
                                  "--summary", str(summary), monkeypatch=monkeypatch,
                                  capsys=capsys)
    assert status == 2 and "Traceback" not in err
    for name, text in {"stdout": out, "stderr": err, **read_outputs(tmp_path)}.items():
        assert_inert(text, name)
        assert_tables_intact(text, name)
    assert out.startswith(r"\x3a:error title=x::forged\n##[error]x \x1b[31m|`<b>")
    assert r"ok\n::error title=x::forged" in err and r"x2 ok\n::error" in err
    suite = ET.parse(junit).getroot()
    assert suite.get("errors") == str(len(HOSTILE) + 1) and suite.get("failures") == "1"
    document = json.loads((reports / "described" / "report.json").read_text(encoding="utf-8"))
    assert document["description"] == DESCRIPTION
    assert document["path"].startswith(FORGED)
    markdown = (reports / "described" / "report.md").read_text(encoding="utf-8")
    assert LEGITIMATE.replace("\\", "\\\\") in markdown   # Markdown escapes the backslash


def test_format_json_is_one_valid_document(specs: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run_verify(specs, "--report-dir", str(tmp_path / "r"), "--format",
                                  "json", monkeypatch=monkeypatch, capsys=capsys)
    document: dict[str, Any] = json.loads(out)
    assert status == document["exit_status"] == 2 and out.isascii()
    assert_inert(out, "stdout")
    assert_inert(err, "stderr")
    assert [spec["spec"] for spec in document["specs"]] == ["described"]
    assert len(document["errors"]) == len(HOSTILE) + 1
