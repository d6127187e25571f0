"""The command line's arguments: `gdcheck verify`, `derive`, `export` and `schema`."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .. import defaults
from ..compiled.export import TARGETS
from ..errors import UsageError
from ..options import examples, memory, natural, positive, seconds, size_text
from ..runner import default_jobs


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see 'gdcheck {self.prog.split()[-1]} --help')"
                         if " " in self.prog else f"{message} (see 'gdcheck --help')")


def parser() -> argparse.ArgumentParser:
    """The parser; each command's function is set as `run` on the parsed arguments by
    `commands.py`, which owns what each command does."""
    root = _Parser(prog="gdcheck", description="Exact gradients from a YAML spec, verified.")
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    derive = commands.add_parser("derive", help="print the exact gradient formulas")
    derive.add_argument("spec", help="a spec file")
    derive.add_argument("--hessian", action="store_true", help="print the Hessian too")
    derive.add_argument("--latex", action="store_true", help="print LaTeX")
    derive.add_argument("--scalar", action="store_true",
                        help="entry by entry (dL/dW[0,1] ...), for small specs, instead of "
                             "matrix notation")
    derive.add_argument("--inline", action="store_true",
                        help="with --scalar: write shared subexpressions out instead of "
                             "naming them")
    _limits(derive, "the derivation")
    verify = commands.add_parser("verify", help="run every check of the specs")
    verify.add_argument("paths", nargs="+", metavar="PATH",
                        help="spec files, or folders searched for *.yaml / *.yml")
    verify.add_argument("--report-dir", default=defaults.REPORT_DIR, metavar="DIR",
                        help=f"where reports go (default: {defaults.REPORT_DIR}/)")
    verify.add_argument("--seed", type=natural, default=defaults.SEED, metavar="N",
                        help=f"seed for Hypothesis and sampling (default {defaults.SEED})")
    verify.add_argument("--examples", type=examples, metavar="N",
                        help="examples for every property check")
    verify.add_argument("--junit", metavar="FILE", help="write JUnit XML for CI")
    verify.add_argument("--against", metavar="MODULE:FUNCTION",
                        help="also check your own gradient function against the exact one: "
                             "FUNCTION(**parameters, **data) -> {name: gradient}")
    verify.add_argument("--format", choices=("text", "json"), default="text",
                        help="json: one JSON document on stdout (lines go to stderr)")
    verify.add_argument("--summary", metavar="FILE",
                        help="append a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    verify.add_argument("--jobs", type=positive, default=default_jobs(), metavar="N",
                        help="specs verified at once, each in its own process (default "
                             f"{default_jobs()}: the cores, at most {defaults.MAX_JOBS})")
    _limits(verify, "each spec")
    export = commands.add_parser("export", help="write the exact loss and gradient as a "
                                 "standalone Python module")
    export.add_argument("spec", help="a spec file")
    export.add_argument("--to", choices=tuple(TARGETS), default="numpy",
                        help="numpy (default): loss(params, data) and gradient(params, "
                             "data) on arrays; torch: the same on tensors, and ExactLoss, an "
                             "autograd function whose backward is the exact gradient")
    _output(export, "the module")
    _limits(export, "the export")
    schema = commands.add_parser("schema", help="print the JSON Schema of the spec format "
                                 "(for editors and YAML tools)")
    _output(schema, "the schema")
    schema.set_defaults(root=None)
    return root


def _output(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("-o", "--output", metavar="FILE",
                         help=f"write {what} to FILE (default: stdout)")


def _limits(command: argparse.ArgumentParser, what: str) -> None:
    """--timeout and --memory: the limits of the child process `what` runs in; --root, the
    folder data paths may lead into."""
    command.add_argument("--root", metavar="DIR",
                         help="the folder data paths may lead into (default: the nearest "
                              "folder above the spec holding .git or pyproject.toml)")
    command.add_argument("--timeout", type=seconds, default=defaults.TIMEOUT,
                         metavar="SECONDS", help=f"wall-clock (and CPU) time for {what} "
                         f"(default {defaults.TIMEOUT:g}; 0: no limit)")
    command.add_argument("--memory", type=memory, default=defaults.MEMORY, metavar="SIZE",
                         help=f"address space for {what}, e.g. 4G or 512M (default "
                              f"{size_text(defaults.MEMORY)}; 0: no limit)")
