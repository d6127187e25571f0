"""Hostile pull requests and unlucky CI machines (issue 12): one table, one row per case.

Each row is a class (secrets, annotations, hangs, one bad among good, tracebacks,
reproducibility, verdicts, signals, disk, others), a kind ("spec": a hostile spec,
data file or file name a pull request can bring; "fault": an operational fault of
the machine, the file system or the command line), the expected outcome, the
files of the case and how gdcheck runs on them. `problems_of` (hostile_support.py)
holds, for every row, what the issue asks of all of them: the expected exit status
(2 names the field or path on stderr), no traceback, no raw control character on
stdout or stderr, no line of stdout, stderr or any Markdown output starting with
`::`, the secret marker never shown or written, nothing outside the root read, no
code run, the time bound (a verify run's limit is `--timeout 5`, the bound 3 s:
a case that runs into the limit fails), and bounded memory. Cases that fail show
what the product still gets wrong; none is marked xfail.
"""

from __future__ import annotations

import errno
import io
import json
import re
import signal
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hostile_support import (
    BIG,
    BUNDLED,
    FORGED,
    GUARD_MARGIN,
    PLACE,
    Act,
    Canary,
    DeepChain,
    Expect,
    Fifo,
    Folder,
    GiB,
    Link,
    Run,
    Secret,
    SecretFolder,
    Sparse,
    Unreadable,
    Workspace,
    bundled,
    derive,
    each_parameter_name,
    full_disk,
    index_rows,
    interrupted,
    isolated,
    junit_problems,
    killed_parent,
    on_tmpfs,
    problems_of,
    quad,
    ridge,
    ridge_csv,
    shell,
    shown,
    stop_stray_children,
    twice,
    verify,
    whole_reports,
)

SECRETS, ANNOTATIONS, HANGS, ONE_BAD = "secrets", "annotations", "hangs", "one-bad-among-good"
TRACEBACKS, REPRODUCIBILITY, VERDICTS = "tracebacks", "reproducibility", "verdicts"
SIGNALS, DISK, OTHERS = "signals", "disk", "others"
CLASSES = (SECRETS, ANNOTATIONS, HANGS, ONE_BAD, TRACEBACKS, REPRODUCIBILITY, VERDICTS,
           SIGNALS, DISK, OTHERS)

GOOD = {"specs/good.yaml": quad("good")}   # verifies in a fraction of a second
DATA = {"specs/data/ridge.csv": (BUNDLED / "data" / "ridge.csv").read_bytes()}


# ----------------------------------------------------------------- what a case must show


def refused(*names: str, seconds: float = 3.0, **more: Any) -> Expect:
    return Expect((2,), names, seconds, text=f"exit 2 naming {' and '.join(names)}", **more)


def passes(seconds: float = 3.0, **more: Any) -> Expect:
    return Expect((0,), (), seconds, text="exit 0: verified", **more)


def fails_check(seconds: float = 3.0, **more: Any) -> Expect:
    return Expect((1,), (), seconds, text="a clean failed check (exit 1)", **more)


def ends(statuses: tuple[int, ...] | None, *names: str, text: str, seconds: float = 3.0,
         **more: Any) -> Expect:
    return Expect(statuses, names, seconds, text=text, **more)


Then = Callable[[Workspace, Run], list[str]]


def all_of(*checks: Then) -> Then:
    return lambda w, run: [problem for check in checks for problem in check(w, run)]


