"""JUnit XML for CI: one testcase per check, one `load` testcase per spec that failed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path

from ..results import Outcome, SpecFailure
from .files import atomic_write
from .markdown import failure_text

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


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
        error = ET.SubElement(case, "error", message=_xml(entry.message))
        error.text = _xml(entry.message if entry.path in entry.message
                          else f"{entry.path}: {entry.message}")
        return [case]
    cases = []
    for name, check in entry.checks.items():
        case = _testcase(entry.spec.name, name, check.seconds)
        if not check.passed:
            failure = ET.SubElement(case, "failure", message=_xml(check.summary))
            failure.text = _xml(failure_text(check))
        cases.append(case)
    return cases


def _testcase(spec_name: str, check: str, seconds: float) -> ET.Element:
    return ET.Element("testcase", classname=_xml(f"gdcheck.{spec_name}"), name=_xml(check),
                      time=f"{seconds:.3f}")


def _xml(text: str) -> str:
    """Drop characters XML 1.0 cannot hold (ElementTree would write them and break the file)."""
    return _XML_INVALID.sub("", text)
