"""JUnit XML for CI: one testcase per check, one `load` testcase per spec that failed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from ..errors import printable
from ..results import Outcome, SpecFailure
from .files import atomic_write
from .markdown import failure_lines

# characters XML 1.0 cannot hold: ElementTree writes them, and the file no longer parses
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def write_junit(entries: Iterable[Outcome], path: Path) -> Path:
    """Write JUnit XML: one testcase per check, one `load` testcase per SpecFailure."""
    path = Path(path)
    cases = [case for entry in entries for case in _testcases(entry)]
    suite = ET.Element("testsuite", {
        "name": "gdcheck", "tests": str(len(cases)),
        "failures": str(sum(case.find("failure") is not None for case in cases)),
        "errors": str(sum(case.find("error") is not None for case in cases)),
        "time": f"{sum(float(case.get('time', 0)) for case in cases):.3f}"})
    suite.extend(cases)
    ET.indent(suite)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, ET.tostring(suite, encoding="utf-8", xml_declaration=True))
    return path


def _testcases(entry: Outcome) -> list[ET.Element]:
    if isinstance(entry, SpecFailure):
        case = _testcase(Path(entry.path).stem, "load", 0.0)
        error = ET.SubElement(case, "error", message=xml_text(entry.message))
        error.text = xml_text(entry.message if entry.path in entry.message
                              else f"{entry.path}: {entry.message}")
        return [case]
    cases = []
    for name, check in entry.checks.items():
        case = _testcase(entry.spec.name, name, check.seconds)
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=xml_text(check.summary))
            failure.text = "\n".join(xml_text(line) for line in failure_lines(check))
        cases.append(case)
    return cases


def _testcase(spec_name: str, check: str, seconds: float) -> ET.Element:
    return ET.Element("testcase", classname=xml_text(f"gdcheck.{spec_name}"),
                      name=xml_text(check), time=f"{seconds:.3f}")


def xml_text(text: object) -> str:
    """`text` on one line that XML 1.0 can hold: the characters it forbids (C0 controls but
    tab, newline and CR; surrogates; U+FFFE, U+FFFF) dropped, the rest made printable()."""
    return printable(_XML_FORBIDDEN.sub("", str(text)))