def good_verified(w: Workspace, run: Run) -> list[str]:
    """The good spec of the folder verified, and the index, JUnit and summary say so."""
    try:
        report = json.loads(w.path("reports/good/report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ["the good spec was not verified (no reports/good/report.json)"]
    problems = [] if report.get("passed") else ["the good spec did not pass"]
    if w.path("reports/index.md").is_file():
        rows = index_rows(w)
        if not any("PASSED" in row for row in rows):
            problems.append("index.md has no PASSED row for the good spec")
        if not any("ERROR" in row for row in rows):
            problems.append("index.md does not list the hostile spec as an ERROR")
    return problems + junit_problems(w)


def both_verified(w: Workspace, run: Run) -> list[str]:
    """The good spec and the one at the bottom of a deep chain both verified and indexed."""
    rows = index_rows(w) if w.path("reports/index.md").is_file() else []
    problems = [] if sum("PASSED" in row for row in rows) == 2 else [
        f"index.md should show two PASSED specs, shows {rows}"]
    return problems + junit_problems(w)


def not_verified(w: Workspace, run: Run) -> list[str]:
    return ["verified specs before refusing the output path"] if "  PASS" in run.stdout else []


def one_spec(w: Workspace, run: Run) -> list[str]:
    problems = [] if re.search(r"^1 spec: 1 passed", run.stdout, re.M) else [
        "the run did not verify exactly one spec"]
    if "also the name" in run.stderr:
        problems.append("the spec was reported as a duplicate of itself")
    return problems


def short_stderr(w: Workspace, run: Run) -> list[str]:
    return [f"stderr is {len(run.stderr):,} characters: it quotes a whole hostile value"
            ] if len(run.stderr) > 2000 else []


def first_line(prefix: str) -> Then:
    def check(w: Workspace, run: Run) -> list[str]:
        line = (run.stdout.splitlines() or [""])[0]
        return [] if line.startswith(prefix) else [f"first line {line[:80]!r}, not {prefix!r}"]
    return check


def quiet_pipe(w: Workspace, run: Run) -> list[str]:
    return [f"'{word}' on stderr" for word in ("BrokenPipeError", "Exception ignored")
            if word in run.stderr]


def timeout_understood(w: Workspace, run: Run) -> list[str]:
    return ["derive does not accept --timeout"] if "unrecognized arguments" in run.stderr else []


def identical_reports(w: Workspace, run: Run) -> list[str]:
    return [f"{name} differs between two runs with the same seed"
            for name in run.extra["differing"]]


def same_statuses(w: Workspace, run: Run) -> list[str]:
    statuses = run.extra["statuses"]
    return [] if len(set(statuses.values())) == 1 else [f"names treated differently: {statuses}"]


def no_survivors(w: Workspace, run: Run) -> list[str]:
    survivors = run.extra.get("survivors", [])
    return [f"{len(survivors)} of {len(run.extra['children'])} children alive 2 s after the "
            "parent was killed"] if survivors else []


def whole(w: Workspace, run: Run) -> list[str]:
    return whole_reports(w)


def whole_if_any(w: Workspace, run: Run) -> list[str]:
    return whole_reports(w) if w.path("reports/index.md").exists() else []


_DEFINED = re.compile(r"^\s*([A-Za-z_]\w*) = ", re.M)


def intermediates_apart_from(*parameters: str) -> Then:
    def check(w: Workspace, run: Run) -> list[str]:
        clashes = sorted(set(_DEFINED.findall(run.stdout)) & set(parameters))
        return [f"an intermediate is named like a parameter: {', '.join(clashes)}"
                ] if clashes else []
    return check


def report_definitions_apart_from(*parameters: str) -> Then:
    def check(w: Workspace, run: Run) -> list[str]:
        try:
            report = json.loads(w.path("reports/tnames/report.json").read_text("utf-8"))
        except (OSError, ValueError):
            return ["no reports/tnames/report.json"]
        names = {definition.split(" = ")[0] for definition in report.get("definitions", [])}
        clashes = sorted(names & set(parameters))
        return [f"report.json names an intermediate like a parameter: {clashes}"] if clashes \
            else []
    return check


# ----------------------------------------------------------------- hostile files


def secret_npz(marker: str) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **{marker: np.zeros(3)})
    return buffer.getvalue()


def npz_claiming(rows: int, *, compressed: bool = False) -> bytes:
    """An npz whose .npy headers claim `rows` samples of x [3] and price, with 64 bytes of
    data: loading it as written would allocate rows × 32 bytes."""
    buffer = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, shape in (("x", (rows, 3)), ("price", (rows,))):
            member = io.BytesIO()
            np.lib.format.write_array_header_1_0(
                member, {"descr": "<f8", "fortran_order": False, "shape": shape})
            member.write(bytes(64))
            archive.writestr(f"{name}.npy", member.getvalue())
    return buffer.getvalue()


def under_one_mib(text: str) -> str:
    assert len(text.encode()) < 1 << 20, len(text.encode())
    return text


SECRET_SPEC = quad("MARKER", description="MARKER")
ONE_MIB_LIST = under_one_mib(quad("huge", constants={"c": [0] * 349_000}))
MANY_KEYS = under_one_mib(quad("keys") + "description:\n" + "".join(
    f"  k{i}: 0\n" for i in range(85_000)))
MILLION_KEYS = "".join(f"k{i}: 0\n" for i in range(1_000_000))
DEEP_BLOCKS = quad("deep") + "description:\n" + "".join(
    " " * (i + 1) + f"k{i}:\n" for i in range(999)) + " " * 1000 + "k999: 0\n"
DEEP_DASHES = quad("dashes") + "description:\n  " + "- " * 3000 + "x\n"
ALIAS_BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9 if i else ['lol'] * 9)}]\n"
                     for i in range(9)) + quad("bomb")
KINKS = quad("kinks", parameters={"w": {"shape": [2], "init": "uniform(-1, 1)"}},
             objective="abs(w[0]) + relu(w[1] - 0.3)",
             optimizer={"method": "gd", "learning_rate": 0.01, "steps": 200},
             checks={"gradient": {"examples": 20}, "descent": {"examples": 20},
                     "convergence": {"runs": 2}})
ERF = quad("erf", parameters={"w": {"shape": [2], "init": "uniform(-0.5, 0.5)"}},
           objective="sum(erf(w)**2)",
           optimizer={"method": "gd", "learning_rate": 0.3, "steps": 200, "tolerance": 1.0e-9},
           checks={"gradient": {"examples": 5}, "descent": {"examples": 5},
                   "convergence": {"runs": 2}, "hessian": {"examples": 5}})
T_NAMES = quad("tnames", parameters={"t1": {"shape": [3], "init": "uniform(-1, 1)"},
                                     "t2": {"shape": [3], "init": "uniform(-1, 1)"},
                                     "u0": {"init": "uniform(-1, 1)"}},
               objective="sum(sigmoid(t1 * t2 + u0)) + sum(log(1 + exp(t1 - t2))) + u0**2",
               optimizer={"method": "gd", "learning_rate": 0.1, "steps": 100})
