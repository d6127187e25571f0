"""Reports: a spec's folder (report.json, report.md, plots), and over a run index.md,
JUnit XML, the CI job summary and the --format json document."""

from .files import atomic_write, json_safe, write_report
from .index import run_document, write_index, write_summary
from .junit import write_junit

__all__ = ["atomic_write", "json_safe", "run_document", "write_index", "write_junit",
           "write_report", "write_summary"]