WIDE = quad("wide", parameters={"w": {"shape": [20_000], "init": "normal(0, 1)"}},
            objective="sum(w**2)",
            optimizer={"method": "gd", "learning_rate": 0.1, "steps": 300, "tolerance": 1.0e-8},
            checks={"gradient": {"examples": 10}, "descent": {"examples": 10},
                    "convergence": {"runs": 2}})
MATRIX_300 = quad("matrix", parameters={"W": {"shape": [300, 300], "init": "normal(0, 0.01)"}},
                  objective="sum(W @ W)")
FAILS = quad("fails", expect={"minimum": {"a": 5, "b": -1}, "tol": 1.0e-6},
             checks={"gradient": False, "descent": False, "convergence": {"runs": 2}})
INLINE = {"inline": {"x": [[0.5, 1.0, 0.0], [1.0, -1.0, 2.0], [0.0, 2.0, 1.0]],
                     "price": [1.0, 0.0, 2.0]}}
ONE_BAD_OUTPUTS = ("reports/good/report.json", "reports/good/report.md", "reports/index.md",
                   "junit.xml", "summary.md")


def one_bad(bad: str, *names: str, **layout: Any) -> tuple[Expect, dict[str, Any]]:
    """A folder of the good spec and specs/bad.yaml: exit 2 naming bad.yaml and `names`,
    the good spec verified, the index, JUnit and summary written."""
    return (refused("bad.yaml", *names, files=ONE_BAD_OUTPUTS, then=good_verified),
            {**GOOD, "specs/bad.yaml": bad, **layout})


# ----------------------------------------------------------------- the table


def row(id: str, klass: str, kind: str, expect: Expect, files: dict[str, Any], act: Act) -> Any:
    assert klass in CLASSES and kind in ("spec", "fault")
    return pytest.param(Case(id, klass, kind, expect, files, act), id=f"{klass}:{id}")


def spec(id: str, klass: str, expect: Expect, files: dict[str, Any],
         act: Act | None = None) -> Any:
    return row(id, klass, "spec", expect, files, act or verify("specs"))


def fault(id: str, klass: str, expect: Expect, files: dict[str, Any],
          act: Act | None = None) -> Any:
    return row(id, klass, "fault", expect, files, act or verify("specs"))


def bad(id: str, text: str, *names: str, **layout: Any) -> Any:
    return spec(id, ONE_BAD, *one_bad(text, *names, **layout))


@dataclass(frozen=True)
class Case:
    id: str
    klass: str
    kind: str
    expect: Expect
    files: dict[str, Any]
    act: Act


CASES = [
    # --- secrets: a spec or data file that is a symlink to a secret outside the root
    spec("spec-links-to-a-secret-spec", SECRETS,
         refused("leak.yaml", files=("reports/good/report.json",)),
         {**GOOD, "specs/leak.yaml": Secret(SECRET_SPEC)}),
    spec("spec-links-relatively-to-a-secret-spec", SECRETS, refused("leak.yaml"),
         {**GOOD, "specs/leak.yaml": Secret(SECRET_SPEC, relative=True)}),
    spec("named-spec-links-to-a-secret-line", SECRETS, refused("leak.yaml"),
         {"specs/leak.yaml": Secret("hunter2-MARKER\n")}, verify("specs/leak.yaml")),
    spec("derived-spec-links-to-a-secret-mapping", SECRETS, refused("leak.yaml"),
         {"specs/leak.yaml": Secret("MARKER: 1\n")}, derive("specs/leak.yaml")),
    spec("csv-links-to-a-secret", SECRETS, refused("prices.csv"),
         {"specs/data/prices.csv": Secret("MARKER,rooms,age,price\n1,2,3,4\n"),
          "specs/bad.yaml": ridge(data__csv="data/prices.csv")}),
    spec("csv-links-through-a-link-inside", SECRETS, refused("prices.csv"),
         {"specs/data/hop.csv": Secret("MARKER,rooms,age,price\n1,2,3,4\n"),
          "specs/data/prices.csv": Link("hop.csv"),
          "specs/bad.yaml": ridge(data__csv="data/prices.csv")}),
    spec("data-folder-links-outside", SECRETS, refused("ridge.csv"),
         {"specs/data": SecretFolder({"ridge.csv": "MARKER,rooms,age,price\n1,2,3,4\n"}),
          "specs/bad.yaml": ridge()}),
    spec("npz-links-to-a-secret", SECRETS, refused("arrays.npz"),
         {"specs/arrays.npz": Secret(secret_npz),
          "specs/bad.yaml": ridge(data={"npz": "arrays.npz"})}),
    spec("derive-of-a-csv-linked-outside", SECRETS, refused("prices.csv"),
         {"specs/data/prices.csv": Secret("MARKER,rooms,age,price\n1,2,3,4\n"),
          "specs/bad.yaml": ridge(data__csv="data/prices.csv")}, derive("specs/bad.yaml")),
    spec("spec-folder-links-outside", SECRETS,
         ends((0, 2), "more", text="not followed (exit 0) or exit 2 naming more"),
         {**GOOD, "specs/more": SecretFolder({"leak.yaml": SECRET_SPEC})}),
    # --- forged CI annotations: a newline, then ::error, wherever a PR puts text
    spec("in-a-yaml-key", ANNOTATIONS, refused("unknown key"),
         {"specs/bad.yaml": quad("bad", **{f"note{FORGED}": 1})}),
    spec("in-a-nested-yaml-key", ANNOTATIONS, refused("optimizer"),
         {"specs/bad.yaml": quad("bad", **{f"optimizer__step{FORGED}": 1})}),
    spec("in-the-name", ANNOTATIONS, refused("name"),
         {"specs/bad.yaml": quad(f"bad{FORGED}")}),
    spec("in-the-description", ANNOTATIONS, passes(),
         {"specs/good.yaml": quad("good", description=f"fine{FORGED}")}),
    spec("after-a-carriage-return-in-the-description", ANNOTATIONS, passes(),
         {"specs/good.yaml": quad("good", description=f"fine{FORGED.replace(chr(10), chr(13))}")}),
    spec("in-a-csv-header-cell", ANNOTATIONS, refused("size"),
         {"specs/data/ridge.csv": ridge_csv(header=f'"size{FORGED}",rooms,age,price'),
          "specs/bad.yaml": ridge()}),
    spec("in-a-csv-cell", ANNOTATIONS, refused("ridge.csv"),
         {"specs/data/ridge.csv": ridge_csv(cell=f'"1.0{FORGED}"'), "specs/bad.yaml": ridge()}),
    spec("in-a-spec-file-name", ANNOTATIONS, passes(),
         {f"specs/evil{FORGED}.yaml": quad("evil")}),
    spec("in-a-folder-name", ANNOTATIONS, passes(),
         {f"specs/sub{FORGED}/evil.yaml": quad("evil")}),
    spec("in-the-file-name-of-a-failing-spec", ANNOTATIONS, fails_check(seconds=5),
         {f"specs/fails{FORGED}.yaml": FAILS}),
    spec("in-a-parameter-name", ANNOTATIONS, refused("parameters"),
         {"specs/bad.yaml": quad("bad", parameters={f"a{FORGED}": {}, "b": {}})}),
    spec("in-an-expression", ANNOTATIONS, refused("objective"),
         {"specs/bad.yaml": quad("bad", objective=f"a**2 + b**2{FORGED}")}),
    spec("in-an-init", ANNOTATIONS, refused("parameters.a.init"),
         {"specs/bad.yaml": quad("bad", parameters__a__init=f"uniform(-1, 1){FORGED}")}),
    spec("in-a-data-path", ANNOTATIONS, refused("data.csv"),
         {**DATA, "specs/bad.yaml": ridge(data__csv=f"data/gone{FORGED}.csv")}),
    spec("ansi-escapes-in-a-csv-header-cell", ANNOTATIONS, refused("size"),
         {"specs/data/ridge.csv": ridge_csv(header="size\x1b[2J\x1b]0;pwned\x07,rooms,age,price"),
          "specs/bad.yaml": ridge()}),
    spec("ansi-escapes-in-the-file-name-of-a-bad-spec", ANNOTATIONS, refused("[31m.yaml"),
         {"specs/x\x1b[31m.yaml": quad("bad", optimizer__steps=0)}),
    # --- hangs: FIFOs and endless files where a spec or data file should be
    spec("csv-is-a-fifo", HANGS, refused("pipe.csv"),
         {"specs/data/pipe.csv": Fifo(), "specs/bad.yaml": ridge(data__csv="data/pipe.csv")}),
    spec("npz-is-a-fifo", HANGS, refused("pipe.npz"),
         {"specs/pipe.npz": Fifo(), "specs/bad.yaml": ridge(data={"npz": "pipe.npz"})}),
    spec("derive-with-a-csv-fifo", HANGS, refused("pipe.csv"),
         {"specs/data/pipe.csv": Fifo(), "specs/bad.yaml": ridge(data__csv="data/pipe.csv")},
         derive("specs/bad.yaml")),
    spec("named-spec-is-a-fifo", HANGS, refused("pipe.yaml"),
         {"specs/pipe.yaml": Fifo()}, verify("specs/pipe.yaml")),
    spec("spec-in-a-folder-is-a-fifo", HANGS,
         refused("pipe.yaml", files=("reports/good/report.json",)),
         {**GOOD, "specs/pipe.yaml": Fifo()}),
    spec("derive-of-a-fifo", HANGS, refused("pipe.yaml"),
         {"specs/pipe.yaml": Fifo()}, derive("specs/pipe.yaml")),
    spec("csv-links-to-dev-zero", HANGS, refused("zero.csv"),
         {"specs/data/zero.csv": Link("/dev/zero"),
          "specs/bad.yaml": ridge(data__csv="data/zero.csv")}),
    spec("spec-links-to-dev-zero", HANGS, refused("zero.yaml", seconds=5),
         {"specs/zero.yaml": Link("/dev/zero")}, isolated("derive", "specs/zero.yaml")),
    # --- one bad spec among good ones: exit 2, and the good one's report, index, JUnit, summary
    bad("steps-of-400-digits", quad("bad", optimizer__steps=BIG), "optimizer.steps"),
    bad("learning-rate-of-400-digits", quad("bad", optimizer__learning_rate=BIG),
        "optimizer.learning_rate"),
    bad("constant-of-400-digits", quad("bad", constants={"c": BIG},
                                       objective="(a - 0.7)**2 + (b + 1)**2 + c"),
        "constants.c"),
    bad("shape-of-400-digits", quad("bad", parameters__a__shape=[BIG]), "parameters.a.shape"),
    bad("seed-of-400-digits", bundled("logistic", data__generate__seed=BIG), "seed"),
    bad("samples-of-400-digits", bundled("logistic", data__generate__n=BIG), "data.generate.n"),
    bad("truth-of-400-digits", bundled("logistic", data__generate__truth__b=BIG), "truth"),
    bad("examples-of-400-digits", quad("bad", checks={"gradient": {"examples": BIG}}),
        "checks.gradient.examples"),
    bad("expected-value-of-400-digits", quad("bad", expect={"value": BIG}), "expect.value"),
    bad("inline-cell-of-400-digits", ridge(data={"inline": {**INLINE["inline"],
                                                            "price": [1.0, BIG, 2.0]}}),
        "data.inline"),
    bad("nul-byte-in-a-data-path", ridge(data__csv="data/ridge\x00.csv"), "data.csv", **DATA),
    bad("lone-surrogate-in-a-key", quad("bad") + '"k\\ud800": 1\n',
        "k\\ud800|surrogate|unknown key"),
    bad("lone-surrogate-in-the-description", quad("bad") + 'description: "x \\ud800"\n',
        "description"),
    bad("lone-surrogate-in-a-parameter-name", quad("bad").replace(
        "parameters:\n", 'parameters:\n  "c\\ud800": {}\n'), "parameters"),
    # the walk is iterative: the spec at the bottom of the chain is verified like any other
    spec("folder-chain-1100-deep", ONE_BAD, passes(files=ONE_BAD_OUTPUTS, then=both_verified),
         {**GOOD, "specs/deep": DeepChain(1100, quad("bottom"))}),
    # --- tracebacks instead of errors: expressions, and output paths (refused before verifying)
    spec("zero-to-a-parameter", TRACEBACKS,
         ends((1, 2), "objective", text="a clean failed check, or exit 2 naming objective"),
         {"specs/bad.yaml": quad("bad", objective="0**a + (b + 1)**2")}),
    spec("erf-with-the-hessian", TRACEBACKS, passes(seconds=6), {"specs/erf.yaml": ERF}),
    spec("erf-derived-in-latex-with-the-hessian", TRACEBACKS, passes(),
         {"specs/erf.yaml": ERF}, derive("specs/erf.yaml", "--latex", "--hessian")),
    spec("erf-derived-entry-by-entry", TRACEBACKS, passes(),
         {"specs/erf.yaml": ERF}, derive("specs/erf.yaml", "--scalar", "--hessian")),
    spec("power-of-a-negative-base", TRACEBACKS,
         ends((1, 2), "objective", text="a clean failed check, or exit 2 naming objective"),
         {"specs/bad.yaml": quad("bad", objective="(-2)**a + b**2")}),
    # a − a folds to 0: the loss is ±inf or NaN everywhere, a numeric fault of every check
    spec("division-by-a-vanishing-difference", TRACEBACKS,
         ends((1, 2), "objective", text="a clean failed check, or exit 2 naming objective"),
         {"specs/bad.yaml": quad("bad", objective="a/(a - a) + b**2")}),
    spec("log-of-zero", TRACEBACKS, refused("objective"),
         {"specs/bad.yaml": quad("bad", objective="a**2 + b**2 + log(0)")}),
    spec("max-of-an-empty-list", TRACEBACKS, refused("objective"),
         {"specs/bad.yaml": quad("bad", objective="a**2 + b**2 + max([])")}),
    spec("matrix-product-of-scalars", TRACEBACKS, refused("objective"),
         {"specs/bad.yaml": quad("bad", objective="a @ b + a**2")}),
    spec("parameter-of-no-entries", TRACEBACKS,
         ends((0, 2), "parameters.w|objective",
              text="exit 0, or exit 2 naming parameters.w or the objective"),
         {"specs/bad.yaml": quad("bad", parameters__w={"shape": [0]},
                                 objective="(a - 0.7)**2 + (b + 1)**2 + sum(w**2)")}),
    fault("report-dir-is-a-file", TRACEBACKS, refused("reports", then=not_verified),
          {**GOOD, "reports": "not a folder\n"}),
    fault("report-dir-under-a-file", TRACEBACKS, refused("notes.txt", then=not_verified),
          {**GOOD, "notes.txt": "a file\n"}, verify("specs", report_dir="notes.txt/reports")),
    fault("report-dir-in-a-read-only-folder", TRACEBACKS,
          refused("locked", then=not_verified), {**GOOD, "locked": Folder(read_only=True)},
          verify("specs", report_dir="locked/reports")),
    fault("junit-names-a-folder", TRACEBACKS, refused("junit.xml", then=not_verified),
          {**GOOD, "junit.xml": Folder()}),
    fault("summary-names-a-folder", TRACEBACKS, refused("summary.md", then=not_verified),
          {**GOOD, "summary.md": Folder()}),
    fault("a-spec-report-folder-is-a-file", TRACEBACKS, refused("good"),
          {**GOOD, "reports/good": "not a folder\n"}),
    fault("report-json-is-a-folder", TRACEBACKS, refused("report.json"),
          {**GOOD, "reports/good/report.json": Folder()}),
    fault("index-is-a-folder", TRACEBACKS, refused("index.md"),
          {**GOOD, "reports/index.md": Folder()}),
    fault("against-a-missing-module", TRACEBACKS,
          refused("no_such_module_xyz", then=not_verified), GOOD,
          verify("specs", "--against", "no_such_module_xyz:gradient")),
    fault("against-without-a-function", TRACEBACKS, refused("MODULE:FUNCTION"), GOOD,
          verify("specs", "--against", "gradients_only")),
    fault("against-a-missing-function", TRACEBACKS, refused("no_such_function"), GOOD,
          verify("specs", "--against", "json:no_such_function")),
    fault("against-a-module-that-raises-on-import", TRACEBACKS,
          refused("broken_gradient", then=not_verified),
          {**GOOD, "broken_gradient.py": "raise RuntimeError('broken on import')\n"},
          verify("specs", "--against", "broken_gradient:gradient")),
    fault("examples-of-400-digits-on-the-command-line", TRACEBACKS, refused("--examples"),
          GOOD, verify("specs", "--examples", str(BIG))),
    fault("seed-of-400-digits-on-the-command-line", TRACEBACKS,
          ends((0, 2), "--seed", text="exit 0, or exit 2 naming --seed"),
          GOOD, verify("specs", "--seed", str(BIG))),
    fault("timeout-of-1e300-seconds", TRACEBACKS,
          ends((0, 2), "--timeout", text="exit 0, or exit 2 naming --timeout"),
          GOOD, verify("specs", "--timeout", "1e300", timeout=None)),
    fault("memory-of-1e30-gigabytes", TRACEBACKS,
          ends((0, 2), "--memory", text="exit 0, or exit 2 naming --memory"),
          GOOD, verify("specs", "--memory", "1e30G", memory=None)),
    fault("an-empty-folder", TRACEBACKS, refused("specs"), {"specs": Folder()}),
    # --- reproducibility
    spec("kinked-objective-twice", REPRODUCIBILITY,
         ends((0, 1), text="byte-identical report.json and report.md", seconds=8,
              then=identical_reports), {"specs/kinks.yaml": KINKS}, twice("specs/kinks.yaml")),
    spec("model-spec-twice", REPRODUCIBILITY,
         ends((0, 1), text="byte-identical report.json and report.md", seconds=8,
              then=identical_reports),
         {"specs/logistic.yaml": bundled("logistic", name="logistic")},
         twice("specs/logistic.yaml")),
    fault("derive-piped-into-head", REPRODUCIBILITY,
          ends(None, text="the first line, no traceback", seconds=6,
               then=all_of(first_line("spec:"), quiet_pipe)),
          {"specs/logistic.yaml": (BUNDLED / "logistic.yaml").read_text()},
          shell("GDCHECK derive specs/logistic.yaml | head -1")),
    fault("verify-piped-into-head", REPRODUCIBILITY,
          ends(None, text="the first line, no traceback", seconds=6,
               then=all_of(first_line("specs/"), quiet_pipe)),
          {**GOOD, "specs/kinks.yaml": KINKS},
          shell("GDCHECK verify specs --jobs 1 | head -1")),
    fault("derive-into-a-closed-pipe", REPRODUCIBILITY,
          ends(None, text="no traceback", seconds=6, then=quiet_pipe),
          {"specs/logistic.yaml": (BUNDLED / "logistic.yaml").read_text()},
          shell("GDCHECK derive specs/logistic.yaml | true")),
    # --- verdicts
    spec("20000-parameters-verify", VERDICTS, passes(seconds=15),
         {"specs/wide.yaml": WIDE}, verify("specs/wide.yaml", timeout="13")),
    spec("20000-parameters-derive", VERDICTS, passes(), {"specs/wide.yaml": WIDE},
         derive("specs/wide.yaml")),
    spec("a-file-and-its-folder", VERDICTS, passes(then=one_spec), GOOD,
         verify("specs", "specs/good.yaml")),
    spec("a-file-spelled-two-ways", VERDICTS, passes(then=one_spec), GOOD,
         verify("specs/good.yaml", "./specs/good.yaml")),
    spec("a-relative-and-an-absolute-path", VERDICTS, passes(then=one_spec), GOOD,
         verify("specs", "{root}/specs/good.yaml")),
    spec("a-folder-twice", VERDICTS, passes(then=one_spec), GOOD, verify("specs", "specs/")),
    spec("a-dangling-symlink-among-specs", VERDICTS,
         refused("gone.yaml", files=ONE_BAD_OUTPUTS, then=good_verified),
         {**GOOD, "specs/gone.yaml": Link("nowhere.yaml")}),
    spec("a-symlink-loop-among-specs", VERDICTS,
         refused("loop.yaml", files=ONE_BAD_OUTPUTS, then=good_verified),
         {**GOOD, "specs/loop.yaml": Link("loop.yaml")}),
    spec("type-match-and-case-as-parameter-names", VERDICTS,
         ends((0, 2), text="the three names treated the same way", then=same_statuses), {},
         each_parameter_name("type", "match", "case")),
    spec("npz-header-claims-1e12-rows", VERDICTS, refused("huge.npz"),
         {"specs/huge.npz": npz_claiming(10**12),
          "specs/bad.yaml": ridge(data={"npz": "huge.npz"})}),
    spec("compressed-npz-claims-1e12-rows", VERDICTS, refused("huge.npz"),
         {"specs/huge.npz": npz_claiming(10**12, compressed=True),
          "specs/bad.yaml": ridge(data={"npz": "huge.npz"})}),
    spec("sparse-2-gb-csv", VERDICTS, refused("big.csv"),
         {"specs/data/big.csv": Sparse(2 * GiB, b"size,rooms,age,price\n1,2,3,4\n"),
          "specs/bad.yaml": ridge(data__csv="data/big.csv")}),
    spec("sparse-2-gb-spec", VERDICTS, refused("1 MiB"),
         {"specs/big.yaml": Sparse(2 * GiB, quad("big").encode())}),
    spec("1-mib-spec-with-timeout-5", VERDICTS,
         ends((0, 2), "time limit|--timeout|constants", seconds=7,
              text="ends within 7 s: exit 0, or exit 2 naming the limit or constants"),
         {"specs/huge.yaml": ONE_MIB_LIST}, verify("specs/huge.yaml", timeout="5")),
    spec("derive-300-by-300-with-timeout-3", VERDICTS,
         ends((0, 2), "time limit|--timeout", seconds=5, then=timeout_understood,
              text="ends within 5 s: exit 0, or exit 2 naming the time limit"),
         {"specs/matrix.yaml": MATRIX_300}, derive("specs/matrix.yaml", "--timeout", "3")),
    spec("derive-intermediates-apart-from-t1-t2-u0", VERDICTS,
         passes(then=intermediates_apart_from("t1", "t2", "u0")), {"specs/t.yaml": T_NAMES},
         derive("specs/t.yaml")),
    spec("derive-scalar-intermediates-apart-from-t1-t2-u0", VERDICTS,
         passes(then=intermediates_apart_from("t1", "t2", "u0")), {"specs/t.yaml": T_NAMES},
         derive("specs/t.yaml", "--scalar")),
    spec("report-intermediates-apart-from-t1-t2-u0", VERDICTS,
         passes(then=report_definitions_apart_from("t1", "t2", "u0")),
         {"specs/t.yaml": T_NAMES}),
    # --- signals and children (subprocesses)
    fault("sigkill-of-the-parent-leaves-no-child", SIGNALS,
          ends((-signal.SIGKILL,), text="no child alive 2 s later", seconds=30,
               then=all_of(no_survivors, whole_if_any)), {}, killed_parent),
    fault("sigterm", SIGNALS, ends((143,), text="exit 143, the index of whole reports",
                                   then=whole), {}, interrupted(signal.SIGTERM)),
    fault("sigint", SIGNALS, ends((130,), text="exit 130, the index of whole reports",
                                  then=whole), {}, interrupted(signal.SIGINT)),
    fault("two-sigints", SIGNALS, ends((130,), text="exit 130, the index of whole reports",
                                       then=whole), {},
          interrupted(signal.SIGINT, signal.SIGINT)),
    fault("sigterm-to-the-process-group", SIGNALS,
          ends((143,), text="exit 143, the index of whole reports", then=whole), {},
          interrupted(signal.SIGTERM, group=True)),
    # --- disk
    fault("no-space-for-any-file", DISK, refused("space|disk"), GOOD, full_disk()),
    fault("no-space-for-the-index", DISK, refused("space|disk", "index.md"), GOOD,
          full_disk(only="index.md")),
    fault("no-space-for-junit", DISK, refused("space|disk", "junit.xml"), GOOD,
          full_disk(only="junit.xml")),
    fault("no-space-for-the-summary", DISK, refused("space|disk", "summary.md"), GOOD,
          full_disk(only="summary.md")),
    fault("no-space-at-fsync", DISK, refused("space|disk"), GOOD, full_disk(at="fsync")),
    fault("quota-exceeded", DISK, refused("quota|disk"), GOOD, full_disk(errno.EDQUOT)),
    fault("read-only-file-system-at-rename", DISK, refused("read-only"), GOOD,
          full_disk(errno.EROFS)),
    fault("a-real-16-kib-tmpfs", DISK, refused("space|disk", seconds=6),
          {"specs/good.yaml": quad("good", checks={"gradient": {"examples": 3},
                                                    "convergence": {"runs": 2}})},
          on_tmpfs("size=16k")),
    fault("a-real-read-only-tmpfs", DISK, refused("read-only|reports", seconds=6), GOOD,
          on_tmpfs("ro,size=1m")),
    # --- others
    spec("spec-is-a-folder-named-x-yaml", OTHERS, refused("x.yaml"),
         {"specs/x.yaml": Folder()}, derive("specs/x.yaml")),
    spec("csv-is-a-folder", OTHERS, refused("ridge.csv"),
         {"specs/data/ridge.csv": Folder(), "specs/bad.yaml": ridge()}),
    spec("npz-is-a-folder", OTHERS, refused("arrays.npz"),
         {"specs/arrays.npz": Folder(), "specs/bad.yaml": ridge(data={"npz": "arrays.npz"})}),
    spec("empty-data-path", OTHERS, refused("data.csv"),
         {**DATA, "specs/bad.yaml": ridge(data__csv="")}),
    spec("data-path-of-5000-characters", OTHERS, refused("data.csv", then=short_stderr),
         {**DATA, "specs/bad.yaml": ridge(data__csv="d" * 5000 + ".csv")}),
    spec("byte-order-mark", OTHERS, passes(), {"specs/good.yaml": "\ufeff" + quad("good")}),
    spec("crlf-line-ends", OTHERS, passes(),
         {"specs/good.yaml": quad("good").replace("\n", "\r\n")}),
    spec("utf-16-spec", OTHERS, refused("UTF-8"),
         {"specs/bad.yaml": quad("bad").encode("utf-16")}),
    spec("nul-in-a-comment", OTHERS, refused("bad.yaml"),
         {"specs/bad.yaml": quad("bad") + "# \x00\n"}),
    spec("alias-bomb-before-the-version", OTHERS, refused("anchor|alias"),
         {"specs/bad.yaml": ALIAS_BOMB}),
    spec("python-tag-in-a-key", OTHERS, refused("tag"), {"specs/bad.yaml": Canary(
        quad("bad") + '? !!python/object/apply:os.system ["touch CANARY"]\n: 1\n')}),
    spec("python-tag-in-a-flow-list", OTHERS, refused("tag"), {"specs/bad.yaml": Canary(
        quad("bad") + 'description: [1, !!python/object/apply:os.system ["touch CANARY"]]\n')}),
    spec("a-million-keys", OTHERS, refused("1 MiB"), {"specs/bad.yaml": MILLION_KEYS}),
    spec("85000-keys-under-1-mib", OTHERS,
         refused("description|time limit", seconds=7), {"specs/bad.yaml": MANY_KEYS}),
    spec("deep-block-nesting", OTHERS, refused("nest|deep"), {"specs/bad.yaml": DEEP_BLOCKS}),
    spec("deep-dash-nesting", OTHERS, refused("nest|deep"), {"specs/bad.yaml": DEEP_DASHES}),
    spec("name-of-10-kb", OTHERS, refused("name", then=short_stderr),
         {"specs/bad.yaml": quad("n" * 10_000)}),
    spec("parameter-name-of-10-kb", OTHERS, refused("objective|parameters", then=short_stderr),
         {"specs/bad.yaml": quad("bad", **{"parameters__" + "p" * 10_000: {}},
                                 objective="(a - 0.7)**2 + (b + 1)**2 + " + "p" * 10_000)}),
    spec("unknown-key-of-10-kb", OTHERS, refused("unknown key", then=short_stderr),
         {"specs/bad.yaml": quad("bad", **{"k" * 10_000: 1})}),
    spec("csv-header-of-10-kb", OTHERS, refused("size", then=short_stderr),
         {"specs/data/ridge.csv": ridge_csv(header="x" * 10_000 + ",rooms,age,price"),
          "specs/bad.yaml": ridge()}),
    spec("file-name-not-utf-8", OTHERS, passes(), {"specs/caf\udce9.yaml": quad("cafe")}),
    spec("unreadable-spec", OTHERS, refused("locked.yaml"),
         {**GOOD, "specs/locked.yaml": Unreadable(quad("locked"))}),
    spec("unreadable-csv", OTHERS, refused("ridge.csv"),
         {"specs/data/ridge.csv": Unreadable(ridge_csv()), "specs/bad.yaml": ridge()}),
]


def test_the_table_covers_every_class_with_enough_cases():
    cases = [param.values[0] for param in CASES]
    assert len({case.id for case in cases}) == len(cases)
    assert {case.klass for case in cases} == set(CLASSES)
    assert sum(case.kind == "spec" for case in cases) >= 60
    assert sum(case.kind == "fault" for case in cases) >= 15


@pytest.mark.parametrize("case", CASES)
def test_hostile_case(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)   # no annotations on purpose
    workspace = Workspace(tmp_path)
    try:
        for path, item in case.files.items():
            PLACE[type(item)](workspace, path, item)
        run = case.act(workspace, case.expect.seconds + GUARD_MARGIN)
        problems = problems_of(case.expect, workspace, run)
    finally:
        stop_stray_children()
        workspace.clean_up()
    assert not problems, (f"{case.klass}: {case.id}: expected {case.expect}; "
                          + "; ".join(problems) + "\n" + shown(run))
